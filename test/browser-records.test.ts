// In Chromium: a practitioner finds a person and sees their household and network; the person
// signs in, writes "about me" and sees who looked. axe-core checks every page on the way.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe(
  "finding a person, their household and network; the person's own view",
  { skip: !browserAvailable() && 'Chromium not installed' },
  () => {
    let server: TestServer;
    let browser: Browser;
    let name: string;
    before(async () => {
      server = await startTestServer({ people: 2500, seed: 5 });
      browser = await launchBrowser();
      const p = await server.database.db
        .selectFrom('users')
        .innerJoin('persons', 'persons.id', 'users.person_id')
        .select(['persons.given_name', 'persons.family_name'])
        .where('users.username', '=', 'citizen')
        .executeTakeFirstOrThrow();
      name = `${p.given_name} ${p.family_name}`;
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('a practitioner finds the person, opens their record, household and network', async () => {
      const page = await openPage(browser);
      await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
      await page.getByRole('link', { name: 'Find a person' }).click();
      await page.getByLabel('Name, date of birth, NHS number or postcode').fill(name.toLowerCase());
      await page.getByRole('button', { name: 'Search' }).click();
      assert.deepEqual(await seriousAccessibilityProblems(page), []);
      await page.getByRole('link', { name }).first().click();
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), name);
      await page.getByRole('link', { name: 'Household', exact: true }).click();
      assert.match((await page.getByRole('heading', { level: 1 }).textContent()) ?? '', /, RV/);
      assert.ok((await page.content()).includes(name));
      assert.deepEqual(await seriousAccessibilityProblems(page), []);
      await page.goBack();
      await page.getByRole('link', { name: 'Network around this person' }).click();
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Network around this person');
      assert.ok(await page.getByText('Lead practitioner').first().isVisible());
      assert.deepEqual(await seriousAccessibilityProblems(page), []);
      await closePage(page);
    });

    test('the person writes "about me" and sees that the practitioner looked', async () => {
      const page = await openPage(browser);
      await signInAs(page, server.url, 'citizen', DEMO_PASSWORD);
      await page.getByRole('link', { name: 'About me, in your own words' }).click();
      assert.deepEqual(await seriousAccessibilityProblems(page), []);
      await page.getByLabel('What matters to me').fill('Walking my dog by the river, and my grandchildren.');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.ok((await page.content()).includes('Walking my dog by the river'));
      await page.getByRole('link', { name: 'Home' }).click();
      const looked = page.locator('li', { hasText: 'looked at your record' }).first();
      assert.match(
        (await looked.textContent()) ?? '',
        /\(practitioner\) at .*to coordinate your care|\(practitioner\) at .*to care for you directly/,
      );
      assert.deepEqual(await seriousAccessibilityProblems(page), []);
      await closePage(page);
    });
  },
);
