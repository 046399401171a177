// Issue 20, "a locked-out resident resets their password", in Chromium at 375 pixels wide with axe
// on every page: the resident saves their email address on "Your account", later locks themselves
// out with wrong passwords, follows "Forgotten your password or locked out?", reads the link from
// the email (received by a real SMTP server the test runs), chooses a new password (a mismatch
// first, shown with the GOV.UK error summary) and signs in with it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { DEMO_PASSWORD, startTestServer, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { linkIn, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const ADDRESS = 'jo.resident@example.org';
const NEW_PASSWORD = 'kettle harbour lantern';

async function h1(page: Page): Promise<string> {
  return ((await page.getByRole('heading', { level: 1 }).first().textContent()) ?? '').trim();
}

/** axe finds nothing serious, and the page is no wider than the phone. */
async function checked(page: Page, where: string): Promise<void> {
  assert.deepEqual(await seriousAccessibilityProblems(page), [], `axe on ${where}`);
  const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'));
  assert.ok(scrollWidth <= 375, `${where} fits a 375px screen (${scrollWidth}px)`);
}

async function submit(page: Page, button: string): Promise<void> {
  await page.getByRole('button', { name: button }).click();
  await page.waitForLoadState('load');
}

describe(
  'a locked-out resident resets their password, in the browser (issue 20)',
  { skip: !browserAvailable() && 'Chromium not installed' },
  () => {
    let server: TestServer;
    let mailbox: TestSmtpServer;
    let browser: Browser;

    before(async () => {
      mailbox = await startSmtpServer();
      server = await startTestServer({ people: 600, env: { SMTP_URL: mailbox.url, SIGN_IN_MAX_ATTEMPTS: '3' } });
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      await mailbox?.close();
    });

    test('locked out after wrong passwords, they get a link by email, choose a new password and are back in', async () => {
      const page = await openPage(browser);
      await page.setViewportSize({ width: 375, height: 800 });

      // Earlier, signed in, they saved an email address on their account.
      await signInAs(page, server.url, 'citizen', DEMO_PASSWORD);
      await page.goto(`${server.url}/account`);
      await page.getByLabel('Email address').fill(ADDRESS);
      await page.getByLabel('Your current password').fill(DEMO_PASSWORD);
      await submit(page, 'Save contact details');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForLoadState('load');

      // Three wrong passwords lock the account: now even the right one is refused.
      for (const password of ['wrong guess one', 'wrong guess two', 'wrong guess three', DEMO_PASSWORD]) {
        await page.getByLabel('Username').fill('citizen');
        await page.getByLabel('Password', { exact: true }).fill(password);
        await submit(page, 'Sign in');
        assert.equal(new URL(page.url()).pathname, '/sign-in', 'not signed in');
        assert.match((await page.locator('.govuk-error-summary').textContent()) ?? '', /The username or password is not right/);
      }
      await checked(page, 'the sign-in page with its error');

      await page.getByRole('link', { name: 'Forgotten your password or locked out?' }).click();
      await page.waitForLoadState('load');
      assert.equal(await h1(page), 'Forgotten your password or locked out?');
      await checked(page, 'the recovery page');
      await submit(page, 'Send me a link');
      assert.match((await page.locator('.govuk-error-summary').textContent()) ?? '', /Enter your email address or username/);
      await checked(page, 'the recovery page with its error');
      await page.getByLabel('Email address or username').fill(ADDRESS);
      await submit(page, 'Send me a link');
      assert.equal(await h1(page), 'Check your email');
      assert.match(
        (await page.locator('main').textContent()) ?? '',
        /If an account uses this address, we have sent a link\. It works once, for 1 hour\./,
      );
      await checked(page, 'the "check your email" page');

      const [email] = await mailbox.waitFor(ADDRESS, 1, 'Reset your Joinery password');
      assert.equal(email!.subject, 'Reset your Joinery password');
      await page.goto(linkIn(email!, '/account/reset/'));
      assert.equal(await h1(page), 'Choose a new password');
      await checked(page, 'the new password page');

      await page.getByLabel('New password').fill(NEW_PASSWORD);
      await page.getByLabel('Type the password again').fill('kettle harbour lanterns');
      await submit(page, 'Save new password');
      const summary = page.locator('.govuk-error-summary');
      assert.match((await summary.textContent()) ?? '', /The passwords do not match/);
      assert.equal(await page.getByLabel('New password').inputValue(), '', 'a password is never filled in again by the server');
      await checked(page, 'the new password page with its error');
      await summary.getByRole('link', { name: /The passwords do not match/ }).click();
      assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'confirm', 'the error links to the field');

      await page.getByLabel('New password').fill(NEW_PASSWORD);
      await page.getByLabel('Type the password again').fill(NEW_PASSWORD);
      await submit(page, 'Save new password');
      assert.match((await page.locator('.govuk-panel').textContent()) ?? '', /Your password is saved/);
      assert.match((await page.locator('main').textContent()) ?? '', /Your account is unlocked/);
      await checked(page, 'the "password saved" page');

      await page.locator('main').getByRole('link', { name: 'Sign in', exact: true }).click();
      await page.waitForLoadState('load');
      await page.getByLabel('Username').fill('citizen');
      await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
      await submit(page, 'Sign in');
      assert.equal(new URL(page.url()).pathname, '/home', 'signed in with the new password');
      await checked(page, 'their home page');

      // The link in the email is spent.
      await page.goto(linkIn(email!, '/account/reset/'));
      assert.equal(await h1(page), 'This link has expired');
      await checked(page, 'the "link has expired" page');
      await closePage(page);
    });
  },
);
