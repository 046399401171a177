// In Chromium: a practitioner refers a person to housing, the housing officer acknowledges and
// accepts it from their inbox, and the person sees each step. Every page passes axe.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { ukDate } from '../src/referrals/working-days.ts';

describe('referral in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
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

  async function accessible(page: Page, what: string) {
    assert.deepEqual(await seriousAccessibilityProblems(page), [], `${what} passes axe`);
  }

  test('refer → acknowledge → accept → first contact → complete, with the person seeing each step', async () => {
    const db = server.database.db;
    const citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow())
      .person_id!;
    const housingOrg = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'housing').executeTakeFirstOrThrow())
      .organisation_id!;
    const service = await db
      .selectFrom('services')
      .select(['id', 'name'])
      .where('organisation_id', '=', housingOrg)
      .where('name', '=', 'Housing options and homelessness prevention')
      .executeTakeFirstOrThrow();

    const referrer = await openPage(browser);
    await signInAs(referrer, server.url, 'practitioner', DEMO_PASSWORD);
    await referrer.goto(`${server.url}/people/${citizenId}`);
    await referrer.getByRole('link', { name: 'Refer to a service' }).click();
    await referrer.waitForLoadState('load');
    assert.equal((await referrer.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Refer to a service');
    await accessible(referrer, 'the referral form');
    // Submitting with nothing filled in explains what is missing, accessibly.
    await referrer.getByRole('button', { name: 'Send referral' }).click();
    await referrer.waitForLoadState('load');
    assert.ok(await referrer.getByText('There is a problem').isVisible());
    await accessible(referrer, 'the referral form with an error');
    await referrer.getByLabel('Service', { exact: true }).selectOption(service.id);
    await referrer.getByLabel('Why are you referring?').fill('Tenancy ends next month; at risk of homelessness.');
    await referrer.getByLabel("In the person's own words (optional)").fill('I need somewhere settled.');
    await referrer.getByLabel('Soon', { exact: true }).check();
    await referrer.getByLabel('Yes, they agree').check();
    await referrer.getByLabel('Housing and homelessness').check();
    await referrer.getByRole('button', { name: 'Send referral' }).click();
    await referrer.waitForLoadState('load');
    const referralUrl = referrer.url();
    assert.match(referralUrl, /\/referrals\/ref-[0-9a-f]+\?done=send$/);
    assert.ok(await referrer.getByText('Sent', { exact: true }).first().isVisible());
    await accessible(referrer, 'the sent referral');
    await referrer.goto(`${server.url}/referrals/sent`);
    await accessible(referrer, 'referrals you sent');
    await closePage(referrer);

    const receiver = await openPage(browser);
    await signInAs(receiver, server.url, 'housing', DEMO_PASSWORD);
    await receiver.getByRole('link', { name: 'Referrals' }).click();
    await receiver.waitForLoadState('load');
    assert.equal((await receiver.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Referral inbox');
    await accessible(receiver, 'the inbox');
    await receiver
      .locator(`a[href="${new URL(referralUrl).pathname}"]`)
      .first()
      .click();
    await receiver.waitForLoadState('load');
    await receiver.getByRole('button', { name: 'Acknowledge' }).click();
    await receiver.waitForLoadState('load');
    await accessible(receiver, 'an acknowledged referral with its actions');
    await receiver.getByRole('button', { name: 'Accept' }).click();
    await receiver.waitForLoadState('load');
    assert.ok(await receiver.getByText('Accepted', { exact: true }).first().isVisible());
    // First contact (its day and how), then the outcome: the loop closes.
    const today = ukDate(new Date());
    await receiver.getByLabel('Day').fill(String(Number(today.slice(8, 10))));
    await receiver.getByLabel('Month').fill(String(Number(today.slice(5, 7))));
    await receiver.getByLabel('Year').fill(today.slice(0, 4));
    await receiver.getByLabel('Visit in person').check();
    await receiver.getByRole('button', { name: 'Record first contact' }).click();
    await receiver.waitForLoadState('load');
    await receiver.getByLabel('Outcome, for the referrer and the person (optional)').fill('Rehoused with support; referral closed.');
    await receiver.getByRole('button', { name: 'Mark as completed' }).click();
    await receiver.waitForLoadState('load');
    assert.ok(await receiver.getByText('Completed', { exact: true }).first().isVisible());
    await closePage(receiver);

    const person = await openPage(browser);
    await signInAs(person, server.url, 'citizen', DEMO_PASSWORD);
    await person.getByRole('link', { name: 'My referrals' }).click();
    await person.waitForLoadState('load');
    const content = await person.content();
    for (const step of ['Sent', 'Acknowledged', 'Accepted', 'Completed', service.name])
      assert.ok(content.includes(step), `the person sees "${step}"`);
    await accessible(person, 'my referrals');
    await person.goto(`${server.url}/people/${citizenId}/pathways`);
    await accessible(person, 'my pathways');
    await closePage(person);

    const manager = await openPage(browser);
    await signInAs(manager, server.url, 'manager', DEMO_PASSWORD);
    await manager.getByRole('link', { name: 'Pathway flow' }).click();
    await manager.waitForLoadState('load');
    assert.equal((await manager.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Pathway flow');
    await accessible(manager, 'the pathway flow');
    await closePage(manager);
  });
});
