// The write side of the access matrix: who may create which fact that grants access. Every kind
// of user tries every route that can open a relationship, record a sharing choice or start an
// emergency access for a person, and the test counts the facts in the database before and after:
// a fact may appear only where the rules say, and a refused attempt changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { startTestServer, signIn, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';
import { createApiToken } from '../src/interop/tokens.ts';
import { createPlan } from '../src/plans/plans.ts';

type Kind =
  | 'stranger'
  | 'network'
  | 'break_glass'
  | 'self'
  | 'proxy'
  | 'ended_proxy'
  | 'other_citizen'
  | 'unconfirmed'
  | 'manager'
  | 'admin'
  | 'data_quality'
  | 'privacy_officer';
type Fact = 'relationship' | 'directive' | 'break_glass';
interface Route {
  name: string;
  fact: Fact;
  url: (personId: string) => string;
  form: (ctx: { practitionerId: string; serviceId: string; thirdOrganisationId: string; selfServiceId: string }) => Record<string, string>;
}
/** A FHIR write, sent with the user's bearer token. */
interface FhirRoute {
  name: string;
  fact: Fact;
  path: string;
  body: (ctx: { secondPractitionerId: string; organisationId: string }) => Record<string, unknown>;
}

const routes: Route[] = [
  {
    name: 'add to network',
    fact: 'relationship',
    url: (id) => `/people/${id}/network`,
    form: (c) => ({ practitioner: c.practitionerId, role: 'support', reason: 'helping with the tenancy' }),
  },
  {
    name: 'refer to a service',
    fact: 'relationship',
    url: (id) => `/people/${id}/refer`,
    form: (c) => ({
      service: c.serviceId,
      reason: 'needs support with the tenancy',
      urgency: 'routine',
      consent: 'given',
      categories: 'housing',
    }),
  },
  {
    name: 'sharing choice',
    fact: 'directive',
    url: (id) => `/my-record/sharing?for=${id}`,
    form: () => ({ decision: 'permit', category: 'health', recipient: 'network', purposes: 'direct_care' }),
  },
  // A resident asking a service for help: for themselves, or as the person's registered proxy.
  {
    name: 'refer yourself (for the person)',
    fact: 'relationship',
    url: (id) => `/services/${selfServiceId}/refer-yourself?for=${id}`,
    form: () => ({
      for: personId,
      submission: randomUUID(),
      email: 'matrix@example.org',
      preferred_contact: 'email',
      help: 'Help to get out and about',
      urgency: 'routine',
      onward_consent: 'no',
    }),
  },
  {
    name: 'emergency access',
    fact: 'break_glass',
    url: (id) => `/people/${id}/break-glass`,
    form: () => ({ reason: 'unconscious in A&E, need medication history' }),
  },
  // An action for another agency brings that agency into the network of everyone in the plan.
  {
    name: 'plan action for another agency',
    fact: 'relationship',
    url: () => `/plans/${planId}/actions`,
    form: (c) => ({ description: 'Help with a benefits claim', assignedOrganisationId: c.thirdOrganisationId, dueOn: '2030-01-31' }),
  },
];
let planId = '';
let selfServiceId = '';

const fhirRoutes: FhirRoute[] = [
  {
    name: 'FHIR Patient matching the person',
    fact: 'relationship',
    path: 'Patient',
    body: () => ({
      resourceType: 'Patient',
      name: [{ family: known.family_name, given: [known.given_name] }],
      birthDate: known.birth_date,
      gender: known.sex,
    }),
  },
  {
    name: 'FHIR EpisodeOfCare (join the network)',
    fact: 'relationship',
    path: 'EpisodeOfCare',
    body: (c) => ({
      resourceType: 'EpisodeOfCare',
      status: 'active',
      patient: { reference: `Patient/${personId}` },
      careManager: { reference: `Practitioner/${c.secondPractitionerId}` },
      extension: [
        { url: 'urn:joinery:extension:role', valueString: 'money advice' },
        { url: 'urn:joinery:extension:reason', valueString: 'debts with the council' },
      ],
    }),
  },
  {
    name: 'FHIR Consent (a sharing choice)',
    fact: 'directive',
    path: 'Consent',
    body: (c) => ({
      resourceType: 'Consent',
      status: 'active',
      patient: { reference: `Patient/${personId}` },
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      policyRule: { text: 'Joinery sharing choice' },
      provision: {
        type: 'permit',
        class: [{ system: 'urn:joinery:code:category', code: 'housing' }],
        purpose: [{ system: 'urn:joinery:code:purpose', code: 'direct_care' }],
        actor: [
          {
            role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
            reference: { reference: `Organization/${c.organisationId}` },
          },
        ],
      },
    }),
  },
];

