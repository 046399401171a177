// A real browser for UI tests: Debian's Chromium driven by playwright-core, with axe-core.
// Never downloads a browser. Missing Chromium skips browser tests locally and fails on CI.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export function browserAvailable(): boolean {
  if (fs.existsSync(chromiumPath)) return true;
  if (process.env.CI) throw new Error(`Chromium is required on CI but ${chromiumPath} is missing`);
  return false;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

export async function signInAs(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  // The content security policy refuses nothing the page asks for, such as the GOV.UK template's
  // inline script (allowed by its hash). Chromium reports each refusal on the console; a page
  // opened with JavaScript off runs no script and so reports none.
  const refused: string[] = [];
  const onConsole = (message: ConsoleMessage) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  };
  page.on('console', onConsole);
  await page.goto(`${baseUrl}/sign-in`);
  page.off('console', onConsole);
  assert.deepEqual(refused, [], 'the content security policy refused nothing on the sign-in page');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('load');
  assert.doesNotMatch(new URL(page.url()).pathname, /^\/sign-in/, `${username} is signed in (left the sign-in page)`);
}

export interface AxeFinding {
  id: string;
  impact: string | null | undefined;
  help: string;
  targets: string[];
}

/** WCAG 2.2 AA checks; returns the serious and critical findings only. */
export async function seriousAccessibilityProblems(page: Page): Promise<AxeFinding[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
}

/** A page in its own browser context (own cookies); axe-core needs pages made this way. */
export async function openPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

export async function closePage(page: Page): Promise<void> {
  await page.context().close();
}
