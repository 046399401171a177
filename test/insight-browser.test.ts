// A commissioner reads the joint needs assessment and the inequality dashboard in Chromium:
// each chart's numbers agree with the table beside it, the headline says whether the gap is
// narrowing, the print stylesheet applies, and axe finds no serious or critical problems.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('insight dashboards in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
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

  test('a commissioner reads the inequality dashboard: chart and table agree, the headline answers the question', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'manager', DEMO_PASSWORD);
    await page.getByRole('link', { name: 'Needs and inequalities' }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Joint needs assessment');
    assert.ok(await page.locator('svg[aria-labelledby^="overlap-chart"]').isVisible(), 'the UpSet chart is drawn');
    // Each column of the UpSet chart is a row of the table beside it, with the same count.
    const bars = await page.locator('svg[aria-labelledby^="overlap-chart"] rect.bar:not(.bar--alt) title').allTextContents();
    const overlapRows = page.locator('#overlap-table tbody tr');
    const tableBars: string[] = [];
    for (let i = 0; i < (await overlapRows.count()); i++) {
      const row = overlapRows.nth(i);
      tableBars.push(`${(await row.locator('th').textContent())?.trim()} ${(await row.locator('td').textContent())?.trim()}`);
    }
    assert.ok(bars.length > 0);
    assert.deepEqual(
      bars.map((b) => b.replace(': ', ' ')),
      tableBars.slice(0, bars.length),
    );
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    await page.getByRole('link', { name: 'Inequalities', exact: true }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Is the gap narrowing?');
    const headline = (await page.locator('#headline').textContent()) ?? '';
    assert.match(
      headline,
      /(Yes: the gap is narrowing|No: the gap is widening|Not clearly: the gap shows no clear change|Not enough quarters)/,
    );

    // Choose a measure and a split the way a commissioner would.
    await page.getByLabel('Measure', { exact: true }).selectOption('access:acceptance');
    await page.getByLabel('Split by', { exact: true }).selectOption('quintile');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForLoadState('load');
    assert.match((await page.locator('#headline h2').textContent()) ?? '', /referral acceptance/);

    // The chart's labels and values are the table's rows, in order.
    const chartLabels = await page.locator('svg[aria-labelledby^="split-chart"] text.insight-label').allTextContents();
    const chartValues = await page.locator('svg[aria-labelledby^="split-chart"] text.insight-value').allTextContents();
    const rows = page.locator('#split-table tbody tr');
    const tableLabels = (await rows.locator('th').allTextContents()).map((t) => t.trim());
    const tableValues = (await rows.locator('td:nth-of-type(1)').allTextContents()).map((t) => t.trim());
    assert.equal(chartLabels.length, 5);
    assert.deepEqual(chartLabels, tableLabels.slice(0, chartLabels.length));
    assert.deepEqual(chartValues, tableValues.slice(0, chartValues.length));
    for (const v of tableValues) assert.ok(v === 'suppressed' || /^\d[\d,]*\.\d$/.test(v), `unexpected value ${v}`);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    // The board report prints without the navigation.
    await page.goto(`${server.url}/insight/report`);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.govuk-service-navigation').isVisible(), false);
    assert.ok(await page.getByRole('heading', { name: /1\. Is the gap narrowing\?/ }).isVisible());
    await page.emulateMedia({ media: 'screen' });
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });
});
