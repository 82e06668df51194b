// Draws the console's app icons (an I-beam, white on the console's blue) as PNGs into
// public/: run once when the icon changes (`node scripts/icons.mjs`); the files are committed.
import { writeFileSync } from "node:fs";
import { encodePng } from "./png.mjs";

function icon(size) {
  const blue = [0x1f, 0x5f, 0xa8];
  const white = [0xff, 0xff, 0xff];
  const u = size / 16;
  // An I-beam: two flanges and a web, inside the maskable safe zone.
  const inBeam = (x, y) =>
    (y >= 4 * u && y < 5.5 * u && x >= 4 * u && x < 12 * u) ||
    (y >= 10.5 * u && y < 12 * u && x >= 4 * u && x < 12 * u) ||
    (x >= 7.25 * u && x < 8.75 * u && y >= 5.5 * u && y < 10.5 * u);
  return encodePng(size, size, (x, y) => (inBeam(x, y) ? white : blue), 9);
}

for (const size of [192, 512]) writeFileSync(`public/icon-${size}.png`, icon(size));
