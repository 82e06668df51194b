import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes to dist/, which the steelcare binary embeds (services/steelcare/build.rs) and
// serves on the gRPC port. `npm run dev` proxies calls to a server on 127.0.0.1:50051.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (id.includes("node_modules/recharts") || id.includes("node_modules/d3-")) return "charts";
          if (id.includes("node_modules/")) return "vendor";
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: {
      "^/(steelcare|grpc)\\.": { target: "http://127.0.0.1:50051", changeOrigin: true },
    },
  },
});