/** The rules, stated independently: which kinds of user may create each fact for the person. */
function mayCreate(kind: Kind, route: { name: string }): boolean {
  switch (route.name) {
    case 'add to network':
    case 'refer to a service':
    case 'FHIR EpisodeOfCare (join the network)':
    case 'plan action for another agency':
      return kind === 'network';
    case 'sharing choice':
    case 'FHIR Consent (a sharing choice)':
    case 'refer yourself (for the person)':
      return kind === 'self' || kind === 'proxy';
    case 'emergency access':
      return kind === 'stranger' || kind === 'network' || kind === 'break_glass';
    case 'FHIR Patient matching the person':
      return false; // registering a match never opens a relationship
  }
  return false;
}

let server: TestServer;
/** A person the person index already knows (so a FHIR registration of their details matches them). */
let personId = '';
let known: { given_name: string; family_name: string; birth_date: string; sex: string };
const cookies = new Map<Kind, string>();
const tokens = new Map<Kind, string>();
let ctx: {
  practitionerId: string;
  secondPractitionerId: string;
  serviceId: string;
  organisationId: string;
  thirdOrganisationId: string;
  selfServiceId: string;
};

const db = () => server.database.db;
async function factCount(fact: Fact): Promise<number> {
  const table = fact === 'relationship' ? 'care_relationships' : fact === 'directive' ? 'consent_directives' : 'break_glass_grants';
  return Number(
    (
      await db()
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('person_id', '=', personId)
        .executeTakeFirstOrThrow()
    ).n,
  );
}

