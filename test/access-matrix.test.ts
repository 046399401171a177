// The access matrix, generated from the rules: every role and relationship × every personal-data
// page and download × every consent state. Checks that nothing leaks (markers of health,
// criminal-justice and identifying data appear only where the rules allow) and that every
// refusal is on the audit record. Self-referrals too: a request typed by someone not signed in
// and filed against the person shows what was typed to the service it went to and to the
// person, and nothing of the record to anyone through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';

type Relationship = 'none' | 'network' | 'referral';
type ConsentState = 'none' | 'granted' | 'refused' | 'withdrawn' | 'expired' | 'break_glass';
interface ActorCase {
  name: string;
  username: string;
  kind: 'practitioner' | 'self' | 'proxy' | 'other_citizen' | 'no_person_access' | 'unconfirmed';
  relationship?: Relationship;
}
interface Endpoint {
  name: string;
  url: (personId: string) => string;
  canShow: Array<'name' | 'health' | 'cj' | 'informal'>;
}
interface Expectation {
  status: number;
  name: boolean;
  health: boolean;
  cj: boolean;
  informal: boolean;
}

const NAME = 'Quixotemarker';
const HEALTH = '4242.5';
const CJ = '9191.5';
/** A neighbour the person named in their informal network: no account, seen only by the person and their proxy here. */
const INFORMAL = 'Nellinformalmarker';
const consentStates: ConsentState[] = ['none', 'granted', 'refused', 'withdrawn', 'expired', 'break_glass'];
const endpoints: Endpoint[] = [
  { name: 'person page', url: (id) => `/people/${id}`, canShow: ['name', 'health', 'cj'] },
  { name: 'download JSON', url: (id) => `/my-record/download.json?for=${id}`, canShow: ['name', 'health', 'cj', 'informal'] },
  { name: 'download FHIR', url: (id) => `/my-record/download.fhir.json?for=${id}`, canShow: ['name'] },
  { name: 'sharing choices', url: (id) => `/my-record/sharing?for=${id}`, canShow: ['name'] },
  { name: 'corrections', url: (id) => `/my-record/corrections?for=${id}`, canShow: [] },
  { name: 'privacy rights', url: (id) => `/my-record/rights?for=${id}`, canShow: ['name'] },
  { name: 'informal network', url: (id) => `/my-record/informal-network?for=${id}`, canShow: ['name', 'informal'] },
];

/** The rules, stated independently of the implementation. */
function expected(actor: ActorCase, consent: ConsentState, endpoint: Endpoint): Expectation {
  const refused = { status: 403, name: false, health: false, cj: false, informal: false };
  const shows = (name: boolean, health: boolean, cj: boolean): Expectation => ({
    status: 200,
    name: name && endpoint.canShow.includes('name'),
    health: health && endpoint.canShow.includes('health'),
    cj: cj && endpoint.canShow.includes('cj'),
    // Informal network members are shown on these pages to the person and their proxy only.
    informal: (actor.kind === 'self' || actor.kind === 'proxy') && endpoint.canShow.includes('informal'),
  });
  switch (actor.kind) {
    case 'self':
    case 'proxy':
      return shows(true, true, true);
    case 'other_citizen':
    case 'no_person_access':
    case 'unconfirmed': // an account made from a request typed in the person's name: tied to no person until confirmed
      return refused;
    case 'practitioner':
      if (endpoint.name !== 'person page') return refused; // a citizen's own tools
      if (consent === 'break_glass') return shows(true, true, true);
      if (actor.relationship === 'none') return refused;
      return shows(true, consent === 'granted', false);
  }
}

let server: TestServer;
let personId: string;
const actors: ActorCase[] = [];
const cookies = new Map<string, string>();
const userIds = new Map<string, string>();

