// The informal network (issue 20): a resident names family, friends, neighbours and community
// groups who can help, with what each may know. They get no account and no access. Shown on the
// person's network page to the person, their proxy, and practitioners the access decision lets
// see "about me"; nobody else sees a trace of them (a small access matrix, 0 leaks), and only the
// person or their proxy can add or end them (write-side attacks refused and nothing changed).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};

const MEMBER = 'Nellmarker Neighbour';
const CONTACT = '07700 900417';
const personId = 'p-informal-1';
let server: TestServer;
const cookies = new Map<string, string>();
const userIds = new Map<string, string>();

type Kind = 'self' | 'proxy' | 'narrow_proxy' | 'other_citizen' | 'related' | 'unrelated' | 'no_person_access';
const actors: Array<{ username: string; kind: Kind }> = [];

async function get(url: string, username?: string) {
  return server.app.inject({ method: 'GET', url, headers: username ? { cookie: cookies.get(username)! } : {} });
}
async function post(username: string, url: string, values: Record<string, string | string[]> = {}) {
  const cookie = cookies.get(username)!;
  // A role whose home page sends them elsewhere gets the token from where it lands.
  const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie } });
  const token = await csrfTokenFor(server.app, cookie, home.statusCode === 302 ? String(home.headers.location) : '/home');
  return server.app.inject({
    method: 'POST',
    url,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ ...values, _csrf: token }),
  });
}
const members = async () =>
  server.database.db.selectFrom('informal_network_members').selectAll().where('person_id', '=', personId).orderBy('id').execute();

before(async () => {
  server = await startTestServer({ people: 2000, seed: 11 });
  const db = server.database.db;
  await sql`insert into persons (id, given_name, family_name, birth_date, sex) values
    (${personId}, 'Iris', 'Informal', '1950-02-02', 'female'), ('p-informal-carer', 'Ivan', 'Carer', '1975-05-05', 'male'),
    ('p-informal-narrow', 'Nora', 'Narrow', '1972-03-03', 'female'), ('p-informal-other', 'Oscar', 'Other', '1990-09-09', 'male')`.execute(
    db,
  );
  await db
    .insertInto('proxies')
    .values([
      {
        person_id: personId,
        proxy_person_id: 'p-informal-carer',
        kind: 'carer',
        permitted_by: 'the person',
        valid_until: null,
        revoked_at: null,
        revoked_by: null,
      },
      {
        person_id: personId,
        proxy_person_id: 'p-informal-narrow',
        kind: 'carer',
        permitted_by: 'the person',
        valid_until: null,
        revoked_at: null,
        revoked_by: null,
        scope: ['health'],
      },
    ])
    .execute();
  const citizen = async (username: string, person: string, kind: Kind) => {
    userIds.set(
      username,
      await createAccount(db, { username, displayName: username, role: 'citizen', password: DEMO_PASSWORD, personId: person }),
    );
    actors.push({ username, kind });
  };
  await citizen('informal-self', personId, 'self');
  await citizen('informal-proxy', 'p-informal-carer', 'proxy');
  await citizen('informal-narrow', 'p-informal-narrow', 'narrow_proxy');
  await citizen('informal-other', 'p-informal-other', 'other_citizen');
  // A Local Area Coordinator in the person's network, and a practitioner of another organisation.
  const prs = await sql<{ id: string; organisation_id: string; team_id: string | null }>`
    select distinct on (pr.organisation_id) pr.id, pr.organisation_id, pr.team_id from practitioners pr
    join organisations o on o.id = pr.organisation_id where o.kind in ('charity', 'gp_practice') order by pr.organisation_id, pr.id limit 2`.execute(
    db,
  );
  const [lac, stranger] = prs.rows as [(typeof prs.rows)[0], (typeof prs.rows)[0]];
  userIds.set(
    'informal-lac',
    await createAccount(db, {
      username: 'informal-lac',
      displayName: 'Local Area Coordinator',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: lac.id,
      organisationId: lac.organisation_id,
    }),
  );
  await db
    .insertInto('care_relationships')
    .values({
      person_id: personId,
      organisation_id: lac.organisation_id,
      team_id: lac.team_id,
      practitioner_id: lac.id,
      kind: 'network',
      role_label: 'local area coordinator',
      reason: 'informal network test',
      ended_at: null,
      recorded_by: null,
    })
    .execute();
  userIds.set(
    'informal-stranger',
    await createAccount(db, {
      username: 'informal-stranger',
      displayName: 'Stranger',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: stranger.id,
      organisationId: stranger.organisation_id,
    }),
  );
  actors.push({ username: 'informal-lac', kind: 'related' }, { username: 'informal-stranger', kind: 'unrelated' });
  for (const role of ['manager', 'admin', 'data_quality', 'privacy_officer'] as const) {
    const username = `informal-${role}`;
    userIds.set(username, await createAccount(db, { username, displayName: username, role, password: DEMO_PASSWORD }));
    actors.push({ username, kind: 'no_person_access' });
  }
  for (const a of actors) cookies.set(a.username, await signIn(server.app, a.username));
});