before(async () => {
  server = await startTestServer({ people: 1000, seed: 31 });
  const row = (
    await sql<{ id: string; given_name: string; family_name: string; birth_date: string; sex: string }>`
    select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.sex from persons p
    where p.merged_into is null and p.birth_date < '2000-01-01' and p.sex is not null
      and exists (select 1 from record_links l where l.person_id = p.id and l.superseded_at is null)
    order by p.id limit 1`.execute(db())
  ).rows[0]!;
  personId = row.id;
  known = row;
  // Start from nothing: no relationship, choice, proxy or emergency access.
  for (const table of ['care_relationships', 'consent_directives', 'proxies', 'break_glass_grants'] as const)
    await db().deleteFrom(table).where('person_id', '=', personId).execute();
  await sql`insert into persons (id, given_name, family_name, birth_date, sex) values
    ('p-wmatrix-proxy', 'Pip', 'Matrix', '1969-01-01', 'male'), ('p-wmatrix-ex', 'Eve', 'Matrix', '1968-01-01', 'female'), ('p-wmatrix-other', 'Oz', 'Other', '1990-01-01', 'male')`.execute(
    db(),
  );
  await db()
    .insertInto('proxies')
    .values([
      {
        person_id: personId,
        proxy_person_id: 'p-wmatrix-proxy',
        kind: 'carer',
        permitted_by: 'the person',
        valid_until: null,
        revoked_at: null,
        revoked_by: null,
      },
      {
        person_id: personId,
        proxy_person_id: 'p-wmatrix-ex',
        kind: 'carer',
        permitted_by: 'the person',
        valid_until: null,
        revoked_at: new Date(Date.now() - 86_400_000),
        revoked_by: null,
      },
    ])
    .execute();
  const practitioners = (
    await sql<{ id: string; organisation_id: string; team_id: string }>`
    select distinct on (pr.organisation_id) pr.id, pr.organisation_id, pr.team_id from practitioners pr
    join organisations o on o.id = pr.organisation_id
    where exists (select 1 from services s where s.organisation_id = pr.organisation_id)
      and not exists (select 1 from record_links l join source_records r on r.id = l.source_record_id
                      where l.person_id = ${personId} and l.superseded_at is null and r.source = o.source_code)
    order by pr.organisation_id, pr.id limit 4`.execute(db())
  ).rows;
  assert.equal(practitioners.length, 4);
  const [stranger, network, glass, colleague] = practitioners as [
    (typeof practitioners)[0],
    (typeof practitioners)[0],
    (typeof practitioners)[0],
    (typeof practitioners)[0],
  ];
  const service = await db()
    .selectFrom('services')
    .select('id')
    .where('organisation_id', '=', colleague.organisation_id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  // A second colleague for the FHIR route, so each route adds someone not yet in the network.
  const second = await db()
    .selectFrom('practitioners')
    .select('id')
    .where(
      'id',
      'not in',
      practitioners.map((p) => p.id),
    )
    .orderBy('id')
    .executeTakeFirstOrThrow();
  // A third agency, in nobody's network for the person, for plan actions.
  const third = await db()
    .selectFrom('organisations')
    .select('id')
    .where(
      'id',
      'not in',
      practitioners.map((p) => p.organisation_id),
    )
    .where(
      'source_code',
      'not in',
      (
        await db()
          .selectFrom('source_records as s')
          .innerJoin('record_links as l', 'l.source_record_id', 's.id')
          .select('s.source')
          .where('l.person_id', '=', personId)
          .execute()
      )
        .map((r) => r.source)
        .concat(['-']),
    )
    .orderBy('id')
    .executeTakeFirstOrThrow();
  // A service anyone may ask for themselves, open to the person's age wherever they live, of an
  // organisation none of the other routes involve (its relationship, once the person asks, must not change theirs).
  const involved = [...practitioners.map((p) => p.organisation_id), third.id];
  selfServiceId = (
    await sql<{
      id: string;
    }>`select id from services where accepts_self_referral and cardinality(locality_ids) = 0 and organisation_id <> all(${involved}::text[])
    and coalesce(min_age, 0) <= date_part('year', age(current_date, ${known.birth_date}::date)) and coalesce(max_age, 200) >= date_part('year', age(current_date, ${known.birth_date}::date))
    order by id limit 1`.execute(db())
  ).rows[0]!.id;
  ctx = {
    practitionerId: colleague.id,
    secondPractitionerId: second.id,
    serviceId: service.id,
    organisationId: colleague.organisation_id,
    thirdOrganisationId: third.id,
    selfServiceId,
  };
  planId = await db()
    .transaction()
    .execute((trx) =>
      createPlan(
        trx,
        { id: 'wm-plan-author', role: 'practitioner', organisationId: network.organisation_id },
        { personId, householdId: null, memberIds: [], title: 'Matrix plan' },
      ),
    );
  await db()
    .insertInto('care_relationships')
    .values({
      person_id: personId,
      organisation_id: network.organisation_id,
      team_id: network.team_id,
      practitioner_id: network.id,
      kind: 'network',
      role_label: 'lead',
      reason: 'matrix',
      ended_at: null,
      recorded_by: null,
    })
    .execute();
  const accounts: Array<[Kind, Record<string, unknown>]> = [
    ['stranger', { role: 'practitioner', practitionerId: stranger.id, organisationId: stranger.organisation_id }],
    ['network', { role: 'practitioner', practitionerId: network.id, organisationId: network.organisation_id }],
    ['break_glass', { role: 'practitioner', practitionerId: glass.id, organisationId: glass.organisation_id }],
    ['self', { role: 'citizen', personId }],
    ['proxy', { role: 'citizen', personId: 'p-wmatrix-proxy' }],
    ['ended_proxy', { role: 'citizen', personId: 'p-wmatrix-ex' }],
    ['other_citizen', { role: 'citizen', personId: 'p-wmatrix-other' }],
    // An account made from a request for help, tied to no person until who they are is confirmed.
    ['unconfirmed', { role: 'citizen' }],
    ['manager', { role: 'manager' }],
    ['admin', { role: 'admin' }],
    ['data_quality', { role: 'data_quality' }],
    ['privacy_officer', { role: 'privacy_officer' }],
  ];
  for (const [kind, account] of accounts) {
    const id = await createAccount(db(), { username: `wm-${kind}`, displayName: kind, password: DEMO_PASSWORD, ...account } as Parameters<
      typeof createAccount
    >[1]);
    if (kind === 'break_glass') {
      await db()
        .insertInto('break_glass_grants')
        .values({
          user_id: id,
          person_id: personId,
          reason: 'matrix',
          expires_at: new Date(Date.now() + 3_600_000),
          reviewed_at: null,
          reviewed_by: null,
          review_outcome: null,
          review_note: null,
        })
        .execute();
    }
    cookies.set(kind, await signIn(server.app, `wm-${kind}`));
    tokens.set(kind, (await createApiToken(db(), id, 'write matrix')).token);
  }
});

after(async () => {
  await server?.close();
});

/** A CSRF token for the user's forms, from a page every signed-in user can open (the sign-out form on any page). */
async function csrfFor(cookie: string): Promise<string> {
  let response = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie } });
  if (response.statusCode === 302)
    response = await server.app.inject({ method: 'GET', url: String(response.headers.location), headers: { cookie } });
  const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
  assert.ok(token, `/home answered ${response.statusCode} without a CSRF token`);
  return token;
}