before(async () => {
  server = await startTestServer({ people: 2000, seed: 11 });
  const db = server.database.db;
  const org = async (kind: string) =>
    await db.selectFrom('organisations').select(['id', 'source_code']).where('kind', '=', kind).orderBy('id').executeTakeFirstOrThrow();
  const gp = await org('gp_practice');
  const probation = await org('probation');
  // The person under test, known to a GP (health) and to probation (criminal justice).
  personId = 'p-matrix-1';
  await sql`insert into persons (id, given_name, family_name, birth_date, sex) values
    (${personId}, 'Xavier', ${NAME}, '1980-02-02', 'male'), ('p-matrix-proxy', 'Yvonne', 'Carer', '1975-05-05', 'female'), ('p-matrix-other', 'Zed', 'Other', '1990-09-09', 'male')`.execute(
    db,
  );
  for (const [source, id] of [
    [gp.source_code, 'M-GP-1'],
    [probation.source_code, 'M-PR-1'],
  ]) {
    const row = await db
      .insertInto('source_records')
      .values({ source: source!, source_id: id!, fields: { given_name: 'Xavier', family_name: NAME } })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('record_links')
      .values({ source_record_id: row.id, person_id: personId, method: 'test_fixture', match_probability: 1, superseded_at: null })
      .execute();
  }
  await db
    .insertInto('person_events')
    .values([
      { person_id: personId, organisation_id: gp.id, type: 'gp_consultation', at: new Date('2026-03-03T10:00:00Z'), value: Number(HEALTH) },
      { person_id: personId, organisation_id: probation.id, type: 'arrest', at: new Date('2026-04-04T10:00:00Z'), value: Number(CJ) },
    ])
    .execute();
  await db
    .insertInto('proxies')
    .values({
      person_id: personId,
      proxy_person_id: 'p-matrix-proxy',
      kind: 'carer',
      permitted_by: 'the person',
      valid_until: null,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
  await db
    .insertInto('informal_network_members')
    .values({
      person_id: personId,
      name: INFORMAL,
      kind: 'neighbour',
      relationship: 'next door',
      contact: '07700 900999',
      may_know: ['has_plan'],
      added_by: 'the person',
      added_for: 'person',
      ended_at: null,
      ended_by: null,
    })
    .execute();

  // Practitioners from organisations that hold no record of the person.
  const others = await sql<{ id: string; organisation_id: string; team_id: string }>`
    select distinct on (pr.organisation_id) pr.id, pr.organisation_id, pr.team_id from practitioners pr
    join organisations o on o.id = pr.organisation_id
    where o.kind in ('housing_association', 'charity', 'school', 'council_housing') order by pr.organisation_id, pr.id limit 3`.execute(db);
  assert.equal(others.rows.length, 3);
  const relationships: Relationship[] = ['none', 'network', 'referral'];
  for (const [i, rel] of relationships.entries()) {
    const pr = others.rows[i]!;
    const username = `matrix-practitioner-${rel}`;
    userIds.set(
      username,
      await createAccount(db, {
        username,
        displayName: `Practitioner ${rel}`,
        role: 'practitioner',
        password: DEMO_PASSWORD,
        practitionerId: pr.id,
        organisationId: pr.organisation_id,
      }),
    );
    if (rel !== 'none') {
      await db
        .insertInto('care_relationships')
        .values({
          person_id: personId,
          organisation_id: pr.organisation_id,
          team_id: rel === 'network' ? pr.team_id : null,
          practitioner_id: rel === 'network' ? pr.id : null,
          kind: rel,
          role_label: null,
          reason: 'matrix test',
          ended_at: null,
          recorded_by: null,
        })
        .execute();
    }
    actors.push({ name: `practitioner, relationship ${rel}`, username, kind: 'practitioner', relationship: rel });
  }
  const citizen = async (username: string, person: string) =>
    userIds.set(
      username,
      await createAccount(db, { username, displayName: username, role: 'citizen', password: DEMO_PASSWORD, personId: person }),
    );
  await citizen('matrix-self', personId);
  await citizen('matrix-proxy', 'p-matrix-proxy');
  await citizen('matrix-other', 'p-matrix-other');
  actors.push(
    { name: 'the person', username: 'matrix-self', kind: 'self' },
    { name: 'their registered carer (proxy)', username: 'matrix-proxy', kind: 'proxy' },
    { name: 'another citizen', username: 'matrix-other', kind: 'other_citizen' },
  );
  // An account made from a link sent to the email address typed on a request for help: a citizen
  // account tied to no person (the self-referral matrix below makes it the follower of a request
  // typed in this person's name, as a stranger would).
  userIds.set(
    'matrix-unconfirmed',
    await createAccount(db, {
      username: 'matrix-unconfirmed',
      displayName: 'matrix-unconfirmed',
      role: 'citizen',
      password: DEMO_PASSWORD,
    }),
  );
  actors.push({ name: 'an account following a request, not yet tied to a person', username: 'matrix-unconfirmed', kind: 'unconfirmed' });
  for (const role of ['manager', 'admin', 'data_quality', 'privacy_officer'] as const) {
    const username = `matrix-${role}`;
    userIds.set(username, await createAccount(db, { username, displayName: username, role, password: DEMO_PASSWORD }));
    actors.push({ name: role, username, kind: 'no_person_access' });
  }
  for (const actor of actors) cookies.set(actor.username, await signIn(server.app, actor.username));
});

after(async () => {
  await server?.close();
});

async function setConsent(state: ConsentState): Promise<void> {
  const db = server.database.db;
  await db.deleteFrom('consent_directives').where('person_id', '=', personId).execute();
  await db.deleteFrom('break_glass_grants').where('person_id', '=', personId).execute();
  const day = 86_400_000;
  const base = {
    person_id: personId,
    category: 'health',
    recipient_kind: 'network' as const,
    recipient_id: null,
    purposes: ['direct_care', 'care_coordination'],
    recorded_by: null,
    recorded_by_role: 'citizen',
    withdrawn_by: null,
    note: null,
  };
  const past = new Date(Date.now() - 30 * day);
  if (state === 'granted')
    await db
      .insertInto('consent_directives')
      .values({ ...base, decision: 'permit', valid_from: past, recorded_at: past, valid_until: null, withdrawn_at: null })
      .execute();
  if (state === 'refused') {
    await db
      .insertInto('consent_directives')
      .values({ ...base, decision: 'permit', valid_from: past, recorded_at: past, valid_until: null, withdrawn_at: null })
      .execute();
    await db
      .insertInto('consent_directives')
      .values({
        ...base,
        decision: 'deny',
        valid_from: new Date(Date.now() - day),
        recorded_at: new Date(Date.now() - day),
        valid_until: null,
        withdrawn_at: null,
      })
      .execute();
  }
  if (state === 'withdrawn')
    await db
      .insertInto('consent_directives')
      .values({
        ...base,
        decision: 'permit',
        valid_from: past,
        recorded_at: past,
        valid_until: null,
        withdrawn_at: new Date(Date.now() - 1000),
      })
      .execute();
  if (state === 'expired')
    await db
      .insertInto('consent_directives')
      .values({
        ...base,
        decision: 'permit',
        valid_from: past,
        recorded_at: past,
        valid_until: new Date(Date.now() - 1000),
        withdrawn_at: null,
      })
      .execute();
  if (state === 'break_glass') {
    for (const actor of actors.filter((a) => a.kind === 'practitioner')) {
      await db
        .insertInto('break_glass_grants')
        .values({
          user_id: userIds.get(actor.username)!,
          person_id: personId,
          reason: 'matrix test emergency',
          expires_at: new Date(Date.now() + 3_600_000),
          reviewed_at: null,
          reviewed_by: null,
          review_outcome: null,
          review_note: null,
        })
        .execute();
    }
  }
}

test('access matrix: no leaks, every refusal audited', async (t) => {
  let cases = 0;
  const failures: string[] = [];
  for (const consent of consentStates) {
    await setConsent(consent);
    for (const actor of actors) {
      for (const endpoint of endpoints) {
        cases += 1;
        const expect = expected(actor, consent, endpoint);
        const before = await server.database.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirstOrThrow();
        const response = await server.app.inject({
          method: 'GET',
          url: endpoint.url(personId),
          headers: { cookie: cookies.get(actor.username)! },
        });
        const body = response.body;
        const label = `${actor.name} × ${endpoint.name} × consent ${consent}`;
        if (response.statusCode !== expect.status) failures.push(`${label}: status ${response.statusCode}, expected ${expect.status}`);
        for (const [marker, text] of [
          ['name', NAME],
          ['health', HEALTH],
          ['cj', CJ],
          ['informal', INFORMAL],
        ] as const) {
          const shown = body.includes(text);
          if (shown && !expect[marker]) failures.push(`${label}: LEAK of ${marker}`);
          if (!shown && expect[marker]) failures.push(`${label}: ${marker} missing`);
        }
        if (response.statusCode === 403) {
          const denial = await server.database.db
            .selectFrom('audit_events')
            .select('seq')
            .where('seq', '>', Number(before.seq ?? 0))
            .where('person_id', '=', personId)
            .where('decision', '=', 'deny')
            .where('actor_user_id', '=', userIds.get(actor.username)!)
            .executeTakeFirst();
          if (!denial) failures.push(`${label}: refusal not audited`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(cases, consentStates.length * 11 * endpoints.length);
  t.diagnostic(`access matrix: ${cases} cases, 0 leaks, every refusal audited`);
});

// Self-referrals. Someone not signed in types the person's name and date of birth and their own
// email (TYPED): the request is filed against the person (as the person index's match would),
// opens no relationship, and goes to a service of an organisation with no part in their care.
const TYPED = 'typed-marker@example.org';
const REAL_PHONE = '01632 960 777';
type SelfEndpoint = 'referral page' | 'inbox' | 'my referrals' | 'person page' | 'followed request';

/** The self-referral rules, stated independently: who sees the request, and that it shows nothing of the record. */
function expectedSelf(
  actor: ActorCase | 'receiver',
  consent: ConsentState,
  endpoint: SelfEndpoint,
): { status: number; name: boolean; typed: boolean } {
  const refused = { status: 403, name: false, typed: false };
  // The request as its follower sees it (/my-requests/:reference): the account it was made for
  // only; any other resident is told there is no such request, anyone else is refused.
  if (endpoint === 'followed request') {
    if (actor !== 'receiver' && actor.kind === 'unconfirmed') return { status: 200, name: true, typed: true }; // what they typed, the name included
    if (actor !== 'receiver' && (actor.kind === 'self' || actor.kind === 'proxy' || actor.kind === 'other_citizen'))
      return { status: 404, name: false, typed: false };
    return refused;
  }
  if (actor === 'receiver') {
    if (endpoint === 'person page') return refused; // no door to the record, whatever the index matched
    if (endpoint === 'my referrals') return refused;
    return { status: 200, name: true, typed: true }; // what was typed: the name as given and the email
  }
  switch (actor.kind) {
    case 'self':
      if (endpoint === 'referral page') return { status: 200, name: true, typed: true };
      if (endpoint === 'my referrals') return { status: 200, name: false, typed: false };
      if (endpoint === 'person page') return { status: 200, name: true, typed: false }; // their own record, as in the matrix above
      return refused;
    case 'proxy':
      if (endpoint === 'my referrals') return { status: 200, name: true, typed: false }; // "Xavier Quixotemarker's referrals"
      if (endpoint === 'person page') return { status: 200, name: true, typed: false };
      return refused;
    case 'practitioner':
      if (endpoint === 'inbox') return { status: 200, name: false, typed: false }; // their own inbox: not this request
      if (endpoint === 'person page')
        return consent === 'break_glass'
          ? { status: 200, name: true, typed: false }
          : actor.relationship === 'none'
            ? refused
            : { status: 200, name: true, typed: false };
      return refused;
    default:
      return refused;
  }
}

test('access matrix, self-referrals: the service sees what was typed, nobody sees the record through it, 0 leaks', async (t) => {
  const db = server.database.db;
  await db.updateTable('persons').set({ phone: REAL_PHONE }).where('id', '=', personId).execute();
  const matrixOrgs = (
    await db
      .selectFrom('practitioners')
      .select('organisation_id')
      .where(
        'id',
        'in',
        (await db.selectFrom('users').select('practitioner_id').where('username', 'like', 'matrix-practitioner-%').execute()).map(
          (u) => u.practitioner_id!,
        ),
      )
      .execute()
  ).map((r) => r.organisation_id);
  const service = (
    await sql<{ id: string; organisation_id: string; practitioner_id: string }>`
    select s.id, s.organisation_id, p.id as practitioner_id from services s join practitioners p on p.team_id = s.team_id
    where s.accepts_self_referral and coalesce(s.min_age, 0) <= 40 and coalesce(s.max_age, 200) >= 50 and cardinality(s.locality_ids) = 0
      and s.organisation_id <> all(${matrixOrgs}::text[])
      and not exists (select 1 from organisations o join source_records x on x.source = o.source_code join record_links l on l.source_record_id = x.id where o.id = s.organisation_id and l.person_id = ${personId})
    order by s.id, p.id limit 1`.execute(db)
  ).rows[0]!;
  await createAccount(db, {
    username: 'matrix-sr-receiver',
    displayName: 'Receiver',
    role: 'practitioner',
    password: DEMO_PASSWORD,
    practitionerId: service.practitioner_id,
    organisationId: service.organisation_id,
  });
  const receiverCookie = await signIn(server.app, 'matrix-sr-receiver');
  // Sent through the real form, not signed in.
  const page = await server.app.inject({ method: 'GET', url: `/services/${service.id}/refer-yourself` });
  const csrf = page.cookies.find((c) => c.name === 'joinery_csrf')!;
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const submission = /name="submission" value="([^"]+)"/.exec(page.body)![1]!;
  const sent = await server.app.inject({
    method: 'POST',
    url: `/services/${service.id}/refer-yourself`,
    headers: { cookie: `joinery_csrf=${csrf.value}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      _csrf: token,
      submission,
      given_name: 'Xavier',
      family_name: NAME,
      'dob-day': '2',
      'dob-month': '2',
      'dob-year': '1980',
      postcode: 'RV1 1AA',
      email: TYPED,
      preferred_contact: 'email',
      help: 'Help with getting out',
      urgency: 'routine',
      onward_consent: 'no',
    }).toString(),
  });
  assert.equal(sent.statusCode, 302, sent.body.slice(0, 300));
  const row = await db
    .selectFrom('referral_self_details')
    .select(['referral_id', 'reference'])
    .where('submission_key', '=', submission)
    .executeTakeFirstOrThrow();
  // The one who typed it follows it with an account tied to no person (made from the emailed link in test/self-referral-accounts.test.ts).
  await db
    .updateTable('referral_self_details')
    .set({ account_id: userIds.get('matrix-unconfirmed')! })
    .where('referral_id', '=', row.referral_id)
    .execute();
  // Filed against the person, as the person index's match would file it.
  await db.updateTable('referrals').set({ person_id: personId }).where('id', '=', row.referral_id).execute();
  const relationships = (await db.selectFrom('care_relationships').select('id').where('person_id', '=', personId).execute()).length;

  const urls: Record<SelfEndpoint, (actor: ActorCase | 'receiver') => string> = {
    'referral page': () => `/referrals/${row.referral_id}`,
    inbox: () => '/referrals/inbox?status=open',
    'my referrals': (actor) => (actor !== 'receiver' && actor.kind === 'self' ? '/my-referrals' : `/my-referrals?for=${personId}`),
    'person page': () => `/people/${personId}`,
    'followed request': () => `/my-requests/${row.reference}`,
  };
  const failures: string[] = [];
  let cases = 0;
  for (const consent of consentStates) {
    await setConsent(consent);
    for (const actor of [...actors, 'receiver' as const]) {
      for (const endpoint of Object.keys(urls) as SelfEndpoint[]) {
        cases += 1;
        const cookie = actor === 'receiver' ? receiverCookie : cookies.get(actor.username)!;
        const response = await server.app.inject({ method: 'GET', url: urls[endpoint](actor), headers: { cookie } });
        const expect = expectedSelf(actor, consent, endpoint);
        const label = `${actor === 'receiver' ? 'the receiving service' : actor.name} × self-referral ${endpoint} × consent ${consent}`;
        if (response.statusCode !== expect.status) failures.push(`${label}: status ${response.statusCode}, expected ${expect.status}`);
        const body = response.body;
        if (body.includes(NAME) !== expect.name) failures.push(`${label}: name ${expect.name ? 'missing' : 'LEAK'}`);
        if (body.includes(TYPED) !== expect.typed) failures.push(`${label}: typed details ${expect.typed ? 'missing' : 'LEAK'}`);
        // Through the request, nothing of the record: not its phone number, health or criminal justice.
        const throughRequest = endpoint !== 'person page' || actor === 'receiver';
        if (throughRequest && body.includes(REAL_PHONE)) failures.push(`${label}: LEAK of the record's phone number`);
        if (throughRequest && (body.includes(HEALTH) || body.includes(CJ))) failures.push(`${label}: LEAK of health or criminal justice`);
      }
    }
  }
  assert.equal(
    (await db.selectFrom('care_relationships').select('id').where('person_id', '=', personId).execute()).length,
    relationships,
    'reading opened nothing',
  );
  assert.deepEqual(failures, []);
  t.diagnostic(`self-referral matrix: ${cases} cases, 0 leaks`);
});
