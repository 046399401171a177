// The side doors an attacker found to a person's record, one regression test each: registering
// a match through FHIR, a referral's recorded consent overriding the person's own refusal,
// proxies that never end, the review queue as a way in, and a cost panel that says what the
// person withheld. Each test asserts what the person would notice if the door opened again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount, type SignedInUser } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { sendReferral } from '../src/referrals/referrals.ts';
import { categories } from '../src/consent/index.ts';
import { ensureAccounts, postTransactions } from '../src/budgets/ledger.ts';
import { relationshipId } from '../src/people/relationships.ts';
import { pseudonym } from '../src/budgets/queries.ts';

const HEALTH = '4242.5';
const CJ = '9191.5';
const SAFEGUARDING = '7373.5';
const DAY = 86_400_000;

let server: TestServer;
let target: {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: string;
  nhs_number: string;
  phone: string;
  postcode: string;
};
let orgs: Record<'gp' | 'probation' | 'housing' | 'charity' | 'children', { id: string; source_code: string }>;

const db = () => server.database.db;
const page = async (cookie: string, url: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });
const post = async (cookie: string, url: string, form: Record<string, string>) => {
  const token = await csrfTokenFor(server.app, cookie);
  return server.app.inject({
    method: 'POST',
    url,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ...form, _csrf: token }).toString(),
  });
};

async function userFor(username: string): Promise<SignedInUser> {
  const u = await db()
    .selectFrom('users')
    .leftJoin('practitioners', 'practitioners.id', 'users.practitioner_id')
    .select([
      'users.id',
      'users.username',
      'users.display_name',
      'users.role',
      'users.person_id',
      'users.practitioner_id',
      'users.organisation_id',
      'practitioners.team_id',
    ])
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
  return {
    id: u.id,
    username: u.username,
    displayName: u.display_name,
    role: u.role,
    personId: u.person_id,
    practitionerId: u.practitioner_id,
    organisationId: u.organisation_id,
    teamId: u.team_id,
  };
}

async function practitionerAccount(username: string, organisationId: string): Promise<string> {
  const pr = await db()
    .selectFrom('practitioners')
    .select(['id'])
    .where('organisation_id', '=', organisationId)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await createAccount(db(), {
    username,
    displayName: username,
    role: 'practitioner',
    password: DEMO_PASSWORD,
    practitionerId: pr.id,
    organisationId,
  });
  return pr.id;
}

async function person(id: string, given: string, birthDate: string): Promise<void> {
  await sql`insert into persons (id, given_name, family_name, birth_date, sex) values (${id}, ${given}, 'Sidedoor', ${birthDate}, 'female')`.execute(
    db(),
  );
}

const isoDaysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString().slice(0, 10);
const yearsAgo = (years: number, plusDays = 0) => {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return new Date(d.getTime() + plusDays * DAY).toISOString().slice(0, 10);
};

