// Goal attainment scaling at a plan review (issue 22, migration 0054), over HTTP: the coordinator
// rates a goal against what was expected; a rating off the scale is refused with the form kept
// and nothing saved; a rating alone is a review that says something, and it is stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';

let server: TestServer;
let coordinator: string;
let personId: string;
before(async () => {
  server = await startTestServer();
  coordinator = await signIn(server.app, 'coordinator');
  const row = (
    await sql<{ person_id: string }>`
      select e.person_id from model_enrolments e join users u on u.practitioner_id = e.lead_practitioner_id and u.username = 'coordinator'
      where e.model_id = 'md-coordination' order by e.person_id limit 1`.execute(server.database.db)
  ).rows[0];
  assert.ok(row, 'the coordinator has someone on their caseload');
  personId = row.person_id;
});
after(async () => {
  await server?.close();
});

const form = async (cookie: string, url: string, fields: Record<string, string | string[]>) => {
  const token = await csrfTokenFor(server.app, cookie, `/people/${personId}/plan`);
  const body = new URLSearchParams({ _csrf: token });
  for (const [k, v] of Object.entries(fields)) for (const item of [v].flat()) body.append(k, item);
  return server.app.inject({
    method: 'POST',
    url,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: body.toString(),
  });
};

test('a goal is rated against what was expected at a review; a rating off the scale is refused and saves nothing', async () => {
  const db = server.database.db;
  const created = await form(coordinator, `/people/${personId}/plans`, { title: 'Rated against what we expected' });
  const planId = new URL(String(created.headers.location), 'http://x').searchParams.get('plan')!;
  await form(coordinator, `/plans/${planId}/goals`, { goalText: 'Keep the tenancy', outcomes: ['HOME'], back: personId });
  const goalId = (await db.selectFrom('plan_goals').select('id').where('plan_id', '=', planId).executeTakeFirstOrThrow()).id;
  const page = await server.app.inject({ method: 'GET', url: `/people/${personId}/plan?plan=${planId}`, headers: { cookie: coordinator } });
  assert.match(page.body, new RegExp(`<select class="govuk-select" id="gas-${goalId}" name="gas-${goalId}"`));
  assert.match(page.body, /\+1: somewhat more than expected/);

  const bad = await form(coordinator, `/plans/${planId}/reviews`, {
    reviewedOn: '2026-12-20',
    [`goal-${goalId}`]: '4',
    [`gas-${goalId}`]: '5',
    note: 'Kept typed',
    nextReviewOn: '2027-03-20',
    back: personId,
  });
  assert.equal(bad.statusCode, 400);
  assert.ok(bad.body.includes('Choose where the goal stands against what was expected, from the list'));
  assert.match(bad.body, new RegExp(`href="#gas-${goalId}"`));
  assert.ok(bad.body.includes('Kept typed'), 'what was typed is kept');
  assert.equal((await db.selectFrom('plan_reviews').select('id').where('plan_id', '=', planId).execute()).length, 0);
  assert.equal((await db.selectFrom('goal_gas_ratings').select('level').where('goal_id', '=', goalId).execute()).length, 0);

  const ok = await form(coordinator, `/plans/${planId}/reviews`, {
    reviewedOn: '2026-12-20',
    [`goal-${goalId}`]: '',
    [`gas-${goalId}`]: '-1',
    note: '',
    nextReviewOn: '2027-03-20',
    back: personId,
  });
  assert.equal(ok.statusCode, 302, 'a rating alone is a review');
  const after = await server.app.inject({ method: 'GET', url: String(ok.headers.location), headers: { cookie: coordinator } });
  assert.match(
    after.body,
    /Goal 1 against what was expected \(−2 to \+2\)<\/th>\s*<td[^>]*>−1<\/td>/,
    'the rating is shown in the review table',
  );
  assert.deepEqual(
    (await db.selectFrom('goal_gas_ratings').select('level').where('goal_id', '=', goalId).execute()).map((r) => Number(r.level)),
    [-1],
  );
});
