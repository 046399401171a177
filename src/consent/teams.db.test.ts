// Duty cover in an integrated team, on PGlite and PostgreSQL: the team's relationship of care
// reaches its current members from any organisation, the audit says access came through the
// team, ending a membership ends that access at once, and nobody outside the team's management
// changes who is in it (refusals change nothing).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { testDatabaseTargets, testOrganisation, testPerson, testTeamPractitioner } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import type { SignedInUser } from '../auth/index.ts';
import {
  addTeamMember,
  decideRecordAccess,
  endTeamMembership,
  endTeamRelationship,
  openTeamRelationship,
  recordDirective,
  recordTeamRefusal,
  seedTeamMember,
  seedTeamRelationship,
  teamCaseloadIds,
  teamMembers,
  TeamRefused,
  teamsOfPractitioner,
} from './index.ts';

const org = testOrganisation;
const person = testPerson;
const practitioner = testTeamPractitioner;

// Council (hosts the team), NHS trust and housing association members; an outsider at the trust; a host-council
// colleague outside the team; a citizen.
const lead = practitioner('pr-lead', 'council', 't-council');
const nurse = practitioner('pr-nurse', 'nhs', 't-nhs');
const housing = practitioner('pr-housing', 'housing', 't-housing');
const outsider = practitioner('pr-outsider', 'nhs', 't-nhs');
const hostColleague = practitioner('pr-host', 'council', 'mdt');
const citizen: SignedInUser = {
  id: 'u-cit',
  username: 'u-cit',
  displayName: 'cit',
  role: 'citizen',
  personId: 'p-1',
  practitionerId: null,
  organisationId: null,
  teamId: null,
};

async function fixture(db: Kysely<Database>) {
  await db
    .insertInto('organisations')
    .values([org('council', 'council_adult_social_care'), org('nhs', 'mental_health_trust'), org('housing', 'housing_association')])
    .execute();
  await db
    .insertInto('teams')
    .values([
      { id: 't-council', organisation_id: 'council', name: 'Adult social care' },
      { id: 't-nhs', organisation_id: 'nhs', name: 'Community mental health' },
      { id: 't-housing', organisation_id: 'housing', name: 'Tenancy support' },
      { id: 'mdt', organisation_id: 'council', name: 'Multiple Disadvantage Team', integrated: true, base: 'Civic Centre hub' },
      { id: 'other-mdt', organisation_id: 'nhs', name: 'Hospital Discharge Team', integrated: true, base: null },
    ])
    .execute();
  const pr = (u: SignedInUser) => ({
    id: u.practitionerId!,
    organisation_id: u.organisationId!,
    team_id: u.teamId!,
    given_name: u.displayName,
    family_name: 'Worker',
    role: 'practitioner',
    email: '',
  });
  await db.insertInto('practitioners').values([lead, nurse, housing, outsider, hostColleague].map(pr)).execute();
  await db
    .insertInto('persons')
    .values([person('p-1'), person('p-2')] as never)
    .execute();
  for (const u of [lead, nurse, housing, outsider, hostColleague, citizen]) {
    await db
      .insertInto('users')
      .values({
        id: u.id,
        username: u.username,
        display_name: u.displayName,
        role: u.role,
        password_hash: null,
        oidc_subject: null,
        person_id: u.personId,
        practitioner_id: u.practitionerId,
        organisation_id: u.organisationId,
      } as never)
      .execute();
  }
  // The lead works with p-1 (their own relationship), so may bring the team in.
  await db
    .insertInto('care_relationships')
    .values({
      person_id: 'p-1',
      organisation_id: 'council',
      team_id: 't-council',
      practitioner_id: 'pr-lead',
      kind: 'network',
      role_label: 'lead practitioner',
      reason: 'test',
      ended_at: null,
      recorded_by: null,
    })
    .execute();
  await db.transaction().execute(async (trx) => {
    await seedTeamMember(trx, {
      teamId: 'mdt',
      practitionerId: 'pr-lead',
      roleInTeam: 'Team manager',
      coLocation: 'Civic Centre hub',
      lineManagerId: null,
      managesTeam: true,
    });
    await seedTeamMember(trx, {
      teamId: 'mdt',
      practitionerId: 'pr-nurse',
      roleInTeam: 'Mental health nurse',
      coLocation: 'Civic Centre hub, Tuesdays and Thursdays',
      lineManagerId: 'pr-lead',
    });
    await seedTeamMember(trx, {
      teamId: 'other-mdt',
      practitionerId: 'pr-outsider',
      roleInTeam: 'Discharge nurse',
      coLocation: null,
      lineManagerId: null,
      managesTeam: true,
    });
  });
}

const scopeOf = async (db: Kysely<Database>, user: SignedInUser, personId = 'p-1') =>
  await decideRecordAccess(db, { actor: user, personId, categories: ['demographics', 'plans'], purpose: 'direct_care', action: 'read' });

