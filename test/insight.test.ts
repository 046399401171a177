// Insight over HTTP: managers see aggregates only (no names, no person ids, no counts of 1–4
// in pages or exports); practitioners get their team's worklist and open people only through
// the access decision; other roles are refused.
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

function assertNoPersonalData(body: string, where: string) {
  for (const name of names) assert.ok(!body.includes(name), `${where} shows the name ${name}`);
  assert.ok(!/\bp-\d{7}\b/.test(body), `${where} shows a person id`);
}

const managerPages = [
  '/insight',
  '/insight?by=locality',
  '/insight?by=small_area',
  '/insight?by=ethnicity',
  '/insight/inequalities',
  '/insight/inequalities?measure=access%3Afirst_contact_days&by=sex',
  '/insight/inequalities?measure=access%3Aacceptance&by=disability',
  '/insight/inequalities?measure=outcome%3AWELL&by=age_band',
  '/insight/report',
  '/insight/casefinding',
];

test('managers see the needs assessment, inequalities, case-finding and board report, with no names or person ids', async () => {
  for (const url of managerPages) {
    const res = await get(url, manager);
    assert.equal(res.statusCode, 200, url);
    assertNoPersonalData(res.body, url);
    assert.ok(!/style="/.test(res.body), `${url} has an inline style`);
  }
  const needs = await get('/insight', manager);
  assert.match(needs.body, /Joint needs assessment/);
  assert.match(needs.body, /known to both housing and mental health services/);
  assert.match(needs.body, /role="img"/);
  const ineq = await get('/insight/inequalities', manager);
  assert.match(ineq.body, /Is the gap in .* narrowing\?/);
  assert.match(
    ineq.body,
    /(Yes: the gap is narrowing|No: the gap is widening|Not clearly: the gap shows no clear change|Not enough quarters)/,
  );
  const report = await get('/insight/report', manager);
  assert.match(report.body, /href="\/static\/insight.css"/);
  const css = await server.app.inject({ method: 'GET', url: '/static/insight.css' });
  assert.match(css.body, /@media print/);
});

function parseCsv(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((line) =>
      line
        .match(/("([^"]|"")*"|[^,]*)(,|$)/g)!
        .map((c) => c.replace(/,$/, '').replace(/^"|"$/g, ''))
        .filter((_, i, a) => i < a.length - (a[a.length - 1] === '' ? 1 : 0)),
    );
}

test('CSV exports carry no names and no counts from 1 to 4', async () => {
  const exports: Array<[string, number[]]> = [
    ['/insight/export/population.csv?by=quintile', [1]],
    ['/insight/export/population.csv?by=small_area', [1]],
    ['/insight/export/population.csv?by=ethnicity', [1]],
    ['/insight/export/needs.csv', [4]],
    ['/insight/export/overlaps.csv', [1]],
    ['/insight/export/demand.csv', [2, 3, 4, 5]],
    ['/insight/export/inequality.csv?measure=outcome%3AHOME&by=locality', [5, 6]],
    ['/insight/export/inequality.csv?measure=access%3Aacceptance&by=quintile', [5, 6]],
    ['/insight/export/inequality.csv?measure=access%3Aacceptance&by=ethnicity', [5, 6]],
    ['/insight/export/inequality.csv?measure=access%3Afirst_contact_days&by=age_band', [5, 6]],
  ];
  for (const [url, columns] of exports) {
    const res = await get(url, manager);
    assert.equal(res.statusCode, 200, url);
    assert.match(String(res.headers['content-type']), /text\/csv/);
    assertNoPersonalData(res.body, url);
    const rows = parseCsv(res.body).slice(1);
    assert.ok(rows.length > 0, url);
    for (const row of rows) {
      for (const c of columns) {
        const cell = row[c] ?? '';
        if (cell === '' || cell === 'suppressed') continue;
        const n = Number(cell);
        assert.ok(!(n >= 1 && n <= 4), `${url} shows a count of ${n} in ${JSON.stringify(row)}`);
      }
    }
  }
  assert.equal((await get('/insight/export/secrets.csv', manager)).statusCode, 404);
  assert.equal((await get('/insight/inequalities?by=shoe_size', manager)).statusCode, 400);
});

test('other roles cannot see the aggregates; managers cannot see worklists of people', async () => {
  assert.equal((await get('/insight', practitioner)).statusCode, 403);
  assert.equal((await get('/insight/export/population.csv', practitioner)).statusCode, 403);
  const citizen = await signIn(server.app, 'citizen');
  assert.equal((await get('/insight/inequalities', citizen)).statusCode, 403);
  assert.equal((await get('/insight/worklist', manager)).statusCode, 403);
  assert.equal((await server.app.inject({ method: 'GET', url: '/insight' })).statusCode === 200, false);
});

test('a manager runs case-finding; the team sees facts without names and opens people through the access decision', async () => {
  const token = await csrfTokenFor(server.app, manager, '/insight/casefinding');
  const run = await server.app.inject({
    method: 'POST',
    url: '/insight/casefinding/run',
    headers: { cookie: manager, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(token)}`,
  });
  assert.equal(run.statusCode, 302);
  const page = await get('/insight/casefinding', manager);
  assertNoPersonalData(page.body, 'case-finding page');
  assert.match(page.body, /Adults known to three or more multiple-disadvantage services/);
  const db = server.database.db;
  const practitionerOrg = (
    await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
  ).organisation_id!;
  const entries = await db
    .selectFrom('insight_worklist')
    .select(['person_id'])
    .where('organisation_id', '=', practitionerOrg)
    .where('status', '=', 'open')
    .execute();
  const list = await get('/insight/worklist', practitioner);
  assert.equal(list.statusCode, 200);
  assertNoPersonalData(list.body.replace(/href="\/people\/[^"]+"/g, ''), 'worklist');
  if (entries.length > 0) {
    assert.match(list.body, /Open record/);
    const listed = Number(
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from audit_events where action = 'list' and reason like 'case-finding worklist:%'`.execute(db)
      ).rows[0]!.n,
    );
    assert.ok(listed >= 1);
    // Opening a person goes through the access decision (allowed or refused, always audited).
    const personId = entries[0]!.person_id;
    const before = Number(
      (await sql<{ n: number }>`select count(*)::int as n from audit_events where person_id = ${personId} and action = 'read'`.execute(db))
        .rows[0]!.n,
    );
    const opened = await get(`/people/${personId}`, practitioner);
    assert.ok([200, 403].includes(opened.statusCode));
    const afterCount = Number(
      (await sql<{ n: number }>`select count(*)::int as n from audit_events where person_id = ${personId} and action = 'read'`.execute(db))
        .rows[0]!.n,
    );
    assert.ok(afterCount > before);
  }
});

test('odd input to the insight routes gets a clear 4xx, never a 500', async () => {
  const urls = [
    '/insight?by=%00',
    '/insight?by=small_area&by=sex',
    '/insight/inequalities?measure=outcome%3A%27%20or%201%3D1',
    '/insight/inequalities?measure=a&measure=b',
    '/insight/inequalities?by=__proto__',
    '/insight/export/..%2F..%2Fetc%2Fpasswd',
    '/insight/export/population.csv?by=constructor',
    '/insight/export/inequality.csv?measure=%F0%9F%98%80',
  ];
  for (const cookie of [manager, practitioner, '']) {
    for (const url of urls) {
      const res = await server.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
      assert.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
      assert.ok(!/\.ts:\d+|node_modules\//.test(res.body), `${url} leaks internals`);
    }
  }
});
