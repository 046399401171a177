// One home for link decisions: a record decides the same way whether it arrives alone (an agency
// sending one record, a FHIR Patient create) or in a bulk file, because both go through
// `decideLink`. Checked by feeding the same arrivals both ways into two copies of one place.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { loadSyntheticPlace } from '../demo/index.ts';
import { indexState } from './index-state.ts';
import { receiveSourceRecord, storeAndLinkBatch, type IncomingRecord } from './receive.ts';

const PLACE = { seed: 23, people: 800 };

interface Spine {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: string;
  nhs_number: string;
  postcode: string;
  address_line: string;
}

/** Arrivals of every kind: typos of known people, strangers, a stranger twice, a near-twin. */
function arrivalsFor(people: readonly Spine[]): IncomingRecord[] {
  const arrivals: IncomingRecord[] = [];
  people.slice(0, 8).forEach((p, i) => {
    const typo = p.family_name.length > 3 ? p.family_name.slice(0, 2) + p.family_name.slice(3) : `${p.family_name}e`;
    arrivals.push({
      sourceId: `known-${i}`,
      fields: { given_name: p.given_name, family_name: typo, birth_date: p.birth_date, sex: p.sex, postcode: p.postcode },
    });
  });
  // No NHS number, a swapped name order: still the same person.
  const swapped = people[8]!;
  arrivals.push({
    sourceId: 'swapped',
    fields: {
      given_name: swapped.family_name,
      family_name: swapped.given_name,
      birth_date: swapped.birth_date,
      postcode: swapped.postcode,
    },
  });
  // A stranger, who then arrives again from the same agency under another id.
  const stranger = { given_name: 'Ottoline', family_name: 'Brackenbury', birth_date: '1944-06-02', sex: 'female', postcode: 'ZZ1 1ZZ' };
  arrivals.push({ sourceId: 'stranger-1', fields: stranger });
  arrivals.push({ sourceId: 'stranger-2', fields: { ...stranger, given_name: 'Otoline' } });
  // Someone sharing a known person's name and birth year but nothing else: not a join.
  const twin = people[9]!;
  arrivals.push({
    sourceId: 'namesake',
    fields: {
      given_name: twin.given_name,
      family_name: twin.family_name,
      birth_date: `${twin.birth_date.slice(0, 4)}-12-30`,
      postcode: 'ZZ8 8ZZ',
    },
  });
  return arrivals;
}

/** Each arrival's outcome, with new persons named by the first arrival that made them. */
function comparable(outcomes: Map<string, { personId: string; outcome: string }>): Record<string, string> {
  const firstArrivalOf = new Map<string, string>();
  const result: Record<string, string> = {};
  for (const [sourceId, { personId, outcome }] of outcomes) {
    const person = personId.startsWith('lp-')
      ? `new person first made for ${firstArrivalOf.get(personId) ?? (firstArrivalOf.set(personId, sourceId), sourceId)}`
      : personId;
    result[sourceId] = `${outcome} → ${person}`;
  }
  return result;
}

for (const target of await testDatabaseTargets()) {
  describe(`one link decision on ${target.kind}`, () => {
    let alone: DatabaseHandle;
    let bulk: DatabaseHandle;
    let people: Spine[];
    before(async () => {
      alone = await target.open();
      bulk = await target.open();
      await loadSyntheticPlace(alone.db, PLACE);
      await loadSyntheticPlace(bulk.db, PLACE);
      people = (
        await sql<Spine>`
        select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.sex, p.nhs_number, h.postcode, h.address_line
        from persons p join households h on h.id = p.household_id
        where p.nhs_number is not null and p.birth_date < date '1990-01-01' order by p.id limit 10`.execute(alone.db)
      ).rows;
    });
    after(async () => {
      await alone?.close();
      await bulk?.close();
    });

    test('the same records decide the same way one at a time and as a bulk batch', async () => {
      const arrivals = arrivalsFor(people);
      const oneAtATime = new Map<string, { personId: string; outcome: string }>();
      for (const arrival of arrivals) {
        const received = await receiveSourceRecord(alone.db, 'TEST-AGENCY', arrival.sourceId, arrival.fields);
        oneAtATime.set(arrival.sourceId, received);
      }
      await indexState(bulk.db);
      const batch = await bulk.db.transaction().execute((trx) => storeAndLinkBatch(bulk.db, trx, 'TEST-AGENCY', arrivals));
      const asBatch = new Map(
        [...batch.bySourceId].map(([sourceId, outcome]) => [sourceId, { personId: outcome.personId!, outcome: outcome.outcome }]),
      );
      assert.deepEqual(comparable(asBatch), comparable(oneAtATime));

      // And the decisions are the right ones, so agreeing is not agreeing on nonsense.
      for (let i = 0; i < 8; i++) assert.equal(oneAtATime.get(`known-${i}`)!.personId, people[i]!.id, `known-${i} links to its person`);
      assert.equal(oneAtATime.get('swapped')!.personId, people[8]!.id, 'a swapped name order links to its person');
      assert.equal(oneAtATime.get('stranger-1')!.outcome, 'new_person');
      assert.equal(
        oneAtATime.get('stranger-2')!.personId,
        oneAtATime.get('stranger-1')!.personId,
        "the stranger's second record joins the person the first made",
      );
      assert.notEqual(oneAtATime.get('namesake')!.personId, people[9]!.id, 'a namesake with another birthday and address is not joined');
    });
  });
}