for (const target of await testDatabaseTargets()) {
  describe(`integrated teams and duty cover on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await fixture(db);
    });
    after(async () => {
      await handle?.close();
    });

    test('members come from several organisations, with their home organisation, co-location and line manager recorded', async () => {
      const members = await teamMembers(db, 'mdt');
      assert.deepEqual(
        members.map((m) => [m.practitionerId, m.organisationId, m.coLocation, m.lineManager, m.managesTeam]),
        [
          ['pr-lead', 'council', 'Civic Centre hub', null, true],
          ['pr-nurse', 'nhs', 'Civic Centre hub, Tuesdays and Thursdays', 'pr-lead Worker', false],
        ],
      );
      assert.deepEqual(
        (await teamsOfPractitioner(db, 'pr-nurse')).map((t) => t.name),
        ['Multiple Disadvantage Team'],
      );
    });

    test('before the team holds the person, a member of another organisation has no way in', async () => {
      const access = await scopeOf(db, nurse);
      assert.equal(access.allowed, false);
      assert.match(access.reason, /no legitimate relationship/);
    });

    test('the team takes the person onto its caseload; a member from the NHS reaches them through it, and the audit says so', async () => {
      await assert.rejects(
        db.transaction().execute((trx) => openTeamRelationship(trx, outsider, { personId: 'p-1', teamId: 'mdt', reason: 'trying' })),
        (e: unknown) => e instanceof TeamRefused && e.status === 403,
        'someone outside the team cannot give it a caseload',
      );
      assert.deepEqual(await teamCaseloadIds(db, 'mdt'), [], 'the refusal changed nothing');
      const id = await db
        .transaction()
        .execute((trx) => openTeamRelationship(trx, lead, { personId: 'p-1', teamId: 'mdt', reason: 'multiple disadvantage' }));
      assert.ok(id);
      assert.deepEqual(await teamCaseloadIds(db, 'mdt'), ['p-1']);
      const access = await scopeOf(db, nurse);
      assert.equal(access.byCategory.demographics.scope, 'all');
      assert.equal(
        access.byCategory.plans.scope,
        'own_organisation',
        'the person has not agreed to share: the nurse sees what the trust recorded',
      );
      assert.match(access.reason, /through the relationship of care held by Multiple Disadvantage Team/);
      const audited = await db
        .selectFrom('audit_events')
        .select(['reason', 'decision'])
        .where('person_id', '=', 'p-1')
        .where('actor_user_id', '=', nurse.id)
        .where('decision', '=', 'allow')
        .execute();
      assert.ok(
        audited.length >= 2 && audited.every((a) => a.reason.includes('Multiple Disadvantage Team')),
        'every allowed decision names the team',
      );
    });

    test('a sharing choice made for the team covers its members from every organisation', async () => {
      await db.transaction().execute((trx) =>
        recordDirective(trx, citizen, 'p-1', {
          category: 'plans',
          recipientKind: 'team',
          recipientId: 'mdt',
          purposes: ['direct_care', 'care_coordination'],
          decision: 'permit',
          validUntil: null,
          note: null,
        }),
      );
      assert.equal((await scopeOf(db, nurse)).byCategory.plans.scope, 'all');
    });

    test('outsiders stay out: another trust practitioner, a host-council colleague whose home team it is, a citizen', async () => {
      assert.equal((await scopeOf(db, outsider)).allowed, false, 'a practitioner of a member organisation outside the team');
      assert.equal(
        (await scopeOf(db, hostColleague)).allowed,
        false,
        'the integrated team reaches its members only, not whoever has it as their home team',
      );
      assert.equal((await scopeOf(db, { ...citizen, personId: 'p-2' })).allowed, false, 'a citizen sees only their own record');
      assert.equal((await scopeOf(db, nurse, 'p-2')).allowed, false, "members reach the team's caseload only");
    });

    test('nobody but a manager of a team changes who is in it, and a refusal changes nothing', async () => {
      const before = (await teamMembers(db, 'mdt')).length;
      await assert.rejects(
        db.transaction().execute((trx) =>
          addTeamMember(trx, outsider, {
            teamId: 'mdt',
            practitionerId: 'pr-outsider',
            roleInTeam: 'Nurse',
            coLocation: null,
            lineManagerId: null,
          }),
        ),
        (e: unknown) => e instanceof TeamRefused && e.status === 403,
        'a manager of another team cannot add themselves to this one',
      );
      await assert.rejects(
        db.transaction().execute((trx) =>
          addTeamMember(trx, nurse, {
            teamId: 'other-mdt',
            practitionerId: 'pr-nurse',
            roleInTeam: 'Nurse',
            coLocation: null,
            lineManagerId: null,
          }),
        ),
        (e: unknown) => e instanceof TeamRefused && e.status === 403,
        'a member cannot add themselves to another team',
      );
      await assert.rejects(
        db.transaction().execute((trx) =>
          addTeamMember(trx, citizen, {
            teamId: 'mdt',
            practitionerId: 'pr-housing',
            roleInTeam: 'Housing',
            coLocation: null,
            lineManagerId: null,
          }),
        ),
        (e: unknown) => e instanceof TeamRefused && e.status === 403,
        'a citizen cannot',
      );
      const nurseMembership = (await teamMembers(db, 'mdt')).find((m) => m.practitionerId === 'pr-nurse')!;
      await assert.rejects(
        db
          .transaction()
          .execute((trx) =>
            endTeamMembership(trx, outsider, { teamId: 'mdt', membershipId: nurseMembership.membershipId, reason: 'trying' }),
          ),
        (e: unknown) => e instanceof TeamRefused && e.status === 403,
        'an outsider cannot end a membership',
      );
      assert.equal((await teamMembers(db, 'mdt')).length, before);
      assert.deepEqual(
        (await teamsOfPractitioner(db, 'pr-outsider')).map((t) => t.teamId),
        ['other-mdt'],
      );
      assert.equal((await scopeOf(db, nurse)).allowed, true, 'the nurse is still in');
      // The refusal rolled back with the change; the caller puts it on the record afterwards.
      const refusal = await db
        .transaction()
        .execute((trx) =>
          addTeamMember(trx, nurse, {
            teamId: 'other-mdt',
            practitionerId: 'pr-nurse',
            roleInTeam: 'Nurse',
            coLocation: null,
            lineManagerId: null,
          }),
        )
        .catch((e: unknown) => e);
      assert.ok(refusal instanceof TeamRefused);
      await recordTeamRefusal(db, nurse, refusal, 'joining a team');
      const denied = await db
        .selectFrom('audit_events')
        .select('reason')
        .where('actor_user_id', '=', nurse.id)
        .where('decision', '=', 'deny')
        .where('person_id', 'is', null)
        .execute();
      assert.deepEqual(
        denied.map((d) => d.reason),
        ['joining a team refused: Only a manager of this team can add members to it'],
      );
    });

    test('the manager adds a housing officer, who covers at once; ending their membership ends their access at once', async () => {
      await assert.rejects(
        db.transaction().execute((trx) =>
          addTeamMember(trx, lead, {
            teamId: 'mdt',
            practitionerId: 'pr-housing',
            roleInTeam: 'Housing officer',
            coLocation: null,
            lineManagerId: 'pr-housing',
          }),
        ),
        (e: unknown) => e instanceof TeamRefused && e.status === 400,
        'nobody is their own line manager',
      );
      await db.transaction().execute((trx) =>
        addTeamMember(trx, lead, {
          teamId: 'mdt',
          practitionerId: 'pr-housing',
          roleInTeam: 'Housing officer',
          coLocation: 'Civic Centre hub, Mondays',
          lineManagerId: 'pr-lead',
        }),
      );
      await assert.rejects(
        db.transaction().execute((trx) =>
          addTeamMember(trx, lead, {
            teamId: 'mdt',
            practitionerId: 'pr-housing',
            roleInTeam: 'Housing officer',
            coLocation: null,
            lineManagerId: null,
          }),
        ),
        (e: unknown) => e instanceof TeamRefused && e.status === 409,
      );
      assert.equal((await scopeOf(db, housing)).allowed, true, 'a new member covers on duty straight away');
      const membership = (await teamMembers(db, 'mdt')).find((m) => m.practitionerId === 'pr-housing')!;
      assert.equal(
        await db
          .transaction()
          .execute((trx) =>
            endTeamMembership(trx, lead, { teamId: 'mdt', membershipId: membership.membershipId, reason: 'moved to another post' }),
          ),
        true,
      );
      const after = await scopeOf(db, housing);
      assert.equal(after.allowed, false, 'a former member has no way in');
      assert.match(after.reason, /no legitimate relationship/);
      const former = (await teamMembers(db, 'mdt')).find((m) => m.practitionerId === 'pr-housing')!;
      assert.ok(former.endedAt && former.endReason === 'moved to another post', 'the membership is kept, with its end');
      await assert.rejects(
        db.transaction().execute((trx) => openTeamRelationship(trx, housing, { personId: 'p-1', teamId: 'mdt', reason: 'back again' })),
        (e: unknown) => e instanceof TeamRefused,
        'a former member cannot act for the team',
      );
    });

    test("a member may leave; the team taking the person off its caseload ends every member's access through it", async () => {
      assert.equal((await scopeOf(db, nurse)).allowed, true);
      assert.equal(
        await db
          .transaction()
          .execute((trx) => endTeamRelationship(trx, nurse, { personId: 'p-1', teamId: 'mdt', reason: 'support ended' })),
        true,
      );
      assert.equal((await scopeOf(db, nurse)).allowed, false);
      assert.equal((await scopeOf(db, lead)).allowed, true, 'the lead keeps their own relationship');
      await db.transaction().execute((trx) => seedTeamRelationship(trx, { personId: 'p-1', teamId: 'mdt', reason: 'support resumed' }));
      const own = (await teamMembers(db, 'mdt')).find((m) => m.practitionerId === 'pr-nurse')!;
      assert.equal(
        await db
          .transaction()
          .execute((trx) => endTeamMembership(trx, nurse, { teamId: 'mdt', membershipId: own.membershipId, reason: 'leaving the team' })),
        true,
      );
      assert.equal((await scopeOf(db, nurse)).allowed, false);
    });
  });
}
