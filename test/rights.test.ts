// Rights, completed (issue 20), over HTTP: a resident objects to case-finding (the rules skip
// them, a team that already had them listed sees "not to be contacted this way"), asks the data
// owner to restrict or erase (routed with the one-month clock, decided, answered), and shares
// with any organisation in the directory without that becoming a side door. Write-side attacks:
// another citizen, a practitioner, a proxy beyond their scope, someone not signed in.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { runCaseFinding } from '../src/insight/casefind.ts';
import { writtenDate } from '../src/platform/dates.ts';

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};

let server: TestServer;
const cookies: Record<string, string> = {};
/** A person on a team's worklist, signed in as themselves; the practitioner of that team. */
let listed: { personId: string; organisationId: string; ruleId: string };
let other: { personId: string };

async function get(url: string, cookie?: string) {
  return server.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
}
async function post(cookie: string, url: string, values: Record<string, string | string[]> = {}, tokenPage = '/home') {
  const token = await csrfTokenFor(server.app, cookie, tokenPage);
  return server.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ ...values, _csrf: token }) });
}
const openEntries = async (personId: string) => server.database.db.selectFrom('insight_worklist').select(['id', 'rule_id']).where('person_id', '=', personId).where('status', '=', 'open').execute();

before(async () => {
  server = await startTestServer({ people: 3000, seed: 7 });
  const db = server.database.db;
  await runCaseFinding(db);
  // Two people the rules found, on the worklist of an organisation with practitioners.
  const rows = await sql<{ person_id: string; organisation_id: string; team_id: string | null; rule_id: string; practitioner_id: string }>`
    select distinct on (w.person_id) w.person_id, w.organisation_id, w.team_id, w.rule_id, pr.id as practitioner_id
    from insight_worklist w join practitioners pr on pr.organisation_id = w.organisation_id and pr.team_id is not distinct from w.team_id
    where w.status = 'open' and not exists (select 1 from users u where u.person_id = w.person_id)
    order by w.person_id, pr.id limit 2`.execute(db);
  assert.equal(rows.rows.length, 2, 'the synthetic place has people on worklists');
  const [a, b] = rows.rows as [typeof rows.rows[0], typeof rows.rows[0]];
  listed = { personId: a.person_id, organisationId: a.organisation_id, ruleId: a.rule_id };
  other = { personId: b.person_id };
  const pr = await db.selectFrom('practitioners').select(['id', 'organisation_id']).where('id', '=', a.practitioner_id).executeTakeFirstOrThrow();
  await createAccount(db, { username: 'rights-listed', displayName: 'Listed resident', role: 'citizen', password: DEMO_PASSWORD, personId: a.person_id });
  await createAccount(db, { username: 'rights-other', displayName: 'Another resident', role: 'citizen', password: DEMO_PASSWORD, personId: b.person_id });
  await createAccount(db, { username: 'rights-team', displayName: 'Team practitioner', role: 'practitioner', password: DEMO_PASSWORD, practitionerId: pr.id, organisationId: pr.organisation_id });
  // A carer who may act for the listed person on health only: beyond their scope for anything else.
  await sql`insert into persons (id, given_name, family_name, birth_date, sex) values ('p-rights-carer', 'Carol', 'Narrowscope', '1970-01-01', 'female')`.execute(db);
  await db.insertInto('proxies').values({ person_id: a.person_id, proxy_person_id: 'p-rights-carer', kind: 'carer', permitted_by: 'the person', valid_until: null, revoked_at: null, revoked_by: null, scope: ['health'] }).execute();
  await createAccount(db, { username: 'rights-carer', displayName: 'Narrow carer', role: 'citizen', password: DEMO_PASSWORD, personId: 'p-rights-carer' });
  for (const u of ['rights-listed', 'rights-other', 'rights-team', 'rights-carer', 'practitioner', 'manager']) cookies[u] = await signIn(server.app, u);
});

after(async () => { await server?.close(); });

