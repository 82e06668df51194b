// The crew's repair on a phone (390 × 844), in a real browser against a real server: a crew
// technician opens the agreed case, logs two work entries (with a material, its certificate and
// a photo) with the network cut, sees them wait and then arrive once, and records the key
// step's inspection judged as typed; completion is an engineer's. Started by tests/api/field.rs with
// STEELCARE_E2E (JSON): {url, login, password, name, ticketId}. The exit code says whether all
// held.
import { mkdirSync } from "node:fs";
import { WAIT, check, eventually, noSidewaysScroll, pickNth, png, shot, phone, step, steps, storedOutbox } from "./lib.mjs";

const env = JSON.parse(process.env.STEELCARE_E2E ?? "{}");

const { browser, context, page } = await phone();

async function logWork(stepIndex, content, progress) {
  await pickNth(page, "work-step", stepIndex);
  await page.getByTestId("work-content").fill(content);
  await page.getByTestId("work-material").fill("环氧富锌底漆");
  await page.getByTestId("work-quantity").fill("5 kg");
  await page.getByTestId("work-certificate").fill("QC-2026-118");
  await page.getByTestId("work-progress").fill(String(progress));
  await page.getByTestId("work-submit").tap();
}

try {
  await step("a crew technician signs in on a phone and opens the agreed case's work", async () => {
    await page.goto(env.url);
    await page.getByTestId("login").fill(env.login);
    await page.getByTestId("password").fill(env.password);
    await page.getByTestId("signin-password").click();
    await page.getByTestId("whoami").waitFor({ timeout: WAIT });
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("open-job").tap({ timeout: WAIT });
    await page.waitForURL(new RegExp(`/jobs/${env.ticketId}$`), { timeout: WAIT });
    const plan = page.getByTestId("plan-steps");
    await plan.filter({ hasText: "关键工序" }).waitFor({ timeout: WAIT });
    await noSidewaysScroll(page, "the crew's job");
    await shot(page, "crew-1-plan");
  });

  await step("with the network cut, two work-log entries wait on the device", async () => {
    await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: WAIT });
    await context.setOffline(true);
    await logWork(0, "铲除旧涂层至 Sa2.5", 40);
    await page.getByTestId("work-waiting").first().waitFor({ timeout: WAIT });
    await page.getByTestId("photo-input").setInputFiles({ name: "coat.png", mimeType: "image/png", buffer: png() });
    await page.getByTestId("photo").first().waitFor({ timeout: WAIT });
    await logWork(1, "涂装三道", 90);
    await eventually(async () => (await storedOutbox(page)).length === 2, "two entries stored on the device");
    await noSidewaysScroll(page, "the work log");
    check((await page.getByTestId("outbox-count").textContent()).includes("2"), "the header does not count both");
    await shot(page, "crew-2-waiting");
  });

  await step("back online, both entries arrive once and show in the work so far", async () => {
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    await eventually(async () => (await storedOutbox(page)).length === 0, "the device keeps nothing once sent");
    await page.getByTestId("work-record").nth(1).waitFor({ timeout: WAIT });
    check((await page.getByTestId("work-record").count()) === 2, "not two work records");
  });

  await step("the key step's inspection is judged as typed and recorded", async () => {
    await pickNth(page, "inspect-step", 0);
    await pickNth(page, "i-instrument-0", 4);
    await page.getByTestId("i-serial-0").fill("CTG-9");
    await page.getByTestId("i-calibrated-0").fill("2030-12-31");
    await page.getByTestId("i-readings-0").fill("151 151 151 151 151 151 151 151 151 151 151 151 151 151 151");
    await page.getByTestId("i-verdict-0").filter({ hasText: "合格" }).waitFor({ timeout: WAIT });
    await shot(page, "crew-3-inspection");
    await page.getByTestId("inspect-submit").tap();
    await page.getByTestId("work-record").filter({ hasText: "关键工序检验" }).waitFor({ timeout: WAIT });
  });

  await step("the crew is not offered completion: an engineer completes the repair", async () => {
    await page.getByTestId("work-record").nth(2).waitFor({ timeout: WAIT });
    check((await page.getByTestId("complete").count()) === 0, "a technician is offered completion");
    await noSidewaysScroll(page, "the work so far");
    await shot(page, "crew-4-recorded");
  });
  console.log(`all ${steps.length} steps held`);
} catch (err) {
  console.error(`FAILED after ${steps.length} steps at ${page.url()}: ${err?.stack ?? err}`);
  const left = await storedOutbox(page).then(JSON.stringify).catch(() => "");
  console.error(`outbox: ${(left ?? "").slice(0, 2000)}`);
  process.exitCode = 1;
  mkdirSync("e2e/out", { recursive: true });
  await page.screenshot({ path: "e2e/out/crew-failure.png", fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
