// Who pays over HTTP: budget holders record a funding decision, another partner disputes its
// share and the first resolves it; a practitioner of an unrelated organisation, a citizen, a
// commissioner and a form without its CSRF token are refused, and nothing is posted.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = (cookie: string) => ({ cookie, 'content-type': 'application/x-www-form-urlencoded' });

describe('who pays over HTTP', () => {
  let server: TestServer;
  let citizenId = '';
  let councilPartner = '';
  let nhsPartner = '';
  before(async () => {
    server = await startTestServer();
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    const holders = await db
      .selectFrom('budget_holders as h')
      .innerJoin('users as u', 'u.id', 'h.user_id')
      .select(['u.username', 'h.partner_id'])
      .execute();
    councilPartner = holders.find((h) => h.username === 'practitioner')!.partner_id;
    nhsPartner = holders.find((h) => h.username === 'nhsfunding')!.partner_id;
    // A practitioner of an organisation with no part in the citizen's care, holding its own budget.
    const outsider = (
      await sql<{ id: string; organisation_id: string; name: string }>`
      select pr.id, pr.organisation_id, o.name from practitioners pr join organisations o on o.id = pr.organisation_id
      where o.kind = 'school' and not exists (select 1 from care_relationships r where r.person_id = ${citizenId} and r.organisation_id = o.id)
        and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id where l.person_id = ${citizenId} and s.source = o.source_code)
      order by pr.id limit 1`.execute(db)
    ).rows[0]!;
    const outsiderUser = await createAccount(db, {
      username: 'outsider',
      displayName: 'Olu Outsider',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: outsider.id,
      organisationId: outsider.organisation_id,
    });
    await db
      .insertInto('budget_partners')
      .values({ id: 'school-partner', name: outsider.name, kind: 'education', organisation_id: outsider.organisation_id })
      .execute();
    await db.insertInto('budget_holders').values({ user_id: outsiderUser, partner_id: 'school-partner', appointed_by: 'test' }).execute();
  });
  after(async () => server?.close());

  async function counts() {
    const r = await sql<{ d: number; t: number; disputes: number }>`select (select count(*)::int from funding_decisions) as d,
      (select count(*)::int from ledger_transactions) as t, (select count(*)::int from funding_disputes) as disputes`.execute(
      server.database.db,
    );
    return r.rows[0]!;
  }

  const decisionFields = () => ({
    package: 'Extra care housing support, daily',
    weekly: '700',
    starts: '2026-06-01',
    ends: '2026-06-29',
    decided: '2026-05-20',
    evidence: 'Care Act assessment and housing needs assessment agree on daily support.',
    [`share-${councilPartner}`]: '50',
    [`share-${nhsPartner}`]: '50',
  });

  test('the demo has decisions for the citizen: the council practitioner, the NHS budget holder and the citizen see them', async () => {
    for (const username of ['practitioner', 'nhsfunding', 'citizen']) {
      const cookie = await signIn(server.app, username);
      const page = await server.app.inject({ method: 'GET', url: `/people/${citizenId}/funding`, headers: { cookie } });
      assert.equal(page.statusCode, 200, username);
      assert.match(page.body, /Home care, two visits a day/, username);
      assert.match(page.body, /Six weeks of reablement/, username);
    }
    const cookie = await signIn(server.app, 'practitioner');
    const page = await server.app.inject({ method: 'GET', url: `/people/${citizenId}/funding`, headers: { cookie } });
    const homeCare = /href="\/funding\/(fd-[0-9a-f]+)">Home care/.exec(page.body)?.[1];
    const detail = await server.app.inject({ method: 'GET', url: `/funding/${homeCare}`, headers: { cookie } });
    assert.match(detail.body, /Version 2: Changed on dispute/);
    assert.match(detail.body, /Resolved: shares changed \(version 2\)/);
    assert.match(detail.body, /Reversal: funding decision changed on dispute/);
  });

  test('an unrelated organisation, a commissioner and an admin cannot see them', async () => {
    for (const username of ['outsider', 'manager', 'admin']) {
      const cookie = await signIn(server.app, username);
      const page = await server.app.inject({ method: 'GET', url: `/people/${citizenId}/funding`, headers: { cookie } });
      assert.equal(page.statusCode, 403, username);
      assert.doesNotMatch(page.body, /Home care, two visits/, username);
    }
  });

  test('refused writes post nothing: unrelated organisation, citizen, no CSRF token', async () => {
    const before = await counts();
    const outsider = await signIn(server.app, 'outsider');
    const outsiderToken = await csrfTokenFor(server.app, outsider);
    const byOutsider = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/funding`,
      headers: formHeaders(outsider),
      payload: form({
        _csrf: outsiderToken,
        ...decisionFields(),
        'share-school-partner': '100',
        [`share-${councilPartner}`]: '',
        [`share-${nhsPartner}`]: '',
      }),
    });
    assert.equal(byOutsider.statusCode, 403);
    const citizen = await signIn(server.app, 'citizen');
    const citizenToken = await csrfTokenFor(server.app, citizen);
    const byCitizen = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/funding`,
      headers: formHeaders(citizen),
      payload: form({ _csrf: citizenToken, ...decisionFields() }),
    });
    assert.equal(byCitizen.statusCode, 403);
    const practitioner = await signIn(server.app, 'practitioner');
    const noToken = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/funding`,
      headers: formHeaders(practitioner),
      payload: form(decisionFields()),
    });
    assert.equal(noToken.statusCode, 403);
    const list = await server.app.inject({ method: 'GET', url: `/people/${citizenId}/funding`, headers: { cookie: practitioner } });
    const open = /href="\/funding\/(fd-[0-9a-f]+)">Six weeks/.exec(list.body)?.[1];
    const dispute = await server.app.inject({
      method: 'POST',
      url: `/funding/${open}/disputes`,
      headers: formHeaders(outsider),
      payload: form({ _csrf: outsiderToken, partner: 'school-partner', reason: 'We would like to dispute this one too.' }),
    });
    assert.ok([403, 409, 422].includes(dispute.statusCode), `an outsider's dispute is refused (${dispute.statusCode})`);
    assert.deepEqual(await counts(), before, 'nothing recorded, nothing posted');
  });

  /** The practitioner's funding decision form for the citizen, posted with some fields changed. */
  async function postDecisionAsPractitioner(changed: Record<string, string>) {
    const cookie = await signIn(server.app, 'practitioner');
    const token = await csrfTokenFor(server.app, cookie, `/people/${citizenId}/funding`);
    return server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/funding`,
      headers: formHeaders(cookie),
      payload: form({ _csrf: token, ...decisionFields(), ...changed }),
    });
  }

  test('shares that do not add up are refused with an error summary, keeping what was typed', async () => {
    const before = await counts();
    const response = await postDecisionAsPractitioner({ [`share-${nhsPartner}`]: '40' });
    assert.equal(response.statusCode, 422);
    assert.match(response.body, /There is a problem/);
    assert.match(response.body, /The shares must add up to 100% \(they add up to 90%\)/);
    assert.match(response.body, /value="Extra care housing support, daily"/);
    assert.deepEqual(await counts(), before);
  });

  test('a weekly cost that is not an amount is refused before anything is decided: 400, linked to the field, what was typed kept', async () => {
    const before = await counts();
    const response = await postDecisionAsPractitioner({ weekly: 'about 700' });
    assert.equal(response.statusCode, 400);
    assert.match(response.body, /There is a problem/);
    assert.match(response.body, /<a href="#weekly">Enter the weekly cost in pounds, for example 850 or 912.50<\/a>/);
    assert.match(response.body, /value="about 700"/, 'the cost as typed');
    assert.match(response.body, /value="Extra care housing support, daily"/, 'the package as typed');
    assert.deepEqual(await counts(), before, 'nothing recorded');
  });

  test('recorded, disputed by the NHS, changed by the council: the ledger balances throughout', async () => {
    const db = server.database.db;
    const council = await signIn(server.app, 'practitioner');
    const councilToken = await csrfTokenFor(server.app, council, `/people/${citizenId}/funding`);
    const recorded = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/funding`,
      headers: formHeaders(council),
      payload: form({ _csrf: councilToken, ...decisionFields() }),
    });
    assert.equal(recorded.statusCode, 302);
    const id = /\/funding\/(fd-[0-9a-f]+)/.exec(String(recorded.headers.location))![1]!;
    // 4 weeks at £700: £2,800, half each.
    const postings = async (tx: string) =>
      (
        await db
          .selectFrom('ledger_postings')
          .select(['account_id', 'amount_pence'])
          .where('transaction_id', '=', tx)
          .orderBy('account_id')
          .execute()
      ).map((p) => [p.account_id, Number(p.amount_pence)]);
    assert.deepEqual(
      await postings(`funding:${id}:v1`),
      [
        [`commitment_reserve:${councilPartner}`, -140_000],
        [`commitment_reserve:${nhsPartner}`, -140_000],
        [`package_commitment:${id}`, 280_000],
      ].sort(),
    );
    const nhs = await signIn(server.app, 'nhsfunding');
    const nhsToken = await csrfTokenFor(server.app, nhs, `/funding/${id}`);
    const disputed = await server.app.inject({
      method: 'POST',
      url: `/funding/${id}/disputes`,
      headers: formHeaders(nhs),
      payload: form({ _csrf: nhsToken, partner: nhsPartner, reason: 'Housing support is not a health need.' }),
    });
    assert.equal(disputed.statusCode, 302);
    const disputeId = (await db.selectFrom('funding_disputes').select('id').where('decision_id', '=', id).executeTakeFirstOrThrow()).id;
    const ownResolution = await server.app.inject({
      method: 'POST',
      url: `/funding/${id}/disputes/${disputeId}/resolution`,
      headers: formHeaders(nhs),
      payload: form({
        _csrf: nhsToken,
        outcome: 'upheld',
        resolution_reason: 'Resolving my own dispute.',
        decided: '2026-05-25',
        partners: '',
      }),
    });
    assert.equal(ownResolution.statusCode, 403);
    const resolved = await server.app.inject({
      method: 'POST',
      url: `/funding/${id}/disputes/${disputeId}/resolution`,
      headers: formHeaders(council),
      payload: form({
        _csrf: councilToken,
        outcome: 'changed',
        resolution_reason: "Agreed: housing support is the council's.",
        decided: '2026-05-25',
        partners: `${councilPartner},${nhsPartner}`,
        [`share-${councilPartner}`]: '100',
        [`share-${nhsPartner}`]: '',
      }),
    });
    assert.equal(resolved.statusCode, 302, resolved.body.slice(0, 300));
    assert.deepEqual(
      await postings(`reversal:funding:${id}:v1`),
      [
        [`commitment_reserve:${councilPartner}`, 140_000],
        [`commitment_reserve:${nhsPartner}`, 140_000],
        [`package_commitment:${id}`, -280_000],
      ].sort(),
    );
    assert.deepEqual(
      await postings(`funding:${id}:v2`),
      [
        [`commitment_reserve:${councilPartner}`, -280_000],
        [`package_commitment:${id}`, 280_000],
      ].sort(),
    );
    const sums = await sql<{
      total: string;
      unbalanced: number;
    }>`select (select coalesce(sum(amount_pence), 0)::text from ledger_postings) as total,
      (select count(*)::int from (select transaction_id from ledger_postings group by transaction_id having sum(amount_pence) <> 0) x) as unbalanced`.execute(
      db,
    );
    assert.deepEqual(sums.rows[0], { total: '0', unbalanced: 0 });
    const page = await server.app.inject({ method: 'GET', url: `/funding/${id}`, headers: { cookie: nhs } });
    assert.match(page.body, /Housing support is not a health need/);
    assert.match(page.body, /Resolved: shares changed \(version 2\)/);
  });

  test("the household budget: the practitioner and the citizen see every adult's agreement; outsiders and forms without a token are refused", async () => {
    const db = server.database.db;
    for (const username of ['practitioner', 'citizen']) {
      const cookie = await signIn(server.app, username);
      const page = await server.app.inject({ method: 'GET', url: `/people/${citizenId}/household-budget`, headers: { cookie } });
      assert.equal(page.statusCode, 200, username);
      assert.match(page.body, /Short breaks and help at home, as the household chooses/);
      assert.match(page.body, /Yes: every adult agrees/);
      assert.match(page.body, /A two-day short break/);
    }
    const outsider = await signIn(server.app, 'outsider');
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/people/${citizenId}/household-budget`, headers: { cookie: outsider } })).statusCode,
      403,
    );
    const budget = await db.selectFrom('household_budgets').select(['id', 'account_id']).executeTakeFirstOrThrow();
    const before = await sql<{ n: number }>`select count(*)::int as n from ledger_transactions`.execute(db);
    const outsiderToken = await csrfTokenFor(server.app, outsider);
    const spendByOutsider = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/household-budget/${budget.id}/spend`,
      headers: formHeaders(outsider),
      payload: form({ _csrf: outsiderToken, spend_amount: '10', description: 'Not ours to spend', on: '2026-06-01' }),
    });
    assert.equal(spendByOutsider.statusCode, 403);
    const citizen = await signIn(server.app, 'citizen');
    const noToken = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/household-budget/${budget.id}/spend`,
      headers: formHeaders(citizen),
      payload: form({ spend_amount: '10', description: 'Without a token', on: '2026-06-01' }),
    });
    assert.equal(noToken.statusCode, 403);
    const after = await sql<{ n: number }>`select count(*)::int as n from ledger_transactions`.execute(db);
    assert.equal(after.rows[0]?.n, before.rows[0]?.n, 'nothing spent');
    // The citizen withdraws their agreement: spending stops.
    const token = await csrfTokenFor(server.app, citizen, `/people/${citizenId}/household-budget`);
    const withdrawn = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/household-budget/${budget.id}/agreement`,
      headers: formHeaders(citizen),
      payload: form({ _csrf: token, member: citizenId, agrees: 'no' }),
    });
    assert.equal(withdrawn.statusCode, 302);
    const refused = await server.app.inject({
      method: 'POST',
      url: `/people/${citizenId}/household-budget/${budget.id}/spend`,
      headers: formHeaders(citizen),
      payload: form({ _csrf: token, spend_amount: '10', description: 'After withdrawing', on: '2026-06-01' }),
    });
    assert.equal(refused.statusCode, 422);
    assert.match(refused.body, /Not every adult in the household agrees/);
  });
});
