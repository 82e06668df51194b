// What the phone-width browser tests share: checks, screenshots, a PNG made on the spot, the
// signature stroke, picking from a select, the sideways-scroll check and named steps.
import { mkdirSync } from "node:fs";
import { deflateSync } from "node:zlib";

export const WAIT = 30_000;
const shots = process.env.STEELCARE_SCREENSHOTS ?? "";

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

/** A 4×4 PNG, made here so the test needs no fixture file (the phone's "camera"). */
export function png() {
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
  const header = Buffer.alloc(13);
  header.writeUInt32BE(4, 0);
  header.writeUInt32BE(4, 4);
  header[8] = 8;
  header[9] = 2;
  const row = Buffer.from([0, ...Array(4).fill([200, 80, 40]).flat()]);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat([row, row, row, row]))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Signs on the pad with a finger-like stroke. */
export async function sign(page) {
  const pad = page.getByTestId("signature-pad");
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  await page.mouse.move(box.x + 20, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + 20 + i * 25, box.y + box.height / 2 + (i % 2 ? -20 : 20));
  await page.mouse.up();
}

/** Picks the `index`-th option of the select `testId`. */
export async function pickNth(page, testId, index) {
  await page.getByTestId(testId).click();
  // The open dropdown: a closed one may linger in the page while it fades.
  const open = page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden)").last();
  await open.locator(".ant-select-item-option").nth(index).click();
  await open.waitFor({ state: "hidden", timeout: WAIT });
}

export async function noSidewaysScroll(page, where) {
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(sideways <= 0, `${where} scrolls ${sideways} px sideways at phone width`);
}

export const steps = [];
/** Runs a named step and prints how long it took. */
export async function step(name, run) {
  const started = Date.now();
  await run();
  steps.push(name);
  console.log(`ok  ${name} (${Date.now() - started} ms)`);
}
