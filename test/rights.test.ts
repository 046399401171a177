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
import { writtenDate, writtenDay } from '../src/platform/dates.ts';
import { decideRecordAccess, categoryOfOrganisationKind } from '../src/consent/index.ts';
import { dueByFor } from '../src/consent/rights-requests.ts';

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
  return server.app.inject({
    method: 'POST',
    url,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ ...values, _csrf: token }),
  });
}
const openEntries = async (personId: string) =>
  server.database.db
    .selectFrom('insight_worklist')
    .select(['id', 'rule_id'])
    .where('person_id', '=', personId)
    .where('status', '=', 'open')
    .execute();

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
  const [a, b] = rows.rows as [(typeof rows.rows)[0], (typeof rows.rows)[0]];
  listed = { personId: a.person_id, organisationId: a.organisation_id, ruleId: a.rule_id };
  other = { personId: b.person_id };
  const pr = await db
    .selectFrom('practitioners')
    .select(['id', 'organisation_id'])
    .where('id', '=', a.practitioner_id)
    .executeTakeFirstOrThrow();
  await createAccount(db, {
    username: 'rights-listed',
    displayName: 'Listed resident',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: a.person_id,
  });
  await createAccount(db, {
    username: 'rights-other',
    displayName: 'Another resident',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: b.person_id,
  });
  await createAccount(db, {
    username: 'rights-team',
    displayName: 'Team practitioner',
    role: 'practitioner',
    password: DEMO_PASSWORD,
    practitionerId: pr.id,
    organisationId: pr.organisation_id,
  });
  // A carer who may act for the listed person on health only: beyond their scope for anything else.
  await sql`insert into persons (id, given_name, family_name, birth_date, sex) values ('p-rights-carer', 'Carol', 'Narrowscope', '1970-01-01', 'female')`.execute(
    db,
  );
  await db
    .insertInto('proxies')
    .values({
      person_id: a.person_id,
      proxy_person_id: 'p-rights-carer',
      kind: 'carer',
      permitted_by: 'the person',
      valid_until: null,
      revoked_at: null,
      revoked_by: null,
      scope: ['health'],
    })
    .execute();
  await createAccount(db, {
    username: 'rights-carer',
    displayName: 'Narrow carer',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: 'p-rights-carer',
  });
  for (const u of ['rights-listed', 'rights-other', 'rights-team', 'rights-carer', 'practitioner', 'manager'])
    cookies[u] = await signIn(server.app, u);
});

after(async () => {
  await server?.close();
});

