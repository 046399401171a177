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
    citizenId = (await server.database.db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
  });
  after(async () => { await server?.close(); });

  async function post(cookie: string, url: string, values: Record<string, string | string[]>, tokenPage = '/home') {
    const token = await csrfTokenFor(server.app, cookie, tokenPage);
    return server.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ ...values, _csrf: token }) });
  }
  const get = (cookie: string, url: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });

  /** A service whose organisation has nothing to do with the person yet, and an account in its team. */
  async function strangerService(personId: string, username: string, excludeOrgs: string[] = []) {
    const db = server.database.db;
    const row = (await sql<{ service_id: string; organisation_id: string; practitioner_id: string; name: string }>`
      select s.id as service_id, s.organisation_id, p.id as practitioner_id, s.name from services s
      join practitioners p on p.team_id = s.team_id
      join organisations o on o.id = s.organisation_id
      where o.kind in ('charity', 'housing_association', 'drug_alcohol_service', 'probation', 'mental_health_trust')
        and s.organisation_id <> all(${excludeOrgs}::text[])
        and not exists (select 1 from care_relationships r where r.person_id = ${personId} and r.organisation_id = s.organisation_id and r.ended_at is null)
        and not exists (select 1 from record_links l join source_records x on x.id = l.source_record_id where l.person_id = ${personId} and l.superseded_at is null and x.source = o.source_code)
        and not exists (select 1 from lawful_bases b where b.person_id = ${personId})
      order by s.id, p.id limit 1`.execute(db)).rows[0];
    assert.ok(row, 'a service unrelated to the person exists');
    await createAccount(db, { username, displayName: `Receiver ${username}`, role: 'practitioner', password: DEMO_PASSWORD, practitionerId: row.practitioner_id, organisationId: row.organisation_id });
    return { ...row, cookie: await signIn(server.app, username) };
  }

  const statusOf = async (id: string) => (await server.database.db.selectFrom('referrals').select(['status', 'onward_referral_id', 'onward_from_id']).where('id', '=', id).executeTakeFirstOrThrow());

  test('the demo place has referral histories in every state, overdue ones, and every decline handed on', async () => {
    const db = server.database.db;
    const counts = (await sql<{ status: string; n: number }>`select status, count(*) as n from referrals group by status`.execute(db)).rows;
    const total = counts.reduce((s, c) => s + Number(c.n), 0);
    assert.ok(total >= 300, `a few hundred referrals (${total})`);
    for (const status of ['sent', 'received', 'accepted', 'declined', 'in_progress', 'completed', 'cancelled']) assert.ok(counts.some((c) => c.status === status), status);
    const orphans = await sql<{ n: number }>`select count(*) as n from referrals d left join referrals o on o.id = d.onward_referral_id where d.status = 'declined' and (o.id is null or o.onward_from_id <> d.id)`.execute(db);
    assert.equal(Number(orphans.rows[0]!.n), 0, 'every declined referral links to its onward referral');
    const overdue = await sql<{ n: number }>`select count(*) as n from referrals where (status = 'sent' and acknowledge_due < current_date) or (status in ('sent','received','accepted') and first_contact_due < current_date)`.execute(db);
    assert.ok(Number(overdue.rows[0]!.n) > 0, 'some referrals are overdue');
    // The stored status is always the last step of the history.
    const mismatched = await sql<{ n: number }>`select count(*) as n from referrals r where r.status <> (select e.to_status from referral_events e where e.referral_id = r.id order by e.at desc, e.id desc limit 1)`.execute(db);
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
    assert.match(form.body, /waiting, (typically \d+ days to first contact|typical wait not yet known)/, 'referrers see each service\'s waiting list');

    const sent = await post(practitioner, `/people/${citizenId}/refer`, {
      service: first.service_id, reason: 'Needs help to stay well at home.', words: 'I want to stay independent.', urgency: 'soon',
      consent: 'given', categories: ['demographics', 'social_care'], onward_consent: 'yes',
    }, `/people/${citizenId}/refer`);
    assert.equal(sent.statusCode, 302, sent.body.slice(0, 300));
    const id = sent.headers.location!.replace('/referrals/', '');
    assert.equal((await statusOf(id)).status, 'sent');
    const directives = await server.database.db.selectFrom('consent_directives').select(['category']).where('person_id', '=', citizenId).where('recipient_id', '=', first.organisation_id).where('withdrawn_at', 'is', null).execute();
    assert.deepEqual(directives.map((d) => d.category).sort(), ['demographics', 'social_care'], 'consent recorded as sharing choices for the receiving organisation');
    assert.equal((await get(first.cookie, `/people/${citizenId}`)).statusCode, 200, 'the open referral gives the receiving team a relationship');
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
    assert.equal((await get(first.cookie, `/people/${citizenId}`)).statusCode, 403, 'the declining team loses access when the referral closes');
    assert.equal((await get(onward.cookie, `/people/${citizenId}`)).statusCode, 200, 'the onward team gains it');
    const carried = await server.database.db.selectFrom('consent_directives').select('category').where('person_id', '=', citizenId).where('recipient_id', '=', onward.organisation_id).execute();
    assert.deepEqual(carried.map((d) => d.category).sort(), ['demographics', 'social_care'], 'what the person agreed travels with the onward referral');
    mine = await get(citizen, '/my-referrals');
    assert.ok(mine.body.includes('Declined and handed on') && mine.body.includes(onward.name));

    const onwardId = after.onward_referral_id!;
    for (const [action, status, shown] of [['acknowledge', 'received', 'Acknowledged'], ['accept', 'accepted', 'Accepted'], ['start', 'in_progress', 'First contact made'], ['complete', 'completed', 'Completed']] as const) {
      const response = await post(onward.cookie, `/referrals/${onwardId}/${action}`, action === 'complete' ? { note: 'Support finished.' } : {});
      assert.equal(response.statusCode, 302, action);
      assert.equal((await statusOf(onwardId)).status, status);
      assert.ok((await get(citizen, '/my-referrals')).body.includes(shown), `the person sees "${shown}"`);
    }
    assert.equal((await get(onward.cookie, `/people/${citizenId}`)).statusCode, 403, 'access ends when the referral completes');
    const again = await post(onward.cookie, `/referrals/${onwardId}/accept`, {});
    assert.equal(again.statusCode, 409, 'a closed referral cannot move');
    const history = await server.database.db.selectFrom('referral_events').select('action').where('referral_id', '=', onwardId).orderBy('id').execute();
    assert.deepEqual(history.map((h) => h.action), ['send', 'acknowledge', 'accept', 'start', 'complete']);
    const detail = await get(practitioner, `/referrals/${id}`);
    assert.ok(detail.body.includes('Handed on to'), 'the referrer sees where it went');
    await assert.rejects(sql`update referral_events set note = 'x' where referral_id = ${id}`.execute(server.database.db), /append-only/);
  });

  test('without consent a referral needs a recorded lawful basis', async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    const db = server.database.db;
    const service = await db.selectFrom('services').select('id').orderBy('id').executeTakeFirstOrThrow();
    await db.updateTable('lawful_bases').set({ ended_at: new Date() }).where('person_id', '=', citizenId).execute();
    const before = Number((await sql<{ n: number }>`select count(*) as n from referrals where person_id = ${citizenId}`.execute(db)).rows[0]!.n);
    const refused = await post(practitioner, `/people/${citizenId}/refer`, { service: service.id, reason: 'Concern about safety at home.', urgency: 'urgent', consent: 'not_given' }, `/people/${citizenId}/refer`);
    assert.equal(refused.statusCode, 400);
    assert.ok(refused.body.includes('no lawful basis to share without consent is recorded'));
    const missing = await post(practitioner, `/people/${citizenId}/refer`, { service: service.id, reason: 'Needs support.', urgency: 'routine', consent: 'given' }, `/people/${citizenId}/refer`);
    assert.equal(missing.statusCode, 400);
    assert.ok(missing.body.includes('Choose what the person agrees to share'));
    assert.equal(Number((await sql<{ n: number }>`select count(*) as n from referrals where person_id = ${citizenId}`.execute(db)).rows[0]!.n), before);
    await db.insertInto('lawful_bases').values({ person_id: citizenId, category: 'social_care', purpose: 'safeguarding', basis: 'safeguarding', organisation_id: null, explanation: 'Adult safeguarding enquiry (Care Act 2014 s42).', recorded_by: null, valid_until: null, ended_at: null }).execute();
    const lawful = await post(practitioner, `/people/${citizenId}/refer`, { service: service.id, reason: 'Concern about safety at home.', urgency: 'urgent', consent: 'not_given' }, `/people/${citizenId}/refer`);
    assert.equal(lawful.statusCode, 302);
  });

  test('a practitioner cannot refer someone their organisation has no relationship with', async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    const org = (await server.database.db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()).organisation_id!;
    const stranger = (await sql<{ id: string }>`select p.id from persons p where not exists (select 1 from care_relationships r where r.person_id = p.id)
      and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source where l.person_id = p.id and o.id = ${org}) order by p.id limit 1`.execute(server.database.db)).rows[0]!;
    assert.equal((await get(practitioner, `/people/${stranger.id}/refer`)).statusCode, 403);
    const service = await server.database.db.selectFrom('services').select('id').orderBy('id').executeTakeFirstOrThrow();
    const response = await post(practitioner, `/people/${stranger.id}/refer`, { service: service.id, reason: 'Trying my luck.', urgency: 'routine', consent: 'given', categories: 'demographics' });
    assert.equal(response.statusCode, 403);
  });

  test('inbox: filters, overdue tag, bulk acknowledge and bulk assign (CSRF-protected), only for the receiving organisation', async () => {
    const db = server.database.db;
    const housing = await signIn(server.app, 'housing');
    const org = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'housing').executeTakeFirstOrThrow()).organisation_id!;
    const open = await db.selectFrom('referrals').select(['id']).where('organisation_id', '=', org).where('status', '=', 'sent').execute();
    assert.ok(open.length >= 1, 'housing has referrals waiting to be acknowledged');
    const inbox = await get(housing, '/referrals/inbox?status=sent');
    assert.equal(inbox.statusCode, 200);
    for (const r of open.slice(0, 3)) assert.ok(inbox.body.includes(`value="${r.id}"`));
    const overdue = await get(housing, '/referrals/inbox?overdue=1');
    const overdueIds = [...overdue.body.matchAll(/name="ids" type="checkbox" value="([^"]+)"/g)].map((m) => m[1]!);
    if (overdueIds.length) assert.ok(overdue.body.includes('Overdue:'));
    const noCsrf = await server.app.inject({ method: 'POST', url: '/referrals/bulk', headers: { cookie: housing, 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ action: 'acknowledge', ids: open.map((r) => r.id) }) });
    assert.equal(noCsrf.statusCode, 403);
    // Someone else's organisation cannot act on these referrals.
    const practitioner = await signIn(server.app, 'practitioner');
    const foreign = await post(practitioner, '/referrals/bulk', { action: 'acknowledge', ids: open.map((r) => r.id) }, '/referrals/inbox');
    assert.equal(foreign.statusCode, 302);
    assert.match(foreign.headers.location!, /done=0&refused=\d+/);
    const bulk = await post(housing, '/referrals/bulk', { action: 'acknowledge', ids: open.map((r) => r.id) }, '/referrals/inbox');
    assert.equal(bulk.statusCode, 302);
    assert.match(bulk.headers.location!, new RegExp(`done=${open.length}&refused=0`));
    const statuses = await db.selectFrom('referrals').select('status').where('id', 'in', open.map((r) => r.id)).execute();
    assert.ok(statuses.every((s) => s.status === 'received'));
    const colleague = await db.selectFrom('practitioners').select('id').where('organisation_id', '=', org).orderBy('id', 'desc').executeTakeFirstOrThrow();
    const assign = await post(housing, '/referrals/bulk', { action: 'assign', practitioner: colleague.id, ids: open.map((r) => r.id) }, '/referrals/inbox');
    assert.equal(assign.statusCode, 302);
    const assigned = await db.selectFrom('referrals').select('assigned_practitioner_id').where('id', 'in', open.map((r) => r.id)).execute();
    assert.ok(assigned.every((a) => a.assigned_practitioner_id === colleague.id));
    const events = await db.selectFrom('referral_events').select(['action', 'by_user_id']).where('referral_id', '=', open[0]!.id).orderBy('id').execute();
    assert.deepEqual(events.slice(-2).map((e) => e.action), ['acknowledge', 'assign']);
    const audit = await sql<{ n: number }>`select count(*) as n from audit_events where reason = 'referral acknowledge' and actor_organisation_id = ${org}`.execute(db);
    assert.ok(Number(audit.rows[0]!.n) >= open.length, 'each step is on the audit trail');
    const listAudit = await sql<{ n: number }>`select count(*) as n from audit_events where action = 'list' and actor_organisation_id = ${org}`.execute(db);
    assert.ok(Number(listAudit.rows[0]!.n) > 0, 'names on the inbox are audited as a list');
    assert.equal((await get(await signIn(server.app, 'citizen'), '/referrals/inbox')).statusCode, 403);
    const sentList = await get(practitioner, '/referrals/sent?status=open');
    assert.equal(sentList.statusCode, 200);
    assert.ok(sentList.body.includes('Referrals you sent'));
  });

  test('pathways: position and waits on the person\'s record, start a pathway, and the manager\'s flow chart with suppression', async () => {
    const db = server.database.db;
    const practitioner = await signIn(server.app, 'practitioner');
    const start = await post(practitioner, `/people/${citizenId}/pathways`, { pathway: 'hospital-discharge' }, `/people/${citizenId}/pathways`);
    assert.equal(start.statusCode, 302);
    const page = await get(practitioner, `/people/${citizenId}/pathways`);
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes('Hospital discharge to home') && page.body.includes('Discharge planned on the ward (waiting)'));
    const journey = await db.selectFrom('pathway_journeys').select('id').where('person_id', '=', citizenId).orderBy('id', 'desc').executeTakeFirstOrThrow();
    const ward = await db.selectFrom('services as s').innerJoin('organisations as o', 'o.id', 's.organisation_id').select('s.id').where('o.kind', '=', 'hospital_trust').where('s.name', '=', 'Hospital discharge hub').executeTakeFirstOrThrow();
    const referred = await post(practitioner, `/people/${citizenId}/refer`, { service: ward.id, reason: 'Ready for discharge planning.', urgency: 'urgent', consent: 'given', categories: 'health', step: `${journey.id}:ward` }, `/people/${citizenId}/refer`);
    assert.equal(referred.statusCode, 302);
    const step = await db.selectFrom('pathway_journey_steps').select('referral_id').where('journey_id', '=', journey.id).where('step_code', '=', 'ward').executeTakeFirstOrThrow();
    assert.equal(step.referral_id, referred.headers.location!.replace('/referrals/', ''));
    const citizen = await signIn(server.app, 'citizen');
    assert.equal((await get(citizen, `/people/${citizenId}/pathways`)).statusCode, 200, 'the person sees their own pathways');
    const other = await db.selectFrom('persons').select('id').where('id', '<>', citizenId).orderBy('id').executeTakeFirstOrThrow();
    assert.equal((await get(citizen, `/people/${other.id}/pathways`)).statusCode, 403);

    const manager = await signIn(server.app, 'manager');
    const flow = await get(manager, '/pathways');
    assert.equal(flow.statusCode, 200);
    assert.ok(flow.body.includes('<svg') && flow.body.includes('role="img"'));
    for (const name of ['Hospital discharge to home', 'Coordinated support for an adult facing multiple disadvantage', 'Children&#39;s zone enrolment']) assert.ok(flow.body.includes(name), name);
    assert.ok(flow.body.includes('90th percentile wait'));
    const rows = [...flow.body.matchAll(/<th scope="row" class="govuk-table__header">[^<]*<\/th>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/numeric">([^<]+)</g)].map((c) => c[1]!.trim()));
    assert.ok(rows.length >= 13, 'a row per step');
    const counts = rows.flatMap((r) => r.slice(0, 5));
    assert.ok(counts.every((c) => c === 'suppressed' || !/^[1-4]$/.test(c)), 'counts of 1 to 4 are suppressed');
    assert.ok(counts.some((c) => /^\d+$/.test(c) && Number(c) >= 5), 'real counts are shown');
    assert.ok(!/given_name|family_name/.test(flow.body));
    assert.equal((await get(practitioner, '/pathways')).statusCode, 403);
  });
});
