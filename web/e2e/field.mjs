// The technician's day on a phone (390 × 844), in a real browser against a real server: sign
// in, open the confirmed job, record arrival with the device's position, fill in the survey
// with the network cut, see it wait on the device, have the server refuse it when the network
// returns (an instrument whose calibration ran out), correct it with the judgement shown as it
// is typed, and see it arrive. Started by tests/api/field.rs with STEELCARE_E2E (JSON): {url,
// login, password, name, ticketId, acceptanceNumber}. The exit code says whether all held.
import { mkdirSync } from "node:fs";
import { WAIT, ZONE, check, noSidewaysScroll, pickNth, png, shot, sign, phone, step, steps, storedOutbox, eventually } from "./lib.mjs";

const env = JSON.parse(process.env.STEELCARE_E2E ?? "{}");
const WIDTH = 390;

const { browser, context, page } = await phone({ permissions: ["geolocation"], geolocation: { latitude: 31.3, longitude: 120.6 } });
page.on("console", (m) => { if (m.type() === "error") console.error(`console: ${m.text()}`); });
let phoneContext;
const outbox = () => storedOutbox(page);
try {
  await step("the technician signs in on a phone and opens the job from their confirmed offers", async () => {
    await page.goto(env.url);
    await page.getByTestId("login").fill(env.login);
    await page.getByTestId("password").fill(env.password);
    await page.getByTestId("signin-password").click();
    await page.waitForURL(/\/board$/, { timeout: WAIT });
    // The service worker keeps the console for a reload with no network.
    await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: WAIT });
    await page.locator(`[data-ticket="${env.ticketId}"]`).getByTestId("on-site").tap({ timeout: WAIT });
    await page.waitForURL(new RegExp(`/jobs/${env.ticketId}$`), { timeout: WAIT });
    await page.getByTestId("job-number").filter({ hasText: env.acceptanceNumber }).waitFor({ timeout: WAIT });
    check((await page.getByTestId("job-address").textContent()).includes("Suzhou"), "no site address");
    check(await page.getByTestId("map-link").isVisible(), "no map link");
    await noSidewaysScroll(page, "the job");
    await shot(page, "field-1-job");
  });

  await step("the offer is among the technician's notifications, reading them clears the count, and they choose texts but not at night", async () => {
    const count = page.getByTestId("notice-count").locator(".ant-badge-count");
    await eventually(async () => ((await count.count()) > 0 && Number(await count.first().textContent()) >= 1), "no unread notification counted in the header");
    await page.getByTestId("notices").tap();
    const offer = page.getByTestId("notice").filter({ hasText: env.acceptanceNumber });
    await offer.first().waitFor({ timeout: WAIT });
    check((await offer.first().textContent()).includes("新派工"), "the offer's notification is not in Chinese");
    await noSidewaysScroll(page, "the notifications");
    await shot(page, "field-notifications");
    await page.getByTestId("notices-read-all").tap();
    await eventually(async () => (await count.count()) === 0, "the count stays after reading them all");
    // Texts too, but not at night: SMS and quiet hours, kept by the server.
    await page.getByTestId("notice-settings").tap();
    await page.getByTestId("notice-channels").getByText("短信").tap();
    await page.getByTestId("quiet-start").fill("22:00");
    await page.getByTestId("quiet-end").fill("07:00");
    await page.getByTestId("notice-save").tap();
    await page.getByTestId("notice-saved").waitFor({ timeout: WAIT });
    await noSidewaysScroll(page, "the notification settings");
    await page.keyboard.press("Escape");
  });

  await step("arrival is recorded with the device's position", async () => {
    await page.getByTestId("record-arrival").tap();
    await page.getByTestId("arrived").waitFor({ timeout: WAIT });
  });

  await step("with the network cut, the survey is filled in and waits on the device", async () => {
    await page.getByTestId("survey-findings").waitFor({ timeout: WAIT });
    await context.setOffline(true);
    await page.getByTestId("survey-findings").fill("天沟 G2 出水口涂层磨穿，雨水沿墙渗入");
    await page.getByTestId("m-member-0").fill("G2");
    // The technician's registered gauge is offered with its calibration date, offline too.
    await page.getByTestId("m-known-0").tap();
    const offered = page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option", { hasText: "CTG-7" });
    check((await offered.textContent({ timeout: WAIT })).includes("2030-06-30"), "the registered gauge is not offered with its calibration");
    await page.keyboard.press("Escape");
    await pickNth(page, "m-instrument-0", 4); // the coating thickness gauge
    await page.getByTestId("m-serial-0").fill("CTG-9");
    await page.getByTestId("m-calibrated-0").fill("2020-01-01");
    await page.getByTestId("m-readings-0").fill("150 150 150 148 148 148 152 152 152 151 151 151 150 150 150");
    await pickNth(page, "survey-root-cause", 0);
    await pickNth(page, "survey-party", 0);
    await page.getByTestId("photo-input").setInputFiles({ name: "gutter.png", mimeType: "image/png", buffer: png() });
    await page.getByTestId("photo").first().waitFor({ timeout: WAIT });
    await page.getByTestId("survey-representative").fill("李伟");
    await sign(page);
    await page.getByTestId("m-verdict-0").filter({ hasText: "联网后判定" }).waitFor({ timeout: WAIT });
    await noSidewaysScroll(page, "the survey form");
    await shot(page, "field-2-survey-offline");
    await page.getByTestId("survey-submit").tap();
    await page.getByTestId("outbox-waiting").waitFor({ timeout: WAIT });
    check((await page.getByTestId("outbox-count").textContent()).includes("1"), "the header does not say what waits");
    const kept = await outbox();
    check(kept.length === 1 && kept[0].state === "waiting", `kept on the device: ${JSON.stringify(kept)}`);
    // Still offline, the page is reloaded (a phone that slept): the console opens from the
    // device, signed in, and the report still waits.
    await page.reload();
    await page.getByTestId("outbox-waiting").waitFor({ timeout: WAIT });
    await page.getByTestId("offline").waitFor({ timeout: WAIT });
    await page.getByTestId("job-number").filter({ hasText: env.acceptanceNumber }).waitFor({ timeout: WAIT });
    check((await page.getByTestId("whoami").textContent()).includes(env.name), "signed out by an offline reload");
    await shot(page, "field-3-waiting");
  });

  await step("back online, the server refuses the expired calibration and shows it for correction", async () => {
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    await page.getByTestId("outbox-refused").waitFor({ timeout: WAIT });
    const refusal = await page.getByTestId("refusal").textContent();
    check(refusal.length > 0, "the refusal says nothing");
    await shot(page, "field-4-refused");
  });

  await step("corrected, each item is judged as it is typed, and the report arrives once", async () => {
    await page.getByTestId("correct").tap();
    // The server's reason is shown against the field it names, until it is edited.
    const calibration = page.locator(".ant-form-item", { has: page.getByTestId("m-calibrated-0") });
    await calibration.locator(".ant-form-item-explain-error", { hasText: "2020" }).waitFor({ timeout: WAIT });
    check((await page.getByTestId("m-readings-0").inputValue()).startsWith("150 150 150"), "the readings were not kept");
    await page.getByTestId("m-calibrated-0").fill("2030-12-31");
    const verdict = page.getByTestId("m-verdict-0");
    await verdict.filter({ hasText: "合格" }).waitFor({ timeout: WAIT });
    check((await verdict.textContent()).includes("GB 50205"), `no clause in the verdict: ${await verdict.textContent()}`);
    await shot(page, "field-5-judged");
    // The phone sleeps mid-correction: the corrected form and the signature it was sent with
    // are still there (the signature is not stored a second time, as the test checks).
    await page.reload();
    await page.getByTestId("survey-findings").waitFor({ timeout: WAIT });
    check((await page.getByTestId("m-calibrated-0").inputValue()) === "2030-12-31", "the correction was lost in the reload");
    await page.getByTestId("survey-submit").tap();
    await page.getByTestId("survey-received").waitFor({ timeout: WAIT });
    await eventually(async () => (await outbox()).length === 0, "the outbox keeps no sent report");
    check(await page.getByTestId("outbox-count").count() === 0, "the header still counts a sent report");
    await shot(page, "field-6-received");
  });
  await step("on a slow 4G phone the sign-in page loads, and no screen is wider than the phone", async () => {
    // Lighthouse's mobile profile: 150 ms round trips, 1.6 Mbit/s down, 750 kbit/s up, a CPU
    // four times slower. A first visit (nothing cached), then a second (the service worker's).
    const figures = [];
    for (const visit of ["first", "second"]) {
      const visitContext = visit === "first" ? await browser.newContext({ viewport: { width: WIDTH, height: 844 }, isMobile: true, hasTouch: true, timezoneId: ZONE }) : phoneContext;
      const tab = await visitContext.newPage();
      const cdp = await visitContext.newCDPSession(tab);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 });
      await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
      let bytes = 0;
      cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
      const started = Date.now();
      await tab.goto(env.url);
      await tab.getByTestId("login").waitFor({ timeout: 60_000 });
      figures.push(`${visit} load ${Date.now() - started} ms, ${Math.round(bytes / 1024)} KiB transferred`);
      if (visit === "first") await shot(tab, "field-0-sign-in");
      if (visit === "first") {
        await tab.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 60_000 });
        phoneContext = visitContext;
      }
      for (const width of [360, 390, 430]) {
        await tab.setViewportSize({ width, height: 800 });
        await noSidewaysScroll(tab, `the sign-in page at ${width} px`);
      }
      await tab.close();
    }
    console.log(`slow 4G, sign-in page: ${figures.join("; ")}`);
    await phoneContext.close();
  });
  console.log(`all ${steps.length} steps held`);
} catch (err) {
  console.error(`FAILED after ${steps.length} steps at ${page.url()}: ${err?.stack ?? err}`);
  process.exitCode = 1;
  mkdirSync("e2e/out", { recursive: true });
  await page.screenshot({ path: "e2e/out/field-failure.png", fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
