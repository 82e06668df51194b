import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

/** Writes dist/sw.js from src/sw.template.js with the build's files to keep for offline use,
 * and a version that changes with them (a new build replaces the cached one). */
function serviceWorker(): Plugin {
  return {
    name: "steelcare-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = [
        ...Object.keys(bundle).map((name) => `/${name}`),
        "/manifest.webmanifest",
        "/icon-192.png",
        "/icon-512.png",
      ].sort();
      const version = createHash("sha256").update(files.join("\n")).digest("hex").slice(0, 16);
      const source = readFileSync("src/sw.template.js", "utf8")
        .replace("self.__FILES__", JSON.stringify(files))
        .replace("self.__VERSION__", JSON.stringify(version));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

// The build goes to dist/, which the steelcare binary embeds (services/steelcare/build.rs) and
// serves on the gRPC port. `npm run dev` proxies calls to a server on 127.0.0.1:50051.
export default defineConfig({
  plugins: [react(), serviceWorker()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2048,
    // No manual chunks: each page loads what it uses, and the sign-in page (the entry) only
    // what it shows, for a phone on a slow network. (A manual "charts" chunk pulled React in
    // with recharts and made the entry preload it.)
  },
  server: {
    proxy: {
      "^/(steelcare|grpc)\\.": { target: "http://127.0.0.1:50051", changeOrigin: true },
    },
  },
});
