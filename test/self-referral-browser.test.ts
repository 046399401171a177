// In Chromium at phone width (375 px), residents asking for help themselves: a visitor not
// signed in finds a service, presses "Refer yourself", gets the error summary for what they
// missed (what they typed kept), sends it and gets a reference and how they will hear back;
// a signed-in resident refers themselves too; the receiving practitioner sees both marked
// "Self-referral" with the way each prefers to be contacted, acknowledges and accepts them; the
// signed-in resident sees every step on "Your referrals", and opens "What matters to you".
// Every page passes axe and none scrolls sideways.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { createAccount } from '../src/auth/accounts.ts';

describe('self-referral at phone width', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let service: { id: string; name: string; organisation_id: string; practitioner_id: string };
  before(async () => {
    server = await startTestServer({ people: 2000, seed: 11 });
    browser = await launchBrowser();
    const db = server.database.db;
    const citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow())
      .person_id!;
    service = (
      await sql<typeof service>`
      select s.id, s.name, s.organisation_id, p.id as practitioner_id from services s join practitioners p on p.team_id = s.team_id
      where s.accepts_self_referral and coalesce(s.min_age, 0) <= 18 and coalesce(s.max_age, 200) >= 90 and cardinality(s.locality_ids) = 0
        and not exists (select 1 from care_relationships r where r.person_id = ${citizenId} and r.organisation_id = s.organisation_id and r.ended_at is null)
      order by s.id, p.id limit 1`.execute(db)
    ).rows[0]!;
    assert.ok(service, 'a service open to self-referral for adults anywhere');
    await createAccount(db, {
      username: 'sr-browser-receiver',
      displayName: 'Receiving practitioner',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: service.practitioner_id,
      organisationId: service.organisation_id,
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function phone(username?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
    const page = await context.newPage();
    if (username) await signInAs(page, server.url, username, DEMO_PASSWORD);
    return page;
  }

  /** Passes axe and fits a 375 px screen without scrolling sideways. */
  async function check(page: Page, what: string) {
    assert.deepEqual(await seriousAccessibilityProblems(page), [], `${what} passes axe`);
    const width = JSON.parse(
      String(
        await page.evaluate(
          'JSON.stringify({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
        ),
      ),
    ) as { scroll: number; client: number };
    assert.ok(width.scroll <= width.client, `${what} does not scroll sideways at 375 px (${width.scroll} > ${width.client})`);
  }
  const heading = async (page: Page) => (await page.getByRole('heading', { level: 1 }).textContent())?.replace(/\s+/g, ' ').trim();
  const text = async (page: Page) => (await page.locator('main').innerText()).replace(/\s+/g, ' ');
  const press = async (page: Page, role: 'link' | 'button', name: string | RegExp) => {
    await page.getByRole(role, { name }).first().click();
    await page.waitForLoadState('load');
  };

  test('a visitor refers themselves, a resident does too, the service acknowledges and accepts, the resident sees each step', async () => {
    // Not signed in: the public service page, then "Refer yourself".
    const visitor = await phone();
    await visitor.goto(`${server.url}/services/${service.id}`);
    await press(visitor, 'button', 'Refer yourself');
    assert.equal(await heading(visitor), `Ask ${service.name} for help`);
    await check(visitor, 'the refer-yourself form');
    await visitor.getByLabel('First name').fill('Morwenna');
    await visitor.getByLabel('Last name').fill('Pendarves');
    await press(visitor, 'button', 'Send my request');
    const summary = visitor.locator('.govuk-error-summary');
    assert.match(await summary.innerText(), /Enter your date of birth/);
    assert.match(await summary.innerText(), /Enter your postcode/);
    assert.equal(await visitor.getByLabel('Last name').inputValue(), 'Pendarves', 'what was typed is kept');
    await check(visitor, 'the form with errors');
    await visitor.getByLabel('Day', { exact: true }).fill('9');
    await visitor.getByLabel('Month', { exact: true }).fill('11');
    await visitor.getByLabel('Year', { exact: true }).fill('1961');
    await visitor.getByLabel('Postcode').fill('rv9 9zz');
    await visitor.getByRole('textbox', { name: /Phone number/ }).fill('07700 900123');
    await visitor.getByRole('radio', { name: 'Phone call' }).check();
    await visitor.getByLabel(/What help do you need/).fill('Since my husband died I hardly leave the house and the bills are piling up.');
    await visitor.getByRole('radio', { name: 'In the next few weeks' }).check();
    await visitor.getByRole('radio', { name: 'Yes' }).check();
    await press(visitor, 'button', 'Send my request');
    assert.equal(await heading(visitor), 'Your request has been sent');
    const sent = await text(visitor);
    const reference = /SR-[A-Z0-9]{4}-[A-Z0-9]{4}/.exec(sent)?.[0];
    assert.ok(reference, 'a reference number');
    assert.match(sent, /will contact you by phone call, by \d{1,2} \w+ \d{4} at the latest/);
    await check(visitor, 'the confirmation');
    await visitor.context().close();

    // Signed in: the demo resident asks the same service, by email.
    const resident = await phone('citizen');
    await resident.goto(`${server.url}/services/${service.id}`);
    await press(resident, 'button', 'Refer yourself');
    assert.equal(await resident.getByLabel('First name').count(), 0, 'a signed-in resident is not asked who they are');
    await resident.getByRole('textbox', { name: /Email address/ }).fill('resident@example.com');
    await resident.getByRole('radio', { name: 'Email' }).check();
    await resident.getByLabel(/What help do you need/).fill('I would like to meet people nearby.');
    await resident.getByRole('radio', { name: 'Soon: it is getting harder to cope' }).check();
    await resident.getByRole('radio', { name: 'No, ask me first' }).check();
    await press(resident, 'button', 'Send my request');
    assert.equal(await heading(resident), 'Your request has been sent');

    // The receiving practitioner: both in the inbox, marked, with how each prefers to be contacted.
    const practitioner = await phone('sr-browser-receiver');
    await practitioner.goto(`${server.url}/referrals/inbox?status=open`);
    const inbox = await text(practitioner);
    assert.match(inbox, /Morwenna Pendarves \(as given\)/);
    assert.match(inbox, /Self-referral/);
    assert.match(inbox, /Prefers phone call: 07700 900123/);
    assert.match(inbox, /Prefers email: resident@example.com/);
    await check(practitioner, 'the inbox with self-referrals');
    await press(practitioner, 'link', 'Morwenna Pendarves (as given)');
    assert.equal(await heading(practitioner), `Self-referral to ${service.name}`);
    const detail = await text(practitioner);
    assert.match(detail, /who they are has not been confirmed/);
    assert.ok(detail.includes(reference!), 'the reference the person was given');
    assert.match(detail, /bills are piling up/);
    await check(practitioner, 'a self-referral');
    await press(practitioner, 'button', 'Acknowledge');
    await press(practitioner, 'button', 'Accept');
    assert.match(await text(practitioner), /Referral accepted/);
    // And the signed-in resident's.
    await practitioner.goto(`${server.url}/referrals/inbox?status=open`);
    await practitioner.locator('tr', { hasText: 'resident@example.com' }).getByRole('link').first().click();
    await practitioner.waitForLoadState('load');
    await press(practitioner, 'button', 'Acknowledge');
    await press(practitioner, 'button', 'Accept');
    await practitioner.context().close();

    // The resident sees every step.
    await resident.goto(`${server.url}/my-referrals`);
    const mine = await text(resident);
    assert.match(mine, new RegExp(`${service.name}`));
    assert.match(mine, /Self-referral/);
    assert.match(mine, /Acknowledged/);
    assert.match(mine, /Accepted/);
    await check(resident, 'your referrals');
    await press(resident, 'link', /tell us what matters to you/);
    assert.equal(await heading(resident), 'What matters to you');
    await check(resident, 'what matters to you');
    await resident.context().close();
  });
});
