// Writes a gzip copy next to each text file of the build (dist/**/*.{js,css,html,svg}); the
// server sends it to browsers that accept gzip. Node's gzip header carries no time, so the
// copies are the same on every build.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

let before = 0;
let after = 0;
for (const file of walk("dist")) {
  if (!/\.(js|css|html|svg)$/.test(file)) continue;
  const raw = readFileSync(file);
  const packed = gzipSync(raw, { level: 9 });
  writeFileSync(`${file}.gz`, packed);
  before += raw.length;
  after += packed.length;
}
console.log(`precompressed: ${before} bytes -> ${after} bytes gzip`);