before(async () => {
  server = await startTestServer({ people: 2000, seed: 23 });
  const org = async (kinds: string[]) =>
    db()
      .selectFrom('organisations')
      .select(['id', 'source_code'])
      .where('kind', 'in', kinds)
      .where((eb) =>
        eb.exists(
          eb.selectFrom('practitioners').select('practitioners.id').whereRef('practitioners.organisation_id', '=', 'organisations.id'),
        ),
      )
      .where((eb) =>
        eb.exists(eb.selectFrom('services').select('services.id').whereRef('services.organisation_id', '=', 'organisations.id')),
      )
      .orderBy('id')
      .executeTakeFirstOrThrow();
  orgs = {
    gp: await org(['gp_practice']),
    probation: await org(['probation']),
    housing: await org(['council_housing', 'housing_association']),
    charity: await org(['charity']),
    children: await org(['council_children_social_care']),
  };
  // The target: someone the person index knows, with an NHS number and a phone, known to a GP.
  target = (
    await sql<typeof target>`
    select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.sex, p.nhs_number, p.phone,
      (select s.fields->>'postcode' from record_links l join source_records s on s.id = l.source_record_id where l.person_id = p.id and l.superseded_at is null order by s.id limit 1) as postcode from persons p
    where p.nhs_number is not null and p.phone is not null and p.birth_date is not null and p.sex is not null and p.merged_into is null
      and exists (select 1 from record_links l join source_records s on s.id = l.source_record_id where l.person_id = p.id and l.superseded_at is null and s.source = ${orgs.gp.source_code})
      and not exists (select 1 from care_relationships r join organisations o on o.id = r.organisation_id where r.person_id = p.id and o.kind in ('charity', 'council_housing', 'housing_association'))
    order by p.id limit 1`.execute(db())
  ).rows[0]!;
  assert.ok(target, 'the place has someone known to a GP with an NHS number and phone');
  await db()
    .insertInto('person_events')
    .values([
      {
        person_id: target.id,
        organisation_id: orgs.gp.id,
        type: 'gp_consultation',
        at: new Date(Date.now() - 40 * DAY),
        value: Number(HEALTH),
      },
      { person_id: target.id, organisation_id: orgs.probation.id, type: 'arrest', at: new Date(Date.now() - 30 * DAY), value: Number(CJ) },
    ])
    .execute();
  // The person's own word: share everything with the network, then (later) not criminal justice.
  await db().deleteFrom('consent_directives').where('person_id', '=', target.id).execute();
  const base = {
    person_id: target.id,
    recipient_kind: 'network' as const,
    recipient_id: null,
    purposes: ['direct_care', 'care_coordination'],
    recorded_by: null,
    recorded_by_role: 'citizen',
    valid_until: null,
    withdrawn_at: null,
    withdrawn_by: null,
    note: null,
  };
  await db()
    .insertInto('consent_directives')
    .values([
      {
        ...base,
        category: '*',
        decision: 'permit',
        valid_from: new Date(Date.now() - 60 * DAY),
        recorded_at: new Date(Date.now() - 60 * DAY),
      },
      {
        ...base,
        category: 'criminal_justice',
        decision: 'deny',
        valid_from: new Date(Date.now() - 50 * DAY),
        recorded_at: new Date(Date.now() - 50 * DAY),
      },
    ])
    .execute();
  await createAccount(db(), {
    username: 'side-citizen',
    displayName: 'Target',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: target.id,
  });
  await practitionerAccount('side-stranger', orgs.charity.id);
  const housingPractitioner = await practitionerAccount('side-housing', orgs.housing.id);
  const team = await db().selectFrom('practitioners').select('team_id').where('id', '=', housingPractitioner).executeTakeFirstOrThrow();
  await db()
    .insertInto('care_relationships')
    .values({
      person_id: target.id,
      organisation_id: orgs.housing.id,
      team_id: team.team_id,
      practitioner_id: housingPractitioner,
      kind: 'network',
      role_label: 'housing support',
      reason: 'test',
      ended_at: null,
      recorded_by: null,
    })
    .execute();
});

after(async () => {
  await server?.close();
});

