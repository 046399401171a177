// A commissioner sets a target in Chromium (issue 22): from the insight pages they open Targets,
// see each measure's latest figure (and the demo's two targets), set a target for time to first contact (a mistake first: the
// error summary names it and what they typed is kept), then see the target against the figure with
// whether it is met. Axe finds no serious problems. Nobody else can set one, and a form without its
// CSRF token changes nothing.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('a commissioner sets a target', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  const targets = async () => await server.database.db.selectFrom('insight_targets').select(['measure_id', 'value', 'by_date']).execute();
  before(async () => {
    server = await startTestServer({ people: 1500, seed: 7 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the commissioner sets a target for time to first contact and sees it against the latest figure', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'manager', DEMO_PASSWORD);
    await page.getByRole('link', { name: 'Needs and inequalities' }).click();
    await page.waitForLoadState('load');
    await page.getByRole('link', { name: 'Targets', exact: true }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Targets');
    const row = page.locator('#target-access-first_contact_days');
    assert.match((await row.locator('td').nth(0).textContent()) ?? '', /^\s*[\d,.]+\s*$/, 'the latest figure is shown');
    const actual = Number(((await row.locator('td').nth(0).textContent()) ?? '').trim());
    assert.equal((await row.locator('td').nth(1).textContent())?.trim(), '5.0', 'the demo starts with a target of 5 days');
    assert.equal((await page.locator('#target-access-acceptance td').nth(1).textContent())?.trim(), '85.0');
    assert.equal((await page.locator('#target-outcome-WELL td').nth(3).textContent())?.trim(), 'No target set');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    // A mistake first: no date. The summary says so and the target typed is kept.
    await page.getByLabel('Measure', { exact: true }).selectOption('access:first_contact_days');
    await page.getByLabel('Target', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Set the target' }).click();
    await page.waitForLoadState('load');
    assert.match((await page.locator('.govuk-error-summary').textContent()) ?? '', /Enter the date the target is to be reached by/);
    assert.equal(await page.getByLabel('Target', { exact: true }).inputValue(), '4');
    assert.equal((await targets()).length, 2, 'nothing is set');

    const year = new Date().getUTCFullYear() + 2;
    await page.getByLabel('Day').fill('31');
    await page.getByLabel('Month').fill('3');
    await page.getByLabel('Year').fill(String(year));
    await page.getByLabel('Why this target (optional)').fill('People should hear back within a working week');
    await page.getByRole('button', { name: 'Set the target' }).click();
    await page.waitForLoadState('load');
    assert.match((await page.locator('.govuk-notification-banner--success').textContent()) ?? '', /The target has been set/);
    const after = page.locator('#target-access-first_contact_days');
    assert.equal((await after.locator('td').nth(1).textContent())?.trim(), '4.0');
    assert.equal((await after.locator('td').nth(2).textContent())?.trim(), `31 March ${year}`);
    assert.match(
      (await after.locator('td').nth(3).textContent())?.trim() ?? '',
      new RegExp(`^${actual <= 4 ? 'Met' : 'Not met yet'}\\s+\\(1 earlier\\)$`),
      "the demo's target is kept as an earlier one",
    );
    if (actual > 4) assert.equal((await after.locator('td').nth(4).textContent())?.trim(), (actual - 4).toFixed(1));
    assert.match((await after.locator('th').textContent()) ?? '', /People should hear back within a working week/);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    assert.deepEqual(
      (await targets())
        .filter((t) => t.measure_id === 'access:first_contact_days')
        .map((t) => t.value)
        .sort(),
      [4, 5],
    );
    assert.ok((await targets()).some((t) => t.value === 4 && t.by_date === `${year}-03-31`));
    await closePage(page);
  });

  test('a practitioner or resident cannot set a target, and a form without its token changes nothing', async () => {
    const before = (await targets()).length;
    const form = (token: string) =>
      new URLSearchParams({
        measure: 'access:acceptance',
        value: '90',
        'by-day': '1',
        'by-month': '1',
        'by-year': '2099',
        reason: '',
        _csrf: token,
      }).toString();
    for (const username of ['practitioner', 'citizen']) {
      const cookie = await signIn(server.app, username);
      const token = await csrfTokenFor(server.app, cookie, '/home');
      const res = await server.app.inject({
        method: 'POST',
        url: '/insight/targets',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(token),
      });
      assert.equal(res.statusCode, 403, username);
    }
    const manager = await signIn(server.app, 'manager');
    const noToken = await server.app.inject({
      method: 'POST',
      url: '/insight/targets',
      headers: { cookie: manager, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(''),
    });
    assert.equal(noToken.statusCode, 403, 'no CSRF token');
    assert.equal((await targets()).length, before, 'nothing was written');
  });
});
