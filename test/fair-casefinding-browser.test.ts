// Fair case-finding in Chromium (issue 22): the commissioner's bias tables, the public register of
// rules (signed out) and a resident's own "checks that found you" page are usable at 375 px, in
// English and Welsh where residents read them, and axe finds no serious or critical problems.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('fair case-finding in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
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

  const sideways = (page: Page) => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

  test('a commissioner reads the bias tables from the insight pages', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'manager', DEMO_PASSWORD);
    await page.goto(`${server.url}/insight/casefinding`);
    await page.getByRole('link', { name: 'Fair case-finding', exact: true }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Fair case-finding');
    assert.equal(await page.locator('table[id^="bias-"]').count(), 12, 'three rules by four ways of splitting');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await page.setViewportSize({ width: 375, height: 800 });
    assert.ok((await sideways(page)) <= 0, 'no sideways scrolling at 375 px');
    await closePage(page);
  });

  test('anyone reads the register of rules without signing in, in English or Welsh', async () => {
    const page = await openPage(browser);
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${server.url}/case-finding-rules`);
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'The checks that find people who may need help');
    assert.equal(await page.locator('h2').count(), 3);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    assert.ok((await sideways(page)) <= 0);
    await page.getByRole('link', { name: 'Cymraeg' }).click();
    await page.waitForLoadState('load');
    assert.equal(
      (await page.getByRole('heading', { level: 1 }).textContent())?.trim(),
      "Y gwiriadau sy'n dod o hyd i bobl a allai fod angen help",
    );
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });

  test('a resident goes from their privacy rights to the checks that found them', async () => {
    const page = await openPage(browser);
    await page.setViewportSize({ width: 375, height: 800 });
    await signInAs(page, server.url, 'citizen', DEMO_PASSWORD);
    await page.goto(`${server.url}/my-record/rights`);
    await page.locator('#checks-that-found-you').click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Checks that found you');
    assert.ok(
      (await page.getByRole('button', { name: 'Object to case-finding' }).isVisible()) || (await page.locator('#objected').isVisible()),
    );
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    assert.ok((await sideways(page)) <= 0);
    await closePage(page);
  });
});
