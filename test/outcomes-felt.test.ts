// Outcomes people feel over HTTP, on the synthetic place (issue 22): the demo's repeated
// assessments and plan reviews give the new measures figures on the inequality and targets pages,
// and each operating model a cohort by quarter; managers only, aggregates only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';

let server: TestServer;
let manager: string;
let practitioner: string;
let names: string[];

before(async () => {
  server = await startTestServer({ people: 3000, seed: 7 });
  manager = await signIn(server.app, 'manager');
  practitioner = await signIn(server.app, 'practitioner');
  const rows = await server.database.db.selectFrom('persons').select(['given_name', 'family_name']).execute();
  names = rows.map((r) => `${r.given_name} ${r.family_name}`);
});
after(async () => {
  await server.close();
});

const get = (url: string, cookie: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });

function assertAggregatesOnly(body: string, where: string) {
  for (const name of names) assert.ok(!body.includes(name), `${where} shows the name ${name}`);
  assert.ok(!/\bp-\d{7}\b/.test(body), `${where} shows a person id`);
  assert.ok(!/style="/.test(body), `${where} has an inline style`);
}

test('the demo place shows score improvement and goal attainment split by deprivation, and offers them as targets', async () => {
  for (const measure of ['felt:change:md-assessment', 'felt:goal', 'felt:gas', 'felt:said:TOGETHER']) {
    const url = `/insight/inequalities?measure=${encodeURIComponent(measure)}&by=quintile`;
    const res = await get(url, manager);
    assert.equal(res.statusCode, 200, url);
    assertAggregatesOnly(res.body, url);
    assert.match(
      res.body,
      /Outcome people feel: (Assessment score improvement|Goal attainment|Goals at or above expected|People who say “I can see services working together on what matters to me”)/,
    );
    assert.match(res.body, /role="img"/, `${url} has a chart`);
    // The demo has enough people for a figure for the whole place.
    const total = res.body.match(/Everyone<\/th>\s*<td[^>]*>([^<]+)</);
    assert.ok(total && /\d/.test(total[1]!) && !/suppressed/.test(total[1]!), `${url} shows a figure for everyone`);
  }
  const targets = await get('/insight/targets', manager);
  assert.equal(targets.statusCode, 200);
  assert.match(targets.body, /<option value="felt:change:md-assessment">Outcome people feel: Assessment score improvement/);
  assert.match(targets.body, /<option value="felt:goal">Outcome people feel: Goal attainment/);
  assert.match(targets.body, /<option value="felt:gas">Outcome people feel: Goals at or above expected \(%\)/);
  // A person-reported measure for every place goal, each available as a target.
  assert.match(
    targets.body,
    /<option value="felt:said:TOGETHER">Outcome people feel: People who say “I can see services working together on what matters to me” \(%\)/,
  );
  assert.match(targets.body, /<option value="felt:said:SAFE">/);
});

test("each operating model's cohort by quarter: a chart with labelled axes and its table, managers only", async () => {
  const res = await get('/insight/models', manager);
  assert.equal(res.statusCode, 200);
  assertAggregatesOnly(res.body, '/insight/models');
  assert.match(res.body, /<h1 class="govuk-heading-xl">Cohorts by operating model<\/h1>/);
  assert.ok(!res.body.includes('id="no-cohorts"'), 'the demo has people on models with scored assessments');
  assert.match(res.body, /role="img"/);
  assert.match(res.body, />Mean total score</);
  assert.match(res.body, />Quarter</);
  assert.match(res.body, /<td class="govuk-table__cell govuk-table__cell--numeric">\d+\.\d<\/td>/, 'at least one mean shown');
  // The demo enrols people on Connected Care and the locality care organisation model too.
  for (const model of ['Community-led integrated care \\(Connected Care\\)', 'Locality care organisation'])
    assert.match(res.body, new RegExp(`${model}: Personal wellbeing: life satisfaction \\(0 to 10\\)<`), `a cohort for ${model}`);
  assert.equal((await get('/insight/models', practitioner)).statusCode, 403);
});

test('place-goal answers are refused, with nothing saved, when off the scale or not a goal, and from a commissioner (who records no reviews)', async () => {
  const db = server.database.db;
  const count = async () => Number((await sql<{ n: number }>`select count(*)::int as n from place_goal_answers`.execute(db)).rows[0]?.n);
  const post = async (cookie: string, url: string, fields: Record<string, string>) => {
    const body = new URLSearchParams(fields);
    body.set('_csrf', await csrfTokenFor(server.app, cookie, '/home'));
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  };
  const citizen = await signIn(server.app, 'citizen');
  const form = await get('/my-record/feedback', citizen);
  const service = /<option value="([^"]+)">/.exec(form.body.slice(form.body.indexOf('id="service"')))?.[1];
  assert.ok(service, 'the citizen has a service to give feedback on');
  const before = await count();
  for (const [field, value] of [
    ['said-TOGETHER', '9'],
    ['said-NOTAGOAL', '4'],
  ] as const) {
    const res = await post(citizen, '/my-record/feedback', { service, rating: '4', [field]: value });
    assert.equal(res.statusCode, 400, `${field}=${value}`);
    assert.equal(await count(), before, 'neither the answer nor the feedback is saved');
  }
  // A commissioner (aggregates only) cannot record what a person says at a review.
  const plan = (await sql<{ id: string }>`select id from plans order by id limit 1`.execute(db)).rows[0]!.id;
  const outsider = await signIn(server.app, 'manager');
  const refused = await post(outsider, `/plans/${plan}/reviews`, { reviewedOn: '2026-12-01', 'said-TOGETHER': '5' });
  assert.ok(refused.statusCode === 403 || refused.statusCode === 404, `refused (${refused.statusCode})`);
  assert.equal(await count(), before);
});
