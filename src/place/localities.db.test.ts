// Locality care organisations on PGlite and PostgreSQL: who leads each locality of a small
// hand-made place (a different kind of organisation in each), its partners, at most one lead per
// locality, and what "your locality" is for an organisation.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { testDatabaseTargets, testOrganisation } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { localitiesOfOrganisation, localityLeadership, seedLocalityOrganisations } from './localities.ts';

async function fixture(db: Kysely<Database>) {
  await db.insertInto('places').values({ id: 'pl', name: 'Testford', postcode_area: 'TF', seed: 1 }).execute();
  await db
    .insertInto('localities')
    .values([
      { id: 'a', place_id: 'pl', name: 'Abbey' },
      { id: 'b', place_id: 'pl', name: 'Brook' },
      { id: 'c', place_id: 'pl', name: 'Castle' },
      { id: 'd', place_id: 'pl', name: 'Dene' },
    ])
    .execute();
  const org = testOrganisation;
  await db
    .insertInto('organisations')
    .values([
      org('council', 'council_adult_social_care'),
      org('gp-b', 'gp_practice'),
      org('gp-c', 'gp_practice'),
      org('trust', 'hospital_trust'),
      org('charity', 'charity'),
    ])
    .execute();
  await db
    .insertInto('teams')
    .values(['council', 'gp-b', 'gp-c', 'trust', 'charity'].map((o) => ({ id: `t-${o}`, organisation_id: o, name: `Team ${o}` })))
    .execute();
  const service = (id: string, organisation: string, localities: string[]) => ({
    id,
    organisation_id: organisation,
    team_id: `t-${organisation}`,
    name: `Service ${id}`,
    description: 'x',
    needs: [],
    eligibility: 'anyone',
    min_age: null,
    max_age: null,
    locality_ids: localities,
    postcode: 'TF1 1AA',
    acknowledge_within_days: 2,
    first_contact_within_days: 10,
    capacity_per_month: 10,
    last_checked_at: null,
    last_checked_by: null,
  });
  // The council and the trust serve every locality; each GP practice one; the charity Castle and Dene. No one serves Dene but them.
  await db
    .insertInto('services')
    .values([
      service('s-council', 'council', ['a', 'b', 'c', 'd']),
      service('s-trust', 'trust', ['a', 'b', 'c', 'd']),
      service('s-gp-b', 'gp-b', ['b']),
      service('s-gp-c', 'gp-c', ['c']),
      service('s-charity', 'charity', ['c', 'd']),
    ])
    .execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`locality care organisations (${target.kind})`, () => {
    let handle: DatabaseHandle;
    before(async () => {
      handle = await target.open();
      await fixture(handle.db);
    });
    after(async () => handle?.close());

    test('each locality gets a lead of a different kind in turn, and its partners are the others serving it', async () => {
      assert.equal(await seedLocalityOrganisations(handle.db), 2 + 3 + 4 + 3, 'one row for each organisation serving each locality');
      assert.equal(await seedLocalityOrganisations(handle.db), 0, 'a place that has leads is left alone');
      const leadership = await localityLeadership(handle.db);
      assert.deepEqual(
        leadership.map((l) => [l.locality, l.lead?.id ?? null, l.partners.map((p) => p.id)]),
        [
          // Abbey: the council's turn. Brook: a GP practice's. Castle: no housing association, so the trust (next in turn).
          ['Abbey', 'council', ['trust']],
          ['Brook', 'gp-b', ['council', 'trust']],
          ['Castle', 'trust', ['charity', 'council', 'gp-c']],
          // Dene: an NHS trust's turn.
          ['Dene', 'trust', ['charity', 'council']],
        ],
      );
      assert.deepEqual(await localitiesOfOrganisation(handle.db, 'gp-b'), [{ localityId: 'b', role: 'lead' }]);
      assert.deepEqual(
        (await localitiesOfOrganisation(handle.db, 'council')).map((l) => `${l.localityId}:${l.role}`),
        ['a:lead', 'b:partner', 'c:partner', 'd:partner'],
      );
    });

    test('a locality has at most one lead', async () => {
      await assert.rejects(
        handle.db
          .insertInto('locality_organisations')
          .values({ locality_id: 'a', organisation_id: 'charity', role: 'lead', since: '2026-05-01' })
          .execute(),
      );
      assert.equal((await localityLeadership(handle.db))[0]!.lead?.id, 'council', 'nothing changed');
    });
  });
}
