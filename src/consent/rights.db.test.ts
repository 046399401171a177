// Rights completed (issue 20) on PGlite and PostgreSQL: an objection to case-finding is one in
// force however often (or however concurrently) it is made, and withdrawn with its history; a
// restriction the data owner puts in force withholds the category from other organisations in
// the access decision until lifted; only the person or their proxy names their informal network.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { testDatabaseTargets, testOrganisation } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import type { SignedInUser } from '../auth/index.ts';
import { HttpError } from '../platform/http.ts';
import { caseFindingObjectionsOf, caseFindingObjectors, objectToCaseFinding, withdrawCaseFindingObjection } from './objections.ts';
import { answerRightsRequest, liftRestriction, requestRestrictionOrErasure } from './rights-requests.ts';
import { addInformalMember, informalNetworkOf } from './informal-network.ts';
import { decideRecordAccess } from './access.ts';

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
const practitioner = (id: string, organisationId: string): SignedInUser => ({
  id,
  username: id,
  displayName: id,
  role: 'practitioner',
  personId: null,
  practitionerId: `pr-${id}`,
  organisationId,
  teamId: null,
});

async function fixture(db: Kysely<Database>) {
  const org = testOrganisation;
  await db
    .insertInto('organisations')
    .values([org('own', 'council_adult_social_care'), org('oth', 'charity')])
    .execute();
  await db
    .insertInto('teams')
    .values([
      { id: 't-own', organisation_id: 'own', name: 'Team own' },
      { id: 't-oth', organisation_id: 'oth', name: 'Team other' },
    ])
    .execute();
  await db
    .insertInto('practitioners')
    .values([
      {
        id: 'pr-owner',
        organisation_id: 'own',
        team_id: 't-own',
        given_name: 'Olive',
        family_name: 'Owner',
        role: 'social_worker',
        email: 'o@example.org',
      },
      {
        id: 'pr-other',
        organisation_id: 'oth',
        team_id: 't-oth',
        given_name: 'Otto',
        family_name: 'Other',
        role: 'link_worker',
        email: 'p@example.org',
      },
    ])
    .execute();
  await db
    .insertInto('persons')
    .values(
      ['p1', 'p2'].map((id) => ({
        id,
        household_id: null,
        given_name: 'Test',
        middle_name: null,
        family_name: id,
        birth_family_name: null,
        birth_date: '1970-01-01',
        sex: 'female',
        ethnicity_group: 'white',
        disability: false,
        nhs_number: null,
        phone: null,
        email: null,
      })),
    )
    .execute();
  const record = await db
    .insertInto('source_records')
    .values({ source: 'OWN', source_id: 'own-1', fields: { given_name: 'Test' } })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('record_links')
    .values({ source_record_id: record.id, person_id: 'p1', method: 'test_fixture', match_probability: 1, superseded_at: null })
    .execute();
  // The other organisation is in the person's network, and the person shares everything with the network.
  await db
    .insertInto('care_relationships')
    .values({
      person_id: 'p1',
      organisation_id: 'oth',
      team_id: null,
      practitioner_id: null,
      kind: 'network',
      role_label: null,
      reason: 'test',
      ended_at: null,
      recorded_by: null,
    })
    .execute();
  await db
    .insertInto('consent_directives')
    .values({
      person_id: 'p1',
      category: '*',
      recipient_kind: 'network',
      recipient_id: null,
      purposes: ['direct_care', 'care_coordination'],
      decision: 'permit',
      recorded_by: null,
      recorded_by_role: 'citizen',
      withdrawn_at: null,
      withdrawn_by: null,
      note: null,
      valid_until: null,
    })
    .execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`rights on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await fixture(db);
    });
    after(async () => {
      await handle.close();
    });

    test('one objection in force however often it is made, even at once; withdrawn, the history stays', async () => {
      const me = citizen('u-p1', 'p1');
      await Promise.all([1, 2, 3].map(() => db.transaction().execute((trx) => objectToCaseFinding(trx, me, 'p1', 'no thanks'))));
      await db.transaction().execute((trx) => objectToCaseFinding(trx, me, 'p1', ''));
      assert.deepEqual(await caseFindingObjectors(db), ['p1']);
      await assert.rejects(
        db.transaction().execute((trx) => objectToCaseFinding(trx, citizen('u-p2', 'p2'), 'p1', 'not mine')),
        HttpError,
      );
      assert.equal(await db.transaction().execute((trx) => withdrawCaseFindingObjection(trx, me, 'p1')), true);
      assert.deepEqual(await caseFindingObjectors(db), []);
      const history = await caseFindingObjectionsOf(db, 'p1');
      assert.equal(history.length, 1);
      assert.ok(history[0]!.withdrawnAt);
    });

    test('a restriction withholds the category from other organisations until lifted', async () => {
      const other = practitioner('other', 'oth');
      const scope = async () =>
        (
          await decideRecordAccess(db, {
            actor: other,
            personId: 'p1',
            categories: ['social_care'],
            purpose: 'direct_care',
            action: 'read',
          })
        ).byCategory.social_care.scope;
      assert.equal(await scope(), 'all');
      const id = await db.transaction().execute((trx) =>
        requestRestrictionOrErasure(trx, citizen('u-p1', 'p1'), 'p1', {
          kind: 'restriction',
          organisationId: 'own',
          category: 'social_care',
          what: 'assessment notes',
          why: 'disputed',
        }),
      );
      await assert.rejects(
        db.transaction().execute((trx) => answerRightsRequest(trx, other, id, 'restricted', 'not our record to restrict')),
        HttpError,
        'only the owner answers',
      );
      await db
        .transaction()
        .execute((trx) => answerRightsRequest(trx, practitioner('owner', 'own'), id, 'restricted', 'restricted while we check'));
      assert.equal(await scope(), 'own_organisation');
      const owner = await decideRecordAccess(db, {
        actor: practitioner('owner', 'own'),
        personId: 'p1',
        categories: ['social_care'],
        purpose: 'direct_care',
        action: 'read',
      });
      assert.equal(owner.byCategory.social_care.scope, 'all', 'the owner still sees it');
      await db.transaction().execute((trx) => liftRestriction(trx, practitioner('owner', 'own'), id));
      assert.equal(await scope(), 'all');
    });

    test('only the person or their proxy names their informal network', async () => {
      await db.transaction().execute((trx) =>
        addInformalMember(trx, citizen('u-p1', 'p1'), 'p1', {
          name: 'Nell',
          kind: 'neighbour',
          relationship: '',
          contact: '0161 000 0000',
          mayKnow: ['has_plan'],
        }),
      );
      await assert.rejects(
        db.transaction().execute((trx) =>
          addInformalMember(trx, citizen('u-p2', 'p2'), 'p1', {
            name: 'Intruder',
            kind: 'friend',
            relationship: '',
            contact: '0161 000 0001',
            mayKnow: [],
          }),
        ),
        HttpError,
      );
      await assert.rejects(
        db.transaction().execute((trx) =>
          addInformalMember(trx, practitioner('owner', 'own'), 'p1', {
            name: 'Intruder',
            kind: 'friend',
            relationship: '',
            contact: '0161 000 0001',
            mayKnow: [],
          }),
        ),
        HttpError,
      );
      assert.deepEqual(
        (await informalNetworkOf(db, 'p1')).map((m) => m.name),
        ['Nell'],
      );
    });
  });
}
