// A partner's budget holders from a page (issue 22): the NHS's demo budget holder appoints a
// colleague of their own organisation, who can then commit the partner's money, and ends the
// appointment again; refused, with nothing changed: a practitioner holding no budget, another
// partner's budget holder, a commissioner, a citizen, appointing someone of another organisation, a request without its
// CSRF token. In Chromium at 375 px the page is axe-clean.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Browser } from 'playwright-core';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/index.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('appointing budget holders', () => {
  let server: TestServer;
  let partnerId = '';
  let colleague = { id: '', organisation_id: '', name: '' };
  let stranger = '';
  before(async () => {
    server = await startTestServer();
    const db = server.database.db;
    const holder = await db
      .selectFrom('users')
      .select(['id', 'organisation_id'])
      .where('username', '=', 'nhsfunding')
      .executeTakeFirstOrThrow();
    partnerId = (await db.selectFrom('budget_holders').select('partner_id').where('user_id', '=', holder.id).executeTakeFirstOrThrow())
      .partner_id;
    // A colleague in the same organisation with an account (the demo gives few practitioners one).
    const row = (
      await sql<{ id: string; organisation_id: string; given_name: string; family_name: string }>`
        select p.id, p.organisation_id, p.given_name, p.family_name from practitioners p
        where p.organisation_id = ${holder.organisation_id} and p.active and not exists (select 1 from users u where u.practitioner_id = p.id)
        order by p.id limit 1`.execute(db)
    ).rows[0]!;
    colleague = { id: row.id, organisation_id: row.organisation_id, name: `${row.given_name} ${row.family_name}` };
    await createAccount(db, {
      username: 'nhscolleague',
      displayName: colleague.name,
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: colleague.id,
      organisationId: colleague.organisation_id,
    });
    stranger = (await sql<{ id: string }>`select u.practitioner_id as id from users u where u.username = 'practitioner'`.execute(db))
      .rows[0]!.id;
  });
  after(async () => {
    await server?.close();
  });
  const post = async (cookie: string, url: string, fields: Record<string, string>, withToken = true) => {
    const body = new URLSearchParams(fields);
    if (withToken) body.set('_csrf', await csrfTokenFor(server.app, cookie, '/home'));
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  };
  const holders = async () =>
    (
      await sql<{ id: number; username: string }>`
        select h.id, u.username from budget_holders h join users u on u.id = h.user_id
        where h.partner_id = ${partnerId} and not exists (select 1 from budget_holder_endings e where e.holder_id = h.id) order by h.id`.execute(
        server.database.db,
      )
    ).rows;

  test('refused, with nothing changed: no budget held, a commissioner, a citizen, another organisation, no CSRF token', async () => {
    const before = await holders();
    for (const username of ['teammember', 'manager', 'citizen']) {
      const cookie = await signIn(server.app, username);
      assert.equal((await server.app.inject({ method: 'GET', url: '/budgets/holders', headers: { cookie } })).statusCode, 403, username);
      assert.equal((await post(cookie, '/budgets/holders', { partnerId, practitionerId: colleague.id })).statusCode, 403, username);
    }
    // The council's budget holder holds another partner's budget, not this one.
    const councilHolder = await signIn(server.app, 'practitioner');
    assert.equal((await post(councilHolder, '/budgets/holders', { partnerId, practitionerId: colleague.id })).statusCode, 403);
    const holder = await signIn(server.app, 'nhsfunding');
    const other = await post(holder, '/budgets/holders', { partnerId, practitionerId: stranger });
    assert.equal(other.statusCode, 400, "someone of another organisation cannot hold this partner's budget");
    assert.match(
      other.body,
      /Choose a colleague in the partner&#39;s organisation from the list|Choose a colleague in the partner's organisation/,
    );
    assert.equal(
      (await post(holder, '/budgets/holders', { partnerId, practitionerId: colleague.id }, false)).statusCode,
      403,
      'no CSRF token',
    );
    assert.deepEqual(await holders(), before);
  });

  test('a budget holder appoints a colleague, who may then commit the budget; ending the appointment stops them', async () => {
    const holder = await signIn(server.app, 'nhsfunding');
    const page = await server.app.inject({ method: 'GET', url: '/budgets/holders', headers: { cookie: holder } });
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes(colleague.name), 'the colleague is offered');
    const made = await post(holder, '/budgets/holders', { partnerId, practitionerId: colleague.id });
    assert.equal(made.statusCode, 302);
    const now = await holders();
    const appointed = now.find((h) => h.username === 'nhscolleague');
    assert.ok(appointed, 'the colleague holds the budget');
    const colleagueCookie = await signIn(server.app, 'nhscolleague');
    assert.equal(
      (await server.app.inject({ method: 'GET', url: '/budgets/holders', headers: { cookie: colleagueCookie } })).statusCode,
      200,
    );
    const again = await post(holder, '/budgets/holders', { partnerId, practitionerId: colleague.id });
    assert.equal(again.statusCode, 400, 'not appointed twice');
    assert.equal((await post(holder, `/budgets/holders/${appointed.id}/end`, { partnerId })).statusCode, 302);
    assert.ok(!(await holders()).some((h) => h.username === 'nhscolleague'), 'the appointment has ended');
    assert.equal(
      (await server.app.inject({ method: 'GET', url: '/budgets/holders', headers: { cookie: colleagueCookie } })).statusCode,
      403,
    );
  });

  test('in Chromium at 375 px the page is axe-clean', { skip: !browserAvailable() && 'Chromium not installed' }, async () => {
    const browser: Browser = await launchBrowser();
    try {
      const page = await openPage(browser);
      await page.setViewportSize({ width: 375, height: 800 });
      await signInAs(page, server.url, 'nhsfunding', DEMO_PASSWORD);
      await page.goto(`${server.url}/budgets/holders`);
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Budget holders');
      assert.deepEqual(await seriousAccessibilityProblems(page), []);
      await closePage(page);
    } finally {
      await browser.close();
    }
  });
});
