// A referral to a service an integrated team runs puts the person on the team's caseload, on
// PGlite and PostgreSQL: the team's members from other organisations reach the person through
// it from the moment it is sent; another integrated team's members do not; the place ends when
// the referral is declined or completed, and a caseload place the person had before the
// referral is never the referral's to end.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { testDatabaseTargets, testOrganisation, testPerson, testTeamPractitioner } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccess, seedTeamMember, seedTeamRelationship, teamCaseloadIds } from '../consent/index.ts';
import { applyReferralAction, sendReferral } from './index.ts';

const org = testOrganisation;
const person = testPerson;
const practitioner = testTeamPractitioner;
const service = (id: string, organisationId: string, teamId: string) => ({
  id,
  organisation_id: organisationId,
  team_id: teamId,
  name: `Service ${id}`,
  description: 'Test service',
  needs: ['homelessness'],
  eligibility: 'Anyone',
  min_age: null,
  max_age: null,
  locality_ids: [],
  postcode: 'TF1 1AA',
  acknowledge_within_days: 2,
  first_contact_within_days: 10,
  capacity_per_month: 10,
});

// The housing officer refers; the council hosts the integrated team (its manager receives); a
// trust nurse is a member; another trust practitioner is a member of another integrated team.
const referrer = practitioner('pr-ref', 'housing', 't-housing');
const manager = practitioner('pr-lead', 'council', 't-council');
const nurse = practitioner('pr-nurse', 'nhs', 't-nhs');
const otherTeam = practitioner('pr-other', 'nhs', 't-nhs');

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
      { id: 'mdt', organisation_id: 'council', name: 'Multiple Disadvantage Team', integrated: true, base: null },
      { id: 'other-mdt', organisation_id: 'nhs', name: 'Hospital Discharge Team', integrated: true, base: null },
    ])
    .execute();
  await db
    .insertInto('services')
    .values([service('svc-mdt', 'council', 'mdt'), service('svc-plain', 'council', 't-council')] as never)
    .execute();
  await db
    .insertInto('practitioners')
    .values(
      [referrer, manager, nurse, otherTeam].map((u) => ({
        id: u.practitionerId!,
        organisation_id: u.organisationId!,
        team_id: u.teamId!,
        given_name: u.displayName,
        family_name: 'Worker',
        role: 'practitioner',
        email: '',
      })),
    )
    .execute();
  await db
    .insertInto('persons')
    .values([person('p-1'), person('p-2'), person('p-3')] as never)
    .execute();
  for (const u of [referrer, manager, nurse, otherTeam])
    await db
      .insertInto('users')
      .values({
        id: u.id,
        username: u.username,
        display_name: u.displayName,
        role: u.role,
        password_hash: null,
        oidc_subject: null,
        person_id: null,
        practitioner_id: u.practitionerId,
        organisation_id: u.organisationId,
      } as never)
      .execute();
  // The housing officer works with each person, so may refer them.
  for (const p of ['p-1', 'p-2', 'p-3'])
    await db
      .insertInto('care_relationships')
      .values({
        person_id: p,
        organisation_id: 'housing',
        team_id: 't-housing',
        practitioner_id: 'pr-ref',
        kind: 'network',
        role_label: 'housing officer',
        reason: 'test',
        ended_at: null,
        recorded_by: null,
      })
      .execute();
  await db.transaction().execute(async (trx) => {
    await seedTeamMember(trx, {
      teamId: 'mdt',
      practitionerId: 'pr-lead',
      roleInTeam: 'Manager',
      coLocation: null,
      lineManagerId: null,
      managesTeam: true,
    });
    await seedTeamMember(trx, { teamId: 'mdt', practitionerId: 'pr-nurse', roleInTeam: 'Nurse', coLocation: null, lineManagerId: null });
    await seedTeamMember(trx, {
      teamId: 'other-mdt',
      practitionerId: 'pr-other',
      roleInTeam: 'Discharge nurse',
      coLocation: null,
      lineManagerId: null,
      managesTeam: true,
    });
  });
}

