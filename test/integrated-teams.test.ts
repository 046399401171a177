// Integrated teams over HTTP on the demo place: a member from the mental health trust opens the
// Multiple Disadvantage Team's page (members from several organisations, the caseload, the shared
// worklist) and picks up a plan action on duty cover, reaching the person through the team; the
// manager adds and ends members (a member finds the team's people in search, a former member no
// longer does); and the attackers are refused with nothing changed: a
// practitioner outside the team, a former member, a member adding themselves to another team, a
// request without its CSRF token, and a citizen.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/index.ts';
import { createIntegratedTeam } from '../src/network/index.ts';
import { seedTeamMember, teamCaseloadIds, teamMembers } from '../src/consent/index.ts';

const TEAM = 'team-md-integrated';

describe('integrated teams and duty cover over HTTP', () => {
  let server: TestServer;
  let member: string;
  let coordinator: string;
  let outsider: string;
  let citizen: string;
  before(async () => {
    server = await startTestServer();
    [member, coordinator, outsider, citizen] = await Promise.all(
      ['teammember', 'coordinator', 'practitioner', 'citizen'].map((u) => signIn(server.app, u)),
    );
  });
  after(async () => {
    await server?.close();
  });

  const post = async (cookie: string, url: string, fields: Record<string, string>, tokenUrl: string | null) => {
    const body = new URLSearchParams(fields);
    if (tokenUrl) body.set('_csrf', await csrfTokenFor(server.app, cookie, tokenUrl));
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  };
  const openAction = async () => {
    const db = server.database.db;
    const page = await server.app.inject({ method: 'GET', url: `/teams/${TEAM}`, headers: { cookie: member } });
    const id = /action="\/teams\/[^/]+\/actions\/([^/"]+)\/pick-up"/.exec(page.body)?.[1];
    assert.ok(id, 'the shared worklist has an action to pick up');
    return db.selectFrom('plan_actions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  };

  test('the team page shows members from several organisations, its caseload and the shared worklist', async () => {
    const list = await server.app.inject({ method: 'GET', url: '/teams', headers: { cookie: member } });
    assert.equal(list.statusCode, 200);
    assert.ok(list.body.includes('Multiple Disadvantage Team'));
    const page = await server.app.inject({ method: 'GET', url: `/teams/${TEAM}`, headers: { cookie: member } });
    assert.equal(page.statusCode, 200);
    const members = (await teamMembers(server.database.db, TEAM)).filter((m) => !m.endedAt);
    assert.ok(new Set(members.map((m) => m.organisationId)).size >= 3, 'members come from at least three organisations');
    for (const m of members) assert.ok(page.body.includes(m.organisation), `${m.organisation} is named`);
    for (const text of ['Shared worklist', 'Caseload', 'Civic Centre hub', 'Pick up'])
      assert.ok(page.body.includes(text), `the page shows "${text}"`);
    assert.ok((await teamCaseloadIds(server.database.db, TEAM)).length >= 5, 'the team holds shared cases');
    assert.ok(!/style="/.test(page.body), 'no inline styles');
  });

  test('a member from another organisation picks up an action and reaches the person through the team, audited', async () => {
    const db = server.database.db;
    const action = await openAction();
    const plan = await db.selectFrom('plans').select(['id', 'person_id']).where('id', '=', action.plan_id).executeTakeFirstOrThrow();
    const picked = await post(member, `/teams/${TEAM}/actions/${action.id}/pick-up`, {}, `/teams/${TEAM}`);
    assert.equal(picked.statusCode, 302);
    const banner = await server.app.inject({ method: 'GET', url: String(picked.headers.location), headers: { cookie: member } });
    assert.ok(banner.body.includes('Action picked up'));
    const after = await db
      .selectFrom('plan_actions')
      .select(['assigned_practitioner_id'])
      .where('id', '=', action.id)
      .executeTakeFirstOrThrow();
    const me = await db
      .selectFrom('users')
      .select(['id', 'practitioner_id'])
      .where('username', '=', 'teammember')
      .executeTakeFirstOrThrow();
    assert.equal(after.assigned_practitioner_id, me.practitioner_id);
    const event = await db
      .selectFrom('plan_events')
      .select('summary')
      .where('plan_id', '=', plan.id)
      .where('kind', '=', 'action_picked_up')
      .executeTakeFirst();
    assert.match(event?.summary ?? '', /on duty cover for the team/);
    const planPage = await server.app.inject({
      method: 'GET',
      url: `/people/${plan.person_id}/plan?plan=${plan.id}`,
      headers: { cookie: member },
    });
    assert.equal(planPage.statusCode, 200, 'the plan opens for the colleague covering');
    const audited = await db
      .selectFrom('audit_events')
      .select(['reason'])
      .where('actor_user_id', '=', me.id)
      .where('person_id', '=', plan.person_id)
      .where('decision', '=', 'allow')
      .execute();
    assert.ok(
      audited.some((a) => a.reason.includes('through the relationship of care held by Multiple Disadvantage Team')),
      'the audit says access came through the team',
    );
    assert.ok(
      (
        await db
          .selectFrom('audit_events')
          .select('seq')
          .where('actor_user_id', '=', me.id)
          .where('reason', '=', 'plan action picked up on duty cover, through the team')
          .execute()
      ).length === 1,
    );
  });

  test('a practitioner outside the team, a citizen and a request without its CSRF token are refused, and nothing changes', async () => {
    const db = server.database.db;
    const action = await openAction();
    assert.equal((await server.app.inject({ method: 'GET', url: `/teams/${TEAM}`, headers: { cookie: outsider } })).statusCode, 403);
    assert.equal((await post(outsider, `/teams/${TEAM}/actions/${action.id}/pick-up`, {}, '/home')).statusCode, 403);
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/teams/${TEAM}/members`, headers: { cookie: outsider } })).statusCode,
      403,
    );
    const outsiderUser = await db
      .selectFrom('users')
      .select(['practitioner_id'])
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    assert.equal(
      (
        await post(
          outsider,
          `/teams/${TEAM}/members`,
          { practitionerId: outsiderUser.practitioner_id!, roleInTeam: 'Social worker' },
          '/home',
        )
      ).statusCode,
      403,
    );
    assert.equal((await server.app.inject({ method: 'GET', url: '/teams', headers: { cookie: citizen } })).statusCode, 403);
    assert.equal((await post(citizen, `/teams/${TEAM}/actions/${action.id}/pick-up`, {}, '/home')).statusCode, 403);
    const noToken = await post(member, `/teams/${TEAM}/actions/${action.id}/pick-up`, {}, null);
    assert.equal(noToken.statusCode, 403, 'CSRF');
    const unchanged = await db
      .selectFrom('plan_actions')
      .select(['assigned_practitioner_id'])
      .where('id', '=', action.id)
      .executeTakeFirstOrThrow();
    assert.equal(unchanged.assigned_practitioner_id, null);
    assert.ok(!(await teamMembers(db, TEAM)).some((m) => m.practitionerId === outsiderUser.practitioner_id), 'the outsider did not join');
    const refusals = await db
      .selectFrom('audit_events')
      .select('reason')
      .where('decision', '=', 'deny')
      .where('reason', 'like', '%refused:%')
      .execute();
    assert.ok(
      refusals.some((r) => r.reason.startsWith('picking up a plan action refused')) &&
        refusals.some((r) => r.reason.startsWith('adding a team member refused')),
      'refusals are on the record',
    );
  });

  test('a member cannot add themselves to another team', async () => {
    const db = server.database.db;
    const other = await db
      .selectFrom('practitioners')
      .select(['id', 'organisation_id'])
      .where('active', '=', true)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    await createIntegratedTeam(db, {
      id: 'team-other',
      hostOrganisationId: other.organisation_id,
      name: 'Hospital Discharge Team',
      base: null,
    });
    await db.transaction().execute((trx) =>
      seedTeamMember(trx, {
        teamId: 'team-other',
        practitionerId: other.id,
        roleInTeam: 'Manager',
        coLocation: null,
        lineManagerId: null,
        managesTeam: true,
      }),
    );
    const me = await db.selectFrom('users').select('practitioner_id').where('username', '=', 'teammember').executeTakeFirstOrThrow();
    const response = await post(
      member,
      '/teams/team-other/members',
      { practitionerId: me.practitioner_id!, roleInTeam: 'Nurse' },
      `/teams/${TEAM}`,
    );
    assert.equal(response.statusCode, 403);
    assert.deepEqual(
      (await teamMembers(db, 'team-other')).map((m) => m.practitionerId),
      [other.id],
    );
    assert.equal((await server.app.inject({ method: 'GET', url: '/teams/team-other', headers: { cookie: member } })).statusCode, 403);
  });

  test('the manager adds a member (a refused form keeps what was typed), and ending a membership ends their access at once', async () => {
    const db = server.database.db;
    const page = await server.app.inject({ method: 'GET', url: `/teams/${TEAM}/members`, headers: { cookie: coordinator } });
    assert.equal(page.statusCode, 200);
    const withAccounts = (await db.selectFrom('users').select('practitioner_id').execute())
      .map((u) => u.practitioner_id)
      .filter((id): id is string => id !== null);
    const candidate = await db
      .selectFrom('practitioners')
      .select(['id', 'organisation_id', 'given_name', 'family_name'])
      .where('active', '=', true)
      .where('id', 'not in', [...(await teamMembers(db, TEAM)).map((m) => m.practitionerId), ...withAccounts])
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const bad = await post(
      coordinator,
      `/teams/${TEAM}/members`,
      { practitionerId: candidate.id, roleInTeam: 'x', coLocation: 'Civic Centre hub, Fridays' },
      `/teams/${TEAM}/members`,
    );
    assert.equal(bad.statusCode, 400);
    assert.ok(
      bad.body.includes('There is a problem') && bad.body.includes('Civic Centre hub, Fridays'),
      'the error summary, and what was typed is kept',
    );
    const added = await post(
      coordinator,
      `/teams/${TEAM}/members`,
      { practitionerId: candidate.id, roleInTeam: 'Benefits adviser', coLocation: 'Civic Centre hub, Fridays' },
      `/teams/${TEAM}/members`,
    );
    assert.equal(added.statusCode, 302);
    await createAccount(db, {
      username: 'newmember',
      displayName: `${candidate.given_name} ${candidate.family_name}`,
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: candidate.id,
      organisationId: candidate.organisation_id,
    });
    const newcomer = await signIn(server.app, 'newmember');
    const personId = (await teamCaseloadIds(db, TEAM))[0]!;
    assert.equal((await server.app.inject({ method: 'GET', url: `/teams/${TEAM}`, headers: { cookie: newcomer } })).statusCode, 200);
    assert.equal(
      (await server.app.inject({ method: 'GET', url: `/people/${personId}`, headers: { cookie: newcomer } })).statusCode,
      200,
      'a new member reaches the caseload',
    );
    // Search narrows to people the searcher is involved with; membership of the team is such involvement.
    const person = await db
      .selectFrom('persons')
      .select(['given_name', 'family_name'])
      .where('id', '=', personId)
      .executeTakeFirstOrThrow();
    const search = async () =>
      (
        await server.app.inject({
          method: 'GET',
          url: `/search?q=${encodeURIComponent(`${person.given_name} ${person.family_name}`)}`,
          headers: { cookie: newcomer },
        })
      ).body;
    assert.ok((await search()).includes(`/people/${personId}`), "a new member finds the team's person by name");
    const membership = (await teamMembers(db, TEAM)).find((m) => m.practitionerId === candidate.id && !m.endedAt)!;
    const ended = await post(
      coordinator,
      `/teams/${TEAM}/members/${membership.membershipId}/end`,
      { reason: 'moved to another post' },
      `/teams/${TEAM}/members`,
    );
    assert.equal(ended.statusCode, 302);
    const after = await server.app.inject({ method: 'GET', url: `/people/${personId}`, headers: { cookie: newcomer } });
    assert.notEqual(after.statusCode, 200, 'a former member no longer reaches the caseload');
    assert.ok(!(await search()).includes(`/people/${personId}`), "a former member's search no longer finds them");
    assert.equal((await server.app.inject({ method: 'GET', url: `/teams/${TEAM}`, headers: { cookie: newcomer } })).statusCode, 403);
    const action = await openAction();
    assert.equal(
      (await post(newcomer, `/teams/${TEAM}/actions/${action.id}/pick-up`, {}, '/home')).statusCode,
      403,
      "a former member cannot pick up the team's work",
    );
    assert.equal(
      (await db.selectFrom('plan_actions').select('assigned_practitioner_id').where('id', '=', action.id).executeTakeFirstOrThrow())
        .assigned_practitioner_id,
      null,
    );
  });
});
