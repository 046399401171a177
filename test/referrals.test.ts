// Closed-loop referrals over HTTP: send → acknowledge → decline without onward refused →
// decline with onward creates the onward referral → accept → complete, the person seeing each
// step, and the receiving team gaining and then losing access to the person as referrals open
// and close. Also: consent, bulk actions with CSRF, worklists, pathways and the flow view.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';
import { endRelationship } from '../src/consent/index.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { ukDate } from '../src/referrals/working-days.ts';

/** The day, month and year fields of a GOV.UK date input for a calendar date. */
const dayFields = (iso: string) => ({
  'contact-day': String(Number(iso.slice(8, 10))),
  'contact-month': String(Number(iso.slice(5, 7))),
  'contact-year': iso.slice(0, 4),
});

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};

describe('closed-loop referrals', () => {
  let server: TestServer;
  let citizenId: string;
  before(async () => {
    server = await startTestServer({ people: 2500, seed: 11 });
    citizenId = (
      await server.database.db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()
    ).person_id!;
  });
  after(async () => {
    await server?.close();
  });

  async function post(cookie: string, url: string, values: Record<string, string | string[]>, tokenPage = '/home') {
    const token = await csrfTokenFor(server.app, cookie, tokenPage);
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...values, _csrf: token }),
    });
  }
  const get = (cookie: string, url: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });
  /** Sends a referral from the person's referral form; returns its id. */
  async function sendReferral(cookie: string, personId: string, values: Record<string, string | string[]>): Promise<string> {
    const sent = await post(cookie, `/people/${personId}/refer`, values, `/people/${personId}/refer`);
    assert.equal(sent.statusCode, 302, sent.body.slice(0, 500));
    return sent.headers.location!.replace(/^\/referrals\//, '').replace(/\?.*$/, '');
  }

  /** A service whose organisation has nothing to do with the person yet, and an account in its team. */
  async function strangerService(
    personId: string,
    username: string,
    excludeOrgs: string[] = [],
    kinds = ['charity', 'housing_association', 'drug_alcohol_service', 'probation', 'mental_health_trust'],
    withoutLawfulBasis = true,
  ) {
    const db = server.database.db;
    const row = (
      await sql<{ service_id: string; organisation_id: string; practitioner_id: string; name: string }>`
      select s.id as service_id, s.organisation_id, p.id as practitioner_id, s.name from services s
      join practitioners p on p.team_id = s.team_id
      join organisations o on o.id = s.organisation_id
      where o.kind = any(${kinds}::text[])
        and s.organisation_id <> all(${excludeOrgs}::text[])
        and not exists (select 1 from care_relationships r where r.person_id = ${personId} and r.organisation_id = s.organisation_id and r.ended_at is null)
        and not exists (select 1 from record_links l join source_records x on x.id = l.source_record_id where l.person_id = ${personId} and l.superseded_at is null and x.source = o.source_code)
        and (not ${withoutLawfulBasis} or not exists (select 1 from lawful_bases b where b.person_id = ${personId}))
        and (select date_part('year', age(current_date, q.birth_date)) from persons q where q.id = ${personId}) between coalesce(s.min_age, 0) and coalesce(s.max_age, 200)
      order by s.id, p.id limit 1`.execute(db)
    ).rows[0];
    assert.ok(row, 'a service unrelated to the person exists');
    await createAccount(db, {
      username,
      displayName: `Receiver ${username}`,
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: row.practitioner_id,
      organisationId: row.organisation_id,
    });
    return { ...row, cookie: await signIn(server.app, username) };
  }

  const statusOf = async (id: string) =>
    await server.database.db
      .selectFrom('referrals')
      .select(['status', 'onward_referral_id', 'onward_from_id'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  test('the demo place has referral histories in every state, overdue ones, and every decline handed on', async () => {
    const db = server.database.db;
    const counts = (await sql<{ status: string; n: number }>`select status, count(*) as n from referrals group by status`.execute(db)).rows;
    const total = counts.reduce((s, c) => s + Number(c.n), 0);
    assert.ok(total >= 300, `a few hundred referrals (${total})`);
    for (const status of ['sent', 'received', 'accepted', 'declined', 'in_progress', 'completed', 'cancelled'])
      assert.ok(
        counts.some((c) => c.status === status),
        status,
      );
    const orphans = await sql<{
      n: number;
    }>`select count(*) as n from referrals d left join referrals o on o.id = d.onward_referral_id where d.status = 'declined' and (o.id is null or o.onward_from_id <> d.id)`.execute(
      db,
    );
    assert.equal(Number(orphans.rows[0]!.n), 0, 'every declined referral links to its onward referral');
    const overdue = await sql<{
      n: number;
    }>`select count(*) as n from referrals where (status = 'sent' and acknowledge_due < current_date) or (status in ('sent','received','accepted') and first_contact_due < current_date)`.execute(
      db,
    );
    assert.ok(Number(overdue.rows[0]!.n) > 0, 'some referrals are overdue');
    // The stored status is always the last step of the history.
    const mismatched = await sql<{
      n: number;
    }>`select count(*) as n from referrals r where r.status <> (select e.to_status from referral_events e where e.referral_id = r.id order by e.at desc, e.id desc limit 1)`.execute(
      db,
    );
    assert.equal(Number(mismatched.rows[0]!.n), 0);
  });

  test('send → acknowledge → decline refused without onward → decline with onward → accept → complete, seen by the person, access following the referral', async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    const citizen = await signIn(server.app, 'citizen');
    const first = await strangerService(citizenId, 'receiver-one');
    const onward = await strangerService(citizenId, 'receiver-two', [first.organisation_id]);

    assert.equal((await get(first.cookie, `/people/${citizenId}`)).statusCode, 403, 'no access before the referral');
    const form = await get(practitioner, `/people/${citizenId}/refer`);
    assert.equal(form.statusCode, 200);
    assert.match(
      form.body,
      /waiting, (typically \d+ days to first contact|typical wait not yet known)/,
      "referrers see each service's waiting list",
    );

    const sent = await post(
      practitioner,
      `/people/${citizenId}/refer`,
      {
        service: first.service_id,
        reason: 'Needs help to stay well at home.',
        words: 'I want to stay independent.',
        urgency: 'soon',
        consent: 'given',
        categories: ['demographics', 'social_care'],
        onward_consent: 'yes',
      },
      `/people/${citizenId}/refer`,
    );
    assert.equal(sent.statusCode, 302, sent.body.slice(0, 300));
    const id = sent.headers.location!.replace('/referrals/', '').replace(/\?.*$/, '');
    assert.equal((await statusOf(id)).status, 'sent');
    const directives = await server.database.db
      .selectFrom('consent_directives')
      .select(['category'])
      .where('person_id', '=', citizenId)
      .where('recipient_id', '=', first.organisation_id)
      .where('withdrawn_at', 'is', null)
      .execute();
    assert.deepEqual(
      directives.map((d) => d.category).sort(),
      ['demographics', 'social_care'],
      'consent recorded as sharing choices for the receiving organisation',
    );
    assert.equal(
      (await get(first.cookie, `/people/${citizenId}`)).statusCode,
      200,
      'the open referral gives the receiving team a relationship',
    );
    let mine = await get(citizen, '/my-referrals');
    assert.ok(mine.body.includes(first.name) && mine.body.includes('Sent'), 'the person sees the referral');

    const inbox = await get(first.cookie, '/referrals/inbox');
    assert.ok(inbox.body.includes(`/referrals/${id}`), 'in the receiving inbox');
    assert.equal((await post(first.cookie, `/referrals/${id}/acknowledge`, {})).statusCode, 302);
    mine = await get(citizen, '/my-referrals');
    assert.ok(mine.body.includes('Acknowledged'));

    const refused = await post(first.cookie, `/referrals/${id}/decline`, { reason: 'We cannot help with this.', onward: '' });
    assert.equal(refused.statusCode, 400);
    assert.ok(refused.body.includes('Choose a service to hand this referral on to, so nobody is dropped'));
    assert.equal((await statusOf(id)).status, 'received', 'a refused decline changes nothing');
    const noReason = await post(first.cookie, `/referrals/${id}/decline`, { reason: '', onward: onward.service_id });
    assert.equal(noReason.statusCode, 400);

    const declined = await post(first.cookie, `/referrals/${id}/decline`, { reason: 'Outside our criteria.', onward: onward.service_id });
    assert.equal(declined.statusCode, 302);
    const after = await statusOf(id);
    assert.equal(after.status, 'declined');
    assert.ok(after.onward_referral_id);
    const onwardRow = await statusOf(after.onward_referral_id!);
    assert.equal(onwardRow.status, 'sent');
    assert.equal(onwardRow.onward_from_id, id);
    assert.equal(
      (await get(first.cookie, `/people/${citizenId}`)).statusCode,
      403,
      'the declining team loses access when the referral closes',
    );
    // Its inbox still lists the referral, but no longer says who it was about.
    const named = await server.database.db
      .selectFrom('persons')
      .select(['given_name', 'family_name'])
      .where('id', '=', citizenId)
      .executeTakeFirstOrThrow();
    const closedList = await get(first.cookie, '/referrals/inbox?status=declined');
    assert.ok(closedList.body.includes('Name not shown: referral closed'), 'the closed referral is listed without a name');
    assert.ok(
      !closedList.body.includes(html(`${named.given_name} ${named.family_name}`)),
      "the person's name is not on the declining team's list",
    );
    assert.equal((await get(onward.cookie, `/people/${citizenId}`)).statusCode, 200, 'the onward team gains it');
    const carried = await server.database.db
      .selectFrom('consent_directives')
      .select('category')
      .where('person_id', '=', citizenId)
      .where('recipient_id', '=', onward.organisation_id)
      .execute();
    assert.deepEqual(
      carried.map((d) => d.category).sort(),
      ['demographics', 'social_care'],
      'what the person agreed travels with the onward referral',
    );
    mine = await get(citizen, '/my-referrals');
    assert.ok(mine.body.includes('Declined and handed on') && mine.body.includes(onward.name));

    const onwardId = after.onward_referral_id!;
    const onwardPage = await get(onward.cookie, `/referrals/${onwardId}`);
    assert.ok(onwardPage.body.includes(`href="/referrals/${id}"`), 'the onward referral links to the one it came from');
    for (const [action, status, shown] of [
      ['acknowledge', 'received', 'Acknowledged'],
      ['accept', 'accepted', 'Accepted'],
      ['start', 'in_progress', 'First contact made'],
      ['complete', 'completed', 'Completed'],
    ] as const) {
      const contact = { ...dayFields(ukDate(new Date())), method: 'phone' };
      const response = await post(
        onward.cookie,
        `/referrals/${onwardId}/${action}`,
        action === 'complete' ? { note: 'Support finished.' } : action === 'start' ? contact : {},
      );
      assert.equal(response.statusCode, 302, action);
      assert.equal((await statusOf(onwardId)).status, status);
      assert.ok((await get(citizen, '/my-referrals')).body.includes(shown), `the person sees "${shown}"`);
    }
    assert.equal((await get(onward.cookie, `/people/${citizenId}`)).statusCode, 403, 'access ends when the referral completes');
    const again = await post(onward.cookie, `/referrals/${onwardId}/accept`, {});
    assert.equal(again.statusCode, 409, 'a closed referral cannot move');
    const history = await server.database.db
      .selectFrom('referral_events')
      .select('action')
      .where('referral_id', '=', onwardId)
      .orderBy('id')
      .execute();
    assert.deepEqual(
      history.map((h) => h.action),
      ['send', 'acknowledge', 'accept', 'start', 'complete'],
    );
    const detail = await get(practitioner, `/referrals/${id}`);
    assert.ok(detail.body.includes('Handed on to'), 'the referrer sees where it went');
    await assert.rejects(sql`update referral_events set note = 'x' where referral_id = ${id}`.execute(server.database.db), /append-only/);
  });

  test('without consent a referral needs a recorded lawful basis', async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    const db = server.database.db;
    const service = await db.selectFrom('services').select('id').orderBy('id').executeTakeFirstOrThrow();
    await db.updateTable('lawful_bases').set({ ended_at: new Date() }).where('person_id', '=', citizenId).execute();
    const before = Number(
      (await sql<{ n: number }>`select count(*) as n from referrals where person_id = ${citizenId}`.execute(db)).rows[0]!.n,
    );
    const refused = await post(
      practitioner,
      `/people/${citizenId}/refer`,
      { service: service.id, reason: 'Concern about safety at home.', urgency: 'urgent', consent: 'not_given' },
      `/people/${citizenId}/refer`,
    );
    assert.equal(refused.statusCode, 400);
    assert.ok(refused.body.includes('no lawful basis to share without consent is recorded'));
    const missing = await post(
      practitioner,
      `/people/${citizenId}/refer`,
      { service: service.id, reason: 'Needs support.', urgency: 'routine', consent: 'given' },
      `/people/${citizenId}/refer`,
    );
    assert.equal(missing.statusCode, 400);
    assert.ok(missing.body.includes('Choose what the person agrees to share'));
    assert.match(missing.body, /href="#categories"/, 'the error summary links to the boxes to tick');
    assert.ok(missing.body.includes('Needs support.'), 'the reason typed is kept');
    // A form the schema refuses before the use case: one message, linked to its field, nothing typed lost.
    const vague = await post(
      practitioner,
      `/people/${citizenId}/refer`,
      {
        service: service.id,
        reason: 'Help',
        urgency: 'soon',
        consent: 'given',
        categories: ['demographics'],
        words: 'I want a quiet flat',
      },
      `/people/${citizenId}/refer`,
    );
    assert.equal(vague.statusCode, 400);
    assert.ok(vague.body.includes('There is a problem'), 'an error summary');
    assert.match(vague.body, /<a href="#reason">Say why you are referring, in a sentence or two<\/a>/);
    assert.ok(vague.body.includes('I want a quiet flat'), "the person's own words typed are kept");
    assert.match(vague.body, /value="soon" checked/, 'the urgency chosen stays chosen');
    assert.equal(
      Number((await sql<{ n: number }>`select count(*) as n from referrals where person_id = ${citizenId}`.execute(db)).rows[0]!.n),
      before,
    );
    await db
      .insertInto('lawful_bases')
      .values({
        person_id: citizenId,
        category: 'social_care',
        purpose: 'safeguarding',
        basis: 'safeguarding',
        organisation_id: null,
        explanation: 'Adult safeguarding enquiry (Care Act 2014 s42).',
        recorded_by: null,
        valid_until: null,
        ended_at: null,
      })
      .execute();
    const lawful = await post(
      practitioner,
      `/people/${citizenId}/refer`,
      { service: service.id, reason: 'Concern about safety at home.', urgency: 'urgent', consent: 'not_given' },
      `/people/${citizenId}/refer`,
    );
    assert.equal(lawful.statusCode, 302);
  });

  test('a practitioner cannot refer someone their organisation has no relationship with', async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    const org = (
      await server.database.db
        .selectFrom('users')
        .select('organisation_id')
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow()
    ).organisation_id!;
    const stranger = (
      await sql<{ id: string }>`select p.id from persons p where not exists (select 1 from care_relationships r where r.person_id = p.id)
      and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source where l.person_id = p.id and o.id = ${org}) order by p.id limit 1`.execute(
        server.database.db,
      )
    ).rows[0]!;
    assert.equal((await get(practitioner, `/people/${stranger.id}/refer`)).statusCode, 403);
    const service = await server.database.db.selectFrom('services').select('id').orderBy('id').executeTakeFirstOrThrow();
    const response = await post(practitioner, `/people/${stranger.id}/refer`, {
      service: service.id,
      reason: 'Trying my luck.',
      urgency: 'routine',
      consent: 'given',
      categories: 'demographics',
    });
    assert.equal(response.statusCode, 403);
  });

  test('inbox: filters, overdue tag, bulk acknowledge and bulk assign (CSRF-protected), only for the receiving organisation', async () => {
    const db = server.database.db;
    const housing = await signIn(server.app, 'housing');
    const org = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'housing').executeTakeFirstOrThrow())
      .organisation_id!;
    const open = await db.selectFrom('referrals').select(['id']).where('organisation_id', '=', org).where('status', '=', 'sent').execute();
    assert.ok(open.length >= 1, 'housing has referrals waiting to be acknowledged');
    const inbox = await get(housing, '/referrals/inbox?status=sent');
    assert.equal(inbox.statusCode, 200);
    for (const r of open.slice(0, 3)) assert.ok(inbox.body.includes(`value="${r.id}"`));
    const overdue = await get(housing, '/referrals/inbox?overdue=1');
    const overdueIds = [...overdue.body.matchAll(/name="ids" type="checkbox" value="([^"]+)"/g)].map((m) => m[1]!);
    if (overdueIds.length) assert.ok(overdue.body.includes('Overdue:'));
    const noCsrf = await server.app.inject({
      method: 'POST',
      url: '/referrals/bulk',
      headers: { cookie: housing, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ action: 'acknowledge', ids: open.map((r) => r.id) }),
    });
    assert.equal(noCsrf.statusCode, 403);
    // Someone else's organisation cannot act on these referrals.
    const practitioner = await signIn(server.app, 'practitioner');
    const foreign = await post(practitioner, '/referrals/bulk', { action: 'acknowledge', ids: open.map((r) => r.id) }, '/referrals/inbox');
    assert.equal(foreign.statusCode, 302);
    assert.match(foreign.headers.location!, /done=0&refused=\d+/);
    const bulk = await post(housing, '/referrals/bulk', { action: 'acknowledge', ids: open.map((r) => r.id) }, '/referrals/inbox');
    assert.equal(bulk.statusCode, 302);
    assert.match(bulk.headers.location!, new RegExp(`done=${open.length}&refused=0`));
    const statuses = await db
      .selectFrom('referrals')
      .select('status')
      .where(
        'id',
        'in',
        open.map((r) => r.id),
      )
      .execute();
    assert.ok(statuses.every((s) => s.status === 'received'));
    const colleague = await db
      .selectFrom('practitioners')
      .select('id')
      .where('organisation_id', '=', org)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const assign = await post(
      housing,
      '/referrals/bulk',
      { action: 'assign', practitioner: colleague.id, ids: open.map((r) => r.id) },
      '/referrals/inbox',
    );
    assert.equal(assign.statusCode, 302);
    const assigned = await db
      .selectFrom('referrals')
      .select('assigned_practitioner_id')
      .where(
        'id',
        'in',
        open.map((r) => r.id),
      )
      .execute();
    assert.ok(assigned.every((a) => a.assigned_practitioner_id === colleague.id));
    const events = await db
      .selectFrom('referral_events')
      .select(['action', 'by_user_id'])
      .where('referral_id', '=', open[0]!.id)
      .orderBy('id')
      .execute();
    assert.deepEqual(
      events.slice(-2).map((e) => e.action),
      ['acknowledge', 'assign'],
    );
    const audit = await sql<{
      n: number;
    }>`select count(*) as n from audit_events where reason = 'referral acknowledge' and actor_organisation_id = ${org}`.execute(db);
    assert.ok(Number(audit.rows[0]!.n) >= open.length, 'each step is on the audit trail');
    const listAudit = await sql<{
      n: number;
    }>`select count(*) as n from audit_events where action = 'list' and actor_organisation_id = ${org}`.execute(db);
    assert.ok(Number(listAudit.rows[0]!.n) > 0, 'names on the inbox are audited as a list');
    assert.equal((await get(await signIn(server.app, 'citizen'), '/referrals/inbox')).statusCode, 403);
    const sentList = await get(practitioner, '/referrals/sent?status=open');
    assert.equal(sentList.statusCode, 200);
    assert.ok(sentList.body.includes('Referrals you sent'));
  });

  // Issue 21: everyday referral work without dead ends.
  /** One sign-in per demo role for these tests (sign-in is rate limited per address). */
  const cookies = new Map<string, string>();
  const cookieOf = async (username: string) =>
    cookies.get(username) ?? cookies.set(username, await signIn(server.app, username)).get(username)!;
  const html = (text: string) =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  const userOf = (username: string) =>
    server.database.db
      .selectFrom('users as u')
      .innerJoin('practitioners as p', 'p.id', 'u.practitioner_id')
      .select(['u.organisation_id', 'p.team_id', 'p.id as practitioner_id'])
      .where('u.username', '=', username)
      .executeTakeFirstOrThrow();
  const serviceNamed = (organisationId: string, name: string) =>
    server.database.db
      .selectFrom('services')
      .select(['id', 'name', 'team_id', 'min_age', 'max_age'])
      .where('organisation_id', '=', organisationId)
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
  /** An adult the demo practitioner's organisation holds a record of, and whom `organisationId` has nothing to do with. */
  async function adultKnownTo(practitionerOrg: string, organisationId: string, skip: string[] = []) {
    const row = (
      await sql<{ id: string; given_name: string; family_name: string }>`
      select p.id, p.given_name, p.family_name from persons p
      join record_links l on l.person_id = p.id and l.superseded_at is null
      join source_records s on s.id = l.source_record_id
      join organisations o on o.source_code = s.source and o.id = ${practitionerOrg}
      where p.merged_into is null and p.birth_date between current_date - interval '60 years' and current_date - interval '25 years'
        and p.id <> all(${skip}::text[])
        and not exists (select 1 from care_relationships r where r.person_id = p.id and r.organisation_id = ${organisationId})
        and not exists (select 1 from record_links l2 join source_records s2 on s2.id = l2.source_record_id join organisations o2 on o2.source_code = s2.source
                        where l2.person_id = p.id and l2.superseded_at is null and o2.id = ${organisationId})
        and not exists (select 1 from lawful_bases b where b.person_id = p.id)
        and not exists (select 1 from consent_directives d where d.person_id = p.id)
      order by p.id limit 1`.execute(server.database.db)
    ).rows[0];
    assert.ok(row, 'an adult known to the referrer and unknown to the receiver exists');
    return row;
  }
  const referralForm = (service: string, extra: Record<string, string | string[]> = {}) => ({
    service,
    reason: 'Rent arrears are building up and the tenancy is at risk.',
    words: 'I want to keep my flat.',
    urgency: 'routine',
    consent: 'given',
    categories: ['demographics', 'housing'],
    onward_consent: 'yes',
    ...extra,
  });

  test('a receiving organisation sees who each of its referrals is about and what was shared, whichever of its teams runs the service', async () => {
    const db = server.database.db;
    const housing = await cookieOf('housing');
    const me = await userOf('housing');
    const open = (
      await sql<{ id: string; team_id: string; given_name: string; family_name: string }>`
      select r.id, r.team_id, p.given_name, p.family_name from referrals r join persons p on p.id = r.person_id
      where r.organisation_id = ${me.organisation_id} and r.status in ('sent', 'received', 'accepted', 'in_progress') order by r.id`.execute(
        db,
      )
    ).rows;
    assert.ok(
      open.some((r) => r.team_id !== me.team_id),
      'some open referrals are to a service another housing team runs',
    );
    const inbox = await get(housing, '/referrals/inbox?status=open');
    assert.equal(inbox.statusCode, 200);
    assert.ok(!inbox.body.includes('Name withheld'), "no name is withheld from the receiving organisation's inbox");
    for (const r of open.slice(0, 25)) {
      const page = await get(housing, `/referrals/${r.id}`);
      assert.equal(page.statusCode, 200);
      assert.ok(
        !page.body.includes('Name withheld') && !page.body.includes('You cannot see who this referral is about'),
        `${r.id} (team ${r.team_id}) names the person`,
      );
      assert.ok(page.body.includes(html(`${r.given_name} ${r.family_name}`)), `${r.id} shows the person's name`);
    }

    // A new referral to Tenancy sustainment, which a housing team other than the officer's runs.
    const practitioner = await cookieOf('practitioner');
    const referrerOrg = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
    const tenancy = await serviceNamed(me.organisation_id!, 'Tenancy sustainment');
    assert.notEqual(tenancy.team_id, me.team_id);
    const person = await adultKnownTo(referrerOrg, me.organisation_id!);
    const id = await sendReferral(practitioner, person.id, referralForm(tenancy.id));
    const detail = await get(housing, `/referrals/${id}`);
    assert.ok(detail.body.includes(html(`${person.given_name} ${person.family_name}`)), 'the receiving organisation sees the name');
    assert.ok(detail.body.includes('Housing and homelessness'), 'and the categories the referral shared');
    assert.equal((await get(housing, `/people/${person.id}`)).statusCode, 200, 'and can open the record the referral shared');
  });

  test('a receiving service that may not see the person cannot act on the referral either', async () => {
    const db = server.database.db;
    const housing = await cookieOf('housing');
    const me = await userOf('housing');
    const practitioner = await cookieOf('practitioner');
    const referrerOrg = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
    const options = await serviceNamed(me.organisation_id!, 'Housing options and homelessness prevention');
    const person = await adultKnownTo(referrerOrg, me.organisation_id!, [citizenId]);
    const id = await sendReferral(practitioner, person.id, referralForm(options.id));
    // The relationship the referral opened ends (as if ended from the person's network): no access is left.
    const referral = await db.selectFrom('referrals').select('relationship_id').where('id', '=', id).executeTakeFirstOrThrow();
    await db
      .transaction()
      .execute((trx) =>
        endRelationship(trx, null, { relationshipId: Number(referral.relationship_id), reason: 'test: relationship ended elsewhere' }),
      );
    assert.equal((await get(housing, `/people/${person.id}`)).statusCode, 403, 'housing no longer sees the person');
    const page = await get(housing, `/referrals/${id}`);
    assert.ok(!page.body.includes('>Acknowledge<'), 'no action is offered');
    const refused = await post(housing, `/referrals/${id}/acknowledge`, {}, '/referrals/inbox');
    assert.equal(refused.statusCode, 403);
    const bulk = await post(housing, '/referrals/bulk', { action: 'acknowledge', ids: [id] }, '/referrals/inbox');
    assert.match(bulk.headers.location!, /done=0&refused=1/);
    const declined = await post(housing, `/referrals/${id}/decline`, { reason: 'Trying anyway.', onward: 'none' }, '/referrals/inbox');
    assert.equal(declined.statusCode, 403);
    assert.equal((await statusOf(id)).status, 'sent', 'nothing moved');
  });

  test('the referral form groups services by organisation, filters them by need and leaves out services for other ages; sending checks eligibility and keeps what was typed', async () => {
    const db = server.database.db;
    const practitioner = await cookieOf('practitioner');
    const citizen = await db
      .selectFrom('persons')
      .select(['given_name', 'birth_date'])
      .where('id', '=', citizenId)
      .executeTakeFirstOrThrow();
    const primary = (
      await sql<{ id: string; name: string; min_age: number; max_age: number }>`
      select s.id, s.name, s.min_age, s.max_age from services s join organisations o on o.id = s.organisation_id
      where o.kind = 'school' and s.name = 'Attendance support' and s.max_age <= 11 order by s.id limit 1`.execute(db)
    ).rows[0]!;
    const housingOrg = (await userOf('housing')).organisation_id!;
    const tenancy = await serviceNamed(housingOrg, 'Tenancy sustainment');
    const page = await get(practitioner, `/people/${citizenId}/refer`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<optgroup label="Riverford Council Housing Services">/, 'services are grouped by organisation');
    assert.ok(page.body.includes(`value="${tenancy.id}"`));
    assert.ok(!page.body.includes(`value="${primary.id}"`), "a primary school's service is not offered for an adult");
    assert.match(page.body, /not listed because they are for other ages or areas/);
    const housingOnly = await get(practitioner, `/people/${citizenId}/refer?need=group_housing`);
    assert.ok(housingOnly.body.includes(`value="${tenancy.id}"`));
    const crisis = await db.selectFrom('services').select('id').where('name', '=', 'Crisis café').executeTakeFirstOrThrow();
    assert.ok(!housingOnly.body.includes(`value="${crisis.id}"`), 'filtering by need leaves out services for other needs');

    const before = Number(
      (await sql<{ n: number }>`select count(*) as n from referrals where person_id = ${citizenId}`.execute(db)).rows[0]!.n,
    );
    const reason = 'Not going to school regularly, family asked for help.';
    const refused = await post(
      practitioner,
      `/people/${citizenId}/refer`,
      referralForm(primary.id, { reason }),
      `/people/${citizenId}/refer`,
    );
    assert.equal(refused.statusCode, 400);
    assert.ok(refused.body.includes('There is a problem'));
    assert.ok(
      refused.body.includes(html(`${primary.name} is for people aged ${primary.min_age} to ${primary.max_age}`)),
      'the error says who the service is for',
    );
    assert.ok(refused.body.includes(html(reason)), 'what was typed is kept');
    assert.ok(refused.body.includes(`value="${primary.id}" selected`), 'the chosen service stays chosen');
    assert.equal(
      Number((await sql<{ n: number }>`select count(*) as n from referrals where person_id = ${citizenId}`.execute(db)).rows[0]!.n),
      before,
      'nothing was sent',
    );
    assert.ok(citizen.birth_date);
  });

  test("accepting a referral for someone outside the service's ages needs a reason, recorded in its history", async () => {
    const db = server.database.db;
    const practitioner = await cookieOf('practitioner');
    const housing = await cookieOf('housing');
    const me = await userOf('housing');
    const referrerOrg = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
    const temporary = await serviceNamed(me.organisation_id!, 'Temporary accommodation');
    const person = await adultKnownTo(referrerOrg, me.organisation_id!, [citizenId]);
    const id = await sendReferral(practitioner, person.id, referralForm(temporary.id));
    assert.equal((await post(housing, `/referrals/${id}/acknowledge`, {}, '/referrals/inbox')).statusCode, 302);
    // The service's criteria change while the referral waits: it is now for people aged 70 and over.
    await db.updateTable('services').set({ min_age: 70 }).where('id', '=', temporary.id).execute();
    try {
      const page = await get(housing, `/referrals/${id}`);
      assert.ok(page.body.includes('Temporary accommodation is for people aged 70 and over'), 'the receiver is told before accepting');
      const refused = await post(housing, `/referrals/${id}/accept`, {}, '/referrals/inbox');
      assert.equal(refused.statusCode, 400);
      assert.ok(refused.body.includes('Say why you are accepting'));
      assert.equal((await statusOf(id)).status, 'received');
      const accepted = await post(
        housing,
        `/referrals/${id}/accept`,
        { eligibility_note: 'Agreed by the team manager: exceptional need.' },
        '/referrals/inbox',
      );
      assert.equal(accepted.statusCode, 302);
      assert.equal((await statusOf(id)).status, 'accepted');
      const event = await db
        .selectFrom('referral_events')
        .select('note')
        .where('referral_id', '=', id)
        .where('action', '=', 'accept')
        .executeTakeFirstOrThrow();
      assert.match(event.note ?? '', /Agreed by the team manager: exceptional need\./);
    } finally {
      await db.updateTable('services').set({ min_age: temporary.min_age }).where('id', '=', temporary.id).execute();
    }
  });

  test('a practitioner can refer from a directory service page: choose the person among people they work with, then the form has the service chosen', async () => {
    const db = server.database.db;
    const practitioner = await cookieOf('practitioner');
    const citizen = await db
      .selectFrom('persons')
      .select(['given_name', 'family_name'])
      .where('id', '=', citizenId)
      .executeTakeFirstOrThrow();
    const tenancy = await serviceNamed((await userOf('housing')).organisation_id!, 'Tenancy sustainment');
    const servicePage = await get(practitioner, `/directory/services/${tenancy.id}`);
    assert.equal(servicePage.statusCode, 200);
    assert.ok(servicePage.body.includes(`href="/referrals/new?service=${tenancy.id}"`), 'the service page has a Refer link');
    const choose = await get(practitioner, `/referrals/new?service=${tenancy.id}`);
    assert.equal(choose.statusCode, 200);
    assert.ok(choose.body.includes('Tenancy sustainment'));
    const found = await get(
      practitioner,
      `/referrals/new?service=${tenancy.id}&q=${encodeURIComponent(`${citizen.given_name} ${citizen.family_name}`)}`,
    );
    assert.equal(found.statusCode, 200);
    assert.ok(
      found.body.includes(`href="/people/${citizenId}/refer?service=${tenancy.id}"`),
      'the person found links to the form with the service chosen',
    );
    const stranger = (
      await sql<{ id: string; given_name: string; family_name: string }>`select p.id, p.given_name, p.family_name from persons p
      where not exists (select 1 from care_relationships r where r.person_id = p.id) and not exists (select 1 from record_links l where l.person_id = p.id and l.superseded_at is null)
      order by p.id limit 1`.execute(db)
    ).rows[0];
    if (stranger) {
      const none = await get(
        practitioner,
        `/referrals/new?service=${tenancy.id}&q=${encodeURIComponent(`${stranger.given_name} ${stranger.family_name}`)}`,
      );
      assert.ok(!none.body.includes(`/people/${stranger.id}/refer`), 'only people they work with are offered');
    }
    const form = await get(practitioner, `/people/${citizenId}/refer?service=${tenancy.id}`);
    assert.ok(form.body.includes(`value="${tenancy.id}" selected`), 'the form opens with the service chosen');
    const citizenCookie = await cookieOf('citizen');
    assert.ok(
      !(await get(citizenCookie, `/directory/services/${tenancy.id}`)).body.includes('/referrals/new'),
      'residents are not offered a Refer link',
    );
    // A resident on a referral link asks the service themselves (issue 20: it used to answer 403).
    const asResident = await get(citizenCookie, `/referrals/new?service=${tenancy.id}`);
    assert.equal(asResident.statusCode, 302);
    assert.equal(asResident.headers.location, `/services/${tenancy.id}/refer-yourself`);
    assert.equal((await get(practitioner, '/referrals/new?service=no-such-service')).statusCode, 404);
  });

  test('first contact records its date and how it was made, never in the future, and the history shows them', async () => {
    const db = server.database.db;
    const practitioner = await cookieOf('practitioner');
    const housing = await cookieOf('housing');
    const me = await userOf('housing');
    const referrerOrg = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
    const options = await serviceNamed(me.organisation_id!, 'Housing options and homelessness prevention');
    const person = await adultKnownTo(referrerOrg, me.organisation_id!, [citizenId]);
    const id = await sendReferral(practitioner, person.id, referralForm(options.id));
    for (const step of ['acknowledge', 'accept'])
      assert.equal((await post(housing, `/referrals/${id}/${step}`, {}, '/referrals/inbox')).statusCode, 302, step);
    const page = await get(housing, `/referrals/${id}`);
    assert.ok(page.body.includes('name="contact-day"') && page.body.includes('name="method"'), 'the form asks for the date and how');
    const empty = await post(housing, `/referrals/${id}/start`, {}, '/referrals/inbox');
    assert.equal(empty.statusCode, 400);
    assert.ok(empty.body.includes('Enter the date of first contact'));
    const later = ukDate(new Date(Date.now() + 2 * 86_400_000));
    const future = await post(housing, `/referrals/${id}/start`, { ...dayFields(later), method: 'phone' }, '/referrals/inbox');
    assert.equal(future.statusCode, 400);
    assert.ok(future.body.includes('The date of first contact must be today or in the past'));
    assert.ok(future.body.includes(`value="${later.slice(0, 4)}"`), 'what was typed is kept');
    const today = dayFields(ukDate(new Date()));
    const noMethod = await post(housing, `/referrals/${id}/start`, today, '/referrals/inbox');
    assert.equal(noMethod.statusCode, 400);
    assert.ok(noMethod.body.includes('Choose how the first contact was made'));
    assert.equal((await statusOf(id)).status, 'accepted', 'nothing moved');
    const done = await post(housing, `/referrals/${id}/start`, { ...today, method: 'visit' }, '/referrals/inbox');
    assert.equal(done.statusCode, 302);
    const row = await db
      .selectFrom('referrals')
      .select(['status', 'first_contact_method', 'first_contact_on'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'in_progress');
    assert.equal(row.first_contact_method, 'visit');
    assert.ok(row.first_contact_on);
    const history = await get(practitioner, `/referrals/${id}`);
    assert.match(
      history.body,
      /First contact made<\/strong> by [^<]+<br><span class="govuk-body-s">Visit in person on \d{1,2} \w+ \d{4}/,
      'the referrer sees how and when',
    );
  });

  test('a service can decline without handing on when there is nowhere to hand on to (a reason is required), shown to the referrer and the person', async () => {
    const db = server.database.db;
    const practitioner = await cookieOf('practitioner');
    const citizenCookie = await cookieOf('citizen');
    const receiver = await strangerService(
      citizenId,
      'receiver-decline',
      [],
      [
        'charity',
        'housing_association',
        'drug_alcohol_service',
        'probation',
        'mental_health_trust',
        'hospital_trust',
        'council_adult_social_care',
        'council_housing',
      ],
      false,
    );
    const id = await sendReferral(practitioner, citizenId, referralForm(receiver.service_id, { categories: ['demographics'] }));
    const page = await get(receiver.cookie, `/referrals/${id}`);
    assert.ok(page.body.includes('value="none"'), 'declining offers not handing on');
    const noReason = await post(receiver.cookie, `/referrals/${id}/decline`, { reason: '', onward: 'none' }, '/referrals/inbox');
    assert.equal(noReason.statusCode, 400);
    assert.ok(noReason.body.includes('Say why your service cannot help'));
    const reason = 'The person told us they do not want this support.';
    const declined = await post(receiver.cookie, `/referrals/${id}/decline`, { reason, onward: 'none' }, '/referrals/inbox');
    assert.equal(declined.statusCode, 302, declined.body.slice(0, 500));
    const row = await db
      .selectFrom('referrals')
      .select(['status', 'onward_referral_id', 'decline_reason', 'closed_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([row.status, row.onward_referral_id, row.decline_reason], ['declined', null, reason]);
    assert.ok(row.closed_at);
    assert.equal((await get(receiver.cookie, `/people/${citizenId}`)).statusCode, 403, "the declining service's access ends");
    const referrerView = await get(practitioner, `/referrals/${id}`);
    assert.ok(
      referrerView.body.includes(html(reason)) && referrerView.body.includes('Not handed on to another service'),
      'the referrer sees why, and that it went nowhere else',
    );
    const mine = await get(citizenCookie, '/my-referrals');
    assert.ok(mine.body.includes(html(reason)), 'the person sees why');
  });

  test('through FHIR too: a Task moved to in-progress says the day and how of first contact, and a rejected Task is declined with its reason and not handed on', async () => {
    const db = server.database.db;
    const practitioner = await cookieOf('practitioner');
    const me = await userOf('housing');
    const referrerOrg = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
    const options = await serviceNamed(me.organisation_id!, 'Housing options and homelessness prevention');
    const { token } = await createApiTokenForUsername(db, 'housing', 'referral test');
    const fhir = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}/fhir/${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/fhir+json',
          ...(body ? { 'content-type': 'application/fhir+json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    const send = async (skip: string[]) => {
      const person = await adultKnownTo(referrerOrg, me.organisation_id!, skip);
      return { id: await sendReferral(practitioner, person.id, referralForm(options.id)), personId: person.id };
    };
    const first = await send([citizenId]);
    const move = async (id: string, change: Record<string, unknown>) => {
      const task = (await (await fhir('GET', `Task/${id}`)).json()) as Record<string, unknown>;
      return fhir('PUT', `Task/${id}`, { ...task, ...change });
    };
    for (const status of ['received', 'accepted']) assert.equal((await move(first.id, { status })).status, 200, status);
    const bare = await move(first.id, { status: 'in-progress' });
    assert.equal(bare.status, 400, 'in-progress without the day of first contact is refused');
    const today = ukDate(new Date());
    const noMethod = await move(first.id, { status: 'in-progress', executionPeriod: { start: today } });
    assert.equal(noMethod.status, 400);
    assert.match(JSON.stringify(await noMethod.json()), /how the first contact was made/);
    const started = await move(first.id, {
      status: 'in-progress',
      executionPeriod: { start: today },
      extension: [{ url: 'urn:joinery:extension:first-contact-method', valueCode: 'video' }],
    });
    assert.equal(started.status, 200, await started.text());
    const row = await db
      .selectFrom('referrals')
      .select(['status', 'first_contact_method', 'first_contact_on'])
      .where('id', '=', first.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([row.status, row.first_contact_method, String(row.first_contact_on).slice(0, 10)], ['in_progress', 'video', today]);

    const second = await send([citizenId, first.personId]);
    const rejected = await move(second.id, { status: 'rejected', statusReason: { text: 'The person has found somewhere to live.' } });
    assert.equal(rejected.status, 200, await rejected.text());
    const declined = await db
      .selectFrom('referrals')
      .select(['status', 'onward_referral_id', 'decline_reason'])
      .where('id', '=', second.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(declined, { status: 'declined', onward_referral_id: null, decline_reason: 'The person has found somewhere to live.' });
  });

  test("pathways: position and waits on the person's record, start a pathway, and the manager's flow chart with suppression", async () => {
    const db = server.database.db;
    const practitioner = await signIn(server.app, 'practitioner');
    const start = await post(
      practitioner,
      `/people/${citizenId}/pathways`,
      { pathway: 'hospital-discharge' },
      `/people/${citizenId}/pathways`,
    );
    assert.equal(start.statusCode, 302);
    const journeys = async () => (await db.selectFrom('pathway_journeys').select('id').where('person_id', '=', citizenId).execute()).length;
    const before = await journeys();
    const unknown = await post(
      practitioner,
      `/people/${citizenId}/pathways`,
      { pathway: 'no-such-pathway' },
      `/people/${citizenId}/pathways`,
    );
    assert.equal(unknown.statusCode, 400);
    assert.ok(unknown.body.includes('Choose a pathway from the list.'));
    assert.equal(await journeys(), before, 'an unknown pathway starts nothing');
    const page = await get(practitioner, `/people/${citizenId}/pathways`);
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes('Hospital discharge to home') && page.body.includes('Discharge planned on the ward (waiting)'));
    const journey = await db
      .selectFrom('pathway_journeys')
      .select('id')
      .where('person_id', '=', citizenId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const ward = await db
      .selectFrom('services as s')
      .innerJoin('organisations as o', 'o.id', 's.organisation_id')
      .select('s.id')
      .where('o.kind', '=', 'hospital_trust')
      .where('s.name', '=', 'Hospital discharge hub')
      .executeTakeFirstOrThrow();
    const referred = await post(
      practitioner,
      `/people/${citizenId}/refer`,
      {
        service: ward.id,
        reason: 'Ready for discharge planning.',
        urgency: 'urgent',
        consent: 'given',
        categories: 'health',
        step: `${journey.id}:ward`,
      },
      `/people/${citizenId}/refer`,
    );
    assert.equal(referred.statusCode, 302);
    const step = await db
      .selectFrom('pathway_journey_steps')
      .select('referral_id')
      .where('journey_id', '=', journey.id)
      .where('step_code', '=', 'ward')
      .executeTakeFirstOrThrow();
    assert.equal(step.referral_id, referred.headers.location!.replace('/referrals/', '').replace(/\?.*$/, ''));
    const citizen = await signIn(server.app, 'citizen');
    assert.equal((await get(citizen, `/people/${citizenId}/pathways`)).statusCode, 200, 'the person sees their own pathways');
    const other = await db.selectFrom('persons').select('id').where('id', '<>', citizenId).orderBy('id').executeTakeFirstOrThrow();
    assert.equal((await get(citizen, `/people/${other.id}/pathways`)).statusCode, 403);

    const manager = await signIn(server.app, 'manager');
    const flow = await get(manager, '/pathways');
    assert.equal(flow.statusCode, 200);
    assert.ok(flow.body.includes('<svg') && flow.body.includes('role="img"'));
    for (const name of [
      'Hospital discharge to home',
      'Coordinated support for an adult facing multiple disadvantage',
      'Children&#39;s zone enrolment',
    ])
      assert.ok(flow.body.includes(name), name);
    assert.ok(flow.body.includes('90th percentile wait'));
    const rows = [...flow.body.matchAll(/<th scope="row" class="govuk-table__header">[^<]*<\/th>([\s\S]*?)<\/tr>/g)].map((m) =>
      [...m[1]!.matchAll(/numeric">([^<]+)</g)].map((c) => c[1]!.trim()),
    );
    assert.ok(rows.length >= 13, 'a row per step');
    const counts = rows.flatMap((r) => r.slice(0, 5));
    assert.ok(
      counts.every((c) => c === 'suppressed' || !/^[1-4]$/.test(c)),
      'counts of 1 to 4 are suppressed',
    );
    assert.ok(
      counts.some((c) => /^\d+$/.test(c) && Number(c) >= 5),
      'real counts are shown',
    );
    assert.ok(!/given_name|family_name/.test(flow.body));
    assert.equal((await get(practitioner, '/pathways')).statusCode, 403);
  });
});
