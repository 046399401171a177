// The demo place holds each access fact once (issue 22): no person has the same active sharing
// choice twice (same category, recipient, decision and purposes), the same open relationship
// twice, the same current proxy twice or the same current team membership twice. The seeded
// referral history used to record a person's agreement again at each referral to an organisation
// they already shared with, and the demo citizen's housing referral again on top of that.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

const duplicates = async (query: ReturnType<typeof sql<{ n: number }>>) => (await query.execute(server.database.db)).rows;

test('no active sharing choice is held twice, by anyone in the demo place', async () => {
  const rows = await duplicates(sql<{ n: number }>`
    select person_id, category, recipient_kind, recipient_id, decision, purposes, count(*)::int as n
    from consent_directives
    where withdrawn_at is null and valid_from <= now() and (valid_until is null or valid_until > now())
    group by person_id, category, recipient_kind, recipient_id, decision, purposes
    having count(*) > 1`);
  assert.deepEqual(rows, [], 'duplicate active sharing choices');
});

test("the demo citizen's choices with the housing organisation: each category once, recorded by the practitioner", async () => {
  const db = server.database.db;
  const citizen = await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
  const housing = await db
    .selectFrom('referrals')
    .select('organisation_id')
    .where('id', '=', 'ref-demo-citizen-1')
    .executeTakeFirstOrThrow();
  const rows = await db
    .selectFrom('consent_directives')
    .select(['category', 'recorded_for'])
    .where('person_id', '=', citizen.person_id!)
    .where('recipient_id', '=', housing.organisation_id)
    .where('withdrawn_at', 'is', null)
    .orderBy('category')
    .execute();
  assert.ok(rows.length >= 3, 'the housing referral shared demographics, housing and about me');
  assert.deepEqual(
    rows.map((r) => r.category),
    [...new Set(rows.map((r) => r.category))],
    'each category once',
  );
  for (const category of ['demographics', 'housing', 'about_me'])
    assert.ok(
      rows.some((r) => r.category === category && r.recorded_for === 'practitioner'),
      category,
    );
});

test('no open relationship, current proxy or current team membership is held twice', async () => {
  assert.deepEqual(
    await duplicates(sql<{ n: number }>`
      select person_id, organisation_id, team_id, practitioner_id, kind, role_label, count(*)::int as n
      from care_relationships where ended_at is null and kind = 'network'
      group by person_id, organisation_id, team_id, practitioner_id, kind, role_label having count(*) > 1`),
    [],
    'duplicate open network relationships',
  );
  assert.deepEqual(
    await duplicates(sql<{ n: number }>`
      select person_id, proxy_person_id, kind, count(*)::int as n from proxies
      where revoked_at is null and (valid_until is null or valid_until > now())
      group by person_id, proxy_person_id, kind having count(*) > 1`),
    [],
    'duplicate current proxies',
  );
  assert.deepEqual(
    await duplicates(sql<{ n: number }>`
      select team_id, practitioner_id, count(*)::int as n from team_memberships where ended_at is null
      group by team_id, practitioner_id having count(*) > 1`),
    [],
    'duplicate current team memberships',
  );
});
