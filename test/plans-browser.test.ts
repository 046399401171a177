// In Chromium with axe: a coordinator runs an assessment with prefilled answers and sees the
// chart gain a point, creates a household plan with actions for two agencies, a partner marks
// an action done, and the review table moves. Then the coordinator's everyday plan jobs on a
// 375 px screen (issue 21): each step says what happened, a refused form keeps what was typed,
// plans are listed by name, a follow-up question is revealed by its answer. No serious or
// critical accessibility problems, and no page wider than the screen.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { sql } from 'kysely';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { createAccount } from '../src/auth/accounts.ts';

describe('a coordinator and a partner work on one shared plan', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let personId: string;
  let otherName: string;
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    const row = (
      await sql<{ person_id: string; other: string }>`
      select e.person_id, (select m.given_name || ' ' || m.family_name from persons m where m.household_id = p.household_id and m.id <> p.id order by m.birth_date limit 1) as other
      from model_enrolments e join users u on u.practitioner_id = e.lead_practitioner_id and u.username = 'coordinator'
      join persons p on p.id = e.person_id
      where e.model_id = 'md-coordination' and exists (select 1 from persons m where m.household_id = p.household_id and m.id <> p.id)
        and exists (select 1 from needs n where n.person_id = p.id and n.current and n.code in ('mental_health', 'substance_misuse', 'homelessness', 'housing_unsuitable'))
      order by e.person_id limit 1`.execute(server.database.db)
    ).rows[0];
    assert.ok(row);
    personId = row.person_id;
    otherName = row.other;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const submit = async (page: Page, name: string) => {
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name }).click()]);
  };
  const tableRows = async (page: Page, caption: string) =>
    page
      .locator('table', { has: page.locator('caption', { hasText: caption }) })
      .locator('thead th')
      .count();

  test('assessment with prefilled answers, household plan, partner marks done, review chart moves', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'coordinator', DEMO_PASSWORD);
    await page.goto(`${server.url}/people/${personId}/plan`);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    const columnsBefore = await tableRows(page, 'Multiple disadvantage assessment: every figure');

    // Run the assessment: some answers are already there, from the shared record.
    await page.getByLabel('Start an assessment').selectOption('md-assessment');
    await submit(page, 'Start assessment');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Multiple disadvantage assessment');
    assert.ok((await page.locator('[data-prefilled="true"]').count()) > 0, 'some answers are prefilled');
    assert.ok((await page.getByText('Already known from the shared record').count()) > 0);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    const prefilledChecked = await page.locator('[data-prefilled="true"] input[type="radio"]:checked').count();
    assert.ok(prefilledChecked > 0, 'prefilled answers are selected');
    // Answer what is not known (keeping every prefilled answer).
    const pick = async (legend: string, option: string) => {
      const group = page.getByRole('group', { name: legend });
      const chosen = await group.locator('input:checked').count();
      if (chosen === 0) await group.getByLabel(option, { exact: true }).check();
    };
    await pick('How does the person get on with the services trying to help them?', 'Mostly engages, misses some appointments');
    await pick(
      'How well does the person manage everyday dealings with other people (shops, benefits, neighbours)?',
      'Manages with occasional help',
    );
    await pick('In the last three months, has the person harmed themselves or spoken about ending their life?', 'No');
    await pick('In the last three months, has the person been violent, or threatened to hurt someone?', 'No');
    await pick('Is anyone taking advantage of, exploiting or hurting the person?', 'No concern');
    await pick("How much do stress, worry or low mood get in the way of the person's day?", 'A little, copes well');
    await pick('Does the person use alcohol or drugs in a way that causes them problems?', 'No');
    if (
      (await page.getByRole('group', { name: 'How much harm is alcohol or drug use causing?' }).locator('input:checked').count()) === 0 &&
      (await page
        .getByRole('group', { name: 'Does the person use alcohol or drugs in a way that causes them problems?' })
        .getByLabel('Yes', { exact: true })
        .isChecked())
    ) {
      await pick('How much harm is alcohol or drug use causing?', 'Occasional problems');
    }
    await pick(
      'How often does the person act on impulse in ways that cause harm (spending, anger, leaving suddenly)?',
      'Sometimes, small consequences',
    );
    await pick('How settled is where the person is living?', 'Stable but some problems (repairs, arrears)');
    await submit(page, 'Save assessment');
    assert.ok((await page.getByText('Multiple disadvantage assessment saved').count()) > 0);
    assert.match((await page.locator('.govuk-notification-banner').textContent()) ?? '', /[1-9]\d* answers reused from the shared record/);
    const columnsAfter = await tableRows(page, 'Multiple disadvantage assessment: every figure');
    assert.equal(columnsAfter, columnsBefore + 1, "the chart's table has one more assessment");
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    // A household plan, with actions for two agencies.
    await page.getByText('Start a new plan').click();
    await page.getByLabel('Name of the plan').fill('Household plan: a settled home');
    await page.getByLabel(otherName).check();
    await page.getByLabel(/Each person added has agreed/).check();
    await submit(page, 'Start plan');
    assert.equal((await page.locator('#plan').textContent())?.trim(), 'Household plan: a settled home');
    assert.ok((await page.getByText('(household plan)').count()) > 0);
    await page.getByText('Add a goal', { exact: true }).click();
    await page.getByLabel("The goal, in the person's own words").fill('Stay in this home and keep it warm');
    await page.getByLabel('Suitable home').check();
    await submit(page, 'Add goal');
    const addAction = async (text: string, orgPattern: RegExp) => {
      await page.getByText('Add an action for any agency').click();
      await page.getByLabel('What will be done').fill(text);
      const select = page.getByLabel('Which organisation will do it');
      const option = (await select.locator('option').allTextContents()).find((t) => orgPattern.test(t));
      assert.ok(option, `an organisation matching ${orgPattern}`);
      await select.selectOption({ label: option });
      await page.getByLabel('Which goal it helps').selectOption({ index: 1 });
      await submit(page, 'Add action');
      return option.replace(/ \(delivery partner\)$/, '');
    };
    const housingOrg = await addAction('Fix the heating before winter', /Housing|Homes/i);
    await addAction('Benefits check for the household', /Food Bank|Citizens|Advice|Carers/i);
    assert.ok((await page.getByRole('cell', { name: 'Fix the heating before winter', exact: true }).count()) === 1);
    const planUrl = page.url();
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);

    // A partner at the housing organisation marks their action done.
    const db = server.database.db;
    const org = await db.selectFrom('organisations').select('id').where('name', '=', housingOrg).executeTakeFirstOrThrow();
    const officer = await db
      .selectFrom('practitioners')
      .select(['id', 'organisation_id'])
      .where('organisation_id', '=', org.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await createAccount(db, {
      username: 'housing-partner',
      displayName: 'Hana Partner',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: officer.id,
      organisationId: officer.organisation_id,
    });
    const partner = await openPage(browser);
    await signInAs(partner, server.url, 'housing-partner', DEMO_PASSWORD);
    await Promise.all([partner.waitForNavigation(), partner.getByRole('link', { name: 'Plan actions' }).click()]);
    assert.ok((await partner.getByText('Fix the heating before winter').count()) > 0);
    assert.deepEqual(await seriousAccessibilityProblems(partner), []);
    await partner.goto(planUrl);
    await Promise.all([
      partner.waitForNavigation(),
      partner.locator('tr', { hasText: 'Fix the heating before winter' }).locator('button', { hasText: 'Mark done' }).click(),
    ]);
    const row = partner.getByRole('row', { name: /Fix the heating before winter/ });
    assert.ok((await row.getByText('Done', { exact: true }).count()) === 1);
    assert.equal(
      await partner.locator('tr', { hasText: 'Benefits check for the household' }).locator('button').count(),
      0,
      "a partner cannot mark another agency's action",
    );
    assert.deepEqual(await seriousAccessibilityProblems(partner), []);
    await closePage(partner);

    // The coordinator records a review: the review chart gains a point showing the action done.
    const back = await openPage(browser);
    await signInAs(back, server.url, 'coordinator', DEMO_PASSWORD);
    await back.goto(planUrl);
    assert.equal(await back.locator('svg[aria-labelledby^="chart-review-"]').count(), 0, 'no reviews yet');
    await back.getByText('Record a review').click();
    await back.getByLabel(/Goal 1: .*0 to 10/).fill('4');
    await back.getByLabel('What has changed').fill('Heating fixed by housing');
    await submit(back, 'Record review');
    assert.equal(
      await back.locator('svg[aria-labelledby^="chart-review-"]').count(),
      0,
      'one review is a table, not a chart of single dots',
    );
    assert.ok((await back.getByText('One review so far').count()) > 0);
    const actionsRow = back.getByRole('row', { name: /Actions done/ });
    assert.match((await actionsRow.textContent()) ?? '', /1 of 2/);
    assert.ok((await back.getByText('Action done: "Fix the heating before winter"').count()) > 0, 'the history records who did what');
    assert.deepEqual(await seriousAccessibilityProblems(back), []);
    await closePage(back);
  });
});
describe(
  "the coordinator's plan jobs on a phone, without dead ends (issue 21)",
  { skip: !browserAvailable() && 'Chromium not installed' },
  () => {
    let server: TestServer;
    let browser: Browser;
    let personId: string;
    let member: { id: string; name: string };
    before(async () => {
      server = await startTestServer();
      browser = await launchBrowser();
      const row = (
        await sql<{ person_id: string; member: string; name: string }>`
      select e.person_id, m.id as member, m.given_name || ' ' || m.family_name as name
      from model_enrolments e join users u on u.practitioner_id = e.lead_practitioner_id and u.username = 'coordinator'
      join persons p on p.id = e.person_id join persons m on m.household_id = p.household_id and m.id <> p.id
      where e.model_id = 'md-coordination'
      order by e.person_id desc, m.id limit 1`.execute(server.database.db)
      ).rows[0];
      assert.ok(row);
      personId = row.person_id;
      member = { id: row.member, name: row.name };
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    const phone = async () => {
      const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
      return context.newPage();
    };
    const fitsTheScreen = async (page: Page, where: string) => {
      const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
      assert.ok(width <= 375, `${where}: the page is ${width} px wide on a 375 px screen`);
      assert.deepEqual(await seriousAccessibilityProblems(page), [], where);
    };
    const submit = async (page: Page, name: string) => {
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
    };
    const summary = (page: Page) => page.locator('.govuk-error-summary');
    const banner = (page: Page) => page.locator('.govuk-notification-banner--success');

    test('start a household plan, add a goal, review it and answer an assessment, each step saying what happened', async () => {
      const page = await phone();
      await signInAs(page, server.url, 'coordinator', DEMO_PASSWORD);
      await page.goto(`${server.url}/people/${personId}/plan`);
      await fitsTheScreen(page, 'the plan page');

      // A household member ticked without their agreement: an error, and what was typed is kept.
      await page.getByText('Start a new plan').click();
      await page.getByLabel('Name of the plan').fill('A warm and settled home');
      await page.getByLabel(member.name).check();
      await submit(page, 'Start plan');
      assert.match((await summary(page).textContent()) ?? '', /has agreed to be part of this plan/);
      assert.match(await page.title(), /^Error: /);
      assert.equal(await page.getByLabel('Name of the plan').inputValue(), 'A warm and settled home');
      assert.ok(await page.getByLabel(member.name).isChecked(), 'the member is still ticked');
      await fitsTheScreen(page, 'the plan form with its error');
      await summary(page).getByRole('link').click();
      await page.getByLabel(/Each person added has agreed/).check();
      await submit(page, 'Start plan');
      assert.match((await banner(page).textContent()) ?? '', /Plan started/);
      assert.equal((await page.locator('#plan').textContent())?.trim(), 'A warm and settled home');
      assert.ok((await page.getByText('(household plan)').count()) > 0, `${member.name} is in it`);
      const list = page.getByTestId('plan-list');
      assert.ok((await list.textContent())?.includes('A warm and settled home'), 'plans are listed by name');
      assert.doesNotMatch((await list.textContent()) ?? '', /plan \d/);
      await fitsTheScreen(page, 'the new plan');

      await page.getByText('Add a goal', { exact: true }).click();
      await page.getByLabel("The goal, in the person's own words").fill('Keep the flat warm this winter');
      await page.getByLabel('Suitable home').check();
      await submit(page, 'Add goal');
      assert.match((await banner(page).textContent()) ?? '', /Goal added/);

      // An empty review is refused, with the form open and what was typed kept.
      await page.getByText('Record a review').click();
      await page.getByLabel('Date of review').fill('2026-12-01');
      await submit(page, 'Record review');
      assert.match((await summary(page).textContent()) ?? '', /Score at least one goal from 0 to 10, or write what has changed/);
      assert.equal(await page.getByLabel('Date of review').inputValue(), '2026-12-01');
      await fitsTheScreen(page, 'the review form with its error');
      await page.getByLabel('What has changed').fill('New radiator fitted; still damp in the bedroom');
      await submit(page, 'Record review');
      assert.match((await banner(page).textContent()) ?? '', /Review recorded/);
      assert.ok(
        (await page.locator('#history ~ ol').getByText('New radiator fitted; still damp in the bedroom').count()) === 1,
        'the note is in the history',
      );
      await fitsTheScreen(page, 'the plan after a review');

      // A follow-up question appears under the answer that needs it.
      await page.getByLabel('Start an assessment').selectOption('md-assessment');
      await submit(page, 'Start assessment');
      assert.equal(await page.getByText(/answer only if/i).count(), 0);
      const harm = page.getByRole('group', {
        name: 'In the last three months, has the person harmed themselves or spoken about ending their life?',
      });
      const followUp = page.getByRole('group', { name: 'How serious and how recent was it?' });
      await harm.getByLabel('Yes', { exact: true }).check();
      assert.ok(await followUp.isVisible(), '"Yes" reveals how serious it was');
      await harm.getByLabel('No', { exact: true }).check();
      assert.ok(!(await followUp.isVisible()), '"No" hides it again');
      await fitsTheScreen(page, 'the assessment');
      await page.context().close();
    });

    test('without JavaScript, a revealed question is shown under its answer and a follow-up comes back before saving', async () => {
      const context = await browser.newContext({ viewport: { width: 375, height: 812 }, javaScriptEnabled: false });
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      await signInAs(page, server.url, 'coordinator', DEMO_PASSWORD);
      await page.goto(`${server.url}/people/${personId}/assessments/md-assessment`);
      assert.ok(
        await page.getByRole('group', { name: 'How serious and how recent was it?' }).isVisible(),
        'shown under "Yes" without JavaScript',
      );
      await page.goto(`${server.url}/people/${personId}/assessments/carers-assessment`);
      assert.equal(await page.getByText('Have you been able to talk to your GP about this?').count(), 0, 'not asked yet');
      const answer = async (legend: string, option: string) =>
        page.getByRole('group', { name: legend }).getByLabel(option, { exact: true }).check();
      await answer('About how many hours a week do you spend caring?', '20 to 34 hours');
      await answer('Do you often give care during the night?', 'No');
      await answer('How is caring affecting your own physical or mental health?', 'A lot, most days');
      await answer('Can you do things for yourself outside caring: work, learning, rest, hobbies?', 'Mostly');
      await answer('Do you feel lonely or cut off because of caring?', 'Occasionally');
      await answer('Does caring make money worries worse?', 'A little');
      await answer('Is there a plan for who would care if you suddenly could not?', 'Partly');
      await submit(page, 'Save assessment');
      assert.match(
        (await page.locator('.govuk-notification-banner').textContent()) ?? '',
        /one more question before the assessment is saved/,
      );
      assert.ok(
        await page
          .getByRole('group', { name: 'How is caring affecting your own physical or mental health?' })
          .getByLabel('A lot, most days', { exact: true })
          .isChecked(),
        'answers kept',
      );
      await answer('Have you been able to talk to your GP about this?', 'No');
      await submit(page, 'Save assessment');
      assert.match((await page.locator('.govuk-notification-banner--success').textContent()) ?? '', /Carer.s assessment saved/);
      // (axe runs as a script in the page, so it is run on these pages with JavaScript on, above.)
      await context.close();
    });
  },
);
