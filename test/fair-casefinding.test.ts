// Fair case-finding over HTTP (issue 22): commissioners see each rule's bias table (aggregates only,
// no names or ids); anyone, without signing in, reads the register of rules in plain English; a
// resident the rules found sees which rule, what it found and which team, objects through the
// consent module, and is then not found again. Another resident or someone signed out cannot
// read it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/index.ts';
import { runCaseFinding } from '../src/insight/casefind.ts';

let server: TestServer;
const cookies: Record<string, string> = {};
let listed: { personId: string; ruleName: string; organisation: string };
let names: string[];

const get = (url: string, cookie?: string) => server.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

before(async () => {
  server = await startTestServer({ people: 3000, seed: 7 });
  const db = server.database.db;
  await runCaseFinding(db);
  const rows = await sql<{ person_id: string; rule_name: string; organisation: string }>`
    select w.person_id, r.name as rule_name, o.name as organisation from insight_worklist w join insight_rules r on r.id = w.rule_id join organisations o on o.id = w.organisation_id
    where w.status = 'open' and not exists (select 1 from users u where u.person_id = w.person_id)
      and (select count(*) from insight_worklist x where x.person_id = w.person_id) = 1
    order by w.person_id limit 2`.execute(db);
  assert.equal(rows.rows.length, 2, 'the synthetic place has people the rules found');
  listed = { personId: rows.rows[0]!.person_id, ruleName: rows.rows[0]!.rule_name, organisation: rows.rows[0]!.organisation };
  await createAccount(db, {
    username: 'found-resident',
    displayName: 'Found resident',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: listed.personId,
  });
  await createAccount(db, {
    username: 'found-other',
    displayName: 'Other resident',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: rows.rows[1]!.person_id,
  });
  for (const u of ['found-resident', 'found-other', 'manager', 'practitioner', 'citizen']) cookies[u] = await signIn(server.app, u);
  names = (await db.selectFrom('persons').select(['given_name', 'family_name']).execute()).map((r) => `${r.given_name} ${r.family_name}`);
});
after(async () => {
  await server?.close();
});

test('the register of rules is public and in plain English: what each looks for, why, who sees it, how to object', async () => {
  const page = await get('/case-finding-rules');
  assert.equal(page.statusCode, 200, 'readable without signing in');
  assert.match(page.body, /<h1[^>]*>The checks that find people who may need help<\/h1>/);
  for (const rule of [
    'Adults known to three or more multiple-disadvantage services without a coordinator',
    'Older people with repeated falls or hospital admissions and no care plan',
  ]) {
    assert.ok(page.body.includes(rule.replace(/'/g, '&#39;')), rule);
  }
  for (const heading of ['What the check looks for', 'Why', 'Who sees this', 'How to object'])
    assert.ok(page.body.includes(heading), heading);
  const welsh = await get('/case-finding-rules?lang=cy');
  assert.match(welsh.body, /<h1[^>]*>Y gwiriadau sy&#39;n dod o hyd i bobl a allai fod angen help<\/h1>/);
});

test("commissioners see each rule's bias table by deprivation, ethnicity, age and sex, with no names or ids; others are refused", async () => {
  const page = await get('/insight/fairness', cookies.manager);
  assert.equal(page.statusCode, 200);
  for (const rule of ['md-no-coordinator', 'childrens-zone-not-enrolled', 'older-falls-no-plan']) {
    for (const d of ['quintile', 'ethnicity', 'age_band', 'sex'])
      assert.ok(page.body.includes(`id="bias-${rule}-${d}"`), `${rule} by ${d}`);
  }
  assert.match(page.body, /Need-adjusted ratio/);
  assert.match(page.body, /Quintile 1 \(most deprived\)/);
  for (const name of names) assert.ok(!page.body.includes(name), `the page shows the name ${name}`);
  assert.ok(!/\bp-\d{7}\b/.test(page.body), 'no person ids');
  assert.ok(!/style="/.test(page.body), 'no inline styles');
  // Every count on the page is 0, 5 or more, or suppressed.
  const cells = [...page.body.matchAll(/govuk-table__cell--numeric">([\d,]+)</g)].map((m) => Number(m[1]!.replace(/,/g, '')));
  assert.ok(cells.length > 50);
  assert.deepEqual(
    cells.filter((c) => c >= 1 && c <= 4),
    [],
    'no count of 1 to 4 is shown',
  );
  for (const id of ['practitioner', 'citizen']) assert.equal((await get('/insight/fairness', cookies[id])).statusCode, 403, id);
});

test('a resident sees the rule that found them, what it found and which team; objecting stops the rules finding them', async () => {
  const page = await get('/my-record/case-finding', cookies['found-resident']);
  assert.equal(page.statusCode, 200);
  assert.ok(page.body.includes(listed.ruleName.replace(/'/g, '&#39;')), 'the rule, by name');
  assert.ok(
    page.body.includes(listed.organisation.replace(/'/g, '&#39;').replace(/&(?!#39;)/g, '&amp;')),
    'the organisation whose team was asked',
  );
  assert.match(page.body, /On the team&#39;s list/);
  assert.match(page.body, /action="\/my-record\/rights\/case-finding\/object"/, "the consent module's objection form");

  const nobody = await get('/my-record/case-finding', cookies.citizen);
  assert.equal(nobody.statusCode, 200);
  assert.match(nobody.body, /No check has found you/);

  // Someone else, or someone signed out, cannot read it.
  assert.equal((await get(`/my-record/case-finding?for=${listed.personId}`, cookies['found-other'])).statusCode, 403);
  assert.ok([302, 401, 403].includes((await get(`/my-record/case-finding?for=${listed.personId}`)).statusCode));

  const token = await csrfTokenFor(server.app, cookies['found-resident']!, '/my-record/case-finding');
  const objected = await server.app.inject({
    method: 'POST',
    url: '/my-record/rights/case-finding/object',
    headers: { cookie: cookies['found-resident']!, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ reason: '', _csrf: token }).toString(),
  });
  assert.equal(objected.statusCode, 302);
  const after = await get('/my-record/case-finding', cookies['found-resident']);
  assert.match(after.body, /You have objected to case-finding since/);
  assert.ok(!after.body.includes('action="/my-record/rights/case-finding/object"'), 'no second objection offered');

  // The rules run again: nothing new is raised for them. Were their entry closed, they are not found again.
  const db = server.database.db;
  const entries = async () =>
    (await db.selectFrom('insight_worklist').select('id').where('person_id', '=', listed.personId).execute()).length;
  await db.deleteFrom('insight_worklist').where('person_id', '=', listed.personId).execute();
  await runCaseFinding(db);
  assert.equal(await entries(), 0, 'an objector is no longer flagged');
});
