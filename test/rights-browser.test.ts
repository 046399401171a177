// Issue 20 in Chromium with axe, on a 375 px phone screen: a resident objects to case-finding and
// names a neighbour who can help them; the practitioner whose team had them on its case-finding
// worklist sees "not to be contacted this way", and sees the neighbour on the person's network page.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { runCaseFinding } from '../src/insight/casefind.ts';
import { writtenDate, writtenDay } from '../src/platform/dates.ts';
import { dueByFor } from '../src/consent/rights-requests.ts';

describe('rights and the informal network in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let personId: string;
  let ownerName: string;
  before(async () => {
    server = await startTestServer({ people: 3000, seed: 7 });
    browser = await launchBrowser();
    const db = server.database.db;
    await runCaseFinding(db);
    const row = (
      await sql<{ person_id: string; practitioner_id: string; organisation_id: string }>`
      select w.person_id, pr.id as practitioner_id, pr.organisation_id from insight_worklist w
      join practitioners pr on pr.organisation_id = w.organisation_id and pr.team_id is not distinct from w.team_id
      where w.status = 'open' and not exists (select 1 from users u where u.person_id = w.person_id) order by w.person_id, pr.id limit 1`.execute(
        db,
      )
    ).rows[0]!;
    personId = row.person_id;
    ownerName = (await db.selectFrom('organisations').select('name').where('id', '=', row.organisation_id).executeTakeFirstOrThrow()).name;
    await createAccount(db, { username: 'browser-resident', displayName: 'Resident', role: 'citizen', password: DEMO_PASSWORD, personId });
    await createAccount(db, {
      username: 'browser-team',
      displayName: 'Team practitioner',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: row.practitioner_id,
      organisationId: row.organisation_id,
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const fitsTheScreen = async (page: Page, where: string) => {
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 375, `${where}: the page is ${width} px wide on a 375 px screen`);
    assert.deepEqual(await seriousAccessibilityProblems(page), [], where);
  };
  const go = async (page: Page, action: () => Promise<unknown>) => {
    await Promise.all([page.waitForNavigation(), action()]);
  };
  const banner = (page: Page) => page.locator('.govuk-notification-banner--success');

  test('a resident asks for a restriction; the service holding the record answers within the legal clock; the resident reads why', async () => {
    const resident = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
    await signInAs(resident, server.url, 'browser-resident', DEMO_PASSWORD);
    await resident.goto(`${server.url}/my-record/rights`);
    await resident.getByLabel('Restrict it').check();
    await resident.getByLabel('Which service holds it?').selectOption({ label: ownerName });
    await go(resident, () => resident.getByRole('button', { name: 'Send request' }).click());
    assert.ok(await resident.getByText('There is a problem').isVisible(), 'what is missing is said');
    await fitsTheScreen(resident, 'the request form with errors');
    const category = resident.getByLabel('What kind of information is it?');
    await category.selectOption({ index: 1 });
    await resident.getByLabel('Which information?').fill('The notes of my last assessment');
    await resident.getByLabel('Why are you asking?').fill('I dispute what they say');
    await go(resident, () => resident.getByRole('button', { name: 'Send request' }).click());
    assert.match((await banner(resident).textContent()) ?? '', /Your request has been sent/);
    const due = writtenDay(dueByFor(new Date()));
    assert.ok(await resident.getByText(due).first().isVisible(), `due by ${due}`);
    await fitsTheScreen(resident, 'the privacy rights page with a request');
    await resident.context().close();

    const owner = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
    await signInAs(owner, server.url, 'browser-team', DEMO_PASSWORD);
    await owner.goto(`${server.url}/rights-requests`);
    assert.ok(await owner.getByText(`Due by ${due}`).isVisible());
    await fitsTheScreen(owner, 'the restriction and erasure inbox');
    await owner.getByLabel('Refused').check();
    await go(owner, () => owner.getByRole('button', { name: 'Send answer' }).click());
    assert.ok(await owner.getByText('There is a problem').isVisible());
    await fitsTheScreen(owner, 'the inbox with an error');
    await owner.getByLabel('Refused').check();
    await owner
      .getByLabel(/What you did, or why you refuse/)
      .fill('We must keep these notes while the complaint is open (legal obligation)');
    await go(owner, () => owner.getByRole('button', { name: 'Send answer' }).click());
    assert.match((await banner(owner).textContent()) ?? '', /Your answer has been recorded/);
    await owner.context().close();

    const back = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
    await signInAs(back, server.url, 'browser-resident', DEMO_PASSWORD);
    await back.goto(`${server.url}/my-record/rights`);
    assert.ok(await back.getByText(/We must keep these notes while the complaint is open/).isVisible());
    await back.context().close();
  });

  test('a resident objects to case-finding and names a neighbour; a practitioner sees both', async () => {
    const resident = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
    await signInAs(resident, server.url, 'browser-resident', DEMO_PASSWORD);
    await resident.goto(`${server.url}/my-record/sharing`);
    await go(resident, () => resident.getByRole('link', { name: /object to case-finding/ }).click());
    assert.equal(new URL(resident.url()).pathname, '/my-record/rights');
    await fitsTheScreen(resident, 'the privacy rights page');
    await resident.getByLabel('Why do you object? (optional)').fill('I would rather ask for help myself');
    await go(resident, () => resident.getByRole('button', { name: 'Object to case-finding' }).click());
    assert.match((await banner(resident).textContent()) ?? '', /Your objection has been recorded/);
    assert.ok(await resident.getByText('You have objected to case-finding').isVisible());
    await fitsTheScreen(resident, 'the privacy rights page with the objection in force');

    // Naming a neighbour: a mistake first, shown in the error summary with what was typed kept.
    await resident.goto(`${server.url}/my-record/informal-network`);
    await fitsTheScreen(resident, 'the informal network page');
    await resident.getByLabel('How to get in touch with them').fill('07700 900417, mornings');
    await go(resident, () => resident.getByRole('button', { name: 'Add to my network' }).click());
    assert.ok(await resident.getByText('There is a problem').isVisible());
    assert.equal(await resident.getByLabel('How to get in touch with them').inputValue(), '07700 900417, mornings');
    await fitsTheScreen(resident, 'the informal network page with errors');
    await resident.getByLabel("Their name, or the group's name").fill('Nell Neighbour');
    await resident.getByLabel('Neighbour', { exact: true }).check();
    await resident.getByLabel('How they know you (optional)').fill('Lives next door');
    await resident.getByLabel('That I have a care plan').check();
    await resident.getByLabel('Practitioners may get in touch with them to help me').check();
    await go(resident, () => resident.getByRole('button', { name: 'Add to my network' }).click());
    assert.match((await banner(resident).textContent()) ?? '', /They have been added to your network/);
    assert.ok(await resident.getByRole('heading', { name: 'Nell Neighbour' }).isVisible());
    await fitsTheScreen(resident, 'the informal network page with a neighbour');

    // "About me" shared with everyone in their care, so the team may see who can help.
    await resident.goto(`${server.url}/my-record/sharing`);
    await resident.getByLabel('Share', { exact: true }).check();
    await resident.getByLabel('What information?').selectOption('about_me');
    await resident.getByLabel('With whom?').selectOption('network');
    await go(resident, () => resident.getByRole('button', { name: 'Save this choice' }).click());
    assert.match((await banner(resident).textContent()) ?? '', /Your choice has been saved/);
    await resident.context().close();

    const practitioner = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
    await signInAs(practitioner, server.url, 'browser-team', DEMO_PASSWORD);
    await practitioner.goto(`${server.url}/insight/worklist`);
    const marker = `Not to be contacted this way (objected on ${writtenDate(new Date())})`;
    assert.ok(await practitioner.getByText(marker).first().isVisible(), 'the worklist says not to contact them this way');
    await fitsTheScreen(practitioner, 'the worklist');
    await practitioner.goto(`${server.url}/people/${personId}/network`);
    assert.ok(await practitioner.getByRole('heading', { name: 'Who the person says can help' }).isVisible());
    assert.ok(await practitioner.getByRole('heading', { name: 'Nell Neighbour' }).isVisible());
    assert.ok(await practitioner.getByText('07700 900417, mornings').isVisible());
    assert.ok(await practitioner.getByText('Practitioners may get in touch with them to help me').isVisible());
    await fitsTheScreen(practitioner, 'the network page');
    await practitioner.context().close();
  });
});