describe('objecting to case-finding', () => {
  test('the resident objects; the team that listed them sees "not to be contacted this way"; reruns keep it and skip them', async () => {
    const page = await get('/my-record/rights', cookies['rights-listed']);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Object to case-finding/);
    const objected = await post(cookies['rights-listed']!, '/my-record/rights/case-finding/object', { reason: 'I would rather ask for help myself' }, '/my-record/rights');
    assert.equal(objected.statusCode, 302);
    const after = await get('/my-record/rights?done=objected', cookies['rights-listed']);
    assert.match(after.body, /You have objected to case-finding<\/strong> since/);
    assert.match(after.body, /Withdraw my objection/);

    const worklist = await get('/insight/worklist', cookies['rights-team']);
    assert.equal(worklist.statusCode, 200);
    const today = writtenDate(new Date());
    assert.ok(worklist.body.includes(`Not to be contacted this way (objected on ${today})`), 'the team is told, not left to find out');
    assert.ok(worklist.body.includes(`/people/${listed.personId}`), 'the entry is still on the list, not removed silently');

    // Running the rules again keeps the marked entry and raises no new one.
    await runCaseFinding(server.database.db);
    const entries = await openEntries(listed.personId);
    assert.deepEqual(entries.map((e) => e.rule_id), [listed.ruleId]);
    assert.ok((await get('/insight/worklist', cookies['rights-team'])).body.includes('Not to be contacted this way'));
  });

  test('on a fresh run the rules leave an objector out, and include someone who has not objected', async () => {
    const db = server.database.db;
    await db.deleteFrom('insight_worklist').where('person_id', 'in', [listed.personId, other.personId]).execute();
    await runCaseFinding(db);
    assert.equal((await openEntries(listed.personId)).length, 0, 'the objector is skipped');
    assert.ok((await openEntries(other.personId)).length > 0, 'someone who has not objected is still found');
  });

  test('withdrawing the objection keeps its history and lets the rules find them again', async () => {
    const withdrawn = await post(cookies['rights-listed']!, '/my-record/rights/case-finding/withdraw', {}, '/my-record/rights');
    assert.equal(withdrawn.statusCode, 302);
    const page = await get('/my-record/rights', cookies['rights-listed']);
    assert.match(page.body, /Earlier objections \(1\)/);
    assert.match(page.body, /Object to case-finding/);
    const history = await server.database.db.selectFrom('casefinding_objections').select(['withdrawn_at']).where('person_id', '=', listed.personId).execute();
    assert.equal(history.length, 1);
    assert.ok(history[0]!.withdrawn_at, 'withdrawn, not deleted');
    await runCaseFinding(server.database.db);
    assert.ok((await openEntries(listed.personId)).length > 0);
    assert.ok(!(await get('/insight/worklist', cookies['rights-team'])).body.includes('Not to be contacted this way'));
  });

  test('nobody else can object, or withdraw, for the person', async () => {
    const db = server.database.db;
    const objections = async () => Number((await db.selectFrom('casefinding_objections').select((eb) => eb.fn.countAll().as('n')).where('person_id', '=', listed.personId).executeTakeFirstOrThrow()).n);
    const before = await objections();
    const forListed = `?for=${listed.personId}`;
    assert.equal((await post(cookies['rights-other']!, `/my-record/rights/case-finding/object${forListed}`)).statusCode, 403, 'another citizen');
    assert.equal((await post(cookies['rights-team']!, `/my-record/rights/case-finding/object${forListed}`)).statusCode, 403, 'a practitioner');
    assert.equal((await post(cookies['rights-carer']!, `/my-record/rights/case-finding/object${forListed}`)).statusCode, 403, 'a proxy whose scope is health only');
    const anonymous = await server.app.inject({ method: 'POST', url: `/my-record/rights/case-finding/object${forListed}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    assert.ok([401, 403, 302].includes(anonymous.statusCode), `not signed in: ${anonymous.statusCode}`);
    assert.equal(await objections(), before);
    assert.equal((await get(`/my-record/rights${forListed}`, cookies['rights-other'])).statusCode, 403, 'another citizen cannot read the page either');
  });
});
