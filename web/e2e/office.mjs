// The office's screens at desktop width, in a real browser against a real server, each step by
// the person whose step it is and the wrong people shown the server's refusal. The test brings
// the case to where the script starts (STEELCARE_E2E: {url, ticketId, tokens: {author,
// reviewer, chief}, crewName}). The exit code says whether all held.
import { mkdirSync } from "node:fs";
import { WAIT, check, desktop, shot, signInWith, step, steps } from "./lib.mjs";

const env = JSON.parse(process.env.STEELCARE_E2E ?? "{}");
const browser = await desktop();
let current;

async function inbox(token, lang = "en") {
  current = await signInWith(browser, env.url, token, lang);
  await current.goto(`${env.url}/approvals`);
  return current;
}

try {
  await step("nobody is offered their own plan, nor a step that is not theirs yet", async () => {
    for (const token of [env.tokens.author, env.tokens.chief]) {
      const page = await inbox(token);
      await page.getByTestId("inbox-empty").waitFor({ timeout: WAIT });
      await page.context().close();
    }
  });

  await step("the technical lead reads the whole plan, is refused a return without a comment, and approves", async () => {
    const page = await inbox(env.tokens.reviewer);
    const card = page.locator(`[data-testid=plan-to-review][data-ticket="${env.ticketId}"]`);
    await card.waitFor({ timeout: WAIT });
    const crew = await card.getByTestId("plan-crew").textContent();
    check(crew.includes(env.crewName), `the crew is not named: ${crew}`);
    const chain = await card.getByTestId("plan-chain").textContent();
    check(chain.includes("Technical lead → Chief engineer"), `the chain is not shown as computed: ${chain}`);
    await card.getByTestId("request-changes").click();
    const refusal = await card.getByTestId("error").textContent();
    check(refusal.includes("comments"), `the server's refusal is not shown: ${refusal}`);
    await shot(page, "approvals");
    await card.getByTestId("review-comments").fill("Bolt grades checked against the drawings");
    await card.getByTestId("approve-plan").click();
    await page.getByTestId("reviewed").waitFor({ timeout: WAIT });
    await page.getByTestId("inbox-empty").waitFor({ timeout: WAIT });
    await page.context().close();
  });

  await step("the chief engineer, in Chinese, sees the lead's approval and approves", async () => {
    const page = await inbox(env.tokens.chief, "zh");
    const card = page.locator(`[data-testid=plan-to-review][data-ticket="${env.ticketId}"]`);
    await card.waitFor({ timeout: WAIT });
    check((await card.textContent()).includes("Bolt grades checked"), "the lead's review is not shown");
    await card.getByTestId("approve-plan").click();
    await page.getByTestId("inbox-empty").waitFor({ timeout: WAIT });
    await page.context().close();
  });
  console.log(`all ${steps.length} steps held`);
} catch (err) {
  console.error(`FAILED after ${steps.length} steps at ${current?.url()}: ${err?.stack ?? err}`);
  process.exitCode = 1;
  mkdirSync("e2e/out", { recursive: true });
  await current?.screenshot({ path: "e2e/out/office-failure.png", fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
