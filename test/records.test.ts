// Tell it once over HTTP: finding a person, their household and network, and the person's
// own voice (about me, messages, feedback).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';

describe('the shared record, household and network', () => {
  let server: TestServer;
  let citizen: { id: string; given_name: string; family_name: string; birth_date: string; nhs_number: string | null; household_id: string };
  before(async () => {
    server = await startTestServer({ people: 2500, seed: 5 });
    citizen = (await server.database.db
      .selectFrom('users')
      .innerJoin('persons', 'persons.id', 'users.person_id')
      .select([
        'persons.id',
        'persons.given_name',
        'persons.family_name',
        'persons.birth_date',
        'persons.nhs_number',
        'persons.household_id',
      ])
      .where('users.username', '=', 'citizen')
      .executeTakeFirstOrThrow()) as typeof citizen;
  });
  after(async () => {
    await server?.close();
  });

  const post = async (cookie: string, url: string, values: Record<string, string>, tokenPage = '/home') => {
    const token = await csrfTokenFor(server.app, cookie, tokenPage);
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ ...values, _csrf: token }).toString(),
    });
  };

  test('a practitioner finds a person by a misspelt name, by date of birth with day and month swapped, and by NHS number; every hit is audited', async () => {
    const cookie = await signIn(server.app, 'practitioner');
    const misspelt = `${citizen.given_name} ${citizen.family_name.slice(0, -2)}${citizen.family_name.at(-1)}${citizen.family_name.at(-2)}`;
    const byName = await server.app.inject({ method: 'GET', url: `/search?q=${encodeURIComponent(misspelt)}`, headers: { cookie } });
    assert.equal(byName.statusCode, 200);
    assert.ok(byName.body.includes(`${citizen.given_name} ${citizen.family_name}`), `found by "${misspelt}"`);
    const [y, m, d] = citizen.birth_date.split('-');
    const swapped = Number(d) <= 12 ? `${m}/${d}/${y}` : `${d}/${m}/${y}`;
    const byDate = await server.app.inject({
      method: 'GET',
      url: `/search?q=${encodeURIComponent(`${citizen.family_name} ${swapped}`)}`,
      headers: { cookie },
    });
    assert.ok(byDate.body.includes(`${citizen.given_name} ${citizen.family_name}`));
    if (citizen.nhs_number) {
      const byNhs = await server.app.inject({ method: 'GET', url: `/search?q=${citizen.nhs_number}`, headers: { cookie } });
      assert.match(byNhs.body, /1 person found/);
    }
    const searches = await server.database.db
      .selectFrom('audit_events')
      .select('seq')
      .where('action', '=', 'search')
      .where('person_id', '=', citizen.id)
      .execute();
    assert.ok(searches.length >= 2);
  });

  test('search never returns someone the practitioner has no relationship with, even by exact NHS number', async () => {
    const cookie = await signIn(server.app, 'practitioner');
    const org = (
      await server.database.db
        .selectFrom('users')
        .select('organisation_id')
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow()
    ).organisation_id!;
    const stranger = (
      await sql<{ nhs_number: string }>`
      select p.nhs_number from persons p where p.nhs_number is not null and not exists (
        select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
        where l.person_id = p.id and o.id = ${org}) and not exists (select 1 from care_relationships r where r.person_id = p.id and r.organisation_id = ${org}) limit 1`.execute(
        server.database.db,
      )
    ).rows[0]!;
    const result = await server.app.inject({ method: 'GET', url: `/search?q=${stranger.nhs_number}`, headers: { cookie } });
    assert.match(result.body, /0 people found/);
    const bad = await server.app.inject({ method: 'GET', url: '/search?q=31/02/1985', headers: { cookie } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /not a real date/);
  });

  test('the household page shows members, how they are related, and address history', async () => {
    const cookie = await signIn(server.app, 'citizen');
    const page = await server.app.inject({ method: 'GET', url: `/households/${citizen.household_id}`, headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes(`${citizen.given_name} ${citizen.family_name}`));
    assert.match(page.body, /Address history/);
    const otherHousehold = await server.database.db
      .selectFrom('households')
      .select('id')
      .where('id', '!=', citizen.household_id)
      .executeTakeFirstOrThrow();
    const refused = await server.app.inject({ method: 'GET', url: `/households/${otherHousehold.id}`, headers: { cookie } });
    assert.equal(refused.statusCode, 403);
  });

  test('joining the network is recorded with a reason and gives access; leaving it takes access away', async () => {
    const db = server.database.db;
    const newcomer = await sql<{ id: string; organisation_id: string }>`
      select pr.id, pr.organisation_id from practitioners pr where not exists (
        select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
        where l.person_id = ${citizen.id} and o.id = pr.organisation_id) and not exists (select 1 from care_relationships r where r.person_id = ${citizen.id} and r.organisation_id = pr.organisation_id)
      order by pr.id limit 1`.execute(db);
    const pr = newcomer.rows[0]!;
    await createAccount(db, {
      username: 'newcomer',
      displayName: 'New Comer',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: pr.id,
      organisationId: pr.organisation_id,
    });
    const newcomerCookie = await signIn(server.app, 'newcomer');
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/people/${citizen.id}`, headers: { cookie: newcomerCookie } })).statusCode,
      403,
    );

    const lead = await signIn(server.app, 'practitioner');
    const missingReason = await post(
      lead,
      `/people/${citizen.id}/network`,
      { practitioner: pr.id, role: 'housing support', reason: '' },
      `/people/${citizen.id}/network`,
    );
    assert.equal(missingReason.statusCode, 400);
    assert.match(missingReason.body, /Say why this person is joining the network/);
    const added = await post(
      lead,
      `/people/${citizen.id}/network`,
      { practitioner: pr.id, role: 'housing support', reason: 'Rent arrears and a repair dispute' },
      `/people/${citizen.id}/network`,
    );
    assert.equal(added.statusCode, 302);
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/people/${citizen.id}`, headers: { cookie: newcomerCookie } })).statusCode,
      200,
    );
    const network = await server.app.inject({ method: 'GET', url: `/people/${citizen.id}/network`, headers: { cookie: lead } });
    assert.match(network.body, /Rent arrears and a repair dispute/);

    const membership = await db
      .selectFrom('care_relationships')
      .select('id')
      .where('person_id', '=', citizen.id)
      .where('practitioner_id', '=', pr.id)
      .executeTakeFirstOrThrow();
    const ended = await post(
      lead,
      `/people/${citizen.id}/network/${membership.id}/end`,
      { reason: 'Arrears cleared' },
      `/people/${citizen.id}/network`,
    );
    assert.equal(ended.statusCode, 302);
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/people/${citizen.id}`, headers: { cookie: newcomerCookie } })).statusCode,
      403,
    );
    const history = await server.app.inject({ method: 'GET', url: `/people/${citizen.id}/network`, headers: { cookie: lead } });
    assert.match(history.body, /Who was involved before/);
  });

  test('a network form with problems comes back with each message linked to its field and what was typed, writing nothing; someone who may not see the record is refused without the name', async () => {
    const db = server.database.db;
    const strangers = (
      await sql<{ id: string; organisation_id: string }>`
      select pr.id, pr.organisation_id from practitioners pr where not exists (
        select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
        where l.person_id = ${citizen.id} and o.id = pr.organisation_id) and not exists (select 1 from care_relationships r where r.person_id = ${citizen.id} and r.organisation_id = pr.organisation_id)
      order by pr.id desc limit 50`.execute(db)
    ).rows;
    const attacker = strangers[0]!;
    const joiner = strangers.find((p) => p.organisation_id !== attacker.organisation_id)!;
    await createAccount(db, {
      username: 'netstranger',
      displayName: 'Net Stranger',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: attacker.id,
      organisationId: attacker.organisation_id,
    });
    const relationships = async () =>
      Number(
        (
          await db
            .selectFrom('care_relationships')
            .select(db.fn.countAll().as('n'))
            .where('person_id', '=', citizen.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await relationships();
    const lead = await signIn(server.app, 'practitioner');
    const page = `/people/${citizen.id}/network`;
    // A role and a reason too long for the record: they were cut short and saved without a word.
    const role = 'Housing support officer for the tenancy sustainment team in the north locality';
    const bad = await post(lead, page, { practitioner: joiner.id, role: `${role} (weekdays)`, reason: 'r'.repeat(501) }, page);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /govuk-error-summary/);
    assert.ok(bad.body.includes('href="#role"'), 'the summary links the role');
    assert.ok(bad.body.includes('href="#reason"'), 'and the reason');
    assert.ok(bad.body.includes(`value="${role} (weekdays)"`), 'the role as typed is kept');
    assert.equal(await relationships(), before, 'nobody joined the network');

    const added = await post(lead, page, { practitioner: joiner.id, role: 'housing support', reason: 'Rent arrears again' }, page);
    assert.equal(added.statusCode, 302);
    const membership = await db
      .selectFrom('care_relationships')
      .select('id')
      .where('person_id', '=', citizen.id)
      .where('practitioner_id', '=', joiner.id)
      .where('ended_at', 'is', null)
      .executeTakeFirstOrThrow();
    const stillThere = async () =>
      (await db.selectFrom('care_relationships').select('ended_at').where('id', '=', membership.id).executeTakeFirstOrThrow()).ended_at;
    const tooShort = await post(lead, `${page}/${membership.id}/end`, { reason: 'Done' }, page);
    assert.equal(tooShort.statusCode, 400);
    assert.ok(tooShort.body.includes(`href="#end-reason-${membership.id}"`), "the summary links that member's reason box");
    assert.match(
      tooShort.body,
      new RegExp(`id="end-reason-${membership.id}" name="reason" type="text" value="Done"`),
      'with what was typed',
    );
    assert.equal(await stillThere(), null, 'they are still in the network');

    // Bad forms for a record the practitioner may not see: refused, without the person's name.
    const stranger = await signIn(server.app, 'netstranger');
    const name = `${citizen.given_name} ${citizen.family_name}`;
    for (const [url, values] of [
      [page, { practitioner: attacker.id, role: 'x', reason: '' }],
      [`${page}/${membership.id}/end`, { reason: '' }],
    ] as const) {
      const refused = await post(stranger, url, values);
      assert.equal(refused.statusCode, 403, url);
      assert.ok(!refused.body.includes(name), `${url} shows no name`);
    }
    assert.equal(await stillThere(), null);

    const left = await post(lead, `${page}/${membership.id}/end`, { reason: 'Arrears cleared again' }, page);
    assert.equal(left.statusCode, 302);
    assert.notEqual(await stillThere(), null);
  });

  test('the person writes "about me", the network reads it, and every version is kept', async () => {
    const cookie = await signIn(server.app, 'citizen');
    for (const words of ['My cat Biscuit and my allotment.', 'My cat Biscuit, my allotment, and getting my driving licence back.']) {
      const saved = await post(
        cookie,
        '/my-record/about-me',
        { what_matters: words, how_to_support: 'Text before calling.' },
        '/my-record/about-me',
      );
      assert.equal(saved.statusCode, 302);
    }
    const practitioner = await signIn(server.app, 'practitioner');
    const page = await server.app.inject({ method: 'GET', url: `/people/${citizen.id}`, headers: { cookie: practitioner } });
    assert.match(page.body, /getting my driving licence back/);
    const versions = await server.database.db
      .selectFrom('about_me_versions')
      .select('id')
      .where('person_id', '=', citizen.id)
      .where('written_by_role', '=', 'citizen')
      .where('written_by', '!=', 'seed')
      .execute();
    assert.equal(versions.length, 2);
  });

  test('a message to the lead practitioner arrives in their inbox; feedback is recorded against a service the person uses', async () => {
    const cookie = await signIn(server.app, 'citizen');
    const sent = await post(
      cookie,
      '/my-record/messages',
      { topic: 'Moving Thursday', body: 'Can we move Thursday to Friday?' },
      '/my-record/messages',
    );
    assert.equal(sent.statusCode, 302);
    const lead = await signIn(server.app, 'practitioner');
    const inbox = await server.app.inject({ method: 'GET', url: '/messages', headers: { cookie: lead } });
    assert.match(inbox.body, /Moving Thursday/);
    const thread = await server.app.inject({
      method: 'GET',
      url: `/people/${citizen.id}/messages/${/\/messages\/(\d+)/.exec(String(sent.headers.location))![1]}`,
      headers: { cookie: lead },
    });
    assert.match(thread.body, /Can we move Thursday to Friday\?/);
    const service = await sql<{ id: string }>`
      select s.id from services s join organisations o on o.id = s.organisation_id
      join source_records r on r.source = o.source_code join record_links l on l.source_record_id = r.id
      where l.person_id = ${citizen.id} and l.superseded_at is null limit 1`.execute(server.database.db);
    const feedback = await post(
      cookie,
      '/my-record/feedback',
      { service: service.rows[0]!.id, rating: '4', comment: 'Kind and on time' },
      '/my-record/feedback',
    );
    assert.equal(feedback.statusCode, 302);
    const wrong = await post(cookie, '/my-record/feedback', { service: 'not-a-service', rating: '9' }, '/my-record/feedback');
    assert.equal(wrong.statusCode, 400);
  });
});
