// What the phone-width browser tests share: checks, screenshots, a PNG made on the spot, the
// signature stroke, picking from a select, the sideways-scroll check and named steps.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { encodePng } from "../scripts/png.mjs";

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
  return encodePng(4, 4, () => [200, 80, 40]);
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
  await again(
    () => open.locator(".ant-select-item-option").nth(index).click(),
    () => open.waitFor({ state: "hidden", timeout: 3_000 }),
  );
}

/** Does `act` until `settled` holds (it throws when not, within its own few seconds), for up
 * to WAIT. Under the full suite's load a click can land while a page is still settling (a
 * list arriving, a dropdown still opening on a phone) and be lost: seen once on the
 * administrator's first click and once on a phone's dropdown option. A person would click
 * again, and so does this. */
async function again(act, settled) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    await act();
    try {
      await settled();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

export async function noSidewaysScroll(page, where) {
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(sideways <= 0, `${where} scrolls ${sideways} px sideways at phone width`);
}

/** The people who use the console live in the deployment's time zone: a browser on the test
 * machine's (UTC in CI) would take "today" for another day from 16:00 to 24:00 UTC. */
export const ZONE = "Asia/Shanghai";

export const steps = [];
/** Runs a named step and prints how long it took. */
export async function step(name, run) {
  const started = Date.now();
  await run();
  steps.push(name);
  console.log(`ok  ${name} (${Date.now() - started} ms)`);
}

/** Headless Chromium (STEELCARE_CHROMIUM) and a page in a phone's context (390 × 844, touch,
 * the console in Chinese), with `options` added to the context; page errors are printed. */
export async function phone(options = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.STEELCARE_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, timezoneId: ZONE, ...options });
  await context.addInitScript(() => localStorage.setItem("steelcare.lang", "zh"));
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  return { browser, context, page };
}

/** Headless Chromium at desktop width (1440 × 900) for the office's screens. */
export async function desktop() {
  return chromium.launch({
    executablePath: process.env.STEELCARE_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
}

/** A page of `browser` signed in with `token`, the console in `lang`; page errors printed. */
export async function signInWith(browser, url, token, lang = "en") {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: ZONE });
  await context.addInitScript((l) => localStorage.setItem("steelcare.lang", l), lang);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  await page.goto(url);
  await page.getByTestId("token-tab").click();
  await page.getByTestId("token").fill(token);
  await page.getByTestId("signin").click();
  await page.getByTestId("whoami").waitFor({ timeout: WAIT });
  return page;
}

/** The entries of the page's outbox as the device stores them (IndexedDB). */
export function storedOutbox(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("steelcare", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("outbox", { keyPath: "requestId" });
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const all = db.transaction("outbox").objectStore("outbox").getAll();
          all.onsuccess = () => {
            resolve(all.result);
            db.close();
          };
          all.onerror = () => reject(all.error);
        };
      }),
  );
}

/** Waits until `holds()` (async) is true, checking every 200 ms (WAIT at most). */
/** Clicks `button` until `shown` is visible (see `again`). */
export async function clickUntilShown(button, shown) {
  await again(() => button.click(), () => shown.waitFor({ timeout: 3_000 }));
}

export async function eventually(holds, what) {
  const deadline = Date.now() + WAIT;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`never held: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