after(async () => {
  await server?.close();
});

describe('the informal network', () => {
  test('the resident names a neighbour and what they may know; it shows on their network page', async () => {
    const bad = await post('informal-self', '/my-record/informal-network', { name: '', contact: CONTACT, relationship: 'lives next door' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /There is a problem/);
    assert.match(bad.body, /Enter their name/);
    assert.match(bad.body, /Choose who they are to you/);
    assert.ok(bad.body.includes('value="lives next door"'), 'what was typed is kept');

    const added = await post('informal-self', '/my-record/informal-network', {
      name: MEMBER,
      kind: 'neighbour',
      relationship: 'lives next door',
      contact: CONTACT,
      mayKnow: ['has_plan', 'may_be_contacted'],
    });
    assert.equal(added.statusCode, 302);
    const page = await get('/my-record/informal-network', 'informal-self');
    assert.ok(page.body.includes(MEMBER));
    assert.match(page.body, /That I have a care plan/);
    const network = await get(`/people/${personId}/network`, 'informal-self');
    assert.equal(network.statusCode, 200);
    assert.ok(network.body.includes(MEMBER) && network.body.includes(CONTACT));
    const [row] = await members();
    assert.equal(row!.added_for, 'person');
    assert.deepEqual(row!.may_know, ['has_plan', 'may_be_contacted']);
    // Their own download (right of access) lists who they named.
    const download = await get('/my-record/download.json', 'informal-self');
    assert.equal(download.json().peopleWhoCanHelp[0].name, MEMBER);
    // No account was made for them: they cannot sign in or be found as a user.
    assert.equal((await server.database.db.selectFrom('users').select('id').where('display_name', '=', MEMBER).execute()).length, 0);
  });

  test('access matrix: nobody sees the informal network except where the rules allow (0 leaks)', async (t) => {
    const db = server.database.db;
    const day = 86_400_000;
    const states = ['none', 'about_me_shared', 'about_me_refused', 'break_glass'] as const;
    const endpoints = [
      { name: 'network page', url: `/people/${personId}/network` },
      { name: 'person page', url: `/people/${personId}` },
      { name: 'informal network page', url: `/my-record/informal-network?for=${personId}` },
      { name: 'sharing page', url: `/my-record/sharing?for=${personId}` },
      { name: 'rights page', url: `/my-record/rights?for=${personId}` },
    ];
    /** The rules, stated independently: the person and a full proxy on their pages; a related practitioner on the network page when "about me" is shared; anyone under break-glass there. */
    const mayShow = (kind: Kind, state: (typeof states)[number], endpoint: string) => {
      if (kind === 'self' || kind === 'proxy') return endpoint === 'network page' || endpoint === 'informal network page';
      if (kind === 'related') return endpoint === 'network page' && (state === 'about_me_shared' || state === 'break_glass');
      if (kind === 'unrelated') return endpoint === 'network page' && state === 'break_glass';
      return false;
    };
    const failures: string[] = [];
    let cases = 0;
    for (const state of states) {
      await db.deleteFrom('consent_directives').where('person_id', '=', personId).execute();
      await db.deleteFrom('break_glass_grants').where('person_id', '=', personId).execute();
      const base = {
        person_id: personId,
        category: 'about_me',
        recipient_kind: 'network' as const,
        recipient_id: null,
        purposes: ['direct_care', 'care_coordination'],
        recorded_by: null,
        recorded_by_role: 'citizen',
        withdrawn_by: null,
        note: null,
        valid_until: null,
        withdrawn_at: null,
      };
      if (state === 'about_me_shared')
        await db
          .insertInto('consent_directives')
          .values({ ...base, decision: 'permit', valid_from: new Date(Date.now() - day), recorded_at: new Date(Date.now() - day) })
          .execute();
      if (state === 'about_me_refused')
        await db
          .insertInto('consent_directives')
          .values({ ...base, decision: 'deny', valid_from: new Date(Date.now() - day), recorded_at: new Date(Date.now() - day) })
          .execute();
      if (state === 'break_glass') {
        for (const u of ['informal-lac', 'informal-stranger'])
          await db
            .insertInto('break_glass_grants')
            .values({
              user_id: userIds.get(u)!,
              person_id: personId,
              reason: 'informal matrix emergency',
              expires_at: new Date(Date.now() + 3_600_000),
              reviewed_at: null,
              reviewed_by: null,
              review_outcome: null,
              review_note: null,
            })
            .execute();
      }
      for (const actor of actors) {
        for (const endpoint of endpoints) {
          cases += 1;
          const response = await get(endpoint.url, actor.username);
          const shown = response.body.includes(MEMBER) || response.body.includes(CONTACT);
          const allowed = mayShow(actor.kind, state, endpoint.name);
          const label = `${actor.username} × ${endpoint.name} × ${state}`;
          if (shown && !allowed) failures.push(`${label}: LEAK (status ${response.statusCode})`);
          if (!shown && allowed) failures.push(`${label}: missing (status ${response.statusCode})`);
        }
      }
    }
    await db.deleteFrom('consent_directives').where('person_id', '=', personId).execute();
    await db.deleteFrom('break_glass_grants').where('person_id', '=', personId).execute();
    assert.deepEqual(failures, []);
    assert.equal(cases, states.length * actors.length * endpoints.length);
    t.diagnostic(`informal network matrix: ${cases} cases, 0 leaks`);
  });

  test('a practitioner who may see "about me" sees who the person says can help, and the showing is recorded', async () => {
    const db = server.database.db;
    await db
      .insertInto('consent_directives')
      .values({
        person_id: personId,
        category: 'about_me',
        recipient_kind: 'network',
        recipient_id: null,
        purposes: ['direct_care', 'care_coordination'],
        decision: 'permit',
        recorded_by: null,
        recorded_by_role: 'citizen',
        withdrawn_by: null,
        note: null,
        valid_until: null,
        withdrawn_at: null,
      })
      .execute();
    const page = await get(`/people/${personId}/network`, 'informal-lac');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Who the person says can help/);
    assert.ok(page.body.includes(MEMBER));
    assert.match(page.body, /Practitioners may get in touch with them to help me/);
    const disclosed = await db
      .selectFrom('audit_events')
      .select('seq')
      .where('person_id', '=', personId)
      .where('action', '=', 'disclose')
      .where('category', '=', 'about_me')
      .where('actor_user_id', '=', userIds.get('informal-lac')!)
      .executeTakeFirst();
    assert.ok(disclosed, '"who looked" can tell the person their about me was shown');
    await db.deleteFrom('consent_directives').where('person_id', '=', personId).execute();
    const withheld = await get(`/people/${personId}/network`, 'informal-lac');
    assert.ok(!withheld.body.includes(MEMBER));
    assert.match(withheld.body, /which they have not shared with you/);
  });

  test('only the person or their proxy can add or end members: every other writer is refused and nothing changes', async () => {
    const before = await members();
    const memberId = before[0]!.id;
    const add = { name: 'Intruder Added', kind: 'friend', contact: '0161 496 0000' };
    for (const username of [
      'informal-other',
      'informal-narrow',
      'informal-lac',
      'informal-stranger',
      'informal-manager',
      'informal-admin',
      'informal-privacy_officer',
    ]) {
      const added = await post(username, `/my-record/informal-network?for=${personId}`, add);
      assert.equal(added.statusCode, 403, `${username} cannot add`);
      const ended = await post(username, `/my-record/informal-network/${memberId}/end?for=${personId}`);
      assert.equal(ended.statusCode, 403, `${username} cannot end`);
    }
    const anonymous = await server.app.inject({
      method: 'POST',
      url: `/my-record/informal-network?for=${personId}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(add),
    });
    assert.notEqual(anonymous.statusCode, 302);
    assert.deepEqual(await members(), before, 'nothing was added or ended');

    // Another person's member cannot be ended by naming it under one's own record.
    const own = await post('informal-other', `/my-record/informal-network/${memberId}/end`);
    assert.equal(own.statusCode, 404);
    assert.deepEqual(await members(), before);
  });

  test('a full proxy adds and ends members for the person; the history is kept', async () => {
    const added = await post('informal-proxy', `/my-record/informal-network?for=${personId}`, {
      name: 'Lunch Club',
      kind: 'community_group',
      contact: "St Mary's hall, Tuesdays",
      mayKnow: 'appointments',
    });
    assert.equal(added.statusCode, 302);
    const row = (await members()).find((m) => m.name === 'Lunch Club')!;
    assert.equal(row.added_for, 'proxy');
    const ended = await post('informal-self', `/my-record/informal-network/${row.id}/end`);
    assert.equal(ended.statusCode, 302);
    const after = (await members()).find((m) => m.name === 'Lunch Club')!;
    assert.ok(after.ended_at, 'ended, not deleted');
    const page = await get('/my-record/informal-network', 'informal-self');
    assert.match(page.body, /People removed earlier \(1\)/);
    const again = await post('informal-self', `/my-record/informal-network/${row.id}/end`);
    assert.equal(again.statusCode, 404, 'an ended member cannot be ended twice');
  });
});
