// The customer's part on a phone (390 × 844), in a real browser against a real server, in the
// phase the test has brought the case to (STEELCARE_E2E: {url, login, password, ticketId,
// phase}): "decide" agrees to the approved plan; "accept" signs the acceptance form with a
// finger; "rate" answers the satisfaction survey. The exit code says whether all held.
import { mkdirSync } from "node:fs";
import { WAIT, check, noSidewaysScroll, shot, sign, phone, step, steps } from "./lib.mjs";

const env = JSON.parse(process.env.STEELCARE_E2E ?? "{}");

const { browser, context, page } = await phone();

try {
  await step(`the customer signs in on a phone and opens their case (${env.phase})`, async () => {
    await page.goto(env.url);
    await page.getByTestId("login").fill(env.login);
    await page.getByTestId("password").fill(env.password);
    await page.getByTestId("signin-password").click();
    await page.getByTestId("whoami").waitFor({ timeout: WAIT });
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("case-number").waitFor({ timeout: WAIT });
  });

  if (env.phase === "decide") {
    await step("the approved plan is shown with its cost and the customer agrees", async () => {
      const plan = page.getByTestId("plan-to-decide");
      await plan.waitFor({ timeout: WAIT });
      check((await plan.textContent()).includes("CNY"), `no cost in the plan: ${await plan.textContent()}`);
      // The clocks count in the reader's words; a working-time clock in working hours.
      const clocks = await page.locator('[data-testid$="-left"]').allTextContents();
      check(clocks.length > 0 && clocks.every((c) => !/[a-z]/i.test(c)), `clocks not in Chinese: ${JSON.stringify(clocks)}`);
      check(clocks.some((c) => c.includes("工作小时")), `no working-time clock in working hours: ${JSON.stringify(clocks)}`);
      await noSidewaysScroll(page, "the plan to decide");
      await shot(page, "customer-1-plan");
      await page.getByTestId("agree-plan").tap();
      await page.getByTestId("customer-done").waitFor({ timeout: WAIT });
    });
  }

  if (env.phase === "accept") {
    await step("the customer signs the acceptance form with a finger", async () => {
      await page.getByTestId("acceptance-form").waitFor({ timeout: WAIT });
      await sign(page);
      await shot(page, "customer-2-acceptance");
      await page.getByTestId("sign-acceptance").tap();
      await page.getByTestId("customer-done").filter({ hasText: "已签署验收" }).waitFor({ timeout: WAIT });
    });
  }

  if (env.phase === "rate") {
    await step("the customer answers the survey on its five dimensions", async () => {
      await page.getByTestId("satisfaction").waitFor({ timeout: WAIT });
      for (const [dimension, stars] of [["response_speed", 5], ["professional_competence", 4], ["service_attitude", 5], ["fix_effect", 4], ["communication", 3]]) {
        await page.getByTestId(`rate-${dimension}`).locator(".ant-rate-star").nth(stars - 1).tap();
      }
      await page.getByTestId("rate-comment").fill("维修及时，沟通可以更主动");
      await noSidewaysScroll(page, "the survey");
      await shot(page, "customer-3-survey");
      await page.getByTestId("rate-submit").tap();
      await page.getByTestId("customer-done").filter({ hasText: "感谢" }).waitFor({ timeout: WAIT });
    });
  }
  console.log(`all ${steps.length} steps held`);
} catch (err) {
  console.error(`FAILED after ${steps.length} steps at ${page.url()}: ${err?.stack ?? err}`);
  process.exitCode = 1;
  mkdirSync("e2e/out", { recursive: true });
  await page.screenshot({ path: `e2e/out/customer-${env.phase}-failure.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
