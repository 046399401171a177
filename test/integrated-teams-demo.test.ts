// The synthetic place, on PGlite and PostgreSQL, as integrated teams and duty cover need it:
// every open plan action assigned to an organisation can be picked up by any colleague in that
// organisation (issue 22 found 4 of 24 refused with "no legitimate relationship": actions for the
// lead's own organisation opened no relationship for it), and the demo's integrated team has
// members from several organisations and a caseload they reach through the team.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets } from '../src/testing.ts';
import type { Database } from '../src/schema.ts';
import type { DatabaseHandle } from '../src/platform/db.ts';
import type { SignedInUser } from '../src/auth/index.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { decideRecordAccess, endTeamMembership, teamCaseloadIds, teamMembers } from '../src/consent/index.ts';
import { preparePickUpAction, PickUpRefused, unassignedActionsFor } from '../src/plans/team-work.ts';
import { DEMO_TEAM_ID } from '../src/plans/teams-seed.ts';
import { preparePickUpReferral, ReferralInputError } from '../src/referrals/index.ts';

const practitioner = (practitionerId: string, organisationId: string, teamId: string): SignedInUser => ({
  id: `u-${practitionerId}`,
  username: `u-${practitionerId}`,
  displayName: 'Colleague',
  role: 'practitioner',
  personId: null,
  practitionerId,
  organisationId,
  teamId,
});