const sees = async (db: Kysely<Database>, user: SignedInUser, personId: string) =>
  (await decideRecordAccess(db, { actor: user, personId, categories: ['demographics'], purpose: 'direct_care', action: 'read' })).byCategory
    .demographics.scope !== 'none';

const refer = (db: Kysely<Database>, personId: string, serviceId: string) =>
  sendReferral(db, referrer, {
    personId,
    serviceId,
    reason: 'Needs coordinated support',
    personWords: null,
    urgency: 'soon',
    consent: 'given',
    categories: ['demographics'],
    consentEvidence: 'Agreed at the office',
    onwardConsent: false,
    journeyStep: null,
  });

for (const target of await testDatabaseTargets()) {
  describe(`a referral to an integrated team's service and its caseload on ${target.kind}`, () => {
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

    test('sent: the person joins the team caseload, its NHS member reaches them, another team does not; declined: the place ends', async () => {
      assert.equal(await sees(db, nurse, 'p-1'), false, 'before the referral, the team member from the trust has no way in');
      const id = await refer(db, 'p-1', 'svc-mdt');
      assert.deepEqual(await teamCaseloadIds(db, 'mdt'), ['p-1']);
      assert.deepEqual(await teamCaseloadIds(db, 'other-mdt'), [], 'no other team gains a caseload place');
      assert.equal(await sees(db, nurse, 'p-1'), true, 'the team member from another organisation reaches the person through the team');
      assert.equal(await sees(db, otherTeam, 'p-1'), false, 'a member of another integrated team (same trust) does not');
      await applyReferralAction(db, manager, id, {
        kind: 'decline',
        reason: 'Needs are being met elsewhere',
        onwardServiceId: null,
        notHandedOn: true,
      });
      assert.deepEqual(await teamCaseloadIds(db, 'mdt'), [], 'declining ends the caseload place');
      assert.equal(await sees(db, nurse, 'p-1'), false, "and the member's access through it");
    });

    test('accepted: the place stays while the team works with the person; completed: it ends', async () => {
      const id = await refer(db, 'p-2', 'svc-mdt');
      await applyReferralAction(db, manager, id, { kind: 'acknowledge' });
      await applyReferralAction(db, manager, id, { kind: 'accept' });
      assert.ok((await teamCaseloadIds(db, 'mdt')).includes('p-2'));
      assert.equal(await sees(db, nurse, 'p-2'), true);
      await applyReferralAction(db, manager, id, {
        kind: 'start',
        contact: { on: new Date().toISOString().slice(0, 10), method: 'phone' },
      });
      await applyReferralAction(db, manager, id, { kind: 'complete' });
      assert.ok(!(await teamCaseloadIds(db, 'mdt')).includes('p-2'), 'completing ends the caseload place');
      assert.equal(await sees(db, nurse, 'p-2'), false);
    });

    test("a service its host organisation's ordinary team runs adds nobody to a caseload; a place held before the referral outlives it", async () => {
      await refer(db, 'p-3', 'svc-plain');
      assert.ok(!(await teamCaseloadIds(db, 'mdt')).includes('p-3'));
      assert.equal(await sees(db, nurse, 'p-3'), false);
      await db.transaction().execute((trx) => seedTeamRelationship(trx, { personId: 'p-3', teamId: 'mdt', reason: 'already known' }));
      const id = await refer(db, 'p-3', 'svc-mdt');
      await applyReferralAction(db, manager, id, {
        kind: 'decline',
        reason: 'Already supported by the team',
        onwardServiceId: null,
        notHandedOn: true,
      });
      assert.ok((await teamCaseloadIds(db, 'mdt')).includes('p-3'), 'the place the person already had stays');
      assert.equal(await sees(db, nurse, 'p-3'), true);
    });
  });
}
