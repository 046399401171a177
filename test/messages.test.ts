// Two-way contact and communication needs over HTTP (issue 20): a resident writes to their care
// team in conversations by topic, the lead practitioner and their team see what is waiting for an
// answer and for how long, reply from the inbox or the person's page, and the resident reads the
// reply and answers. Every read and write passes the access decision: a practitioner outside the
// team, another citizen, or a proxy for someone else is refused, and the refusal is audited.
// The person's communication needs (language, interpreter, formats, how and when to contact them)
// are shown wherever a practitioner contacts them.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { makeLeadPractitioner } from '../src/consent/index.ts';

const PASSWORD = 'a long test passphrase for messages';

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

describe('two-way contact and communication needs', () => {
  let server: TestServer;
  let citizen: { id: string; name: string };
  let lead: { id: string; name: string; organisationId: string; teamId: string; role: string };

  before(async () => {
    server = await startTestServer({ people: 2000, seed: 11 });
    const db = server.database.db;
    const c = await db
      .selectFrom('users as u')
      .innerJoin('persons as p', 'p.id', 'u.person_id')
      .select(['p.id', 'p.given_name', 'p.family_name'])
      .where('u.username', '=', 'citizen')
      .executeTakeFirstOrThrow();
    citizen = { id: c.id, name: `${c.given_name} ${c.family_name}` };
    const l = await db
      .selectFrom('users as u')
      .innerJoin('practitioners as p', 'p.id', 'u.practitioner_id')
      .select(['p.id', 'p.given_name', 'p.family_name', 'p.organisation_id', 'p.team_id', 'p.role'])
      .where('u.username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    lead = { id: l.id, name: `${l.given_name} ${l.family_name}`, organisationId: l.organisation_id, teamId: l.team_id, role: l.role };
    // A colleague in the lead's team, one in another team of the same organisation, and one of an
    // organisation with nothing to do with the person.
    const colleague =
      (await db
        .selectFrom('practitioners')
        .select(['id', 'organisation_id'])
        .where('team_id', '=', lead.teamId)
        .where('id', '<>', lead.id)
        .orderBy('id')
        .executeTakeFirst()) ??
      (await db
        .insertInto('practitioners')
        .values({
          id: 'test-colleague',
          organisation_id: lead.organisationId,
          team_id: lead.teamId,
          given_name: 'Colm',
          family_name: 'Teammate',
          role: 'support_worker',
          email: 'colm@example.org',
        })
        .returning(['id', 'organisation_id'])
        .executeTakeFirstOrThrow());
    await createAccount(db, {
      username: 'teammate',
      displayName: 'Team mate',
      role: 'practitioner',
      password: PASSWORD,
      practitionerId: colleague.id,
      organisationId: colleague.organisation_id,
    });
    const otherTeam = await db
      .selectFrom('practitioners')
      .select(['id', 'organisation_id'])
      .where('organisation_id', '=', lead.organisationId)
      .where('team_id', '<>', lead.teamId)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await createAccount(db, {
      username: 'otherteam',
      displayName: 'Other team',
      role: 'practitioner',
      password: PASSWORD,
      practitionerId: otherTeam.id,
      organisationId: otherTeam.organisation_id,
    });
    const outsider = (
      await sql<{ id: string; organisation_id: string }>`
      select pr.id, pr.organisation_id from practitioners pr
      where not exists (select 1 from care_relationships r where r.person_id = ${citizen.id} and r.organisation_id = pr.organisation_id)
        and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
                        where l.person_id = ${citizen.id} and l.superseded_at is null and o.id = pr.organisation_id)
      order by pr.id limit 1`.execute(db)
    ).rows[0]!;
    await createAccount(db, {
      username: 'outsider',
      displayName: 'Out Sider',
      role: 'practitioner',
      password: PASSWORD,
      practitionerId: outsider.id,
      organisationId: outsider.organisation_id,
    });
    // Both have an email address, so each is told of a new message (their default choice).
    await db.updateTable('users').set({ email: 'person@example.org' }).where('username', 'in', ['citizen', 'practitioner']).execute();
    // Another resident with an account of their own.
    const other = (
      await sql<{
        id: string;
      }>`select p.id from persons p where p.id <> ${citizen.id} and not exists (select 1 from users u where u.person_id = p.id)
      and not exists (select 1 from proxies x where x.proxy_person_id = p.id) order by p.id limit 1`.execute(db)
    ).rows[0]!;
    await createAccount(db, { username: 'neighbour', displayName: 'A neighbour', role: 'citizen', password: PASSWORD, personId: other.id });
  });
  after(async () => {
    await server?.close();
  });

  const sessions = new Map<string, Promise<string>>();
  const signedIn = (username: string) => {
    if (!sessions.has(username))
      sessions.set(
        username,
        signIn(server.app, username, ['citizen', 'practitioner', 'housing', 'gp'].includes(username) ? undefined : PASSWORD),
      );
    return sessions.get(username)!;
  };
  const get = (cookie: string, url: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });
  async function post(cookie: string, url: string, values: Record<string, string | string[]>) {
    const token = await csrfTokenFor(server.app, cookie, '/home');
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...values, _csrf: token }),
    });
  }
  const threadIdFrom = (location: unknown) => {
    const id = /\/messages\/(\d+)/.exec(String(location))?.[1];
    assert.ok(id, `redirected to a conversation (${String(location)})`);
    return Number(id);
  };
  async function startThread(cookie: string, topic: string, body: string, forPerson?: string) {
    const response = await post(cookie, `/my-record/messages${forPerson ? `?for=${forPerson}` : ''}`, { topic, body });
    assert.equal(response.statusCode, 302, textOf(response.body).slice(0, 300));
    return threadIdFrom(response.headers.location);
  }

  test("a practitioner can reply to a resident's message and the resident sees it", async () => {
    const resident = await signedIn('citizen');
    const thread = await startThread(resident, "Thursday's visit", 'Can we move Thursday to Friday morning?');
    const practitioner = await signedIn('practitioner');
    const inbox = await get(practitioner, '/messages');
    assert.equal(inbox.statusCode, 200);
    assert.match(textOf(inbox.body), /Thursday's visit/);
    assert.ok(inbox.body.includes(citizen.name), 'the inbox names the person');
    const page = await get(practitioner, `/people/${citizen.id}/messages/${thread}`);
    assert.equal(page.statusCode, 200);
    assert.match(textOf(page.body), /Can we move Thursday to Friday morning\?/);
    const told = (username: string) =>
      sql<{ n: number }>`select count(*)::int as n from notification_outbox o join users u on u.id = o.user_id
      where u.username = ${username} and o.kind = 'new_message'`
        .execute(server.database.db)
        .then((r) => r.rows[0]!.n);
    assert.ok((await told('practitioner')) >= 1, 'the lead is told of the new message');
    const residentTold = await told('citizen');
    const replied = await post(practitioner, `/people/${citizen.id}/messages/${thread}`, {
      body: 'Friday at 10 is fine. I will come to you.',
    });
    assert.equal(replied.statusCode, 302);
    assert.equal(await told('citizen'), residentTold + 1, 'the resident is told of the reply');

    const conversation = await get(resident, `/my-record/messages/${thread}`);
    assert.equal(conversation.statusCode, 200);
    const text = textOf(conversation.body);
    assert.match(text, /Friday at 10 is fine\. I will come to you\./);
    assert.ok(text.indexOf('Can we move Thursday') < text.indexOf('Friday at 10 is fine'), 'replies in the order they were written');
    assert.ok(text.includes(lead.name), 'the reply says who wrote it');
    assert.ok(text.toLowerCase().includes(lead.role.replace(/_/g, ' ')), 'and their role');
    assert.ok(!conversation.body.includes(lead.id), 'no internal ids');
    const answer = await post(resident, `/my-record/messages/${thread}`, { body: 'Thank you, see you Friday.' });
    assert.equal(answer.statusCode, 302);
    const again = await get(practitioner, `/people/${citizen.id}/messages/${thread}`);
    assert.match(textOf(again.body), /Thank you, see you Friday\./);
    // The list of conversations says a reply came.
    const list = await get(resident, '/my-record/messages');
    assert.match(textOf(list.body), /Thursday's visit/);
  });

  test('the lead and their team see unanswered conversations oldest first with their age; reading does not answer, replying or "no reply needed" does', async () => {
    const db = server.database.db;
    const resident = await signedIn('citizen');
    const older = await startThread(resident, 'Blue badge form', 'Did my blue badge form arrive?');
    const newer = await startThread(resident, 'Prescription', 'Who do I ask about my prescription?');
    await db
      .updateTable('message_threads')
      .set({ waiting_since: sql<Date>`now() - interval '3 days 2 hours'` })
      .where('id', '=', older)
      .execute();
    await db
      .updateTable('message_threads')
      .set({ waiting_since: sql<Date>`now() - interval '5 hours'` })
      .where('id', '=', newer)
      .execute();
    for (const username of ['practitioner', 'teammate']) {
      const inbox = textOf((await get(await signedIn(username), '/messages')).body);
      assert.ok(
        inbox.indexOf('Blue badge form') >= 0 && inbox.indexOf('Blue badge form') < inbox.indexOf('Prescription'),
        `${username}: oldest first`,
      );
      assert.match(inbox, /Blue badge form.*Waiting 3 days/, `${username}: with its age`);
      assert.match(inbox, /Prescription.*Waiting 5 hours/);
    }
    const home = textOf((await get(await signedIn('practitioner'), '/home')).body);
    assert.match(home, /\d+ messages? waiting for an answer/);
    assert.ok((await get(await signedIn('practitioner'), '/home')).body.includes('href="/messages"'), 'the home page links to the inbox');

    const practitioner = await signedIn('practitioner');
    assert.equal((await get(practitioner, `/people/${citizen.id}/messages/${older}`)).statusCode, 200);
    assert.match(textOf((await get(practitioner, '/messages')).body), /Blue badge form/, 'reading does not mark it answered');
    const noReason = await post(practitioner, `/people/${citizen.id}/messages/${older}/no-reply-needed`, { reason: '' });
    assert.equal(noReason.statusCode, 400);
    assert.match(noReason.body, /govuk-error-summary/);
    const closed = await post(practitioner, `/people/${citizen.id}/messages/${older}/no-reply-needed`, {
      reason: 'Answered by phone on Monday',
    });
    assert.equal(closed.statusCode, 302);
    const teammate = await signedIn('teammate');
    const replied = await post(teammate, `/people/${citizen.id}/messages/${newer}`, {
      body: 'Your GP practice can help: call them on the number on your repeat slip.',
    });
    assert.equal(replied.statusCode, 302);
    const after = textOf((await get(practitioner, '/messages')).body);
    assert.doesNotMatch(after, /Blue badge form/);
    assert.doesNotMatch(after, /Prescription/);
    const seen = textOf((await get(resident, `/my-record/messages/${older}`)).body);
    assert.match(seen, /Answered by phone on Monday/, 'the person sees why no written reply came');
  });

  test("a practitioner outside the lead's team, or without access, cannot read or reply; each refusal is audited", async () => {
    const db = server.database.db;
    const resident = await signedIn('citizen');
    const thread = await startThread(resident, 'Private matter', 'Only my care team should read this.');
    for (const username of ['outsider', 'otherteam']) {
      const cookie = await signedIn(username);
      const userId = (await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
      const read = await get(cookie, `/people/${citizen.id}/messages/${thread}`);
      assert.equal(read.statusCode, 403, `${username} cannot read`);
      assert.ok(!read.body.includes('Only my care team should read this.'));
      const list = await get(cookie, `/people/${citizen.id}/messages`);
      assert.equal(list.statusCode, 403, `${username} cannot list`);
      const reply = await post(cookie, `/people/${citizen.id}/messages/${thread}`, { body: 'Hello from outside' });
      assert.equal(reply.statusCode, 403, `${username} cannot reply`);
      const closed = await post(cookie, `/people/${citizen.id}/messages/${thread}/no-reply-needed`, { reason: 'Not mine to answer' });
      assert.equal(closed.statusCode, 403, `${username} cannot close`);
      assert.doesNotMatch(textOf((await get(cookie, '/messages')).body), /Private matter/, `${username}'s inbox does not list it`);
      const refusals = await db
        .selectFrom('audit_events')
        .select('seq')
        .where('actor_user_id', '=', userId)
        .where('person_id', '=', citizen.id)
        .where('decision', '=', 'deny')
        .execute();
      assert.ok(refusals.length >= 1, `${username}'s refusals are on the audit record`);
    }
    // The person page offers the conversations only to those they are with.
    const link = `href="/people/${citizen.id}/messages"`;
    assert.ok((await get(await signedIn('practitioner'), `/people/${citizen.id}`)).body.includes(link), 'the lead is offered the messages');
    const otherTeamPage = await get(await signedIn('otherteam'), `/people/${citizen.id}`);
    assert.equal(otherTeamPage.statusCode, 200);
    assert.ok(!otherTeamPage.body.includes(link), 'another team of the organisation is not');
    const written = await db.selectFrom('messages').select('body').where('thread_id', '=', thread).execute();
    assert.deepEqual(
      written.map((m) => m.body),
      ['Only my care team should read this.'],
    );
  });

  test("another citizen cannot read or post into someone's conversation; a proxy acts only for the person they act for", async () => {
    const db = server.database.db;
    const resident = await signedIn('citizen');
    const thread = await startThread(resident, 'My flat', 'The heating is broken again.');
    const neighbour = await signedIn('neighbour');
    assert.notEqual((await get(neighbour, `/my-record/messages/${thread}`)).statusCode, 200);
    const intoThread = await post(neighbour, `/my-record/messages/${thread}`, { body: 'Injected' });
    assert.ok([403, 404].includes(intoThread.statusCode), `refused (${intoThread.statusCode})`);
    const asFor = await post(neighbour, `/my-record/messages/${thread}?for=${citizen.id}`, { body: 'Injected' });
    assert.equal(asFor.statusCode, 403);
    const startFor = await post(neighbour, `/my-record/messages?for=${citizen.id}`, { topic: 'Hi', body: 'Injected' });
    assert.equal(startFor.statusCode, 403);
    assert.equal((await db.selectFrom('messages').select('id').where('body', '=', 'Injected').execute()).length, 0, 'nothing was written');

    // A parent writes for their child, and only for them.
    const pair = await db
      .selectFrom('proxies as x')
      .select(['x.person_id', 'x.proxy_person_id'])
      .where('x.kind', '=', 'parent')
      .where('x.revoked_at', 'is', null)
      .where('x.proxy_person_id', '<>', citizen.id)
      .where('x.person_id', '<>', citizen.id)
      .orderBy('x.id')
      .executeTakeFirstOrThrow();
    await db.transaction().execute((trx) => makeLeadPractitioner(trx, pair.person_id, lead.id, 'test: lead for the child', null));
    await createAccount(db, {
      username: 'parent',
      displayName: 'A parent',
      role: 'citizen',
      password: PASSWORD,
      personId: pair.proxy_person_id,
    });
    const parent = await signedIn('parent');
    const childThread = await startThread(parent, 'School letter', 'Please send letters about my child to me.', pair.person_id);
    const childPage = await get(parent, `/my-record/messages/${childThread}?for=${pair.person_id}`);
    assert.equal(childPage.statusCode, 200);
    assert.match(textOf(childPage.body), /Please send letters about my child to me\./);
    assert.equal(
      (await get(parent, `/my-record/messages/${thread}?for=${citizen.id}`)).statusCode,
      403,
      'not for someone they do not act for',
    );
    assert.notEqual(
      (await get(parent, `/my-record/messages/${childThread}`)).statusCode,
      200,
      "the child's conversation is not in the parent's own record",
    );
    const intoOther = await post(parent, `/my-record/messages/${thread}?for=${pair.person_id}`, { body: 'Injected' });
    assert.equal(intoOther.statusCode, 404, "a conversation of someone else, under the child's name, is not found");
    assert.equal((await db.selectFrom('messages').select('id').where('body', '=', 'Injected').execute()).length, 0, 'nothing was written');
    // The lead sees the parent's message as written for the child.
    const practitioner = await signedIn('practitioner');
    const seen = textOf((await get(practitioner, `/people/${pair.person_id}/messages/${childThread}`)).body);
    assert.match(seen, /A parent, on behalf of/);
  });

  test('a message form with problems comes back with each message linked to its field and what was typed, writing nothing; a bad form for a record the writer may not see is refused without the name', async () => {
    const db = server.database.db;
    const resident = await signedIn('citizen');
    const practitioner = await signedIn('practitioner');
    const thread = await startThread(resident, 'Bin collection', 'My bins were missed again.');
    const count = async (table: 'messages' | 'message_threads') =>
      Number((await db.selectFrom(table).select(db.fn.countAll().as('n')).where('person_id', '=', citizen.id).executeTakeFirstOrThrow()).n);
    const [threads, messages] = [await count('message_threads'), await count('messages')];
    // Longer than a message may be: it was cut short and sent without a word.
    const long = `${'All about the bins. '.repeat(200)}The end.`;
    const newThread = await post(resident, '/my-record/messages', { topic: 'Bins again', body: long });
    assert.equal(newThread.statusCode, 400);
    assert.ok(newThread.body.includes('href="#body"'), 'the summary links the message');
    assert.ok(newThread.body.includes('value="Bins again"'), 'the topic as typed is kept');
    assert.ok(newThread.body.includes('The end.</textarea>'), 'and the message in full');
    const noTopic = await post(resident, '/my-record/messages', { topic: ' ', body: 'Hello' });
    assert.equal(noTopic.statusCode, 400);
    assert.ok(noTopic.body.includes('href="#topic"'));
    assert.ok(noTopic.body.includes('>Hello</textarea>'));
    const answer = await post(resident, `/my-record/messages/${thread}`, { body: long });
    assert.equal(answer.statusCode, 400);
    assert.ok(answer.body.includes('href="#body"') && answer.body.includes('The end.</textarea>'));
    const replied = await post(practitioner, `/people/${citizen.id}/messages/${thread}`, { body: long });
    assert.equal(replied.statusCode, 400);
    assert.ok(replied.body.includes('href="#body"') && replied.body.includes('The end.</textarea>'));
    const closed = await post(practitioner, `/people/${citizen.id}/messages/${thread}/no-reply-needed`, { reason: ' ' });
    assert.equal(closed.statusCode, 400);
    assert.ok(closed.body.includes('href="#reason"'));
    assert.deepEqual([await count('message_threads'), await count('messages')], [threads, messages], 'nothing was written');

    // The same bad forms from someone who may not see the conversation: refused, without the person's name.
    for (const [username, url, values] of [
      ['outsider', `/people/${citizen.id}/messages/${thread}`, { body: '' }],
      ['otherteam', `/people/${citizen.id}/messages/${thread}/no-reply-needed`, { reason: '' }],
      ['neighbour', `/my-record/messages?for=${citizen.id}`, { topic: '', body: '' }],
      ['neighbour', `/my-record/messages/${thread}?for=${citizen.id}`, { body: '' }],
    ] as const) {
      const refused = await post(await signedIn(username), url, values);
      assert.equal(refused.statusCode, 403, `${username}: ${url}`);
      assert.ok(!refused.body.includes(citizen.name), `${username}: ${url} shows no name`);
      assert.ok(!refused.body.includes('My bins were missed again.'));
    }
    assert.deepEqual([await count('message_threads'), await count('messages')], [threads, messages], 'nothing was written');
  });

  test('a communication needs form with problems links each to its field, keeps what was typed and writes nothing; a stranger is refused without the name', async () => {
    const db = server.database.db;
    const versions = async () =>
      Number(
        (
          await db
            .selectFrom('communication_needs')
            .select(db.fn.countAll().as('n'))
            .where('person_id', '=', citizen.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await versions();
    const times = `Weekday mornings${' and weekday afternoons'.repeat(10)}`;
    const bad = await post(await signedIn('citizen'), '/my-record/communication-needs', {
      language: 'Klingon',
      support: ['large_print'],
      contact_method: 'pigeon',
      contact_times: times,
    });
    assert.equal(bad.statusCode, 400);
    const summary = /govuk-error-summary__list">([\s\S]*?)<\/ul>/.exec(bad.body)?.[1] ?? '';
    const links = [...summary.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(links, ['language', 'contact_method', 'contact_times'], 'every problem, in page order');
    assert.ok(bad.body.includes(`value="${times}"`), 'the times as typed are kept');
    const other = await post(await signedIn('practitioner'), `/people/${citizen.id}/communication-needs`, {
      language: 'other',
      language_other: '',
      support: ['interpreter'],
    });
    assert.equal(other.statusCode, 400);
    assert.ok(other.body.includes('href="#language_other"'));
    assert.equal(await versions(), before, 'nothing was written');
    const refused = await post(await signedIn('outsider'), `/people/${citizen.id}/communication-needs`, { language: 'Klingon' });
    assert.equal(refused.statusCode, 403);
    assert.ok(!refused.body.includes(citizen.name));
    assert.equal(await versions(), before);
  });

  test('communication needs, recorded by the person, are shown on the person page, the reply page and the referral; bad input keeps what was typed', async () => {
    const db = server.database.db;
    const resident = await signedIn('citizen');
    const page = await get(resident, '/my-record/communication-needs');
    assert.equal(page.statusCode, 200);
    const bad = await post(resident, '/my-record/communication-needs', {
      language: '',
      support: ['interpreter', 'large_print'],
      contact_method: 'text',
      contact_times: 'Weekday mornings',
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /govuk-error-summary/);
    assert.match(bad.body, /value="Weekday mornings"/);
    const saved = await post(resident, '/my-record/communication-needs', {
      language: 'Polish',
      support: ['interpreter', 'large_print'],
      contact_method: 'text',
      contact_times: 'Weekday mornings',
    });
    assert.equal(saved.statusCode, 302);

    const practitioner = await signedIn('practitioner');
    const person = textOf((await get(practitioner, `/people/${citizen.id}`)).body);
    assert.match(person, /Needs an interpreter: Polish/);
    assert.match(person, /Large print/);
    assert.match(person, /text message/i);
    assert.match(person, /Weekday mornings/);
    const thread = await startThread(resident, 'Interpreter', 'Please book a Polish interpreter.');
    assert.match(textOf((await get(practitioner, `/people/${citizen.id}/messages/${thread}`)).body), /Needs an interpreter: Polish/);
    assert.match(textOf((await get(practitioner, '/messages')).body), /Needs an interpreter: Polish/, 'the inbox row says so too');

    // The referral page, for whoever may see the referral's person.
    const staff = await db
      .selectFrom('users')
      .select(['username', 'organisation_id'])
      .where('username', 'in', ['practitioner', 'housing', 'gp'])
      .execute();
    const referral = await db
      .selectFrom('referrals')
      .select(['id', 'organisation_id', 'from_organisation_id'])
      .where('person_id', '=', citizen.id)
      .where((eb) =>
        eb.or([
          eb(
            'organisation_id',
            'in',
            staff.map((u) => u.organisation_id!),
          ),
          eb(
            'from_organisation_id',
            'in',
            staff.map((u) => u.organisation_id!),
          ),
        ]),
      )
      .orderBy('sent_at', 'desc')
      .executeTakeFirstOrThrow();
    const party = staff.find((u) => u.organisation_id === referral.organisation_id || u.organisation_id === referral.from_organisation_id)!;
    const detail = await get(await signedIn(party.username), `/referrals/${referral.id}`);
    assert.equal(detail.statusCode, 200);
    assert.ok(detail.body.includes(citizen.name), `${party.username} sees who the referral is about`);
    assert.match(
      textOf(detail.body),
      /Communication needs Needs an interpreter: Polish; Large print/,
      `${party.username} sees how to contact them on the referral`,
    );
    const receiver = staff.find((u) => u.organisation_id === referral.organisation_id);
    if (receiver)
      assert.match(
        textOf((await get(await signedIn(receiver.username), '/referrals/inbox')).body),
        /Needs an interpreter: Polish; Large print/,
        "the receiving team's inbox row says so",
      );

    // A practitioner told by phone records a change, attributed to them.
    const told = await post(practitioner, `/people/${citizen.id}/communication-needs`, {
      language: 'Polish',
      support: ['interpreter', 'easy_read'],
      contact_method: 'phone',
      contact_times: 'After 4pm',
    });
    assert.equal(told.statusCode, 302);
    const now = textOf((await get(resident, '/my-record/communication-needs')).body);
    assert.match(now, /After 4pm/);
    assert.ok(now.includes(lead.name), 'the person sees who recorded the change');
    const outsider = await signedIn('outsider');
    const refused = await post(outsider, `/people/${citizen.id}/communication-needs`, { language: 'English', contact_method: 'letter' });
    assert.equal(refused.statusCode, 403);
    assert.equal((await get(outsider, `/people/${citizen.id}/communication-needs`)).statusCode, 403);
  });
});
