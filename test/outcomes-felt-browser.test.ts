// Outcomes people feel in Chromium (issue 22): a commissioner opens the cohort page from the
// insight pages and the goals-at-or-above-expected measure on the inequality page, at desktop
// width and at 375 px; each has a chart and its table, and axe finds no serious problems.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('outcomes people feel in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer({ people: 1500, seed: 7 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the cohort page and a felt measure on the inequality page are readable and axe-clean, also at 375 px', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'manager', DEMO_PASSWORD);
    await page.goto(`${server.url}/insight/targets`);
    await page.getByRole('link', { name: 'Cohorts by model', exact: true }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Cohorts by operating model');
    assert.ok((await page.locator('svg[role="img"]').count()) > 0, 'a chart');
    assert.ok((await page.locator('table.govuk-table').count()) > 0, 'its table');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await page.goto(`${server.url}/insight/inequalities?measure=felt%3Agas&by=quintile`);
    assert.match((await page.locator('main').textContent()) ?? '', /Goals at or above expected/);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${server.url}/insight/models`);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });
});