test('finding 1: registering a Patient who matches someone already known gives no access to their record', async () => {
  const { token } = await createApiTokenForUsername(db(), 'side-stranger', 'side door test');
  const response = await fetch(`${server.url}/fhir/Patient`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Patient',
      name: [{ family: target.family_name, given: [target.given_name] }],
      birthDate: target.birth_date,
      gender: target.sex,
      address: [{ postalCode: target.postcode }],
    }),
  });
  const text = await response.text();
  assert.notEqual(response.status, 201, 'a match is not a new Patient');
  assert.ok(response.status === 200 || response.status === 409, `status ${response.status}`);
  assert.ok(!text.includes(target.nhs_number), 'the NHS number is not answered');
  assert.ok(!text.includes(target.phone), 'the phone number is not answered');
  const relationships = await db()
    .selectFrom('care_relationships')
    .select('id')
    .where('person_id', '=', target.id)
    .where('organisation_id', '=', orgs.charity.id)
    .execute();
  assert.equal(relationships.length, 0, 'no relationship of care was opened by the match');
  const cookie = await signIn(server.app, 'side-stranger');
  const record = await page(cookie, `/people/${target.id}`);
  assert.equal(record.statusCode, 403, 'the person page stays closed');
  assert.ok(!record.body.includes(CJ) && !record.body.includes(HEALTH));
  const read = await fetch(`${server.url}/fhir/Patient/${target.id}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(read.status, 404, 'FHIR read stays closed');
});

test('finding 2: a referral\'s recorded consent never overrides the person\'s own "do not share"', async () => {
  const cookie = await signIn(server.app, 'side-housing');
  const before = await page(cookie, `/people/${target.id}`);
  assert.equal(before.statusCode, 200);
  assert.ok(before.body.includes(HEALTH), 'the person shares health with their network');
  assert.ok(!before.body.includes(CJ), 'the person withheld criminal justice');
  const service = await db()
    .selectFrom('services')
    .select('id')
    .where('organisation_id', '=', orgs.housing.id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await sendReferral(db(), await userFor('side-housing'), {
    personId: target.id,
    serviceId: service.id,
    reason: 'Needs help keeping the tenancy',
    personWords: null,
    urgency: 'routine',
    consent: 'given',
    categories: [...categories],
    onwardConsent: false,
    journeyStep: null,
  });
  const after = await page(cookie, `/people/${target.id}`);
  assert.equal(after.statusCode, 200);
  assert.ok(!after.body.includes(CJ), "criminal justice is still withheld: the person's own word outranks the referrer's record");
  // The person sees the recorded choice, who recorded it, and can withdraw it.
  const citizen = await signIn(server.app, 'side-citizen');
  const sharing = await page(citizen, '/my-record/sharing');
  assert.match(sharing.body, /Recorded for you by side-housing/);
  const recorded = await db()
    .selectFrom('consent_directives')
    .select(['id', 'recorded_for', 'evidence', 'referral_id'])
    .where('person_id', '=', target.id)
    .where('recorded_for', '=', 'practitioner')
    .execute();
  assert.equal(recorded.length, categories.length);
  assert.ok(
    recorded.every((r) => r.evidence && r.referral_id),
    'each says on what evidence and for which referral',
  );
  const withdrawn = await post(citizen, `/my-record/sharing/${recorded[0]!.id}/withdraw`, {});
  assert.equal(withdrawn.statusCode, 302);
});

test('finding 5: the cost panel leaves out payments by agencies whose information the person withheld', async () => {
  const service = await db()
    .selectFrom('services')
    .select('id')
    .where('organisation_id', '=', orgs.probation.id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await ensureAccounts(db(), [
    { id: 'side-fund', kind: 'partner_contribution', name: 'Side contribution' },
    { id: 'side-spend', kind: 'spend', name: 'Side spend', serviceId: service.id },
  ]);
  await postTransactions(db(), [
    {
      id: 'side-tx-1',
      kind: 'spend',
      occurredOn: isoDaysAgo(20),
      description: 'Supervision',
      recordedBy: 'test',
      postings: [
        { accountId: 'side-spend', amountPence: 90_000, personId: target.id, serviceId: service.id },
        { accountId: 'side-fund', amountPence: -90_000 },
      ],
    },
  ]);
  await db()
    .insertInto('consent_directives')
    .values({
      person_id: target.id,
      category: 'finances',
      recipient_kind: 'network',
      recipient_id: null,
      purposes: ['direct_care', 'care_coordination'],
      decision: 'permit',
      valid_from: new Date(Date.now() - 40 * DAY),
      recorded_at: new Date(Date.now() - 40 * DAY),
      recorded_by: null,
      recorded_by_role: 'citizen',
      valid_until: null,
      withdrawn_at: null,
      withdrawn_by: null,
      note: null,
    })
    .execute();
  const practitioner = await page(await signIn(server.app, 'side-housing'), `/people/${target.id}`);
  assert.equal(practitioner.statusCode, 200);
  assert.ok(!practitioner.body.includes('£900'), 'the probation payment is not shown');
  assert.ok(!practitioner.body.includes('Probation'), 'nor is the payer named');
  const own = await page(await signIn(server.app, 'side-citizen'), `/people/${target.id}`);
  assert.ok(own.body.includes('£900'), 'the person sees their own spend');
});

test("finding 3: a parent's proxy ends on the child's 16th birthday", async () => {
  await person('p-side-teen', 'Tess', yearsAgo(16, -1));
  await person('p-side-parent', 'Paula', '1980-01-01');
  await db()
    .insertInto('proxies')
    .values({
      person_id: 'p-side-teen',
      proxy_person_id: 'p-side-parent',
      kind: 'parent',
      permitted_by: 'parental responsibility',
      valid_from: new Date(Date.now() - 400 * DAY),
      valid_until: null,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
  await createAccount(db(), {
    username: 'side-parent',
    displayName: 'Paula',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: 'p-side-parent',
  });
  const cookie = await signIn(server.app, 'side-parent');
  assert.equal((await page(cookie, '/people/p-side-teen')).statusCode, 403, "the 16-year-old's record is closed to the parent");
  assert.equal((await page(cookie, '/my-record/download.json?for=p-side-teen')).statusCode, 403, 'and so is the download');
  const change = await post(cookie, '/my-record/sharing?for=p-side-teen', {
    decision: 'permit',
    category: '*',
    recipient: 'network',
    purposes: 'direct_care',
  });
  assert.equal(change.statusCode, 403, 'the parent can no longer change the sharing');
  assert.equal((await db().selectFrom('consent_directives').select('id').where('person_id', '=', 'p-side-teen').execute()).length, 0);
});

test("finding 3: a carer's proxy ends with the caring relationship, and a child can end a parent's early", async () => {
  await person('p-side-cared', 'Cara', '1950-05-05');
  await person('p-side-carer', 'Kim', '1975-05-05');
  await sql`insert into relationships (person_id, related_person_id, type) values ('p-side-cared', 'p-side-carer', 'carer'), ('p-side-carer', 'p-side-cared', 'cared_for')`.execute(
    db(),
  );
  await db()
    .insertInto('proxies')
    .values({
      person_id: 'p-side-cared',
      proxy_person_id: 'p-side-carer',
      kind: 'carer',
      permitted_by: 'the person',
      valid_until: null,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
  await createAccount(db(), {
    username: 'side-carer',
    displayName: 'Kim',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: 'p-side-carer',
  });
  const carer = await signIn(server.app, 'side-carer');
  assert.equal((await page(carer, '/people/p-side-cared')).statusCode, 200, 'a carer in force acts for the person');
  // A practitioner in both people's network records that the caring relationship has ended.
  const prId = (await db().selectFrom('users').select('practitioner_id').where('username', '=', 'side-housing').executeTakeFirstOrThrow())
    .practitioner_id!;
  const team = await db().selectFrom('practitioners').select('team_id').where('id', '=', prId).executeTakeFirstOrThrow();
  for (const p of ['p-side-cared', 'p-side-carer']) {
    await db()
      .insertInto('care_relationships')
      .values({
        person_id: p,
        organisation_id: orgs.housing.id,
        team_id: team.team_id,
        practitioner_id: prId,
        kind: 'network',
        role_label: 'support',
        reason: 'test',
        ended_at: null,
        recorded_by: null,
      })
      .execute();
  }
  const { token } = await createApiTokenForUsername(db(), 'side-housing', 'side door test');
  const id = relationshipId('p-side-cared', 'p-side-carer', 'carer');
  const current = (await (
    await fetch(`${server.url}/fhir/RelatedPerson/${id}`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as Record<string, unknown>;
  const ended = await fetch(`${server.url}/fhir/RelatedPerson/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ ...current, active: false }),
  });
  assert.equal(ended.status, 200, await ended.clone().text());
  assert.equal((await page(carer, '/people/p-side-cared')).statusCode, 403, "the carer's access ended with the relationship");
  assert.equal((await page(carer, '/my-record/download.json?for=p-side-cared')).statusCode, 403);

  // A 14-year-old ends their parent's access early (Gillick competence): it ends at once.
  await person('p-side-child', 'Gil', yearsAgo(14));
  await person('p-side-mum', 'Mae', '1982-02-02');
  await db()
    .insertInto('proxies')
    .values({
      person_id: 'p-side-child',
      proxy_person_id: 'p-side-mum',
      kind: 'parent',
      permitted_by: 'parental responsibility',
      valid_until: null,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
  await createAccount(db(), {
    username: 'side-child',
    displayName: 'Gil',
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: 'p-side-child',
  });
  await createAccount(db(), { username: 'side-mum', displayName: 'Mae', role: 'citizen', password: DEMO_PASSWORD, personId: 'p-side-mum' });
  const mum = await signIn(server.app, 'side-mum');
  assert.equal((await page(mum, '/people/p-side-child')).statusCode, 200);
  const child = await signIn(server.app, 'side-child');
  const sharing = await page(child, '/my-record/sharing');
  assert.match(sharing.body, /People who can act for you/);
  const proxyId = (await db().selectFrom('proxies').select('id').where('person_id', '=', 'p-side-child').executeTakeFirstOrThrow()).id;
  assert.equal((await post(mum, `/my-record/proxies/${proxyId}/end`, {})).statusCode, 302, 'a proxy may step down');
  // (stepping down ended it; set it up again for the child to end)
  await db()
    .insertInto('proxies')
    .values({
      person_id: 'p-side-child',
      proxy_person_id: 'p-side-mum',
      kind: 'parent',
      permitted_by: 'parental responsibility',
      valid_until: null,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
  const again = (
    await db()
      .selectFrom('proxies')
      .select('id')
      .where('person_id', '=', 'p-side-child')
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow()
  ).id;
  const stranger = await signIn(server.app, 'side-carer');
  assert.equal((await post(stranger, `/my-record/proxies/${again}/end`, {})).statusCode, 403, 'nobody else can end it');
  assert.equal((await post(child, `/my-record/proxies/${again}/end`, {})).statusCode, 302);
  assert.equal((await page(mum, '/people/p-side-child')).statusCode, 403, "the child ended the parent's access");
  const ended2 = await db().selectFrom('proxies').select(['revoked_at', 'revoked_by']).where('id', '=', again).executeTakeFirstOrThrow();
  assert.ok(ended2.revoked_at && ended2.revoked_by, 'the ending is kept with who and when');
});

test('finding 3: safeguarding concerns are not shown to the child or their parent until a practitioner releases them', async () => {
  await person('p-side-kid', 'Kit', yearsAgo(9));
  await person('p-side-dad', 'Dan', '1979-03-03');
  await db()
    .insertInto('proxies')
    .values({
      person_id: 'p-side-kid',
      proxy_person_id: 'p-side-dad',
      kind: 'parent',
      permitted_by: 'parental responsibility',
      valid_until: null,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
  await db()
    .insertInto('person_events')
    .values({
      person_id: 'p-side-kid',
      organisation_id: orgs.children.id,
      type: 'safeguarding_concern',
      at: new Date(Date.now() - 5 * DAY),
      value: Number(SAFEGUARDING),
    })
    .execute();
  await createAccount(db(), { username: 'side-dad', displayName: 'Dan', role: 'citizen', password: DEMO_PASSWORD, personId: 'p-side-dad' });
  const dad = await signIn(server.app, 'side-dad');
  const record = await page(dad, '/people/p-side-kid');
  assert.equal(record.statusCode, 200, 'the parent still acts for the child');
  assert.ok(!record.body.includes(SAFEGUARDING), 'the concern is not on the page');
  const download = await page(dad, '/my-record/download.json?for=p-side-kid');
  assert.equal(download.statusCode, 200);
  assert.ok(!download.body.includes('safeguarding_concern') && !download.body.includes(SAFEGUARDING), 'nor in the download');
  const released = await db().selectFrom('users').select('id').where('role', '=', 'practitioner').executeTakeFirstOrThrow();
  await db()
    .insertInto('safeguarding_releases')
    .values({
      person_id: 'p-side-kid',
      released_by: released.id,
      reason: 'concern closed, family informed',
      withdrawn_at: null,
      withdrawn_by: null,
    })
    .execute();
  assert.ok(
    (await page(dad, '/my-record/download.json?for=p-side-kid')).body.includes('safeguarding_concern'),
    'once released, the family sees it',
  );
});

test('finding 4: the review queue is not a door to the person page', async () => {
  const source = await db()
    .insertInto('source_records')
    .values({
      source: 'side-upload',
      source_id: 'S-1',
      fields: { given_name: target.given_name, family_name: target.family_name, postcode: target.postcode },
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await sql`insert into persons (id, given_name, family_name) values ('p-side-upload', ${target.given_name}, ${target.family_name})`.execute(
    db(),
  );
  await db()
    .insertInto('record_links')
    .values({ source_record_id: source.id, person_id: 'p-side-upload', method: 'test_fixture', match_probability: 1, superseded_at: null })
    .execute();
  const review = await db()
    .insertInto('linkage_reviews')
    .values({
      source_record_id: source.id,
      candidate_person_id: target.id,
      compared_record_id: null,
      probability: 0.7,
      reason: 'uncertain',
      decided_by: null,
      decided_at: null,
      decision_reason: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const cookie = await signIn(server.app, 'dataquality');
  const record = await page(cookie, `/people/${target.id}`);
  assert.equal(record.statusCode, 403, "a reviewer cannot open the candidate's record");
  assert.ok(!record.body.includes(target.nhs_number) && !record.body.includes(target.phone));
  const item = await page(cookie, `/linkage/review/${review.id}`);
  assert.equal(item.statusCode, 200, 'the pair can still be reviewed');
  assert.ok(item.body.includes(target.family_name), 'names are compared');
  for (const [what, value] of [
    ['NHS number', target.nhs_number],
    ['phone', target.phone],
    ['birth date', target.birth_date],
  ] as const) {
    assert.ok(!item.body.includes(value), `the candidate's ${what} is not shown`);
  }
  assert.match(item.body, /Same|Not held|Different|Held/, 'each other field says how it compares');
});

test("finding 7: a commissioner's outcome contract shows payments by month, never a line per person", async () => {
  const cookie = await signIn(server.app, 'manager');
  const contract = await db().selectFrom('outcome_contracts').select('id').orderBy('id').executeTakeFirstOrThrow();
  const paid = await db()
    .selectFrom('outcome_payment_lines')
    .select(['person_id', 'evidence'])
    .where('contract_id', '=', contract.id)
    .execute();
  assert.ok(paid.length > 0, 'the demo contract has paid outcomes to hide');
  const response = await page(cookie, `/budgets/contracts/${contract.id}`);
  assert.equal(response.statusCode, 200);
  assert.match(response.body, /Payments by month/);
  assert.ok(!/Attendance \d|Tenancy started \d/.test(response.body), "no one's evidence (attendance figures, tenancy dates) is listed");
  for (const line of paid)
    assert.ok(
      !response.body.includes(line.person_id) && !response.body.includes(pseudonym(line.person_id)),
      'no person is named, even by id or pseudonym',
    );
});