async function addUser(db: Kysely<Database>, user: SignedInUser): Promise<void> {
  await db
    .insertInto('users')
    .values({
      id: user.id,
      username: user.username,
      display_name: user.displayName,
      role: 'practitioner',
      password_hash: null,
      oidc_subject: null,
      person_id: null,
      practitioner_id: user.practitionerId,
      organisation_id: user.organisationId,
    } as never)
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`integrated teams in the synthetic place on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await loadSyntheticPlace(db, { seed: 7, people: 600 });
    });
    after(async () => {
      await handle?.close();
    });

    test('a colleague in the organisation an open plan action is assigned to may open the plan to pick it up', async () => {
      const rows = (
        await sql<{ action_id: string; person_id: string; org: string; colleague: string; team: string }>`
        select a.id as action_id, m.person_id, a.assigned_organisation_id as org, c.id as colleague, c.team_id as team
        from plan_actions a join plans p on p.id = a.plan_id join plan_members m on m.plan_id = p.id
        cross join lateral (
          select pr.id, pr.team_id from practitioners pr
          where pr.organisation_id = a.assigned_organisation_id and pr.active
            and not exists (select 1 from care_relationships r where r.person_id = m.person_id and r.practitioner_id = pr.id and r.ended_at is null)
          order by pr.id limit 1) c
        where a.status = 'open' and a.assigned_practitioner_id is null and p.status = 'active'
        order by a.id, m.person_id`.execute(db)
      ).rows;
      assert.ok(rows.length >= 20, `the place has open plan actions assigned to organisations (${rows.length})`);
      const refused: string[] = [];
      for (const r of rows) {
        const colleague = practitioner(r.colleague, r.org, r.team);
        await addUser(db, colleague);
        const access = await decideRecordAccess(db, {
          actor: colleague,
          personId: r.person_id,
          categories: ['plans'],
          purpose: 'direct_care',
          action: 'read',
        });
        if (!access.allowed) refused.push(`${r.action_id}: ${access.reason}`);
      }
      assert.deepEqual(refused, [], `${refused.length} of ${rows.length} actions refused the colleague who picked them up`);
    });

    test('the place has an integrated team with members from several organisations, co-located, with shared cases', async () => {
      const members = (await teamMembers(db, DEMO_TEAM_ID)).filter((m) => !m.endedAt);
      assert.ok(new Set(members.map((m) => m.organisationId)).size >= 3, 'members from at least three organisations');
      assert.ok(
        members.every((m) => m.coLocation?.startsWith('Civic Centre hub')),
        'co-location recorded',
      );
      assert.ok(
        members.filter((m) => !m.managesTeam).every((m) => m.lineManager !== null),
        'line management recorded',
      );
      assert.ok((await teamCaseloadIds(db, DEMO_TEAM_ID)).length >= 5, 'shared cases');
    });

    test('duty cover: a member from another organisation picks up an action for another agency, and leaving the team ends it', async () => {
      const members = (await teamMembers(db, DEMO_TEAM_ID)).filter((m) => !m.endedAt);
      const manager = members.find((m) => m.managesTeam)!;
      const caseload = await teamCaseloadIds(db, DEMO_TEAM_ID);
      const actions = await unassignedActionsFor(db, caseload, [...new Set(members.map((m) => m.organisationId))]);
      // An action for one agency, picked up by a member from another.
      const pair = actions.flatMap((a) =>
        members.filter((m) => !m.managesTeam && m.organisationId !== a.assignedOrganisationId).map((m) => ({ a, m })),
      )[0];
      assert.ok(pair, "the shared worklist has work another agency's member can cover");
      const colleague = practitioner(pair.m.practitionerId, pair.m.organisationId, 'none');
      await addUser(db, colleague);
      const outsiderRow = (
        await sql<{
          id: string;
          organisation_id: string;
        }>`select id, organisation_id from practitioners where organisation_id = ${pair.m.organisationId} and id <> ${pair.m.practitionerId} order by id limit 1`.execute(
          db,
        )
      ).rows[0]!;
      const outsider = practitioner(outsiderRow.id, outsiderRow.organisation_id, 'none');
      await addUser(db, outsider);
      await assert.rejects(
        preparePickUpAction(db, outsider, pair.a.id, DEMO_TEAM_ID).then((pickUp) => db.transaction().execute(pickUp)),
        (e: unknown) => e instanceof PickUpRefused && e.status === 403,
        'a colleague outside the team cannot',
      );
      const picked = await db.transaction().execute(await preparePickUpAction(db, colleague, pair.a.id, DEMO_TEAM_ID));
      assert.equal(picked.personId, pair.a.personId);
      const row = await db
        .selectFrom('plan_actions')
        .select(['assigned_practitioner_id', 'assigned_organisation_id'])
        .where('id', '=', pair.a.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual([row.assigned_practitioner_id, row.assigned_organisation_id], [pair.m.practitionerId, pair.m.organisationId]);
      const access = await decideRecordAccess(db, {
        actor: colleague,
        personId: pair.a.personId,
        categories: ['plans'],
        purpose: 'direct_care',
        action: 'read',
      });
      assert.ok(access.allowed);
      assert.match(access.reason, /through the relationship of care held by Multiple Disadvantage Team/);
      const managerUser = practitioner(manager.practitionerId, manager.organisationId, 'none');
      await db
        .transaction()
        .execute((trx) =>
          endTeamMembership(trx, managerUser, { teamId: DEMO_TEAM_ID, membershipId: pair.m.membershipId, reason: 'left the team' }),
        );
      const other = actions.find((a) => a.id !== pair.a.id && a.assignedOrganisationId !== pair.m.organisationId)!;
      await assert.rejects(
        preparePickUpAction(db, colleague, other.id, DEMO_TEAM_ID).then((pickUp) => db.transaction().execute(pickUp)),
        (e: unknown) => e instanceof PickUpRefused && e.status === 403,
        "a former member cannot pick up the team's work",
      );
      const unchanged = await db
        .selectFrom('plan_actions')
        .select('assigned_practitioner_id')
        .where('id', '=', other.id)
        .executeTakeFirstOrThrow();
      assert.equal(unchanged.assigned_practitioner_id, null);
    });

    test('picking up a referral: a colleague in the receiving organisation may, anyone else is refused and nothing changes', async () => {
      const r = (
        await sql<{ id: string; organisation_id: string; team_id: string }>`
        select id, organisation_id, team_id from referrals where assigned_practitioner_id is null and status in ('sent', 'received', 'accepted') and kind = 'professional'
        order by id limit 1`.execute(db)
      ).rows[0];
      assert.ok(r, 'the place has an open, unassigned referral');
      const pick = async (where: string) =>
        (
          await sql<{ id: string; organisation_id: string; team_id: string }>`
        select id, organisation_id, team_id from practitioners where active and ${sql.raw(where)} order by id limit 1`.execute(db)
        ).rows[0]!;
      const inOrg = await pick(`organisation_id = '${r.organisation_id}'`);
      const elsewhere = await pick(
        `organisation_id <> '${r.organisation_id}' and not exists (select 1 from team_memberships m where m.practitioner_id = practitioners.id)`,
      );
      const colleague = practitioner(inOrg.id, inOrg.organisation_id, inOrg.team_id);
      const outsider = practitioner(elsewhere.id, elsewhere.organisation_id, elsewhere.team_id);
      await addUser(db, colleague);
      await addUser(db, outsider);
      await assert.rejects(
        preparePickUpReferral(db, outsider, r.id).then((pickUp) => db.transaction().execute(pickUp)),
        (e: unknown) => e instanceof ReferralInputError && e.status === 403,
      );
      assert.equal(
        (await db.selectFrom('referrals').select('assigned_practitioner_id').where('id', '=', r.id).executeTakeFirstOrThrow())
          .assigned_practitioner_id,
        null,
      );
      await db.transaction().execute(await preparePickUpReferral(db, colleague, r.id));
      assert.equal(
        (await db.selectFrom('referrals').select('assigned_practitioner_id').where('id', '=', r.id).executeTakeFirstOrThrow())
          .assigned_practitioner_id,
        inOrg.id,
      );
      const event = await db
        .selectFrom('referral_events')
        .select('note')
        .where('referral_id', '=', r.id)
        .where('action', '=', 'assign')
        .executeTakeFirst();
      assert.match(event?.note ?? '', /^Picked up by /);
    });
  });
}
