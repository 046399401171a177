// Signs in as each demo role in Chromium, checks that role's home page, and runs axe-core.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

const roles = [
  { username: 'citizen', heading: /^Hello, /, text: 'Services that hold records about you' },
  { username: 'practitioner', heading: 'Your work', text: 'people known to your organisation' },
  { username: 'manager', heading: 'Riverford', text: 'Need follows deprivation' },
  { username: 'admin', heading: 'System administration', text: 'Agency feeds' },
];

describe('each role signs in and sees an accessible home page', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the sign-in page itself passes axe', async () => {
    const page = await openPage(browser);
    await page.goto(`${server.url}/sign-in`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in to Joinery');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });

  for (const role of roles) {
    test(`${role.username} home page`, async () => {
      const page = await openPage(browser);
      await signInAs(page, server.url, role.username, DEMO_PASSWORD);
      assert.equal(new URL(page.url()).pathname, '/home');
      const heading = (await page.getByRole('heading', { level: 1 }).textContent())?.trim() ?? '';
      if (role.heading instanceof RegExp) assert.match(heading, role.heading);
      else assert.equal(heading, role.heading);
      assert.ok((await page.content()).includes(role.text), `${role.username} page shows "${role.text}"`);
      assert.deepEqual(await seriousAccessibilityProblems(page), []);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForLoadState('load');
      assert.ok((await page.content()).includes('You have signed out.'));
      await closePage(page);
    });
  }

  test('a practitioner opens a person from the caseload and the citizen never sees another record', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
    const firstPerson = page.locator('#caseload table a.govuk-link').first();
    const name = (await firstPerson.textContent())?.trim() ?? '';
    await firstPerson.click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), name);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    const personPath = new URL(page.url()).pathname;
    await closePage(page);

    const citizen = await openPage(browser);
    await signInAs(citizen, server.url, 'citizen', DEMO_PASSWORD);
    const response = await citizen.goto(`${server.url}${personPath}`);
    assert.equal(response?.status(), 403);
    assert.ok(!(await citizen.content()).includes(name), 'the refused page does not reveal the name');
    await closePage(citizen);
  });
});