describe('objecting to case-finding', () => {
  test('the resident objects; the team that listed them sees "not to be contacted this way"; reruns keep it and skip them', async () => {
    const page = await get('/my-record/rights', cookies['rights-listed']);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Object to case-finding/);
    const objected = await post(
      cookies['rights-listed']!,
      '/my-record/rights/case-finding/object',
      { reason: 'I would rather ask for help myself' },
      '/my-record/rights',
    );
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
    assert.deepEqual(
      entries.map((e) => e.rule_id),
      [listed.ruleId],
    );
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
    const history = await server.database.db
      .selectFrom('casefinding_objections')
      .select(['withdrawn_at'])
      .where('person_id', '=', listed.personId)
      .execute();
    assert.equal(history.length, 1);
    assert.ok(history[0]!.withdrawn_at, 'withdrawn, not deleted');
    await runCaseFinding(server.database.db);
    assert.ok((await openEntries(listed.personId)).length > 0);
    assert.ok(!(await get('/insight/worklist', cookies['rights-team'])).body.includes('Not to be contacted this way'));
  });

  test('nobody else can object, or withdraw, for the person', async () => {
    const db = server.database.db;
    const objections = async () =>
      Number(
        (
          await db
            .selectFrom('casefinding_objections')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('person_id', '=', listed.personId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await objections();
    const forListed = `?for=${listed.personId}`;
    assert.equal(
      (await post(cookies['rights-other']!, `/my-record/rights/case-finding/object${forListed}`)).statusCode,
      403,
      'another citizen',
    );
    assert.equal(
      (await post(cookies['rights-team']!, `/my-record/rights/case-finding/object${forListed}`)).statusCode,
      403,
      'a practitioner',
    );
    assert.equal(
      (await post(cookies['rights-carer']!, `/my-record/rights/case-finding/object${forListed}`)).statusCode,
      403,
      'a proxy whose scope is health only',
    );
    const anonymous = await server.app.inject({
      method: 'POST',
      url: `/my-record/rights/case-finding/object${forListed}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    assert.ok([401, 403, 302].includes(anonymous.statusCode), `not signed in: ${anonymous.statusCode}`);
    assert.equal(await objections(), before);
    assert.equal(
      (await get(`/my-record/rights${forListed}`, cookies['rights-other'])).statusCode,
      403,
      'another citizen cannot read the page either',
    );
  });
});

describe('restriction and erasure requests', () => {
  let ownerCategory: string;
  let otherHolder: { organisationId: string; user: import('../src/auth/index.ts').SignedInUser };
  const db = () => server.database.db;
  const requestsOfListed = async () =>
    db().selectFrom('rights_requests').selectAll().where('person_id', '=', listed.personId).orderBy('id').execute();
  const scopeFor = async (user: import('../src/auth/index.ts').SignedInUser, category: string) =>
    (
      await decideRecordAccess(db(), {
        actor: user,
        personId: listed.personId,
        categories: [category as 'health'],
        purpose: 'direct_care',
        action: 'read',
      })
    ).byCategory[category as 'health'];

  before(async () => {
    const owner = await db().selectFrom('organisations').select(['kind']).where('id', '=', listed.organisationId).executeTakeFirstOrThrow();
    ownerCategory = categoryOfOrganisationKind(owner.kind);
    // Another organisation holding a record of the person, whose practitioners see everything once the person shares it.
    const q = await sql<{ organisation_id: string; practitioner_id: string; team_id: string | null }>`
      select o.id as organisation_id, pr.id as practitioner_id, pr.team_id from record_links l join source_records s on s.id = l.source_record_id
      join organisations o on o.source_code = s.source join practitioners pr on pr.organisation_id = o.id
      where l.person_id = ${listed.personId} and l.superseded_at is null and o.id <> ${listed.organisationId} order by o.id, pr.id limit 1`.execute(
      db(),
    );
    assert.ok(q.rows[0], 'the listed person is known to a second organisation');
    const r = q.rows[0];
    const id = await createAccount(db(), {
      username: 'rights-otherholder',
      displayName: 'Other holder',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: r.practitioner_id,
      organisationId: r.organisation_id,
    });
    otherHolder = {
      organisationId: r.organisation_id,
      user: {
        id,
        username: 'rights-otherholder',
        displayName: 'Other holder',
        role: 'practitioner',
        personId: null,
        practitionerId: r.practitioner_id,
        organisationId: r.organisation_id,
        teamId: r.team_id,
      },
    };
    cookies['rights-otherholder'] = await signIn(server.app, 'rights-otherholder');
    const shared = await post(
      cookies['rights-listed']!,
      '/my-record/sharing',
      { decision: 'permit', category: '*', recipient: 'network', purposes: ['direct_care', 'care_coordination'] },
      '/my-record/sharing',
    );
    assert.equal(shared.statusCode, 302);
  });

  test('the answer is due one calendar month from receipt', () => {
    assert.equal(dueByFor(new Date('2026-03-15T10:00:00Z')), '2026-04-15');
    assert.equal(dueByFor(new Date('2026-01-31T10:00:00Z')), '2026-02-28');
    assert.equal(dueByFor(new Date('2026-12-20T10:00:00Z')), '2027-01-20');
    assert.equal(dueByFor(new Date('2026-06-30T23:30:00Z')), '2026-08-01', 'received at 00:30 on 1 July in the UK');
  });

  test('a request with gaps shows the error summary and keeps what was typed', async () => {
    const bad = await post(
      cookies['rights-listed']!,
      '/my-record/rights/requests',
      { kind: 'restriction', organisation: '', category: ownerCategory, what: 'My visit notes', why: '' },
      '/my-record/rights',
    );
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /There is a problem/);
    assert.match(bad.body, /Choose the service that holds the information/);
    assert.match(bad.body, /Say why you are asking/);
    assert.ok(bad.body.includes('My visit notes'));
    assert.equal((await requestsOfListed()).length, 0);
  });

  test('the resident asks for a restriction; it reaches the data owner with the legal clock, not anyone else', async () => {
    assert.equal(
      (await scopeFor(otherHolder.user, ownerCategory)).scope,
      'all',
      'shared with the other organisation before the restriction',
    );
    const sent = await post(
      cookies['rights-listed']!,
      '/my-record/rights/requests',
      {
        kind: 'restriction',
        organisation: listed.organisationId,
        category: ownerCategory,
        what: 'The notes of my last assessment',
        why: 'They are being disputed',
      },
      '/my-record/rights',
    );
    assert.equal(sent.statusCode, 302);
    const due = writtenDay(dueByFor(new Date()));
    const mine = await get('/my-record/rights', cookies['rights-listed']);
    assert.match(mine.body, /Waiting for an answer/);
    assert.ok(mine.body.includes(due), `due by ${due}`);

    const inbox = await get('/rights-requests', cookies['rights-team']);
    assert.equal(inbox.statusCode, 200);
    assert.ok(inbox.body.includes('The notes of my last assessment'));
    assert.ok(inbox.body.includes(`Due by ${due}`));
    const elsewhere = await get('/rights-requests', cookies['rights-otherholder']);
    assert.ok(!elsewhere.body.includes('The notes of my last assessment'), 'another organisation does not see it');
    const privacy = await signIn(server.app, 'privacy');
    const clocks = await get('/rights-requests', privacy);
    assert.equal(clocks.statusCode, 200);
    assert.ok(clocks.body.includes(due), 'the privacy officer sees the clock');
    assert.ok(!clocks.body.includes('The notes of my last assessment'), 'but not the words');
    assert.equal((await get('/rights-requests', cookies['rights-listed'])).statusCode, 403);
    assert.equal((await get('/rights-requests', cookies.manager)).statusCode, 403);
  });

  test('nobody else can ask for the person, and only the owner can answer', async () => {
    const before = await requestsOfListed();
    const values = { kind: 'erasure', organisation: listed.organisationId, category: ownerCategory, what: 'Everything', why: 'Attack' };
    const forListed = `?for=${listed.personId}`;
    assert.equal(
      (await post(cookies['rights-other']!, `/my-record/rights/requests${forListed}`, values)).statusCode,
      403,
      'another citizen',
    );
    assert.equal((await post(cookies['rights-team']!, `/my-record/rights/requests${forListed}`, values)).statusCode, 403, 'a practitioner');
    assert.equal(
      (await post(cookies['rights-carer']!, `/my-record/rights/requests${forListed}`, values)).statusCode,
      403,
      'a proxy beyond their scope',
    );
    // A form with gaps is refused as a whole for them too (403), not shown again as the person's rights page.
    for (const [who, label] of [
      ['rights-other', 'another citizen'],
      ['rights-team', 'a practitioner'],
      ['rights-carer', 'a proxy beyond their scope'],
    ] as const) {
      const gaps = await post(cookies[who]!, `/my-record/rights/requests${forListed}`, { kind: 'erasure' });
      assert.equal(gaps.statusCode, 403, `${label}, with a form that has gaps`);
    }
    const id = before[0]!.id;
    // Another organisation's answer form with gaps shows that practitioner's own inbox, never the request.
    const person = await sql<{ family_name: string }>`select family_name from persons where id = ${listed.personId}`.execute(
      server.database.db,
    );
    const gapsAnswer = await post(cookies['rights-otherholder']!, `/rights-requests/${id}`, { outcome: 'nonsense' }, '/rights-requests');
    assert.ok(gapsAnswer.statusCode >= 400, `another organisation's answer with gaps is refused (${gapsAnswer.statusCode})`);
    assert.ok(!gapsAnswer.body.includes(person.rows[0]!.family_name), "the other organisation's page does not name the person");
    assert.equal(
      (
        await post(
          cookies['rights-otherholder']!,
          `/rights-requests/${id}`,
          { outcome: 'restricted', note: 'Restricted by someone else' },
          '/rights-requests',
        )
      ).statusCode,
      404,
      'a practitioner of another organisation',
    );
    assert.equal(
      (await post(cookies['rights-listed']!, `/rights-requests/${id}`, { outcome: 'restricted', note: 'I restrict it myself' })).statusCode,
      403,
      'the person cannot answer their own request',
    );
    assert.deepEqual(await requestsOfListed(), before);
  });

  test('the owner restricts: the category is withheld from every other organisation until lifted, and the person sees the answer', async () => {
    const [request] = await requestsOfListed();
    const short = await post(
      cookies['rights-team']!,
      `/rights-requests/${request!.id}`,
      { outcome: 'restricted', note: 'ok' },
      '/rights-requests',
    );
    assert.equal(short.statusCode, 400);
    assert.match(short.body, /Say what is restricted/);
    const answered = await post(
      cookies['rights-team']!,
      `/rights-requests/${request!.id}`,
      { outcome: 'restricted', note: 'Restricted while we review the disputed notes' },
      '/rights-requests',
    );
    assert.equal(answered.statusCode, 302);
    const other = await scopeFor(otherHolder.user, ownerCategory);
    assert.equal(other.scope, 'own_organisation');
    assert.match(other.reason, /asked for this to be restricted/);
    const mine = await get('/my-record/rights', cookies['rights-listed']);
    assert.match(mine.body, /Restricted on .*: Restricted while we review the disputed notes/);

    const lifted = await post(cookies['rights-team']!, `/rights-requests/${request!.id}/lift`, {}, '/rights-requests');
    assert.equal(lifted.statusCode, 302);
    assert.equal((await scopeFor(otherHolder.user, ownerCategory)).scope, 'all', 'shared again once lifted');
    const row = (await requestsOfListed())[0]!;
    assert.equal(row.status, 'lifted');
    assert.ok(row.lifted_at && row.decision_note, 'the history is kept');
    const audited = await db()
      .selectFrom('audit_events')
      .select('seq')
      .where('person_id', '=', listed.personId)
      .where('reason', 'like', 'answered a restriction request%')
      .executeTakeFirst();
    assert.ok(audited);
  });

  test('the owner refuses an erasure with its lawful basis, and the person reads why', async () => {
    const sent = await post(
      cookies['rights-listed']!,
      '/my-record/rights/requests',
      {
        kind: 'erasure',
        organisation: listed.organisationId,
        category: ownerCategory,
        what: 'My whole file',
        why: 'I no longer use the service',
      },
      '/my-record/rights',
    );
    assert.equal(sent.statusCode, 302);
    const erasure = (await requestsOfListed()).find((r) => r.kind === 'erasure')!;
    const wrong = await post(
      cookies['rights-team']!,
      `/rights-requests/${erasure.id}`,
      { outcome: 'restricted', note: 'Restricted instead of erasing' },
      '/rights-requests',
    );
    assert.equal(wrong.statusCode, 400, 'an erasure request is erased or refused');
    const refused = await post(
      cookies['rights-team']!,
      `/rights-requests/${erasure.id}`,
      { outcome: 'refused', note: 'We must keep care records for 8 years (legal obligation, Records Management Code of Practice)' },
      '/rights-requests',
    );
    assert.equal(refused.statusCode, 302);
    const mine = await get('/my-record/rights', cookies['rights-listed']);
    assert.match(mine.body, /Refused on .*We must keep care records for 8 years/);
    assert.equal(
      (
        await post(
          cookies['rights-team']!,
          `/rights-requests/${erasure.id}`,
          { outcome: 'refused', note: 'Answered a second time' },
          '/rights-requests',
        )
      ).statusCode,
      404,
      'answered once',
    );
  });
});

describe('sharing with any organisation in the directory', () => {
  test('the resident shares with a service not yet involved; its staff see it only once involved in their care', async () => {
    const db = server.database.db;
    const z = await sql<{ organisation_id: string; name: string; practitioner_id: string; team_id: string | null }>`
      select o.id as organisation_id, o.name, pr.id as practitioner_id, pr.team_id from organisations o join practitioners pr on pr.organisation_id = o.id
      where o.kind <> 'gp_practice' and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id where l.person_id = ${other.personId} and l.superseded_at is null and s.source = o.source_code)
        and not exists (select 1 from care_relationships r where r.person_id = ${other.personId} and r.organisation_id = o.id)
      order by o.id, pr.id limit 1`.execute(db);
    const org = z.rows[0]!;
    const userId = await createAccount(db, {
      username: 'rights-newservice',
      displayName: 'New service',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: org.practitioner_id,
      organisationId: org.organisation_id,
    });
    const practitioner = await signIn(server.app, 'rights-newservice');
    const user = {
      id: userId,
      username: 'rights-newservice',
      displayName: 'New service',
      role: 'practitioner' as const,
      personId: null,
      practitionerId: org.practitioner_id,
      organisationId: org.organisation_id,
      teamId: org.team_id,
    };

    const page = await get('/my-record/sharing', cookies['rights-other']);
    assert.match(page.body, /<optgroup label="[^"]+">/);
    assert.ok(page.body.includes(`value="organisation:${org.organisation_id}"`), 'a service holding no record can be chosen');
    const shared = await post(
      cookies['rights-other']!,
      '/my-record/sharing',
      {
        decision: 'permit',
        category: 'health',
        recipient: `organisation:${org.organisation_id}`,
        purposes: ['direct_care', 'care_coordination'],
      },
      '/my-record/sharing',
    );
    assert.equal(shared.statusCode, 302);
    const after = await get('/my-record/sharing', cookies['rights-other']);
    assert.ok(after.body.includes(`with ${org.name.replace(/&/g, '&amp;').replace(/'/g, '&#39;')}`), 'the choice is listed in plain words');

    // No side door: the choice alone does not let the service open the record.
    assert.equal((await get(`/people/${other.personId}`, practitioner)).statusCode, 403);
    const before = await decideRecordAccess(db, {
      actor: user,
      personId: other.personId,
      categories: ['health'],
      purpose: 'direct_care',
      action: 'read',
    });
    assert.equal(before.byCategory.health.scope, 'none');

    // Once the service is involved (a referral accepted), the person's choice counts for it.
    await db
      .insertInto('care_relationships')
      .values({
        person_id: other.personId,
        organisation_id: org.organisation_id,
        team_id: null,
        practitioner_id: null,
        kind: 'referral',
        role_label: null,
        reason: 'test: referral accepted',
        ended_at: null,
        recorded_by: null,
      })
      .execute();
    assert.equal((await get(`/people/${other.personId}`, practitioner)).statusCode, 200);
    const involved = await decideRecordAccess(db, {
      actor: user,
      personId: other.personId,
      categories: ['health'],
      purpose: 'direct_care',
      action: 'read',
    });
    assert.equal(involved.byCategory.health.scope, 'all');
    assert.match(involved.byCategory.health.reason, /agreed to share this with you/);
  });
});
