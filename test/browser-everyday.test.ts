// Issue 21 in Chromium, on a 375 px phone screen: the citizen's sharing page, who looked,
// corrections and download; a practitioner's emergency access found from search, and the privacy
// officer's review of it. Every step checks what the user sees, that axe-core finds nothing
// serious, and that the page is no wider than the screen.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

const PHONE = { width: 375, height: 812 };

describe('everyday work on a phone (issue 21)', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let citizenId: string;
  let practitionerOrg: string;
  before(async () => {
    server = await startTestServer({ people: 2000, seed: 3 });
    browser = await launchBrowser();
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    practitionerOrg = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function phone(username: string): Promise<Page> {
    const context = await browser.newContext({ viewport: PHONE, acceptDownloads: true });
    const page = await context.newPage();
    await signInAs(page, server.url, username, DEMO_PASSWORD);
    return page;
  }

  /** What every step checks: nothing serious for axe, and nothing wider than the phone. */
  async function checkPage(page: Page, step: string): Promise<void> {
    assert.deepEqual(await seriousAccessibilityProblems(page), [], `${step}: axe`);
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= PHONE.width, `${step}: the page is ${width} px wide on a ${PHONE.width} px screen`);
  }

  /** Follows a link in the service navigation, opening the menu first as a phone shows it collapsed. */
  async function menu(page: Page, name: string): Promise<void> {
    const link = page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name, exact: true });
    if (!(await link.isVisible())) await page.getByRole('button', { name: 'Menu' }).click();
    await link.click();
  }

  const h1 = async (page: Page) => (await page.getByRole('heading', { level: 1 }).textContent())?.trim();
  const banner = (page: Page) => page.locator('.govuk-notification-banner--success');

  test('the citizen: who can see what, a choice saved and withdrawn, who looked, a correction made, and the download', async () => {
    // A practitioner looks twice first, so there is something to see in "who looked".
    const practitioner = await phone('practitioner');
    for (let i = 0; i < 2; i++) await practitioner.goto(`${server.url}/people/${citizenId}`);
    assert.ok(await practitioner.getByRole('heading', { level: 1 }).isVisible());

    const page = await phone('citizen');
    // Sharing: the summary first.
    await page.goto(`${server.url}/my-record/sharing`);
    assert.equal(await h1(page), 'Who can see your record');
    assert.ok(await page.getByRole('heading', { name: 'Who can see what now' }).isVisible());
    const orgName = (
      await server.database.db.selectFrom('organisations').select('name').where('id', '=', practitionerOrg).executeTakeFirstOrThrow()
    ).name;
    assert.ok(
      await page.locator('.joinery-sharing-summary dt', { hasText: orgName }).first().isVisible(),
      "the practitioner's organisation is in the summary",
    );
    await checkPage(page, 'sharing');

    // A mistake in the end date: the form comes back with the error, and says so in its title.
    const year = String(new Date().getUTCFullYear() + 1);
    await page.getByLabel('Do not share').check();
    await page.getByLabel('What information?').selectOption('housing');
    await page.getByLabel('Day').fill('31');
    await page.getByLabel('Month').fill('2');
    await page.getByLabel('Year').fill(year);
    await page.getByRole('button', { name: 'Save this choice' }).click();
    assert.match(await page.title(), /^Error: Who can see your record/);
    assert.ok(await page.getByRole('link', { name: 'The end date must be a real date' }).isVisible());
    assert.equal(await page.getByLabel('Day').inputValue(), '31', 'what was typed is kept');
    await checkPage(page, 'sharing with an error');

    // Put right and saved: a success banner, and the new choice can be withdrawn on the phone.
    await page.getByLabel('Day').fill('28');
    await page.getByRole('button', { name: 'Save this choice' }).click();
    assert.match((await banner(page).textContent()) ?? '', /Your choice has been saved/);
    const row = page.locator('tr', { hasText: `until 28 February ${year}` });
    const withdraw = row.getByRole('button', { name: /Withdraw/ });
    assert.ok(await withdraw.isVisible());
    const box = await withdraw.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, 'the Withdraw button is on the screen');
    await checkPage(page, 'sharing after saving');
    await withdraw.click();
    assert.match((await banner(page).textContent()) ?? '', /Your choice has been withdrawn/);
    assert.equal(await page.locator('tr', { hasText: `until 28 February ${year}` }).count(), 0, 'no longer among the choices in force');
    await checkPage(page, 'sharing after withdrawing');

    // Who looked, and what each service holds, on the person's own record.
    await menu(page, 'My record');
    const looked = page.locator('li', { hasText: 'looked at your record 2 times' });
    assert.equal(await looked.count(), 1, "the practitioner's two looks are one line");
    assert.match((await looked.textContent()) ?? '', /basic details \(name, date of birth, address\)/);
    assert.ok(await page.getByText('Date of birth', { exact: true }).first().isVisible());
    await checkPage(page, 'my record');

    // A correction: asked for, made by the service, and what changed shown to the person.
    await page.getByRole('link', { name: 'Ask for a correction' }).first().click();
    await page.getByRole('button', { name: 'Send request' }).click();
    assert.match(await page.title(), /^Error: Ask for a correction/);
    await checkPage(page, 'correction with errors');
    await page.getByLabel('Which service holds it?').selectOption(practitionerOrg);
    await page.getByLabel('Which information is wrong?').fill('My phone number');
    await page.getByLabel('What is wrong?').fill('That number is old');
    await page.getByLabel('What should it say? (optional)').fill('07700 900321');
    await page.getByRole('button', { name: 'Send request' }).click();
    assert.match((await banner(page).textContent()) ?? '', /Your request has been sent/);
    await checkPage(page, 'correction sent');

    await menu(practitioner, 'Corrections');
    const card = practitioner
      .locator('.govuk-summary-card', { hasText: 'My phone number' })
      .filter({ has: practitioner.getByRole('button', { name: 'Send answer' }) })
      .first();
    await card.getByLabel('Correct the record').check();
    const field = card.getByLabel('Which part of your record?');
    const phoneOption = await field
      .locator('option', { hasText: /^Phone: / })
      .first()
      .getAttribute('value');
    await field.selectOption(phoneOption!);
    assert.equal(await card.getByLabel('What it should say now').inputValue(), '07700 900321', 'what the person asked for is offered');
    await card.getByLabel('What you did, for the person').fill('Updated our record');
    await card.getByRole('button', { name: 'Send answer' }).click();
    assert.match((await banner(practitioner).textContent()) ?? '', /The record has been corrected/);
    await checkPage(practitioner, 'corrections inbox');

    await page.reload();
    assert.match(
      (await page.locator('li', { hasText: 'My phone number' }).first().textContent()) ?? '',
      /they corrected their record: Phone changed from “[^”]*” to “07700 900321”/,
    );
    await checkPage(page, 'corrections answered');

    // The download: everything, including about me, plans, referrals, messages and budget.
    await menu(page, 'My record');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download your record (JSON)' }).click(),
    ]);
    const data = JSON.parse(fs.readFileSync((await download.path())!, 'utf8')) as Record<string, unknown[]>;
    for (const part of [
      'recordsHeldByEachService',
      'aboutMe',
      'plans',
      'referrals',
      'messages',
      'personalBudgets',
      'whoLooked',
      'correctionRequests',
    ]) {
      assert.ok(Array.isArray(data[part]), `the download has ${part}`);
    }
    assert.ok(data.plans!.length > 0 && data.referrals!.length > 0, "the demo citizen's plan and referrals are in it");
    await page.context().close();
    await practitioner.context().close();
  });

  test('the privacy officer: an emergency access found from search, what was seen during it, and the review', async () => {
    const db = server.database.db;
    const target = (
      await sql<{ id: string; given_name: string; family_name: string; birth_date: string; nhs_number: string }>`
      select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.nhs_number from persons p
      where p.merged_into is null and p.nhs_number is not null and p.birth_date is not null
        and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
                        where l.person_id = p.id and l.superseded_at is null and o.id = ${practitionerOrg})
        and not exists (select 1 from care_relationships r where r.person_id = p.id and r.organisation_id = ${practitionerOrg})
        and not exists (select 1 from users u where u.person_id = p.id)
      order by p.id limit 1`.execute(db)
    ).rows[0]!;
    const [year, month, day] = target.birth_date.split('-');

    const practitioner = await phone('practitioner');
    await menu(practitioner, 'Find a person');
    await checkPage(practitioner, 'find a person');
    await practitioner.getByRole('link', { name: 'emergency access' }).click();
    assert.equal(await h1(practitioner), 'Emergency access');
    await checkPage(practitioner, 'emergency access');
    await practitioner.getByLabel('NHS number').fill(target.nhs_number);
    await practitioner.getByLabel('Day').fill(String(Number(day)));
    await practitioner.getByLabel('Month').fill(String(Number(month)));
    await practitioner.getByLabel('Year').fill(year!);
    await practitioner.getByRole('button', { name: 'Find this person' }).click();
    assert.ok(await practitioner.getByRole('heading', { name: 'One person matches these details exactly' }).isVisible());
    assert.ok(await practitioner.getByText(`${target.given_name} ${target.family_name}`).isVisible());
    await checkPage(practitioner, 'emergency match');
    await practitioner.getByLabel('Why do you need emergency access?').fill('Brought in unconscious, need allergies and medication');
    await practitioner.getByRole('button', { name: 'Use emergency access' }).click();
    assert.equal(await h1(practitioner), `${target.given_name} ${target.family_name}`);
    assert.ok(await practitioner.getByText('You are using emergency access').isVisible());
    await checkPage(practitioner, 'record under emergency access');

    const privacy = await phone('privacy');
    assert.equal(await h1(privacy), 'Emergency access to review');
    const card = privacy.locator('.govuk-summary-card', { hasText: `${target.given_name} ${target.family_name}` });
    assert.match((await card.textContent()) ?? '', /Brought in unconscious, need allergies and medication/);
    assert.ok(await card.getByText('Opened the person page once').isVisible());
    assert.match((await card.getByText(/^Shown: /).textContent()) ?? '', /basic details \(name, date of birth, address\)/);
    await checkPage(privacy, 'review list');
    await card.getByLabel('Appropriate', { exact: true }).check();
    await card.getByLabel('Notes (optional)').fill('Checked with the emergency department');
    await card.getByRole('button', { name: 'Record review' }).click();
    assert.match((await banner(privacy).textContent()) ?? '', /Your review has been recorded/);
    const done = privacy.locator('tr', { hasText: `${target.given_name} ${target.family_name}` });
    assert.match((await done.textContent()) ?? '', /Appropriate[\s\S]*Checked with the emergency department/);
    await checkPage(privacy, 'completed reviews');
    await privacy.context().close();
    await practitioner.context().close();
  });
});
