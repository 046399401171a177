// Notifications in Chromium with axe, on a 375 px phone screen: a resident adds an email address
// on their account page, chooses text messages without a mobile number and is told what to do
// (GOV.UK error summary, choices kept), then chooses email once a day; "Do not tell me" clears
// the other boxes (exclusive checkbox). The administrator's notifications page passes axe too.
// No page is wider than the screen.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { notify } from '../src/notify/index.ts';

const PHONE = { width: 375, height: 812 };

async function fitsAndPasses(page: Page, where: string): Promise<void> {
  assert.deepEqual(await seriousAccessibilityProblems(page), [], `axe on ${where}`);
  const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
  assert.ok(width <= PHONE.width, `${where} is not wider than the phone (${width}px)`);
}

describe('notification choices in Chromium', { skip: !browserAvailable() && 'Chromium is not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer({ people: 600, seed: 11 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a resident gives an email address and chooses a daily email, at 375 px', async () => {
    const page = await openPage(browser);
    try {
      await page.setViewportSize(PHONE);
      await signInAs(page, server.url, 'citizen', DEMO_PASSWORD);
      await page.getByRole('link', { name: 'Your account', exact: true }).click();
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your account');
      await fitsAndPasses(page, 'your account');
      await page.getByLabel('Email address').fill('resident.one@example.org');
      await page.getByLabel('Your current password').fill(DEMO_PASSWORD);
      await page.getByRole('button', { name: 'Save contact details' }).click();
      await page.getByText('Your contact details are saved').waitFor();

      await page.getByRole('link', { name: /Choose how and how often/ }).click();
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Notifications');
      await fitsAndPasses(page, 'notifications');
      await page.getByLabel('Text message').check();
      await page.getByLabel('Email', { exact: true }).uncheck();
      await page.getByLabel('Once a day').check();
      await page.getByRole('button', { name: 'Save choices' }).click();
      assert.match(await page.title(), /^Error: Notifications/);
      const summary = page.locator('.govuk-error-summary');
      assert.match((await summary.textContent()) ?? '', /Add a mobile phone number to your account to be told by text message/);
      assert.equal(await page.getByLabel('Text message').isChecked(), true, 'the choice is kept');
      assert.equal(await page.getByLabel('Once a day').isChecked(), true, 'the choice is kept');
      await fitsAndPasses(page, 'notifications with an error');

      // "Do not tell me" is exclusive: ticking it clears the others (GOV.UK checkboxes).
      await page.getByLabel('Do not tell me').check();
      assert.equal(await page.getByLabel('Text message').isChecked(), false);
      await page.getByLabel('Email', { exact: true }).check();
      assert.equal(await page.getByLabel('Do not tell me').isChecked(), false);
      await page.getByRole('button', { name: 'Save choices' }).click();
      await page.getByText('Your choices are saved').waitFor();
      assert.equal(await page.getByLabel('Email', { exact: true }).isChecked(), true);
      assert.equal(await page.getByLabel('Once a day').isChecked(), true);
    } finally {
      await closePage(page);
    }
  });

  test('the administrator sees why nothing went out (no mail server configured), at 375 px', async () => {
    const db = server.database.db;
    const admin = await db
      .updateTable('users')
      .set({ email: 'admin@example.org' })
      .where('username', '=', 'admin')
      .returning('id')
      .executeTakeFirstOrThrow();
    await notify(db, { userId: admin.id, event: 'new_message' });
    // The server's dispatcher tries it, and records why it could not send.
    for (
      let waited = 0;
      !(await db.selectFrom('notification_outbox').select('last_error').where('user_id', '=', admin.id).executeTakeFirstOrThrow())
        .last_error;
      waited += 50
    ) {
      assert.ok(waited < 20_000, 'the dispatcher tried to send it');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const page = await openPage(browser);
    try {
      await page.setViewportSize(PHONE);
      await signInAs(page, server.url, 'admin', DEMO_PASSWORD);
      await page.goto(`${server.url}/admin/notifications`);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Notifications');
      await page.getByText('email is not configured: set SMTP_URL, or NOTIFY_API_KEY with NOTIFY_EMAIL_TEMPLATE_ID').waitFor();
      await fitsAndPasses(page, 'admin notifications');
    } finally {
      await closePage(page);
    }
  });
});
