// A resident who is not signed in finds help on a phone-sized screen (375 px), in Chromium with
// axe (WCAG 2.2 AA, no serious or critical problems) at every step: from the sign-in page to the
// public directory, a search by need and postcode, narrowed to services they can refer
// themselves to, then a service's page with how to get in touch, its typical wait and the
// Refer yourself button. No page is wider than the screen.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems } from './support/browser.ts';

async function fitsAndPasses(page: Page, where: string): Promise<void> {
  assert.deepEqual(await seriousAccessibilityProblems(page), [], `axe on ${where}`);
  const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'));
  assert.ok(scrollWidth <= 375, `${where} is not wider than a 375px screen (${scrollWidth}px)`);
}

describe('a resident finds a service without signing in, at 375 px', { skip: !browserAvailable() && 'Chromium is not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let postcode: string;

  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    postcode = (
      await server.database.db
        .selectFrom('organisations')
        .select('postcode')
        .where('kind', '=', 'council_housing')
        .executeTakeFirstOrThrow()
    ).postcode;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('search by need and postcode, only services they can refer themselves to, then one service', async () => {
    const page = await openPage(browser);
    try {
      await page.setViewportSize({ width: 375, height: 800 });
      await page.goto(`${server.url}/sign-in`);
      await fitsAndPasses(page, 'the sign-in page');
      await page.getByRole('link', { name: 'Find a local service without signing in' }).click();
      await page.waitForURL(/\/services$/);
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Find a service');
      await fitsAndPasses(page, 'the public directory');

      await page.getByLabel('What do you need help with?').selectOption({ label: 'Housing and homelessness: Homelessness' });
      await page.getByLabel('Postcode', { exact: true }).fill(postcode.toLowerCase());
      await page.getByLabel('Distance').selectOption({ label: 'Within 10 miles' });
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/need=homelessness/);
      const all = Number(/(\d+) services? found/.exec((await page.locator('#results-heading').textContent()) ?? '')?.[1]);
      assert.ok(all >= 3, `homelessness services near ${postcode}: ${all}`);
      assert.match((await page.locator('main').textContent()) ?? '', new RegExp(`Services covering ${postcode}, nearest first`));
      await fitsAndPasses(page, 'search results');

      await page.getByLabel('You can refer yourself').check();
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/self=yes/);
      const url = new URL(page.url());
      assert.equal(url.searchParams.get('need'), 'homelessness', 'the filters stay in the address');
      assert.equal(url.searchParams.get('postcode'), postcode);
      const cards = page.locator('.govuk-summary-card');
      const self = await cards.count();
      assert.ok(self >= 1 && self < all, `fewer services accept self-referral (${self} of ${all})`);
      for (let i = 0; i < self; i++) {
        assert.match((await cards.nth(i).textContent()) ?? '', /You can refer yourself/, `result ${i + 1} accepts self-referral`);
      }
      assert.ok(await page.getByLabel('You can refer yourself').isChecked(), 'the filter stays ticked');
      await fitsAndPasses(page, 'results narrowed to self-referral');

      const first = cards.first().getByRole('link').first();
      const name = ((await first.textContent()) ?? '').trim();
      await first.click();
      await page.waitForURL(/\/services\/[^/?]+$/);
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), name);
      const main = (await page.locator('main').textContent())?.replace(/\s+/g, ' ') ?? '';
      assert.match(main, /How to get in touch/);
      assert.match(main, /Phone: 01632 960\d{3}/);
      assert.match(
        main,
        /Typical wait (About [\d.]+ working days? from asking to first contact|Usually the same working day|Not known yet)/,
      );
      assert.match(main, /Last checked by .+ on \d{1,2} [A-Z][a-z]+ \d{4}\./);
      assert.doesNotMatch(main, /Capacity|Referral clocks/);
      const refer = page.getByRole('button', { name: 'Refer yourself' });
      assert.ok(await refer.isVisible(), 'the Refer yourself button is there');
      assert.match(String(await refer.getAttribute('href')), /^\/services\/[^/]+\/refer-yourself$/);
      await fitsAndPasses(page, 'the service page');
    } finally {
      await closePage(page);
    }
  });
});
