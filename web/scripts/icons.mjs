// Draws the console's app icons (an I-beam, white on the console's blue) as PNGs into
// public/: run once when the icon changes (`node scripts/icons.mjs`); the files are committed.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(crc(body));
  return Buffer.concat([len, body, sum]);
};

function icon(size) {
  const blue = [0x1f, 0x5f, 0xa8];
  const white = [0xff, 0xff, 0xff];
  const u = size / 16;
  // An I-beam: two flanges and a web, inside the maskable safe zone.
  const inBeam = (x, y) =>
    (y >= 4 * u && y < 5.5 * u && x >= 4 * u && x < 12 * u) ||
    (y >= 10.5 * u && y < 12 * u && x >= 4 * u && x < 12 * u) ||
    (x >= 7.25 * u && x < 8.75 * u && y >= 5.5 * u && y < 10.5 * u);
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = [0];
    for (let x = 0; x < size; x++) row.push(...(inBeam(x, y) ? white : blue));
    rows.push(Buffer.from(row));
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

for (const size of [192, 512]) writeFileSync(`public/icon-${size}.png`, icon(size));
