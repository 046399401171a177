// Releasing safeguarding information to the person it concerns: only a practitioner who shares it
// on a safeguarding basis may, the release is audited and can be withdrawn, and until then neither
// the child nor their parent sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabaseTargets, testPerson } from '../testing.ts';
import type { SignedInUser } from '../auth/index.ts';
import {
  decideRecordAccess,
  grantProxy,
  releaseSafeguardingToPerson,
  ReleaseRefused,
  seedLawfulBases,
  withdrawSafeguardingRelease,
} from './index.ts';

const person = (id: string, birthDate: string) => ({ ...testPerson(id), birth_date: birthDate });
const citizen = (id: string, personId: string): SignedInUser => ({
  id,
  username: id,
  displayName: id,
  role: 'citizen',
  personId,
  practitionerId: null,
  organisationId: null,
  teamId: null,
});
const social: SignedInUser = {
  id: 'u-sw',
  username: 'u-sw',
  displayName: 'Sam',
  role: 'practitioner',
  personId: null,
  practitionerId: 'pr-sw',
  organisationId: 'org-cs',
  teamId: 't-cs',
};
const housing: SignedInUser = {
  id: 'u-ho',
  username: 'u-ho',
  displayName: 'Hal',
  role: 'practitioner',
  personId: null,
  practitionerId: 'pr-ho',
  organisationId: 'org-ho',
  teamId: 't-ho',
};

for (const target of await testDatabaseTargets()) {
  test(`safeguarding release (${target.kind}): only a practitioner sharing it on a safeguarding basis releases it to the child and their parent`, async () => {
    const { db, close } = await target.open();
    try {
      const org = (id: string, kind: string) => ({
        id,
        name: id,
        kind,
        source_code: id.toUpperCase(),
        locality_id: null,
        postcode: 'TF1 1AA',
        phone: '0',
        email: 'x@example.org',
        website: 'https://example.org',
      });
      await db
        .insertInto('organisations')
        .values([org('org-cs', 'council_children_social_care'), org('org-ho', 'council_housing')])
        .execute();
      await db
        .insertInto('teams')
        .values([
          { id: 't-cs', organisation_id: 'org-cs', name: 'CS' },
          { id: 't-ho', organisation_id: 'org-ho', name: 'HO' },
        ])
        .execute();
      await db
        .insertInto('practitioners')
        .values([
          {
            id: 'pr-sw',
            organisation_id: 'org-cs',
            team_id: 't-cs',
            given_name: 'Sam',
            family_name: 'W',
            role: 'social_worker',
            email: 's@example.org',
          },
          {
            id: 'pr-ho',
            organisation_id: 'org-ho',
            team_id: 't-ho',
            given_name: 'Hal',
            family_name: 'O',
            role: 'housing_officer',
            email: 'h@example.org',
          },
        ])
        .execute();
      await db
        .insertInto('persons')
        .values([person('p-kid', '2017-04-04'), person('p-mum', '1985-05-05')] as never)
        .execute();
      for (const [id, role, personId, practitionerId, organisationId] of [
        ['u-sw', 'practitioner', null, 'pr-sw', 'org-cs'],
        ['u-ho', 'practitioner', null, 'pr-ho', 'org-ho'],
        ['u-kid', 'citizen', 'p-kid', null, null],
        ['u-mum', 'citizen', 'p-mum', null, null],
      ] as const) {
        await db
          .insertInto('users')
          .values({
            id,
            username: id,
            display_name: id,
            role,
            password_hash: null,
            oidc_subject: null,
            person_id: personId,
            practitioner_id: practitionerId,
            organisation_id: organisationId,
          } as never)
          .execute();
      }
      for (const pr of [social, housing]) {
        await db
          .insertInto('care_relationships')
          .values({
            person_id: 'p-kid',
            organisation_id: pr.organisationId!,
            team_id: pr.teamId,
            practitioner_id: pr.practitionerId,
            kind: 'network',
            role_label: 'x',
            reason: 'test',
            ended_at: null,
            recorded_by: null,
          })
          .execute();
      }
      await db.transaction().execute((trx) =>
        seedLawfulBases(trx, [
          {
            personId: 'p-kid',
            category: 'children_safeguarding',
            purpose: 'safeguarding',
            basis: 'safeguarding',
            organisationId: 'org-cs',
            explanation: 'Children Act 1989',
            validFrom: new Date(Date.now() - 86_400_000),
          },
        ]),
      );
      await db
        .transaction()
        .execute((trx) =>
          grantProxy(trx, null, { personId: 'p-kid', proxyPersonId: 'p-mum', kind: 'parent', permittedBy: 'parental responsibility' }),
        );
      const sees = async (user: SignedInUser) =>
        (
          await decideRecordAccess(db, {
            actor: user,
            personId: 'p-kid',
            categories: ['children_safeguarding'],
            purpose: 'self',
            action: 'read',
          })
        ).byCategory.children_safeguarding.scope;
      assert.equal(await sees(citizen('u-kid', 'p-kid')), 'none', 'the child does not see it');
      assert.equal(await sees(citizen('u-mum', 'p-mum')), 'none', 'nor does the parent');

      await assert.rejects(
        db.transaction().execute((trx) => releaseSafeguardingToPerson(trx, housing, 'p-kid', 'the family should know about this now')),
        (error: unknown) => error instanceof ReleaseRefused && error.status === 422,
        'a practitioner without the safeguarding basis cannot release it',
      );
      await assert.rejects(
        db.transaction().execute((trx) => releaseSafeguardingToPerson(trx, social, 'p-kid', 'short')),
        (error: unknown) => error instanceof ReleaseRefused && error.status === 400,
      );
      await db
        .transaction()
        .execute((trx) => releaseSafeguardingToPerson(trx, social, 'p-kid', 'concern closed and discussed with the family'));
      assert.equal(await sees(citizen('u-kid', 'p-kid')), 'all', 'released: the child sees it');
      assert.equal(await sees(citizen('u-mum', 'p-mum')), 'all', 'and so does the parent');
      const audited = await db
        .selectFrom('audit_events')
        .select('reason')
        .where('person_id', '=', 'p-kid')
        .where('reason', 'like', 'safeguarding information released%')
        .execute();
      assert.equal(audited.length, 1);

      assert.equal(await db.transaction().execute((trx) => withdrawSafeguardingRelease(trx, social, 'p-kid')), 1);
      assert.equal(await sees(citizen('u-mum', 'p-mum')), 'none', 'withdrawn: hidden again');
    } finally {
      await close();
    }
  });
}
