// Pooled budgets over HTTP: who may see them, four-eyes approval, CSV export, the citizen's own budget.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';

describe('pooled budgets over HTTP', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createAccount(server.database.db, {
      username: 'manager2',
      displayName: 'Sam Second (commissioner)',
      role: 'manager',
      password: DEMO_PASSWORD,
    });
  });
  after(async () => server?.close());

  test('only commissioners see the fund; citizens and practitioners are refused', async () => {
    for (const username of ['citizen', 'practitioner', 'admin']) {
      const cookie = await signIn(server.app, username);
      const response = await server.app.inject({ method: 'GET', url: '/budgets', headers: { cookie } });
      assert.equal(response.statusCode, 403, username);
    }
    const cookie = await signIn(server.app, 'manager');
    const page = await server.app.inject({ method: 'GET', url: '/budgets', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes('Better Lives pooled fund'));
  });

  test('CSV export of allocations and localities, with suppression words not numbers for small groups', async () => {
    const cookie = await signIn(server.app, 'manager');
    const csv = await server.app.inject({
      method: 'GET',
      url: '/budgets/export.csv?fund=better-lives&view=allocations',
      headers: { cookie },
    });
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    const rows = parse(csv.body) as string[][];
    assert.deepEqual(rows[0], ['allocation', 'kind', 'budget_gbp', 'used_gbp', 'remaining_gbp', 'forecast_gbp', 'variance_gbp']);
    assert.ok(rows.length > 3);
    for (const r of rows.slice(1)) assert.equal(Number(r[2]) - Number(r[3]), Number(r[4]), 'budget minus used is what is left');
    const localities = parse(
      (await server.app.inject({ method: 'GET', url: '/budgets/export.csv?fund=better-lives&view=localities', headers: { cookie } })).body,
    ) as string[][];
    for (const r of localities.slice(1)) if (r[2] === 'suppressed') assert.equal(r[3], 'suppressed');
    const bad = await server.app.inject({ method: 'GET', url: '/budgets/export.csv?fund=better-lives&view=people', headers: { cookie } });
    assert.equal(bad.statusCode, 400);
  });

  test('a change proposed by one commissioner is approved only by another, then posted', async () => {
    const first = await signIn(server.app, 'manager');
    const token = await csrfTokenFor(server.app, first, '/budgets');
    const page = await server.app.inject({ method: 'GET', url: '/budgets', headers: { cookie: first } });
    const target = /<option value="(service:[^"]+)"/.exec(page.body)?.[1] ?? '';
    const year = /name="year" value="(\d{4})"/.exec(page.body)?.[1] ?? '';
    const propose = await server.app.inject({
      method: 'POST',
      url: '/budgets/changes',
      headers: { cookie: first, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: token,
        fund: 'better-lives',
        year,
        kind: 'allocation',
        target,
        amount: '12345.67',
        reason: 'Winter pressures on home care',
      }).toString(),
    });
    assert.equal(propose.statusCode, 302);
    const change = await server.database.db
      .selectFrom('fund_changes')
      .select(['id', 'amount_pence'])
      .where('reason', '=', 'Winter pressures on home care')
      .executeTakeFirstOrThrow();
    assert.equal(Number(change.amount_pence), 1_234_567);
    const own = await server.app.inject({
      method: 'POST',
      url: `/budgets/changes/${change.id}/decision`,
      headers: { cookie: first, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, decision: 'approved' }).toString(),
    });
    assert.match(String(own.headers.location), /error=Someone%20other/);
    const second = await signIn(server.app, 'manager2');
    const token2 = await csrfTokenFor(server.app, second, '/budgets');
    const approve = await server.app.inject({
      method: 'POST',
      url: `/budgets/changes/${change.id}/decision`,
      headers: { cookie: second, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token2, decision: 'approved' }).toString(),
    });
    assert.equal(approve.headers.location, '/budgets?done=approved');
    const decision = await server.database.db
      .selectFrom('fund_change_decisions')
      .selectAll()
      .where('change_id', '=', change.id)
      .executeTakeFirstOrThrow();
    assert.equal(decision.decided_by_name, 'Sam Second (commissioner)');
    const postings = await server.database.db
      .selectFrom('ledger_postings')
      .select(['account_id', 'amount_pence'])
      .where('transaction_id', '=', `fund_change:${change.id}`)
      .orderBy('amount_pence')
      .execute();
    assert.deepEqual(
      postings.map((p) => Number(p.amount_pence)),
      [-1_234_567, 1_234_567],
    );
    assert.equal(postings[1]?.account_id, `allocation:better-lives:${year}:${target}`);
  });

  test('re-evaluating an outcome contract posts nothing new', async () => {
    const cookie = await signIn(server.app, 'manager');
    const token = await csrfTokenFor(server.app, cookie, '/budgets/contracts/hf-tenancy');
    const response = await server.app.inject({
      method: 'POST',
      url: '/budgets/contracts/hf-tenancy/evaluate',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(token)}`,
    });
    assert.equal(response.headers.location, '/budgets/contracts/hf-tenancy?done=0');
  });

  test('the citizen sees their own personal budget and whole-system cost; the fund balances to zero', async () => {
    const cookie = await signIn(server.app, 'citizen');
    const budget = await server.app.inject({ method: 'GET', url: '/my-record/budget', headers: { cookie } });
    assert.equal(budget.statusCode, 200);
    assert.ok(budget.body.includes('Left to spend'));
    const record = await server.app.inject({ method: 'GET', url: '/my-record', headers: { cookie } });
    const own = await server.app.inject({ method: 'GET', url: String(record.headers.location), headers: { cookie } });
    assert.ok(own.body.includes('Whole-system cost'));
    const total = await server.database.db
      .selectFrom('ledger_postings')
      .select((eb) => eb.fn.sum<number>('amount_pence').as('s'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(total.s), 0);
  });
});
