// The experience base in a real browser against a real server, at desktop and phone width, in
// English and in Chinese: the agent searches every case and sees the matched words marked; a
// customer on a phone finds only their organisation's cases; a new call at the same gutter
// meets the archived case among the similar ones on the call desk's reply, flagged as a possible recurrence the
// agent confirms; the surveyor on site sees the similar cases under the survey form. Started
// by tests/api/experience.rs with STEELCARE_E2E (JSON): {url, projectName, archivedNumber,
// otherNumbers, surveyingTicketId, tokens: {agent, customer, surveyor}}. The exit code says
// whether all held.
import { WAIT, check, desktop, noSidewaysScroll, phone, shot, signInWith, step, steps } from "./lib.mjs";

const env = JSON.parse(process.env.STEELCARE_E2E ?? "{}");

/** Signs `page` in with `token` on the token tab. */
async function withToken(page, token) {
  await page.goto(env.url);
  await page.getByTestId("token-tab").tap();
  await page.getByTestId("token").fill(token);
  await page.getByTestId("signin").tap();
  await page.getByTestId("whoami").waitFor({ timeout: WAIT });
}

/** Searches for `words` on the search page and answers the numbers of the cases found. */
async function search(page, words) {
  const box = page.getByTestId("case-search").locator("input");
  await box.fill(words);
  await box.press("Enter");
  await page.getByTestId("found-count").waitFor({ timeout: WAIT });
  await page.getByTestId("case-hit").first().waitFor({ timeout: WAIT });
  return page.getByTestId("case-hit").getByTestId("case-number").allTextContents();
}

const browser = await desktop();
const opened = [];
try {
  await step("the agent searches the experience base in English and the matched words are marked", async () => {
    const page = await signInWith(browser, env.url, env.tokens.agent, "en");
    opened.push(page);
    await page.getByTestId("nav-search").click();
    const numbers = await search(page, "gutter leaking");
    check(numbers.length >= 2, `too few cases found: ${JSON.stringify(numbers)}`);
    // Staff see every organisation's cases: the other customer's English gutter leak too.
    check(numbers.some((n) => env.otherNumbers.includes(n)), `the other organisation's gutter leak is not found: ${JSON.stringify(numbers)}`);
    const marked = await page.getByTestId("case-hit").first().locator("mark").allTextContents();
    check(marked.some((m) => /gutter|leak/i.test(m)), `no matched word marked in the first hit: ${JSON.stringify(marked)}`);
    check((await page.getByTestId("found-count").textContent()).startsWith("Found"), "the count is not in English");
    await shot(page, "experience-search");
  });

  await step("in Chinese, a Chinese question finds the Chinese case and the labels read in Chinese", async () => {
    const page = await signInWith(browser, env.url, env.tokens.agent, "zh");
    opened.push(page);
    await page.goto(`${env.url}/search`);
    const numbers = await search(page, "天沟 渗水");
    check(numbers.includes(env.archivedNumber), `the archived gutter leak is not found: ${JSON.stringify(numbers)}`);
    const first = page.getByTestId("case-hit").filter({ has: page.getByTestId("case-number").getByText(env.archivedNumber, { exact: true }) });
    const marked = await first.locator("mark").allTextContents();
    check(marked.includes("天沟"), `天沟 is not marked: ${JSON.stringify(marked)}`);
    const text = await first.textContent();
    check(text.includes("渗漏"), `the category is not in Chinese: ${text}`);
    check(!/Leakage|Archived/.test(text), `English in the Chinese console: ${text}`);
  });

  await step("the call desk's reply shows the archived case, flagged as a possible recurrence the agent confirms", async () => {
    const page = opened[1];
    await page.goto(`${env.url}/desk`);
    await page.getByTestId("project").click();
    await page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option", { hasText: env.projectName }).first().click();
    await page.getByTestId("reporter-name").fill("王五");
    await page.getByTestId("reporter-phone").fill("13900000000");
    await page.getByTestId("location").fill("bay 3");
    await page.getByTestId("phenomenon").fill("下雨时天沟那里又渗水了");
    await page.getByTestId("create-ticket").click();
    await page.getByTestId("acceptance-number").waitFor({ timeout: WAIT });
    const panel = page.getByTestId("similar-cases");
    // The archived case, and the open one being surveyed there: both at the same place.
    const archived = panel.getByTestId("similar-case").filter({ has: page.getByTestId("case-number").getByText(env.archivedNumber, { exact: true }) });
    await archived.waitFor({ timeout: WAIT });
    const why = await archived.textContent();
    check(why.includes("同一项目同一部位"), `no reason given in Chinese: ${why}`);
    // The flag appears once the index has taken the new ticket in; the panel keeps looking.
    const flag = panel.getByTestId("recurrence");
    await flag.waitFor({ timeout: WAIT });
    check((await flag.textContent()).includes(env.archivedNumber), "the flag does not name the earlier case");
    await shot(page, "experience-similar-call-desk");
    await flag.getByTestId("confirm-recurrence").click();
    // Decided: no buttons left, and the flag says confirmed.
    await flag.getByTestId("confirm-recurrence").waitFor({ state: "detached", timeout: WAIT });
    check((await flag.getByTestId("reject-recurrence").count()) === 0, "a confirmed flag can still be decided");
    check((await flag.textContent()).includes("确认复发"), `the flag does not say confirmed: ${await flag.textContent()}`);
  });
} finally {
  await browser.close();
}

const mobile = await phone();
try {
  await step("a customer on a phone finds only their organisation's cases, without sideways scrolling", async () => {
    const { page } = mobile;
    await withToken(page, env.tokens.customer);
    await page.goto(`${env.url}/search`);
    const numbers = await search(page, "漏水 leaking");
    check(numbers.includes(env.archivedNumber), `the customer's own case is not found: ${JSON.stringify(numbers)}`);
    const theirs = numbers.filter((n) => env.otherNumbers.includes(n));
    check(theirs.length === 0, `another organisation's cases shown to the customer: ${JSON.stringify(theirs)}`);
    await noSidewaysScroll(page, "the search page");
    await shot(page, "experience-search-phone");
  });
} finally {
  await mobile.browser.close();
}

const field = await phone();
try {
  await step("on site, the surveyor's phone shows the similar earlier cases under the survey form", async () => {
    const { page } = field;
    await withToken(page, env.tokens.surveyor);
    await page.goto(`${env.url}/jobs/${env.surveyingTicketId}`);
    const panel = page.getByTestId("similar-cases");
    await panel.getByTestId("similar-case").first().waitFor({ timeout: WAIT });
    const numbers = await panel.getByTestId("similar-case").getByTestId("case-number").allTextContents();
    check(numbers.includes(env.archivedNumber), `the archived case is not among the similar ones: ${JSON.stringify(numbers)}`);
    check((await panel.textContent()).includes("以往类似案件"), "the panel's title is not in Chinese");
    await panel.scrollIntoViewIfNeeded();
    await noSidewaysScroll(page, "the survey screen with its similar cases");
    await shot(page, "experience-similar-survey-phone");
  });
} finally {
  await field.browser.close();
}

console.log(`all ${steps.length} steps held`);
