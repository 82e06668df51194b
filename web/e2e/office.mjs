// The office's screens at desktop width, in a real browser against a real server, each step by
// the person whose step it is and the wrong people shown the server's refusal. The test brings
// the case to where each phase starts (STEELCARE_E2E: {url, ticketId, phase, tokens: {author,
// reviewer, chief, agent, customer}, crewName}): "plan" from a surveyed case to the agreement
// prepared for the customer; "inspect" from a completed repair to a passed self-inspection;
// "archive" the customer's acceptance recorded on their behalf, then the archive; "visits" a visit due today, called
// twice; "actions" a corrective action raised from the Pareto, its fix recorded by its owner,
// and its verification refused while the window is open; "resolve" the manager settles the
// customer's dispute (shares not adding up to 100 refused at the field); "admin" the
// administrator registers a technician with a certificate and an instrument, sets warranty
// terms, a visit policy and a person, onboards customers from a spreadsheet, and sends again
// the notifications a chat robot could not take. The exit code says whether all held.
import { mkdirSync } from "node:fs";
import { WAIT, check, clickUntilShown, desktop, eventually, pickNth, shot, sign, signInWith, step, steps } from "./lib.mjs";

const env = JSON.parse(process.env.STEELCARE_E2E ?? "{}");
const browser = await desktop();
let current;

async function inbox(token, lang = "en") {
  current = await signInWith(browser, env.url, token, lang);
  await current.goto(`${env.url}/approvals`);
  return current;
}

/** `datetime-local` text of a time `days` from today at `hour` o'clock, in the browser's zone. */
function dayAt(days, hour) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  d.setHours(hour, 0, 0, 0);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