test('access matrix, write side: only the rules create the facts that grant access', async (t) => {
  const failures: string[] = [];
  let cases = 0;
  for (const route of routes) {
    for (const [kind, cookie] of cookies) {
      cases += 1;
      const before = await factCount(route.fact);
      const token = await csrfFor(cookie);
      const response = await server.app.inject({
        method: 'POST',
        url: route.url(personId),
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...route.form(ctx), _csrf: token }).toString(),
      });
      const created = (await factCount(route.fact)) > before;
      const label = `${kind} × ${route.name} (${response.statusCode})`;
      if (mayCreate(kind, route) && !created) failures.push(`${label}: should have created a ${route.fact}`);
      if (!mayCreate(kind, route) && created) failures.push(`${label}: SIDE DOOR, created a ${route.fact}`);
      if (!mayCreate(kind, route) && response.statusCode < 400) failures.push(`${label}: refusal should say so`);
    }
  }
  for (const route of fhirRoutes) {
    for (const [kind, token] of tokens) {
      cases += 1;
      const before = await factCount(route.fact);
      const response = await fetch(`${server.url}/fhir/${route.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(route.body(ctx)),
      });
      const text = await response.text();
      const created = (await factCount(route.fact)) > before;
      const label = `${kind} × ${route.name} (${response.status})`;
      if (mayCreate(kind, route) && !created) failures.push(`${label}: should have created a ${route.fact}: ${text.slice(0, 200)}`);
      if (!mayCreate(kind, route) && created) failures.push(`${label}: SIDE DOOR, created a ${route.fact}`);
      if (!mayCreate(kind, route) && response.status === 201 && route.path !== 'Patient') failures.push(`${label}: refusal should say so`);
      if (route.path === 'Patient' && response.status === 201) failures.push(`${label}: a match was answered as a new Patient`);
      if (route.path === 'Patient' && response.status < 300 && !text.includes(personId))
        failures.push(`${label}: the match should be named by its identifier`);
    }
  }
  assert.deepEqual(failures, []);
  t.diagnostic(
    `write matrix: ${cases} cases (${cookies.size} kinds of user × ${routes.length + fhirRoutes.length} routes, web and FHIR), 0 side doors`,
  );
});

test("access matrix, write side: someone not signed in who types the person's exact details opens nothing", async () => {
  const household = await sql<{
    postcode: string;
  }>`select h.postcode from persons p join households h on h.id = p.household_id where p.id = ${personId}`.execute(db());
  const facts = await Promise.all((['relationship', 'directive', 'break_glass'] as const).map(factCount));
  const page = await server.app.inject({ method: 'GET', url: `/services/${selfServiceId}/refer-yourself` });
  const csrf = page.cookies.find((c) => c.name === 'joinery_csrf')!;
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const submission = /name="submission" value="([^"]+)"/.exec(page.body)![1]!;
  const [year, month, day] = known.birth_date.split('-');
  const response = await server.app.inject({
    method: 'POST',
    url: `/services/${selfServiceId}/refer-yourself`,
    headers: { cookie: `joinery_csrf=${csrf.value}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      _csrf: token,
      submission,
      given_name: known.given_name,
      family_name: known.family_name,
      'dob-day': String(Number(day)),
      'dob-month': String(Number(month)),
      'dob-year': year!,
      postcode: household.rows[0]?.postcode ?? 'RV1 1AA',
      email: 'someone@example.org',
      preferred_contact: 'email',
      help: 'Please help me',
      urgency: 'routine',
      onward_consent: 'yes',
    }).toString(),
  });
  assert.equal(response.statusCode, 302, response.body.slice(0, 300));
  const filed = await db()
    .selectFrom('referral_self_details as d')
    .innerJoin('referrals as r', 'r.id', 'd.referral_id')
    .select(['r.person_id', 'r.relationship_id', 'd.identity'])
    .where('d.submission_key', '=', submission)
    .executeTakeFirstOrThrow();
  assert.equal(filed.relationship_id, null);
  assert.deepEqual(
    await Promise.all((['relationship', 'directive', 'break_glass'] as const).map(factCount)),
    facts,
    'no relationship, sharing choice or emergency access',
  );
});
