// The commissioner views the pooled fund and cohort costs, a practitioner a person's
// whole-system cost, the citizen their personal budget: in Chromium, each page passing axe.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('pooled budgets in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
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

  test('the commissioner views the fund: budget against spend with a forecast, then cost per outcome and a contract', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'manager', DEMO_PASSWORD);
    await page.getByRole('link', { name: 'Pooled budgets' }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Pooled budgets');
    assert.match((await page.getByRole('heading', { level: 2 }).first().textContent()) ?? '', /Better Lives pooled fund, 20\d\d\/\d\d/);
    assert.equal(
      await page.locator('svg#budget-vs-spend, svg[aria-labelledby^="budget-vs-spend"]').count(),
      1,
      'the budget chart is drawn',
    );
    assert.ok(await page.getByText('Forecast method: Spend to date plus the average of the last three months').isVisible());
    assert.ok((await page.getByRole('cell', { name: /NHS .* Integrated Care Board/ }).count()) >= 1, 'partners are listed');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    await page.getByRole('link', { name: 'Cost per person and per outcome, by pathway and cohort' }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Cost per person and per outcome');
    assert.ok(await page.getByRole('cell', { name: 'Housing first' }).isVisible());
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    await page.goto(`${server.url}/budgets/contracts/hf-tenancy`);
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Housing first: tenancies kept');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });

  test("a practitioner sees a person's whole-system cost on their record", async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
    await page.locator('#caseload table a.govuk-link').first().click();
    await page.waitForLoadState('load');
    assert.ok(await page.getByRole('heading', { name: 'Whole-system cost' }).isVisible());
    assert.ok(await page.getByText(/in total across/).isVisible());
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });

  test('the citizen sees their personal budget, chosen support and spend', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'citizen', DEMO_PASSWORD);
    await page.getByRole('link', { name: 'My budget' }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Your personal budget');
    assert.ok(await page.getByRole('heading', { name: 'The support you chose' }).first().isVisible());
    assert.ok(await page.getByText('Left to spend').first().isVisible());
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });
});
