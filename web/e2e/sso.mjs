// Single sign-on in a real browser: the console signs in at a real OpenID Provider
// (oidc-provider, started by tests/api/sso.rs) with the authorization code flow and PKCE, keeps
// working when the provider rotates its signing key (its refreshed token carries the new key
// id), and signs out at the provider too. STEELCARE_E2E (JSON): {url, issuer, login, name,
// provider}. The exit code says whether every step held.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { WAIT, ZONE, check, step, steps } from "./lib.mjs";

const env = JSON.parse(process.env.STEELCARE_E2E ?? "{}");
const executablePath = process.env.STEELCARE_CHROMIUM ?? "/usr/bin/chromium";
const keyIdOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString()).kid;

async function signInAtProvider(page) {
  await page.getByTestId(`sso-${env.provider}`).click();
  // oidc-provider's own pages: the sign-in form, then consent to what the console asks for.
  await page.locator('input[name="login"]').waitFor({ timeout: WAIT });
  await page.locator('input[name="login"]').fill(env.login);
  await page.locator('input[name="password"]').fill("any password the provider checks");
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click({ timeout: WAIT });
  await page.getByTestId("whoami").waitFor({ timeout: WAIT });
}

const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: ZONE });
await context.addInitScript(() => localStorage.setItem("steelcare.lang", "zh"));
const page = await context.newPage();
page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) console.log(`at ${frame.url()}`); });
try {
  await step("the console signs in at the company's provider and shows the person's name", async () => {
    await page.goto(env.url);
    await signInAtProvider(page);
    const who = await page.getByTestId("whoami").textContent();
    check(who.includes(env.name), `signed in as ${who}`);
    const menu = (await page.locator(".ant-menu").allTextContents()).join(" ");
    check(menu.includes("接线台"), `an agent's menu: ${menu}`);
    check(!page.url().includes("code="), `the provider's code stays in the address: ${page.url()}`);
  });

  await step("the provider rotates its key and the console keeps working on a renewed token", async () => {
    const before = await page.evaluate(() => sessionStorage.getItem("steelcare.token"));
    const rotated = await (await fetch(`${env.issuer}/test/rotate`, { method: "POST" })).json();
    check(keyIdOf(before) !== rotated.kid, "the key did not change");
    // The access token lives 65 s: the console renews it a minute before, with the refresh token.
    await page.waitForFunction(
      (old) => { const now = sessionStorage.getItem("steelcare.token"); return now && now !== old; },
      before,
      { timeout: 45_000 },
    );
    const after = await page.evaluate(() => sessionStorage.getItem("steelcare.token"));
    check(keyIdOf(after) === rotated.kid, `renewed with key ${keyIdOf(after)}, not ${rotated.kid}`);
    await page.locator(".ant-menu a", { hasText: "工单" }).first().click();
    await page.waitForURL(/\/tickets$/, { timeout: WAIT });
    await page.waitForTimeout(500);
    check(await page.getByTestId("whoami").isVisible(), "signed out after the rotation");
    check((await page.getByTestId("whoami").textContent()).includes(env.name), "another person after the rotation");
  });

  await step("signing out ends the session at the provider too", async () => {
    await page.getByTestId("signout").click();
    // The provider asks to confirm, then sends the browser back to the console.
    await page.locator('button[name="logout"], button[value="yes"]').first().click({ timeout: WAIT });
    await page.getByTestId(`sso-${env.provider}`).waitFor({ timeout: WAIT });
    check(await page.evaluate(() => sessionStorage.getItem("steelcare.sso") === null), "the provider session outlived the sign-out");
    // Signing in again asks for the password again: the provider's session ended.
    await page.getByTestId(`sso-${env.provider}`).click();
    await page.locator('input[name="login"]').waitFor({ timeout: WAIT });
  });
  console.log(`all ${steps.length} steps held`);
} catch (err) {
  console.error(`FAILED after ${steps.length} steps at ${page.url()}: ${err?.stack ?? err}`);
  process.exitCode = 1;
  mkdirSync("e2e/out", { recursive: true });
  await page.screenshot({ path: "e2e/out/sso-failure.png", fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
