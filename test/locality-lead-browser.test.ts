// A locality lead in Chromium (issue 22): a manager at the organisation leading a locality finds
// their locality from the place view, reads its view (lead organisation and partners, population,
// needs and waits against the place, pooled budget), compares localities on a measure of their
// choosing (the chart's numbers are the table's), at 375 px too, and axe finds no serious problems.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('a locality lead in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer({ people: 3000, seed: 7 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a locality lead opens their locality, reads it against the place, and compares localities', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'locality', DEMO_PASSWORD);
    await page.getByRole('link', { name: 'Localities', exact: true }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Localities compared');
    const yours = (await page.locator('#your-localities').textContent()) ?? '';
    assert.match(yours, /Your organisation is the lead organisation in/);
    // Every locality has a lead, and the table names them.
    const leads = (await page.locator('#leadership tbody td:nth-of-type(1)').allTextContents()).map((t) => t.trim());
    assert.ok(leads.length >= 2 && leads.every((l) => l !== 'No lead yet'), 'every locality has a lead organisation');
    assert.ok(new Set(leads).size > 1, 'different organisations lead different localities');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    // Compare localities on referrals accepted: the chart's bars are the table's rows.
    await page.getByLabel('Measure', { exact: true }).selectOption('access:acceptance');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForLoadState('load');
    assert.match((await page.locator('#measure-table caption').textContent()) ?? '', /Referral acceptance/);
    const chartLabels = await page.locator('svg[aria-labelledby^="localities-chart"] g > text:first-child').allTextContents();
    const chartValues = await page.locator('svg[aria-labelledby^="localities-chart"] g > text:nth-of-type(2)').allTextContents();
    const rows = page.locator('#measure-table tbody tr');
    const tableLabels = (await rows.locator('th').allTextContents()).map((t) => t.trim());
    const tableValues = (await rows.locator('td:nth-of-type(1)').allTextContents()).map((t) => t.trim());
    assert.deepEqual(
      chartLabels.map((t) => t.trim()),
      tableLabels,
    );
    const asNumber = (t: string) => (t.trim() === 'suppressed' ? 'suppressed' : Number(t.replace(/[^\d.]/g, '')).toFixed(1));
    assert.deepEqual(chartValues.map(asNumber), tableValues.map(asNumber));
    assert.ok(
      tableValues.some((v) => v !== 'suppressed'),
      'localities have figures',
    );

    // Their own locality's view.
    await page.locator('#your-localities a').first().click();
    await page.waitForLoadState('load');
    assert.equal((await page.locator('#your-role').textContent())?.trim(), 'Your organisation leads this locality');
    const summary = (await page.locator('.govuk-summary-list').textContent()) ?? '';
    assert.match(summary, /Lead organisation/);
    assert.match(summary, /Partners/);
    const measures = (await page.locator('#measures tbody th').allTextContents()).map((t) => t.trim());
    assert.ok(
      measures.some((m) => m.startsWith('Time to first contact')),
      'waits are in the view',
    );
    assert.ok(measures.length >= 10, 'needs by each place-wide goal are in the view');
    const placeValues = (await page.locator('#measures tbody td:nth-of-type(3)').allTextContents()).map((t) => t.trim());
    assert.ok(
      placeValues.every((v) => /^[\d,.]+$/.test(v) || v === 'suppressed'),
      'each measure is set beside the place',
    );
    assert.ok(await page.locator('#locality-budget').isVisible(), 'the pooled budget is shown');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    // Usable on a phone: nothing wider than the screen but the tables' own scrolling boxes.
    await page.setViewportSize({ width: 375, height: 800 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 375px`);
    await closePage(page);
  });

  test('a resident or practitioner cannot open the locality views', async () => {
    for (const username of ['citizen', 'practitioner']) {
      const page = await openPage(browser);
      await signInAs(page, server.url, username, DEMO_PASSWORD);
      const response = await page.goto(`${server.url}/localities`);
      assert.equal(response?.status(), 403, username);
      await closePage(page);
    }
  });
});