try {
  if (env.phase === "plan") await planPhase();
  if (env.phase === "inspect") await inspectPhase();
  if (env.phase === "archive") await archivePhase();
  if (env.phase === "visits") await visitsPhase();
  if (env.phase === "actions") await actionsPhase();
  if (env.phase === "resolve") await resolvePhase();
  if (env.phase === "admin") await adminPhase();
  console.log(`all ${steps.length} steps held`);
} catch (err) {
  console.error(`FAILED after ${steps.length} steps at ${current?.url()}: ${err?.stack ?? err}`);
  process.exitCode = 1;
  mkdirSync("e2e/out", { recursive: true });
  await current?.screenshot({ path: `e2e/out/office-${env.phase}-failure.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}

async function planPhase() {
  await step("the engineer writes the plan; a material without its certificate is refused at the field", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.author));
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("open-plan-editor").click();
    await page.getByTestId("plan-form").waitFor({ timeout: WAIT });
    await page.getByTestId("plan-objective").fill("Stop the leak at gutter G2 and restore its corrosion protection");
    await page.getByTestId("plan-scope").fill("Gutter G2 between axes 3 and 5");
    await page.getByTestId("plan-methods").fill("Blast to Sa2.5, three coats per GB 50205 §14");
    await page.getByTestId("step-description-0").fill("Remove the old coating");
    await page.getByTestId("add-step").click();
    await page.getByTestId("step-description-1").fill("Apply three coats");
    await page.getByTestId("step-key-1").click();
    await page.getByTestId("add-criterion-1").click();
    await page.getByTestId("criterion-member-1-0").fill("G2");
    await page.getByTestId("criterion-coats-1-0").fill("3");
    await page.getByTestId("add-material").click();
    await page.getByTestId("material-name-0").fill("Epoxy zinc-rich primer");
    await page.getByTestId("material-quantity-0").fill("20 kg");
    await page.getByTestId("plan-safety").fill("Harness anchored to the lifeline");
    await page.getByTestId("plan-start").fill(dayAt(2, 8));
    await page.getByTestId("plan-end").fill(dayAt(2, 16));
    await page.getByTestId("plan-crew-select").click();
    // Under the full suite's load the option's click was lost once: click until the crew shows.
    const crewOption = page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option", { hasText: env.crewName }).first();
    const crewChosen = page.locator(".ant-form-item", { has: page.getByTestId("plan-crew-select") }).locator(".ant-select-selection-item", { hasText: env.crewName });
    await clickUntilShown(crewOption, crewChosen);
    await page.keyboard.press("Escape");
    await page.getByTestId("plan-cost").fill("80000");
    await pickNth(page, "plan-bearer", 0);
    await page.getByTestId("plan-effect").fill("No water at the outlet in a 30-minute spray test");
    await page.getByTestId("plan-disruption").fill("Bay 3 closed for one day");
    await page.getByTestId("submit-plan").click();
    const certificates = page.locator(".ant-form-item", { has: page.getByTestId("material-certificates-0") });
    await certificates.locator(".ant-form-item-explain-error").waitFor({ timeout: WAIT });
    await shot(page, "plan-editor");
    await page.getByTestId("material-certificates-0").fill("QC-2026-118");
    await page.getByTestId("submit-plan").click();
    await page.getByTestId("plan-submitted").waitFor({ timeout: WAIT });
    const chain = await page.getByTestId("plan-chain").textContent();
    check(chain.includes("Technical lead → Chief engineer"), `the chain is not shown as computed: ${chain}`);
    await page.context().close();
  });

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
    // The card shows ids until the team's names arrive (a second request): wait for them.
    const crewField = card.getByTestId("plan-crew");
    await crewField.filter({ hasText: env.crewName }).waitFor({ timeout: WAIT }).catch(() => {});
    const crew = await crewField.textContent();
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
  await step("the agent records the call with the customer, who agrees to the plan in their console", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.agent));
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("communications").waitFor({ timeout: WAIT });
    check((await page.getByTestId("prepare-agreement").count()) === 0, "an agent is offered to prepare the agreement");
    await pickNth(page, "talk-channel", 0);
    await page.getByTestId("talk-participants").fill("Li Wei, eng-1");
    await page.getByTestId("talk-summary").fill("Walked the customer through plan version 1 and its cost");
    await page.getByTestId("record-communication").click();
    await page.getByTestId("communication").filter({ hasText: "Walked the customer" }).waitFor({ timeout: WAIT });
    await page.context().close();
    const customer = (current = await signInWith(browser, env.url, env.tokens.customer));
    await customer.goto(`${env.url}/tickets/${env.ticketId}`);
    check((await customer.getByTestId("negotiation").count()) === 0, "the customer sees the office's negotiation card");
    await customer.getByTestId("agree-plan").click();
    await customer.getByTestId("customer-done").waitFor({ timeout: WAIT });
    await customer.context().close();
  });

  await step("the engineer works out who pays for the quote, signs and sends the agreement for the customer's signature", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.author));
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("customer-decision").filter({ hasText: "agreed" }).waitFor({ timeout: WAIT });
    await page.getByTestId("prepare-agreement").waitFor({ timeout: WAIT });
    await page.getByTestId("agreement-quoted").fill("80,000");
    await page.getByTestId("assess-cost").click();
    const quoted = page.locator(".ant-form-item", { has: page.getByTestId("agreement-quoted") });
    await quoted.locator(".ant-form-item-explain-error").waitFor({ timeout: WAIT });
    await page.getByTestId("agreement-quoted").fill("80000");
    await page.getByTestId("assess-cost").click();
    const assessed = await page.getByTestId("assessed-cost").textContent({ timeout: WAIT });
    check(assessed.includes("CNY"), `no amounts in the bearing: ${assessed}`);
    await page.getByTestId("agreement-customer").fill("Close bay 3 for a day");
    await sign(page);
    await shot(page, "negotiation");
    await page.getByTestId("send-agreement").click();
    await page.getByTestId("agreement-prepared").waitFor({ timeout: WAIT });
    await page.getByTestId("agreement-awaiting").waitFor({ timeout: WAIT });
    await page.context().close();
  });
}

async function inspectPhase() {
  await step("the engineer self-inspects against the plan's criteria, judged as typed: a failing one is recorded with what failed, then a passing one", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.author));
    await page.goto(`${env.url}/jobs/${env.ticketId}`);
    await page.getByTestId("self-inspection").waitFor({ timeout: WAIT });
    await pickNth(page, "si-instrument-0", 4);
    await page.getByTestId("si-serial-0").fill("CTG-9");
    await page.getByTestId("si-calibrated-0").fill("2030-12-31");
    await page.getByTestId("si-readings-0").fill(Array(15).fill("100").join(" "));
    await page.getByTestId("si-verdict-0").filter({ hasText: /fail/i }).waitFor({ timeout: WAIT });
    await page.getByTestId("si-submit").click();
    const failed = await page.getByTestId("self-inspection-result").textContent({ timeout: WAIT });
    check(/failed/i.test(failed), `the failed self-inspection is not shown: ${failed}`);
    await page.getByTestId("si-readings-0").fill(Array(15).fill("151").join(" "));
    await page.getByTestId("si-verdict-0").filter({ hasText: /pass/i }).waitFor({ timeout: WAIT });
    await shot(page, "self-inspection");
    await page.getByTestId("si-submit").click();
    await page.getByTestId("self-inspection-result").filter({ hasText: "passed" }).waitFor({ timeout: WAIT });
    await page.context().close();
  });
}

async function archivePhase() {
  await step("on site, the engineer records the customer's acceptance: the representative signs in their own name", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.author));
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("acceptance-form").waitFor({ timeout: WAIT });
    await sign(page);
    check(await page.getByTestId("sign-acceptance").isDisabled(), "signed without the representative's name");
    await page.getByTestId("acceptance-representative").fill("李伟");
    await page.getByTestId("sign-acceptance").click();
    await page.getByTestId("case-state").filter({ hasText: "Accepted" }).waitFor({ timeout: WAIT });
    await page.context().close();
  });

  await step("the agent is not offered the archive; the engineer archives the accepted case", async () => {
    const agent = (current = await signInWith(browser, env.url, env.tokens.agent));
    await agent.goto(`${env.url}/tickets/${env.ticketId}`);
    await agent.getByTestId("case-state").filter({ hasText: "Accepted" }).waitFor({ timeout: WAIT });
    check((await agent.getByTestId("desk-archive").count()) === 0, "an agent is offered the archive");
    await agent.context().close();
    const page = (current = await signInWith(browser, env.url, env.tokens.author));
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("desk-archive").click();
    const archived = await page.getByTestId("archived").textContent({ timeout: WAIT });
    check(/Archived as \S+/.test(archived), `no archive number: ${archived}`);
    await page.getByTestId("case-state").filter({ hasText: "Archived" }).waitFor({ timeout: WAIT });
    await page.context().close();
  });
}

async function visitsPhase() {
  await step("the agent's call list has today's visit: nobody answers, then the customer is reached, reports a recurrence and answers the survey", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.agent));
    await page.goto(`${env.url}/visits`);
    const visit = page.locator(`[data-testid=due-visit][data-ticket="${env.ticketId}"]`);
    await visit.waitFor({ timeout: WAIT });
    await visit.getByTestId("visit-open").click();
    await pickNth(page, "visit-outcome", 1);
    await visit.getByTestId("visit-record").click();
    await page.getByTestId("visit-done").waitFor({ timeout: WAIT });
    await visit.filter({ hasText: "Attempts: 1" }).waitFor({ timeout: WAIT });
    await visit.getByTestId("visit-open").click();
    await pickNth(page, "visit-condition", 2);
    await visit.getByTestId("visit-recurred").click();
    await visit.getByTestId("visit-recurrence").fill("Water at the gutter outlet again after the storm");
    await visit.getByTestId("visit-survey").click();
    for (const [dimension, stars] of [["response_speed", 4], ["professional_competence", 4], ["service_attitude", 5], ["fix_effect", 2], ["communication", 4]]) {
      await visit.getByTestId(`rate-${dimension}`).locator(".ant-rate-star").nth(stars - 1).click();
    }
    await shot(page, "visits");
    await visit.getByTestId("visit-record").click();
    await page.getByTestId("visit-done").filter({ hasText: "linked ticket" }).waitFor({ timeout: WAIT });
    await page.context().close();
  });
}

/** Picks today in the open date picker of `testId`. */
async function today(page, testId) {
  await page.getByTestId(testId).click();
  await page.locator(".ant-picker-dropdown:not(.ant-picker-dropdown-hidden)").getByText(/^(Today|今天)$/).click();
}

async function actionsPhase() {
  await step("the engineer raises a corrective action from the Pareto's largest pattern, to construction", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.author));
    await page.goto(`${env.url}/actions`);
    await page.getByTestId("raise-from-row").first().click();
    const title = await page.getByTestId("action-title").inputValue();
    check(title.length > 0, "the pattern's name is not taken as the title");
    await page.getByTestId("action-description").fill("Gutter outlets of this roof type leak: change the outlet detail");
    await pickNth(page, "action-department", 3);
    await pickNth(page, "action-owner", 0);
    await today(page, "action-due");
    await page.getByTestId("action-raise").click();
    await page.getByTestId("action-done").waitFor({ timeout: WAIT });
    await page.getByTestId("action").filter({ hasText: "Open" }).first().waitFor({ timeout: WAIT });
    await shot(page, "corrective-actions");
    await page.context().close();
  });

  await step("the owner records the fix; the manager's verification is refused with the reason while the window is open", async () => {
    const owner = (current = await signInWith(browser, env.url, env.tokens.owner));
    await owner.goto(`${env.url}/actions`);
    const action = owner.getByTestId("action").first();
    await action.getByTestId("action-update").click();
    await pickNth(owner, "action-new-status", 1);
    await today(owner, "action-fix-date");
    await action.getByTestId("action-note").fill("New outlet detail issued to all sites");
    await action.getByTestId("action-save").click();
    await action.getByTestId("action-status").filter({ hasText: "Fix deployed" }).waitFor({ timeout: WAIT });
    await owner.context().close();
    const manager = (current = await signInWith(browser, env.url, env.tokens.manager));
    await manager.goto(`${env.url}/actions`);
    const same = manager.getByTestId("action").first();
    await same.getByTestId("action-verify").click();
    const refusal = await same.getByTestId("error").textContent({ timeout: WAIT });
    check(refusal.length > 0, "the refusal is not shown");
    await manager.context().close();
  });
}

async function resolvePhase() {
  await step("the manager reads the dispute and settles it; shares not adding up to 100 are refused at the field", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.manager));
    await page.goto(`${env.url}/tickets/${env.ticketId}`);
    await page.getByTestId("dispute-desk").waitFor({ timeout: WAIT });
    await pickNth(page, "settle-resolution", 0);
    await page.getByTestId("settle-outcome").fill("The downpipe was outside the plan: the contractor bears 60 %");
    await pickNth(page, "settle-party-0", 0);
    await page.getByTestId("settle-percent-0").fill("60");
    await page.getByTestId("settle-add-share").click();
    await pickNth(page, "settle-party-1", 3);
    await page.getByTestId("settle-percent-1").fill("30");
    await page.getByTestId("settle-quoted").fill("10000");
    await page.getByTestId("settle-customer-signer").fill("李伟");
    await page.getByTestId("settle-dispute").click();
    await page.locator("[data-testid=dispute-desk] .ant-form-item-explain-error").first().waitFor({ timeout: WAIT });
    await shot(page, "dispute");
    await page.getByTestId("settle-percent-1").fill("40");
    // The same request id until it is settled: a second click under load is the same settlement.
    await clickUntilShown(page.getByTestId("settle-dispute"), page.getByTestId("dispute-settled"));
    await page.context().close();
  });
}

/** Picks the `index`-th option of the multiple select `testId` (which stays open) and closes it. */
async function pickOneOfMany(page, testId, index) {
  // Until the field shows it chosen: under the full suite's load the option's click was
  // lost once, and the technician was refused for want of a skill. The option is clicked
  // only while it is not selected (a second click would take it off again).
  const chosen = page.locator(".ant-form-item", { has: page.getByTestId(testId) }).locator(".ant-select-selection-item").first();
  await eventually(async () => {
    const open = page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden)").last();
    if (!(await open.isVisible())) {
      await page.getByTestId(testId).click();
      await open.waitFor({ timeout: 3_000 }).catch(() => {});
    }
    const option = open.locator(".ant-select-item-option").nth(index);
    if ((await option.isVisible()) && !(await option.getAttribute("class")).includes("ant-select-item-option-selected")) await option.click();
    return chosen.isVisible();
  }, `an option of ${testId} chosen`);
  await page.keyboard.press("Escape");
}

/** `YYYY-MM-DD` `days` from today. */
function dayFromNow(days) {
  const d = new Date(Date.now() + days * 86_400_000);
  return d.toISOString().slice(0, 10);
}

async function adminPhase() {
  // The terms and the policy are set on the office's own project and customer.
  await step("the administrator registers a technician: regions refused at the field, then saved with an expired certificate and a calibration running out flagged", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.admin));
    await page.goto(`${env.url}/admin`);
    await clickUntilShown(page.getByTestId("tech-add"), page.getByTestId("tech-id"));
    await page.getByTestId("tech-id").fill("t-new");
    await page.getByTestId("tech-name").fill("周新");
    await page.getByTestId("tech-phone").fill("13700000000");
    await pickOneOfMany(page, "tech-skills", 6);
    await page.getByTestId("tech-add-certificate").click();
    await page.getByTestId("tech-cert-kind-0").fill("work_at_height");
    await page.getByTestId("tech-cert-number-0").fill("WAH-77");
    await page.getByTestId("tech-cert-until-0").fill(dayFromNow(-1));
    await page.getByTestId("tech-add-instrument").click();
    await pickNth(page, "tech-inst-kind-0", 4);
    await page.getByTestId("tech-inst-serial-0").fill("CTG-77");
    await page.getByTestId("tech-inst-until-0").fill(dayFromNow(10));
    await page.getByTestId("tech-save").click();
    const regions = page.locator(".ant-form-item", { has: page.getByTestId("tech-regions") });
    await regions.locator(".ant-form-item-explain-error").waitFor({ timeout: WAIT });
    await page.getByTestId("tech-regions").fill("Suzhou, Wuxi");
    await page.getByTestId("tech-save").click();
    await page.getByTestId("tech-saved").waitFor({ timeout: WAIT });
    const row = page.locator(".ant-table-row", { hasText: "周新" });
    await row.waitFor({ timeout: WAIT });
    check((await row.getByTestId("tech-certificate").getAttribute("data-state")) === "expired", "the expired certificate is not flagged");
    check((await row.getByTestId("tech-instrument").getAttribute("data-state")) === "soon", "the calibration running out is not flagged");
    await shot(page, "admin-technicians");
  });

  await step("warranty terms of a project, a customer's visit policy (months not increasing refused) and a new person are set", async () => {
    const page = current;
    await page.getByRole("tab", { name: "Warranty terms" }).click();
    await pickNth(page, "terms-project", 0);
    // A second waterproofing term is refused at its field; the existing one is lengthened.
    await page.getByTestId("term-add").click();
    const last = (await page.locator("[data-testid^=term-scope-]").count()) - 1;
    await pickNth(page, `term-scope-${last}`, 1);
    await page.getByTestId(`term-months-${last}`).fill("72");
    await page.getByTestId("terms-save").click();
    const twice = page.locator(".ant-form-item", { has: page.getByTestId(`term-scope-${last}`) });
    await twice.locator(".ant-form-item-explain-error").waitFor({ timeout: WAIT });
    await page.getByTestId(`term-remove-${last}`).click();
    const existing = await page.locator("[data-testid^=term-scope-]", { hasText: "Waterproofing" }).first().getAttribute("data-testid");
    await page.getByTestId(existing.replace("scope", "months")).fill("72");
    await page.getByTestId("terms-save").click();
    await page.getByTestId("terms-saved").waitFor({ timeout: WAIT });
    await page.getByRole("tab", { name: "Visit policy" }).click();
    await pickNth(page, "policy-customer", 0);
    await page.getByTestId("policy-offsets").fill("12, 6");
    await page.getByTestId("policy-save").click();
    await page.locator("[role=tabpanel]:not([hidden]) [data-testid=error]").waitFor({ timeout: WAIT });
    await page.getByTestId("policy-offsets").fill("1, 6, 12");
    await page.getByTestId("policy-save").click();
    await page.getByTestId("policy-saved").waitFor({ timeout: WAIT });
    await page.getByRole("tab", { name: "People and roles" }).click();
    await page.getByTestId("person-login").fill("wang.fang");
    await page.getByTestId("person-name").fill("王芳");
    await pickOneOfMany(page, "person-roles", 0);
    await page.getByTestId("person-password").fill("call desk and kettle 9");
    await page.getByTestId("person-add").click();
    await page.locator("[data-testid=people] .ant-table-row", { hasText: "wang.fang" }).waitFor({ timeout: WAIT });
  });

  await step("a customer sheet is checked (its problem shown at its cell), imported, imported again without a change, and exported", async () => {
    const page = current;
    await page.getByTestId("tab-onboarding").click();
    const csv = "organization_name,Contact,Contact's phone\nE2E Cold Chain,Chen Jing,13900000001\nE2E Depot,Sun Li,\n";
    await page.getByTestId("sheet-file").setInputFiles({ name: "customers.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    check(await page.getByTestId("sheet-import").isDisabled(), "import is offered before the sheet was checked");
    const count = async (word) => Number(await page.getByTestId(`sheet-${word}`).getAttribute("data-count"));
    const report = async (button, validateOnly) => {
      await page.getByTestId(button).click();
      await page.locator(`[data-testid=sheet-report][data-validate-only=${validateOnly}]`).waitFor({ timeout: WAIT });
    };
    await report("sheet-check", true);
    const problems = await page.locator("[data-testid=sheet-problems] .ant-table-row").allTextContents();
    check(problems.length === 1 && problems[0].startsWith("C3"), `the missing phone is not shown at C3: ${JSON.stringify(problems)}`);
    check((await count("sheetWouldCreate")) === 1 && (await count("sheetRefused")) === 1, "the preview's counts are wrong");
    await shot(page, "admin-onboarding");
    await report("sheet-import", false);
    check((await count("sheetCreated")) === 1, "the valid customer was not created");
    await report("sheet-check", true);
    await report("sheet-import", false);
    check((await count("sheetCreated")) === 0 && (await count("sheetUnchanged")) === 1, "a second import changed something");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("sheet-export-csv").click()]);
    check(/^customers-.*\.csv$/.test(download.suggestedFilename()), `export file name ${download.suggestedFilename()}`);
    const stream = await download.createReadStream();
    let text = "";
    for await (const chunk of stream) text += chunk.toString("utf8");
    check(text.includes("E2E Cold Chain") && !text.includes("E2E Depot"), `the export holds ${text}`);
    await page.context().close();
  });

  await step("the notifications the operations group's robot could not take are listed with its answer, and each is sent again", async () => {
    const page = (current = await signInWith(browser, env.url, env.tokens.admin));
    await page.goto(`${env.url}/admin`);
    await page.getByTestId("tab-dead-letters").click();
    const rows = page.locator("[data-testid=dead-letters] .ant-table-row", { hasText: "webhook:ops" });
    await rows.first().waitFor({ timeout: WAIT });
    check((await rows.first().locator('[title="ticket-received"]').count()) === 1, "the failed message is not listed with its topic");
    await shot(page, "admin-dead-letters");
    for (let left = await rows.count(); left > 0; left--) {
      await rows.first().getByTestId("retry-delivery").click();
      await eventually(async () => (await rows.count()) < left, "a retried notification is still listed as failed");
    }
    await page.context().close();
  });
}
