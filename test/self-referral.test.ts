// Residents asking services for help themselves, over HTTP: the finding (a citizen on a
// service's referral link got 403), refer-yourself signed in, as a proxy and not signed in,
// the person index's three answers (matched, new person, review) and a stranger typing someone
// else's name and date of birth, the receiving team's closed loop on what was typed, the write
// side (nobody refers someone else or acts on another organisation's request), and "What
// matters to me" landing in the right team's inbox with a call-back date.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};

/** The CSRF cookie and token of a signed-out visitor, and the form's own submission key. */
async function visitorForm(server: TestServer, url: string, cookie = '') {
  const page = await server.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
  assert.equal(page.statusCode, 200, page.body.slice(0, 400));
  const csrf = page.cookies.find((c) => c.name === 'joinery_csrf');
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  const submission = /name="submission" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token && submission, 'the form carries a CSRF token and a submission key');
  return { cookie: cookie || `joinery_csrf=${csrf!.value}`, token, submission, body: page.body };
}

const dob = (iso: string) => ({
  'dob-day': String(Number(iso.slice(8, 10))),
  'dob-month': String(Number(iso.slice(5, 7))),
  'dob-year': iso.slice(0, 4),
});

describe('self-referral and self-assessment', () => {
  let server: TestServer;
  let serviceId: string;
  let serviceOrg: string;
  let receiver: string;
  let otherOrgPractitioner: string;
  let citizenId: string;
  let address = 0;
  /** A fresh client address per anonymous post, so the per-address budget never decides a test by accident. */
  const nextAddress = () => `10.1.${Math.floor(++address / 250)}.${(address % 250) + 1}`;

  before(async () => {
    server = await startTestServer({ people: 2000, seed: 11 });
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    // A self-referral service for adults anywhere (no area limit), whose organisation has nothing to do with the demo citizen.
    const row = (
      await sql<{ id: string; organisation_id: string; practitioner_id: string }>`
      select s.id, s.organisation_id, p.id as practitioner_id from services s join practitioners p on p.team_id = s.team_id
      where s.accepts_self_referral and coalesce(s.min_age, 0) <= 18 and coalesce(s.max_age, 200) >= 90 and cardinality(s.locality_ids) = 0
        and not exists (select 1 from care_relationships r where r.person_id = ${citizenId} and r.organisation_id = s.organisation_id and r.ended_at is null)
      order by s.id, p.id limit 1`.execute(db)
    ).rows[0];
    assert.ok(row, 'a service accepting self-referral for adults anywhere');
    serviceId = row.id;
    serviceOrg = row.organisation_id;
    await createAccount(db, {
      username: 'sr-receiver',
      displayName: 'Receiving practitioner',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: row.practitioner_id,
      organisationId: row.organisation_id,
    });
    receiver = await signIn(server.app, 'sr-receiver');
    const other = (
      await sql<{
        id: string;
        organisation_id: string;
      }>`select id, organisation_id from practitioners where organisation_id <> ${serviceOrg} order by id limit 1`.execute(db)
    ).rows[0]!;
    await createAccount(db, {
      username: 'sr-other-org',
      displayName: 'Other organisation',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: other.id,
      organisationId: other.organisation_id,
    });
    otherOrgPractitioner = await signIn(server.app, 'sr-other-org');
  });
  after(async () => {
    await server?.close();
  });

  async function anonymousPost(values: Record<string, string | string[]>, key?: { cookie: string; token: string; submission: string }) {
    const f = key ?? (await visitorForm(server, `/services/${serviceId}/refer-yourself`));
    return server.app.inject({
      method: 'POST',
      url: `/services/${serviceId}/refer-yourself`,
      remoteAddress: nextAddress(),
      headers: { cookie: f.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...values, _csrf: f.token, submission: f.submission }),
    });
  }
  const validAnonymous = (over: Record<string, string> = {}) => ({
    given_name: 'Rowan',
    family_name: 'Tregarthen',
    ...dob('1979-06-14'),
    postcode: 'RV9 9ZZ',
    email: 'rowan@example.com',
    phone: '',
    preferred_contact: 'email',
    help: 'I am struggling to keep up with my rent and feel very alone.',
    urgency: 'routine',
    onward_consent: 'yes',
    access_needs: 'Large print letters please',
    ...over,
  });
  async function detailsOf(location: string) {
    const key = new URL(location, 'http://x').searchParams.get('key')!;
    return server.database.db
      .selectFrom('referral_self_details as d')
      .innerJoin('referrals as r', 'r.id', 'd.referral_id')
      .select([
        'r.id',
        'r.person_id',
        'r.relationship_id',
        'r.status',
        'r.kind',
        'r.from_organisation_id',
        'd.identity',
        'd.reference',
        'd.made_by',
      ])
      .where('d.submission_key', '=', key)
      .executeTakeFirstOrThrow();
  }

  test("finding: a citizen following a service's referral link is no longer refused (it was 403)", async () => {
    const citizen = await signIn(server.app, 'citizen');
    const link = await server.app.inject({ method: 'GET', url: `/referrals/new?service=${serviceId}`, headers: { cookie: citizen } });
    assert.notEqual(link.statusCode, 403);
    assert.equal(link.statusCode, 302);
    assert.equal(link.headers.location, `/services/${serviceId}/refer-yourself`);
    const page = await server.app.inject({ method: 'GET', url: link.headers.location, headers: { cookie: citizen } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Ask .+ for help/);
    assert.match(page.body, /What help do you need/);
  });

  test('a service that does not accept self-referral says so (404), for anyone', async () => {
    const closed = await server.database.db
      .selectFrom('services')
      .select('id')
      .where('accepts_self_referral', '=', false)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const page = await server.app.inject({ method: 'GET', url: `/services/${closed.id}/refer-yourself` });
    assert.equal(page.statusCode, 404);
    assert.match(page.body, /does not take requests from residents themselves/);
  });

  test('not signed in: mistakes are shown in the error summary with what was typed kept', async () => {
    const response = await anonymousPost(validAnonymous({ given_name: '', 'dob-month': '13', email: 'not-an-email', help: '' }));
    assert.equal(response.statusCode, 400);
    assert.match(response.body, /govuk-error-summary/);
    assert.match(response.body, /Enter your first name/);
    assert.match(response.body, /Date of birth must be a real date/);
    assert.match(response.body, /Enter an email address in the correct format/);
    assert.match(response.body, /Tell the service what help you need/);
    assert.match(response.body, /value="Tregarthen"/, 'what was typed is kept');
    assert.match(response.body, /Large print letters please/);
    assert.match(response.body, /href="#dob-day"/, 'the summary links to the date of birth');
    assert.match(response.body, /id="dob-month"[^>]*value="13"|value="13"/, 'the month typed is kept');
  });

  test("a resident's form with problems lists them in page order, links the first wrong date box, marks only the wrong boxes and writes nothing", async () => {
    const db = server.database.db;
    const written = async () => [
      (await db.selectFrom('referral_self_details').select('referral_id').execute()).length,
      (await db.selectFrom('source_records').select('id').where('source', '=', 'self_referral').execute()).length,
    ];
    const before = await written();
    const response = await anonymousPost(validAnonymous({ 'dob-year': '79', postcode: 'Nowhere', urgency: '' }));
    assert.equal(response.statusCode, 400);
    const summary = /govuk-error-summary__list">([\s\S]*?)<\/ul>/.exec(response.body)?.[1] ?? '';
    assert.deepEqual(
      [...summary.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]),
      ['dob-year', 'postcode', 'urgency'],
      'every problem, in page order, the date at its year box',
    );
    assert.match(response.body, /govuk-input--error" id="dob-year"/, 'the year box is marked');
    assert.doesNotMatch(response.body, /govuk-input--error" id="dob-(day|month)"/, 'the day and month are not');
    assert.match(response.body, /value="Nowhere"/, 'the postcode as typed');
    assert.match(response.body, /id="dob-year" name="dob-year" type="text" value="79"/);
    assert.deepEqual(await written(), before, 'no request and no record for the person index');
  });

  test("not signed in: eligibility is checked on what was typed, with the same rules as practitioners' referrals", async () => {
    const db = server.database.db;
    const child = await db
      .selectFrom('services')
      .select(['id', 'name', 'max_age'])
      .where('accepts_self_referral', '=', true)
      .where('max_age', 'is not', null)
      .where('max_age', '<', 30)
      .orderBy('id')
      .executeTakeFirst();
    if (!child) return;
    const f = await visitorForm(server, `/services/${child.id}/refer-yourself`);
    const response = await server.app.inject({
      method: 'POST',
      url: `/services/${child.id}/refer-yourself`,
      remoteAddress: nextAddress(),
      headers: { cookie: f.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...validAnonymous(), _csrf: f.token, submission: f.submission }),
    });
    assert.equal(response.statusCode, 400);
    assert.match(response.body, /is for people .*: you are \d+/);
    assert.equal(
      await db
        .selectFrom('referrals')
        .select('id')
        .where('service_id', '=', child.id)
        .where('kind', '=', 'self_referral')
        .executeTakeFirst(),
      undefined,
      'nothing sent',
    );
  });

  test('not signed in, a new person: a reference, how they will hear back, and nothing doubled by a second press', async () => {
    const f = await visitorForm(server, `/services/${serviceId}/refer-yourself`);
    const first = await anonymousPost(validAnonymous(), f);
    assert.equal(first.statusCode, 302, first.body.slice(0, 600));
    const again = await anonymousPost(validAnonymous(), f);
    assert.equal(again.statusCode, 302);
    assert.equal(again.headers.location, first.headers.location, 'the second press lands on the same confirmation');
    const d = await detailsOf(first.headers.location!);
    assert.equal(d.identity, 'new_person');
    assert.equal(d.made_by, 'not_signed_in');
    assert.equal(d.kind, 'self_referral');
    assert.equal(d.from_organisation_id, null);
    assert.equal(d.relationship_id, null, 'no relationship of care opened by a form nobody signed in to');
    const count = await server.database.db
      .selectFrom('referral_self_details')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('email', '=', 'rowan@example.com')
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 1, 'one referral for two presses');
    const sent = await server.app.inject({ method: 'GET', url: first.headers.location! });
    assert.equal(sent.statusCode, 200);
    assert.ok(sent.body.includes(d.reference));
    assert.match(sent.body, /will contact you by email/);
    assert.ok(!sent.body.includes('Tregarthen') && !sent.body.includes('rowan@example.com'), 'the confirmation repeats nothing personal');
  });

  test("the stranger attack: someone typing a known person's name and date of birth gains nothing, and the service sees only what was typed", async () => {
    const db = server.database.db;
    const victim = (
      await sql<{
        id: string;
        given_name: string;
        family_name: string;
        birth_date: string;
        postcode: string;
        email: string | null;
        phone: string | null;
        nhs_number: string | null;
      }>`
      select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, h.postcode, p.email, p.phone, p.nhs_number from persons p join households h on h.id = p.household_id
      where p.birth_date < current_date - interval '30 years' and p.phone is not null and p.nhs_number is not null and p.id <> ${citizenId}
        and not exists (select 1 from care_relationships r where r.person_id = p.id and r.organisation_id = ${serviceOrg})
        and not exists (select 1 from record_links l join source_records x on x.id = l.source_record_id join organisations o on o.source_code = x.source where l.person_id = p.id and o.id = ${serviceOrg})
      order by p.id limit 1`.execute(db)
    ).rows[0]!;
    const relationshipsBefore = await db.selectFrom('care_relationships').select('id').where('person_id', '=', victim.id).execute();
    // The stranger gives the victim's identity and the stranger's own way to be reached.
    const attack = await anonymousPost(
      validAnonymous({
        given_name: victim.given_name,
        family_name: victim.family_name,
        ...dob(victim.birth_date),
        postcode: victim.postcode,
        email: 'stranger@example.net',
        help: 'Please send me everything you hold about me.',
      }),
    );
    assert.equal(attack.statusCode, 302);
    const d = await detailsOf(attack.headers.location!);
    assert.equal(d.identity, 'matched', 'the person index filed it against the person it matched');
    assert.equal(d.person_id, victim.id);
    assert.equal(d.relationship_id, null);
    assert.deepEqual(
      (await db.selectFrom('care_relationships').select('id').where('person_id', '=', victim.id).execute()).length,
      relationshipsBefore.length,
      'no relationship of care opened',
    );

    // The stranger's confirmation is the same page a new person gets: nothing says anyone was known.
    const known = await server.app.inject({ method: 'GET', url: attack.headers.location! });
    const fresh = await anonymousPost(validAnonymous({ given_name: 'Zephyrine', family_name: 'Oddlyunique', email: 'zo@example.org' }));
    const unknown = await server.app.inject({ method: 'GET', url: fresh.headers.location! });
    assert.equal((await detailsOf(fresh.headers.location!)).identity, 'new_person');
    const strip = (html: string) =>
      html
        .replace(/SR-[A-Z0-9-]+/g, 'REF')
        .replace(/key=[a-f0-9-]+/g, 'key=K')
        .replace(/nonce="[^"]+"/g, '')
        .replace(/name="_csrf" value="[^"]+"/g, '');
    assert.equal(strip(known.body), strip(unknown.body), 'matched and new confirmations are identical');
    for (const secret of [victim.nhs_number!, victim.phone!, victim.email ?? 'no-email-held']) assert.ok(!known.body.includes(secret));

    // The receiving organisation sees what was typed, marked as a self-referral, not the record.
    const inbox = await server.app.inject({ method: 'GET', url: '/referrals/inbox?status=open', headers: { cookie: receiver } });
    assert.match(inbox.body, /Self-referral/);
    assert.ok(inbox.body.includes(`${victim.given_name} ${victim.family_name} (as given)`));
    assert.ok(inbox.body.includes('stranger@example.net'), 'with the preferred contact');
    const page = await server.app.inject({ method: 'GET', url: `/referrals/${d.id}`, headers: { cookie: receiver } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /without signing in, so who they are has not been confirmed/);
    assert.ok(page.body.includes('stranger@example.net'));
    for (const secret of [victim.nhs_number!, victim.phone!, ...(victim.email ? [victim.email] : [])])
      assert.ok(!page.body.includes(secret), 'nothing from the matched record');
    assert.ok(!page.body.includes(`/people/${victim.id}`), 'no way into the record');
    const record = await server.app.inject({ method: 'GET', url: `/people/${victim.id}`, headers: { cookie: receiver } });
    assert.equal(record.statusCode, 403, "the person's record stays closed to the receiving organisation");

    // The closed loop works on the request itself: acknowledge and accept.
    for (const step of ['acknowledge', 'accept']) {
      const token = await csrfTokenFor(server.app, receiver, `/referrals/${d.id}`);
      const moved = await server.app.inject({
        method: 'POST',
        url: `/referrals/${d.id}/${step}`,
        headers: { cookie: receiver, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: token }),
      });
      assert.equal(moved.statusCode, 302, `${step}: ${moved.body.slice(0, 300)}`);
    }
    assert.equal((await db.selectFrom('referrals').select('status').where('id', '=', d.id).executeTakeFirstOrThrow()).status, 'accepted');
    // First contact (by the way they asked) and completion, the rest of the same loop.
    const { ukDate } = await import('../src/referrals/working-days.ts');
    const today = ukDate(new Date());
    for (const [step, values] of [
      [
        'start',
        {
          'contact-day': String(Number(today.slice(8, 10))),
          'contact-month': String(Number(today.slice(5, 7))),
          'contact-year': today.slice(0, 4),
          method: 'other',
        },
      ],
      ['complete', { note: 'Talked it through by email' }],
    ] as const) {
      const token = await csrfTokenFor(server.app, receiver, `/referrals/${d.id}`);
      const moved = await server.app.inject({
        method: 'POST',
        url: `/referrals/${d.id}/${step}`,
        headers: { cookie: receiver, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: token, ...values }),
      });
      assert.equal(moved.statusCode, 302, `${step}: ${moved.body.slice(0, 300)}`);
    }
    assert.equal((await db.selectFrom('referrals').select('status').where('id', '=', d.id).executeTakeFirstOrThrow()).status, 'completed');
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/people/${victim.id}`, headers: { cookie: receiver } })).statusCode,
      403,
      'accepting opens no door either',
    );

    // Nor is what a stranger typed part of the person's record for anyone else: a practitioner in
    // their care sees no such request in the FHIR API, and the receiving service cannot read it there either.
    const carer = (
      await sql<{
        id: string;
        organisation_id: string;
      }>`select id, organisation_id from practitioners where organisation_id <> ${serviceOrg} order by id desc limit 1`.execute(db)
    ).rows[0]!;
    await db
      .insertInto('care_relationships')
      .values({
        person_id: victim.id,
        organisation_id: carer.organisation_id,
        team_id: null,
        practitioner_id: carer.id,
        kind: 'network',
        role_label: 'support',
        reason: 'test fixture',
        ended_at: null,
        recorded_by: null,
      })
      .execute();
    await createAccount(db, {
      username: 'sr-carer',
      displayName: 'In their care',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: carer.id,
      organisationId: carer.organisation_id,
    });
    for (const username of ['sr-carer', 'sr-receiver']) {
      const { token } = await createApiTokenForUsername(db, username, 'self-referral test');
      const search = await fetch(`${server.url}/fhir/ServiceRequest?patient=${victim.id}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      });
      assert.ok(!(await search.text()).includes(d.id), `${username}: the typed request is not in the FHIR API`);
      const read = await fetch(`${server.url}/fhir/Task/${d.id}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      });
      assert.ok(read.status === 404 || read.status === 403, `${username}: Task read ${read.status}`);
    }
  });

  test('the write side: a practitioner of another organisation can neither see nor act on a self-referral', async () => {
    const sent = await anonymousPost(validAnonymous({ given_name: 'Ottoline', family_name: 'Quarrender', email: 'oq@example.org' }));
    const d = await detailsOf(sent.headers.location!);
    const view = await server.app.inject({ method: 'GET', url: `/referrals/${d.id}`, headers: { cookie: otherOrgPractitioner } });
    assert.equal(view.statusCode, 403);
    assert.ok(!view.body.includes('Quarrender'));
    const token = await csrfTokenFor(server.app, otherOrgPractitioner);
    for (const step of ['acknowledge', 'accept', 'cancel']) {
      const moved = await server.app.inject({
        method: 'POST',
        url: `/referrals/${d.id}/${step}`,
        headers: { cookie: otherOrgPractitioner, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: token, reason: 'taking over' }),
      });
      assert.equal(moved.statusCode, 403, step);
    }
    const bulk = await server.app.inject({
      method: 'POST',
      url: '/referrals/bulk',
      headers: { cookie: otherOrgPractitioner, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ _csrf: token, ids: d.id, action: 'acknowledge' }),
    });
    assert.equal(bulk.statusCode, 302);
    assert.match(bulk.headers.location!, /done=0&refused=1/);
    assert.equal(
      (await server.database.db.selectFrom('referrals').select('status').where('id', '=', d.id).executeTakeFirstOrThrow()).status,
      'sent',
    );
    // Nor may a visitor without the form's CSRF token send one.
    const forged = await server.app.inject({
      method: 'POST',
      url: `/services/${serviceId}/refer-yourself`,
      remoteAddress: nextAddress(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(validAnonymous()),
    });
    assert.equal(forged.statusCode, 403);
  });

  test('a declined self-referral is handed on only if the person agreed; the typed details travel with it', async () => {
    const db = server.database.db;
    const onward = (
      await sql<{
        id: string;
      }>`select id from services where id <> ${serviceId} and coalesce(min_age, 0) <= 40 and coalesce(max_age, 200) >= 50 and cardinality(locality_ids) = 0 order by id limit 1`.execute(
        db,
      )
    ).rows[0]!;
    const noConsent = await detailsOf(
      (await anonymousPost(validAnonymous({ family_name: 'Askmefirst', email: 'amf@example.org', onward_consent: 'no' }))).headers
        .location!,
    );
    const token = await csrfTokenFor(server.app, receiver, `/referrals/${noConsent.id}`);
    const refused = await server.app.inject({
      method: 'POST',
      url: `/referrals/${noConsent.id}/decline`,
      headers: { cookie: receiver, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ _csrf: token, reason: 'We do not cover this', onward: onward.id }),
    });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /asked to be asked before their request is passed on/);
    const yes = await detailsOf(
      (await anonymousPost(validAnonymous({ family_name: 'Passiton', email: 'pio@example.org' }))).headers.location!,
    );
    const handed = await server.app.inject({
      method: 'POST',
      url: `/referrals/${yes.id}/decline`,
      headers: { cookie: receiver, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ _csrf: token, reason: 'We do not cover this', onward: onward.id }),
    });
    assert.equal(handed.statusCode, 302, handed.body.slice(0, 500));
    const next = await db
      .selectFrom('referrals')
      .select(['id', 'kind', 'relationship_id'])
      .where('onward_from_id', '=', yes.id)
      .executeTakeFirstOrThrow();
    assert.equal(next.kind, 'self_referral');
    assert.equal(next.relationship_id, null, 'handing on opens no relationship either');
    const copied = await db
      .selectFrom('referral_self_details')
      .select(['email', 'family_name'])
      .where('referral_id', '=', next.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(copied, { email: 'pio@example.org', family_name: 'Passiton' });
  });

  test('signed in: the person refers themselves, the service may see them, and they see every step', async () => {
    const db = server.database.db;
    const citizen = await signIn(server.app, 'citizen');
    // Sharing choices with this organisation held before (the demo's household referral may have
    // recorded some): what this referral adds is compared on its own.
    const sharingWithService = () =>
      db
        .selectFrom('consent_directives')
        .select(['id', 'category', 'recorded_for'])
        .where('person_id', '=', citizenId)
        .where('recipient_id', '=', serviceOrg)
        .where('withdrawn_at', 'is', null)
        .execute();
    const heldBefore = new Set((await sharingWithService()).map((row) => row.id));
    const f = await visitorForm(server, `/services/${serviceId}/refer-yourself`, citizen);
    assert.ok(!f.body.includes('name="given_name"'), 'a signed-in resident is not asked who they are');
    const sent = await server.app.inject({
      method: 'POST',
      url: `/services/${serviceId}/refer-yourself`,
      headers: { cookie: citizen, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({
        _csrf: f.token,
        submission: f.submission,
        email: 'me@example.com',
        phone: '07700 900982',
        preferred_contact: 'phone',
        help: 'I would like help to get out and meet people.',
        urgency: 'soon',
        onward_consent: 'yes',
        categories: 'housing',
      }),
    });
    assert.equal(sent.statusCode, 302, sent.body.slice(0, 500));
    const d = await detailsOf(sent.headers.location!);
    assert.equal(d.identity, 'signed_in');
    assert.equal(d.made_by, 'person');
    assert.equal(d.person_id, citizenId);
    assert.ok(
      d.relationship_id !== null,
      "the receiving organisation's relationship of care opens, as for any referral the person agreed to",
    );
    const added = (await sharingWithService())
      .filter((row) => !heldBefore.has(row.id))
      .map(({ category, recorded_for }) => ({ category, recorded_for }));
    assert.deepEqual(added, [{ category: 'housing', recorded_for: 'person' }], 'what they chose to share, in their own word');
    const token = await csrfTokenFor(server.app, receiver, `/referrals/${d.id}`);
    const ack = await server.app.inject({
      method: 'POST',
      url: `/referrals/${d.id}/acknowledge`,
      headers: { cookie: receiver, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ _csrf: token }),
    });
    assert.equal(ack.statusCode, 302);
    const mine = await server.app.inject({ method: 'GET', url: '/my-referrals', headers: { cookie: citizen } });
    assert.equal(mine.statusCode, 200);
    assert.match(mine.body, /Self-referral/);
    assert.ok(mine.body.includes(d.reference));
    assert.match(mine.body, /Acknowledged/);
  });

  test('signed in: a citizen cannot refer someone else; a proxy refers the person they act for, recorded as such', async () => {
    const db = server.database.db;
    const people = await db
      .selectFrom('persons')
      .select('id')
      .where('id', '<>', citizenId)
      .where('birth_date', '<', '1990-01-01')
      .orderBy('id')
      .limit(2)
      .execute();
    const [stranger, cared] = [people[0]!.id, people[1]!.id];
    await db
      .insertInto('proxies')
      .values({
        person_id: cared,
        proxy_person_id: citizenId,
        kind: 'carer',
        permitted_by: 'the person',
        valid_until: null,
        revoked_at: null,
        revoked_by: null,
      })
      .execute();
    const citizen = await signIn(server.app, 'citizen');
    const post = async (forPerson: string) => {
      const f = await visitorForm(server, `/services/${serviceId}/refer-yourself`, citizen);
      return server.app.inject({
        method: 'POST',
        url: `/services/${serviceId}/refer-yourself`,
        headers: { cookie: citizen, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({
          _csrf: f.token,
          submission: f.submission,
          for: forPerson,
          email: 'carer@example.com',
          preferred_contact: 'email',
          help: 'They need help with getting out.',
          urgency: 'routine',
          onward_consent: 'no',
        }),
      });
    };
    const before = (await db.selectFrom('referrals').select('id').where('person_id', '=', stranger).execute()).length;
    const refused = await post(stranger);
    assert.equal(refused.statusCode, 403);
    assert.equal(
      (await db.selectFrom('referrals').select('id').where('person_id', '=', stranger).execute()).length,
      before,
      'nothing sent',
    );
    const denial = await db
      .selectFrom('audit_events')
      .select('seq')
      .where('person_id', '=', stranger)
      .where('decision', '=', 'deny')
      .executeTakeFirst();
    assert.ok(denial, 'the refusal is on the audit record');
    const page = await server.app.inject({ method: 'GET', url: `/services/${serviceId}/refer-yourself`, headers: { cookie: citizen } });
    assert.match(page.body, /Who needs help\?/);
    const asProxy = await post(cared);
    assert.equal(asProxy.statusCode, 302, asProxy.body.slice(0, 400));
    const d = await detailsOf(asProxy.headers.location!);
    assert.equal(d.person_id, cared);
    assert.equal(d.made_by, 'proxy');
    const history = await db.selectFrom('referral_events').select('by_label').where('referral_id', '=', d.id).executeTakeFirstOrThrow();
    assert.match(history.by_label, /acting for the person/);
    const theirs = await server.app.inject({ method: 'GET', url: `/my-referrals?for=${cared}`, headers: { cookie: citizen } });
    assert.equal(theirs.statusCode, 200);
    assert.ok(theirs.body.includes(d.reference));
    const notTheirs = await server.app.inject({ method: 'GET', url: `/my-referrals?for=${stranger}`, headers: { cookie: citizen } });
    assert.equal(notTheirs.statusCode, 403);
  });

  test('what matters to me: a form with problems links each and keeps what was typed, writing nothing; a bad form for someone they do not act for is refused without their name', async () => {
    const db = server.database.db;
    const citizen = await signIn(server.app, 'citizen');
    const f = await visitorForm(server, '/my-record/what-matters', citizen);
    const requests = async () => (await db.selectFrom('referral_self_details').select('referral_id').execute()).length;
    const before = await requests();
    const postWhatMatters = (values: Record<string, string | string[]>, url = '/my-record/what-matters') =>
      server.app.inject({
        method: 'POST',
        url,
        headers: { cookie: citizen, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: f.token, submission: f.submission, ...values }),
      });
    const bad = await postWhatMatters({
      needs: 'no_such_need',
      what_matters: 'My garden',
      email: 'me at home',
      preferred_contact: 'email',
    });
    assert.equal(bad.statusCode, 400);
    const summary = /govuk-error-summary__list">([\s\S]*?)<\/ul>/.exec(bad.body)?.[1] ?? '';
    assert.deepEqual(
      [...summary.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]),
      ['needs', 'email'],
    );
    assert.match(bad.body, /value="me at home"/, 'the email as typed');
    assert.match(bad.body, /My garden/);
    assert.equal(await requests(), before, 'nothing sent');
    const stranger = await db
      .selectFrom('persons')
      .select(['id', 'given_name', 'family_name'])
      .where('id', '<>', citizenId)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('proxies').select('id').whereRef('proxies.person_id', '=', 'persons.id'))))
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const refused = await postWhatMatters({ for: stranger.id, what_matters: '' });
    assert.equal(refused.statusCode, 403);
    assert.ok(!refused.body.includes(`${stranger.given_name} ${stranger.family_name}`), 'their name is not shown');
    assert.equal(await requests(), before);
  });

  test('the signed-out form has a budget per address: the 21st send in an hour is refused', async () => {
    const f = await visitorForm(server, `/services/${serviceId}/refer-yourself`);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const response = await server.app.inject({
        method: 'POST',
        url: `/services/${serviceId}/refer-yourself`,
        remoteAddress: '10.99.99.99',
        headers: { cookie: f.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: f.token, submission: f.submission, given_name: 'Flood' }),
      });
      statuses.push(response.statusCode);
    }
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(400), 'mistakes are shown, up to the budget');
    assert.equal(statuses[20], 429);
  });

  test('other roles do not refer themselves: a practitioner is sent to the professional referral', async () => {
    const page = await server.app.inject({ method: 'GET', url: `/services/${serviceId}/refer-yourself`, headers: { cookie: receiver } });
    assert.equal(page.statusCode, 403);
  });

  test("the person index's review: an uncertain match waits on a provisional person, and the service sees only what was typed", async () => {
    const db = server.database.db;
    const { sendSelfReferral } = await import('../src/referrals/self-referral.ts');
    const { newSubmissionKey } = await import('../src/referrals/self-details.ts');
    const people = (
      await sql<{ given_name: string; family_name: string; birth_date: string; postcode: string }>`
      select p.given_name, p.family_name, p.birth_date::text as birth_date, h.postcode from persons p join households h on h.id = p.household_id
      where p.birth_date < current_date - interval '25 years' order by p.id desc limit 150`.execute(db)
    ).rows;
    let review: Awaited<ReturnType<typeof sendSelfReferral>> | undefined;
    for (const p of people) {
      // An initial, the right surname and postcode, and only the year of birth right: what the index cannot settle alone.
      const sent = await sendSelfReferral(db, null, null, {
        serviceId,
        submissionKey: newSubmissionKey(),
        help: 'Help please with money',
        urgency: 'routine',
        onwardConsent: true,
        categories: [],
        contact: {
          givenName: p.given_name.slice(0, 1),
          familyName: p.family_name,
          birthDate: `${p.birth_date.slice(0, 4)}-01-01`,
          postcode: p.postcode,
          email: 'r@example.org',
          phone: null,
          preferredContact: 'email',
          accessNeeds: null,
        },
      });
      const d = await db
        .selectFrom('referral_self_details')
        .select('identity')
        .where('referral_id', '=', sent.referralId)
        .executeTakeFirstOrThrow();
      if (d.identity === 'review') {
        review = sent;
        break;
      }
    }
    assert.ok(review, 'a self-referral reaches the review queue');
    const r = await db
      .selectFrom('referrals')
      .select(['person_id', 'relationship_id'])
      .where('id', '=', review.referralId)
      .executeTakeFirstOrThrow();
    assert.equal(r.relationship_id, null);
    const open = await sql<{
      n: number;
    }>`select count(*)::int as n from linkage_reviews i join referral_self_details d on d.source_record_id = i.source_record_id where d.referral_id = ${review.referralId}`.execute(
      db,
    );
    assert.ok(Number(open.rows[0]!.n) >= 1, 'a review item waits for the data-quality officer');
    const page = await server.app.inject({ method: 'GET', url: `/referrals/${review.referralId}`, headers: { cookie: receiver } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /who they are has not been confirmed/);
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/people/${r.person_id}`, headers: { cookie: receiver } })).statusCode,
      403,
    );
  });

  test("what matters to me: routed by need to a team in the person's area, with a call-back date, in the same closed loop", async () => {
    const db = server.database.db;
    const citizen = await signIn(server.app, 'citizen');
    const anonymous = await server.app.inject({ method: 'GET', url: '/my-record/what-matters' });
    assert.equal(anonymous.statusCode, 302, 'not signed in: asked to sign in');
    const f = await visitorForm(server, '/my-record/what-matters', citizen);
    assert.match(f.body, /What matters to you/);
    const bad = await server.app.inject({
      method: 'POST',
      url: '/my-record/what-matters',
      headers: { cookie: citizen, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({
        _csrf: f.token,
        submission: f.submission,
        what_matters: 'Staying in my home',
        email: 'me@example.com',
        preferred_contact: 'email',
      }),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Choose at least one kind of help you need/);
    assert.match(bad.body, /Staying in my home/);
    const sent = await server.app.inject({
      method: 'POST',
      url: '/my-record/what-matters',
      headers: { cookie: citizen, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({
        _csrf: f.token,
        submission: f.submission,
        what_matters: 'Staying in my home and seeing friends',
        needs: ['social_isolation'],
        help: 'Someone to go with me to a group',
        email: 'me@example.com',
        preferred_contact: 'email',
        about_me: 'yes',
      }),
    });
    assert.equal(sent.statusCode, 302, sent.body.slice(0, 500));
    const key = new URL(sent.headers.location!, 'http://x').searchParams.get('key')!;
    const r = await db
      .selectFrom('referral_self_details as d')
      .innerJoin('referrals as r', 'r.id', 'd.referral_id')
      .innerJoin('services as s', 's.id', 'r.service_id')
      .select(['r.id', 'r.kind', 'r.first_contact_due', 's.needs', 'r.organisation_id', 'd.what_matters'])
      .where('d.submission_key', '=', key)
      .executeTakeFirstOrThrow();
    assert.equal(r.kind, 'self_assessment');
    assert.ok(r.needs.includes('social_isolation'), 'the service meets the need chosen');
    assert.equal(r.what_matters, 'Staying in my home and seeing friends');
    const aboutMe = await db
      .selectFrom('about_me_versions')
      .select(['what_matters', 'how_to_support'])
      .where('person_id', '=', citizenId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      aboutMe,
      { what_matters: 'Staying in my home and seeing friends', how_to_support: 'Someone to go with me to a group' },
      'kept as their "about me", for every assessment to prefill',
    );
    const confirmation = await server.app.inject({ method: 'GET', url: sent.headers.location!, headers: { cookie: citizen } });
    assert.equal(confirmation.statusCode, 200);
    const { writtenDay } = await import('../src/platform/dates.ts');
    assert.ok(confirmation.body.includes(writtenDay(String(r.first_contact_due).slice(0, 10))), 'the promised call-back date');
    const otherCitizenView = await server.app.inject({ method: 'GET', url: sent.headers.location!, headers: { cookie: receiver } });
    assert.equal(otherCitizenView.statusCode, 404, "the confirmation is the sender's");
    const mine = await server.app.inject({ method: 'GET', url: '/my-referrals', headers: { cookie: citizen } });
    assert.match(mine.body, /Self-assessment/);
  });
});
