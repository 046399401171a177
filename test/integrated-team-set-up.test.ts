// Setting up an integrated team from a page (issue 22): a manager of a team sets up a new one,
// hosted by their own organisation, and becomes its first member and manager; anyone else is
// refused with nothing created and the refusal on the record: a member who manages no team, an
// ordinary practitioner, a commissioner, a citizen, a request without its CSRF token. In Chromium
// at 375 px the page is axe-clean and a wrong name is shown back with the GOV.UK error summary.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Browser } from 'playwright-core';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { teamMembers } from '../src/consent/index.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('setting up an integrated team', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });
  const post = async (cookie: string, fields: Record<string, string>, withToken = true) => {
    const body = new URLSearchParams(fields);
    if (withToken) body.set('_csrf', await csrfTokenFor(server.app, cookie, '/home'));
    return server.app.inject({
      method: 'POST',
      url: '/teams',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  };
  const teams = async () =>
    Number((await sql<{ n: number }>`select count(*)::int as n from teams where integrated`.execute(server.database.db)).rows[0]?.n);
  const refusals = async () =>
    Number(
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from audit_events where decision = 'deny' and reason like 'setting up an integrated team refused%'`.execute(
          server.database.db,
        )
      ).rows[0]?.n,
    );

  test('a manager of a team sets one up, hosted by their organisation, and is its first member and manager', async () => {
    const coordinator = await signIn(server.app, 'coordinator');
    const list = await server.app.inject({ method: 'GET', url: '/teams', headers: { cookie: coordinator } });
    assert.match(list.body, /href="\/teams\/new">Set up an integrated team</);
    assert.equal((await server.app.inject({ method: 'GET', url: '/teams/new', headers: { cookie: coordinator } })).statusCode, 200);
    const before = await teams();
    const bad = await post(coordinator, { name: 'ab', base: '', roleInTeam: 'Team manager' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Give the team a name of 3 to 120 characters/);
    assert.equal(await teams(), before, 'a refused form creates nothing');
    const made = await post(coordinator, { name: 'Hospital Discharge Team', base: 'Royal Infirmary', roleInTeam: 'Discharge lead' });
    assert.equal(made.statusCode, 302);
    const id = /^\/teams\/([^/]+)\/members\?changed=created$/.exec(made.headers.location as string)?.[1];
    assert.ok(id, `redirected to the new team's members page (${made.headers.location})`);
    assert.equal(await teams(), before + 1);
    const user = await server.database.db
      .selectFrom('users')
      .select(['practitioner_id', 'organisation_id'])
      .where('username', '=', 'coordinator')
      .executeTakeFirstOrThrow();
    const team = await server.database.db.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(
      [team.name, team.organisation_id, team.integrated, team.base],
      ['Hospital Discharge Team', user.organisation_id, true, 'Royal Infirmary'],
    );
    const members = await teamMembers(server.database.db, id);
    assert.deepEqual(
      members.map((m) => [m.practitionerId, m.roleInTeam, m.managesTeam]),
      [[user.practitioner_id, 'Discharge lead', true]],
    );
    const page = await server.app.inject({ method: 'GET', url: made.headers.location as string, headers: { cookie: coordinator } });
    assert.equal(page.statusCode, 200, 'the new manager opens the members page to add the others');
    assert.match(page.body, /Team set up: you are its manager/);
  });

  test('refused, with nothing created: a member who manages no team, a practitioner, a commissioner, a citizen, no CSRF token', async () => {
    const before = await teams();
    const refusedBefore = await refusals();
    const fields = { name: 'A team of my own', base: '', roleInTeam: 'Manager' };
    for (const username of ['teammember', 'practitioner']) {
      const cookie = await signIn(server.app, username);
      assert.equal((await server.app.inject({ method: 'GET', url: '/teams/new', headers: { cookie } })).statusCode, 403, username);
      assert.doesNotMatch(
        (await server.app.inject({ method: 'GET', url: '/teams', headers: { cookie } })).body,
        /Set up an integrated team/,
        `${username} is not offered the link`,
      );
      assert.equal((await post(cookie, fields)).statusCode, 403, username);
    }
    for (const username of ['manager', 'citizen']) {
      const cookie = await signIn(server.app, username);
      assert.equal((await post(cookie, fields)).statusCode, 403, username);
    }
    const coordinator = await signIn(server.app, 'coordinator');
    assert.equal((await post(coordinator, fields, false)).statusCode, 403, 'no CSRF token');
    assert.equal(await teams(), before, 'no team created');
    assert.equal(await refusals(), refusedBefore + 2, "each practitioner's refusal is on the record");
  });

  test(
    'in Chromium at 375 px: the page and its error are axe-clean',
    { skip: !browserAvailable() && 'Chromium not installed' },
    async () => {
      const browser: Browser = await launchBrowser();
      try {
        const page = await openPage(browser);
        await page.setViewportSize({ width: 375, height: 800 });
        await signInAs(page, server.url, 'coordinator', DEMO_PASSWORD);
        await page.goto(`${server.url}/teams`);
        await page.getByRole('link', { name: 'Set up an integrated team' }).click();
        await page.waitForLoadState('load');
        assert.deepEqual(await seriousAccessibilityProblems(page), []);
        await page.getByLabel('Name of the team').fill('x');
        await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Set up team' }).click()]);
        assert.match((await page.locator('.govuk-error-summary').textContent()) ?? '', /Give the team a name of 3 to 120 characters/);
        assert.deepEqual(await seriousAccessibilityProblems(page), []);
        await page.getByLabel('Name of the team').fill('Falls Response Team');
        await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Set up team' }).click()]);
        assert.match((await page.locator('main').textContent()) ?? '', /Team set up: you are its manager/);
        assert.deepEqual(await seriousAccessibilityProblems(page), []);
        await closePage(page);
      } finally {
        await browser.close();
      }
    },
  );
});
