// Outcomes people feel in Chromium (issue 22): a commissioner opens the cohort page from the
// insight pages and the goals-at-or-above-expected measure on the inequality page, at desktop
// width and at 375 px; each has a chart and its table, and axe finds no serious problems. A
// resident says how true a place goal is for them in their feedback, a coordinator records what a
// person says at a review, and the commissioner sees the person-reported measure, all at 375 px.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { sql } from 'kysely';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { refreshInsight } from '../src/insight/index.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('outcomes people feel in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
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

  test('the cohort page and a felt measure on the inequality page are readable and axe-clean, also at 375 px', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'manager', DEMO_PASSWORD);
    await page.goto(`${server.url}/insight/targets`);
    await page.getByRole('link', { name: 'Cohorts by model', exact: true }).click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Cohorts by operating model');
    assert.ok((await page.locator('svg[role="img"]').count()) > 0, 'a chart');
    assert.ok((await page.locator('table.govuk-table').count()) > 0, 'its table');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await page.goto(`${server.url}/insight/inequalities?measure=felt%3Agas&by=quintile`);
    assert.match((await page.locator('main').textContent()) ?? '', /Goals at or above expected/);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${server.url}/insight/models`);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });

  const submit = async (page: Page, name: string) => {
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
  };
  const together = '“I can see services working together on what matters to me.”';
  const answers = async (recordedFor: string) =>
    (
      await sql<{ person_id: string; answer: number; source: string }>`
        select person_id, answer, source from place_goal_answers where outcome_code = 'TOGETHER' and recorded_for = ${recordedFor}
        order by id desc limit 1`.execute(server.database.db)
    ).rows[0];

  test('a resident says how true a place goal is in their feedback, a coordinator records it at a review, the commissioner sees the measure (375 px, axe-clean)', async () => {
    // The resident, on a phone: the place's goals are asked beside the feedback, each optional.
    const resident = await openPage(browser);
    await resident.setViewportSize({ width: 375, height: 800 });
    await signInAs(resident, server.url, 'citizen', DEMO_PASSWORD);
    await resident.goto(`${server.url}/my-record/feedback`);
    assert.deepEqual(await seriousAccessibilityProblems(resident), []);
    const service = resident.locator('#service');
    await service.selectOption({ index: 1 });
    await resident.getByLabel('4', { exact: true }).check();
    assert.equal(await answers('person'), undefined, 'no answer from the resident yet');
    await resident.getByLabel(together).selectOption({ label: 'Agree' });
    await resident.getByLabel('4', { exact: true }).check();
    await submit(resident, 'Send feedback');
    assert.match((await resident.locator('main').textContent()) ?? '', /What you have said about the area's goals/);
    assert.match(
      (await resident.locator('main').textContent()) ?? '',
      /I can see services working together on what matters to me\.”: Agree/,
    );
    assert.deepEqual(await answers('person'), {
      person_id: (
        await server.database.db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()
      ).person_id,
      answer: 4,
      source: 'feedback',
    });
    assert.deepEqual(await seriousAccessibilityProblems(resident), []);
    await closePage(resident);

    // The coordinator, with a person they lead, records what the person says at a review.
    const person = (
      await sql<{ person_id: string }>`
        select e.person_id from model_enrolments e join users u on u.practitioner_id = e.lead_practitioner_id
        join plans p on p.person_id = e.person_id
        where u.username = 'coordinator' and e.ended_at is null order by e.person_id limit 1`.execute(server.database.db)
    ).rows[0]!.person_id;
    const coordinator = await openPage(browser);
    await coordinator.setViewportSize({ width: 375, height: 800 });
    await signInAs(coordinator, server.url, 'coordinator', DEMO_PASSWORD);
    await coordinator.goto(`${server.url}/people/${person}/plan`);
    await coordinator.getByText('Record a review').click();
    await coordinator.getByLabel(together).selectOption({ label: 'Strongly agree' });
    await submit(coordinator, 'Record review');
    assert.match((await coordinator.locator('.govuk-notification-banner').first().textContent()) ?? '', /Review recorded/);
    assert.deepEqual(await answers('practitioner'), { person_id: person, answer: 5, source: 'review' });
    assert.deepEqual(await seriousAccessibilityProblems(coordinator), []);
    await closePage(coordinator);

    // The commissioner sees the measure split by deprivation, with its chart and table.
    await refreshInsight(server.database.db);
    const commissioner = await openPage(browser);
    await commissioner.setViewportSize({ width: 375, height: 800 });
    await signInAs(commissioner, server.url, 'manager', DEMO_PASSWORD);
    await commissioner.goto(`${server.url}/insight/inequalities?measure=${encodeURIComponent('felt:said:TOGETHER')}&by=quintile`);
    const main = (await commissioner.locator('main').textContent()) ?? '';
    assert.match(main, /People who say “I can see services working together on what matters to me”/);
    assert.ok((await commissioner.locator('svg[role="img"]').count()) > 0, 'a chart');
    assert.ok((await commissioner.locator('table.govuk-table').count()) > 0, 'its table');
    assert.deepEqual(await seriousAccessibilityProblems(commissioner), []);
    await closePage(commissioner);
  });
});
