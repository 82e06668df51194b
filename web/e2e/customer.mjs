// The customer's part on a phone (390 × 844), in a real browser against a real server, in the
// phase the test has brought the case to (STEELCARE_E2E: {url, login, password, ticketId,
// phase, technician}): "decide" agrees to the approved plan (the surveyor shown by name);
// "sign" countersigns the agreement the engineer prepared; "accept" signs the acceptance form
// with a finger; "rate" answers the satisfaction survey; "dispute" disputes the cost;
// "withdraw" withdraws another report. The exit code says whether all held.
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
      const technicians = await page.getByTestId("assignment-technician").allTextContents();
      check(technicians.includes(env.technician), `the technician is not shown by name: ${JSON.stringify(technicians)}`);
      await noSidewaysScroll(page, "the plan to decide");
      await shot(page, "customer-1-plan");
      await page.getByTestId("agree-plan").tap();
      await page.getByTestId("customer-done").waitFor({ timeout: WAIT });
    });
  }

  if (env.phase === "sign") {
    await step("the customer reads the prepared agreement, who pays what, and countersigns it", async () => {
      const agreement = page.getByTestId("agreement-to-sign");
      await agreement.waitFor({ timeout: WAIT });
      const pays = await page.getByTestId("agreement-customer-pays").textContent();
      check(pays.includes("CNY"), `no amount the customer pays: ${pays}`);
      await sign(page);
      await noSidewaysScroll(page, "the agreement to sign");
      await shot(page, "customer-2-agreement");
      await page.getByTestId("sign-agreement").tap();
      await page.getByTestId("customer-done").filter({ hasText: "协议已签署" }).waitFor({ timeout: WAIT });
    });
  }

  if (env.phase === "accept") {
    await step("the customer signs the acceptance form with a finger", async () => {
      await page.getByTestId("acceptance-form").waitFor({ timeout: WAIT });
      await sign(page);
      await shot(page, "customer-3-acceptance");
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
      await shot(page, "customer-4-survey");
      await page.getByTestId("rate-submit").tap();
      await page.getByTestId("customer-done").filter({ hasText: "感谢" }).waitFor({ timeout: WAIT });
    });
  }
  if (env.phase === "withdraw") {
    await step("the customer withdraws a report not yet surveyed, with the reason", async () => {
      await page.getByTestId("withdraw-open").tap();
      await page.getByTestId("withdraw-reason").fill("物业已自行处理");
      await page.getByTestId("withdraw-confirm").tap();
      await page.getByTestId("customer-done").filter({ hasText: "报修已撤回" }).waitFor({ timeout: WAIT });
    });
  }

  if (env.phase === "dispute") {
    await step("the customer disputes the cost, with what supports it and the appraisal's date", async () => {
      await page.getByTestId("dispute-it").tap();
      await page.getByTestId("send-dispute").tap();
      // Nothing is sent until the required fields are filled in.
      await page.locator(".ant-form-item-explain-error").first().waitFor({ timeout: WAIT });
      await page.getByTestId("dispute-question").fill("落水管更换不在方案范围内，不应由我方承担");
      await page.getByTestId("dispute-evidence").fill("方案第2版范围仅含天沟G2");
      await page.getByTestId("dispute-institution").fill("江苏省建设工程质量检测中心");
      await page.getByTestId("dispute-deadline").tap();
      await page.locator(".ant-picker-dropdown:not(.ant-picker-dropdown-hidden) .ant-picker-header-next-btn").tap();
      await page.locator(".ant-picker-dropdown:not(.ant-picker-dropdown-hidden) td.ant-picker-cell-in-view").nth(14).tap();
      await noSidewaysScroll(page, "the dispute");
      await shot(page, "customer-5-dispute");
      await page.getByTestId("send-dispute").tap();
      await page.getByTestId("customer-done").filter({ hasText: "争议已记录" }).waitFor({ timeout: WAIT });
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
