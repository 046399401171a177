// Property tests of merge and un-merge (fast-check, on PGlite): whatever the sequence of merges,
// un-merges and arriving records, no source record is lost or linked twice, and a merge followed
// by its un-merge restores every link and every need exactly.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sql } from 'kysely';
import { openPglite, type DatabaseHandle } from '../platform/db.ts';
import { migrateToLatest } from '../schema.ts';
import { loadSyntheticPlace } from '../demo/index.ts';
import { mergePersons, unmerge } from './merge.ts';
import { receiveSourceRecord } from './receive.ts';

const actor = { id: 'u-property', role: 'data_quality' };

async function invariantHolds(database: DatabaseHandle): Promise<void> {
  const problems = await sql<{ id: number; links: number }>`
    select s.id, count(l.id)::int as links from source_records s
    left join record_links l on l.source_record_id = s.id and l.superseded_at is null
    group by s.id having count(l.id) <> 1`.execute(database.db);
  assert.deepEqual(problems.rows, [], 'every source record has exactly one current link');
  const onMerged = await sql<{ n: number }>`
    select count(*)::int as n from record_links l join persons p on p.id = l.person_id
    where l.superseded_at is null and p.merged_into is not null`.execute(database.db);
  assert.equal(onMerged.rows[0]!.n, 0, 'no record is linked to a merged-away person');
}

async function snapshot(database: DatabaseHandle): Promise<{ links: [number, string][]; needs: [number, string][] }> {
  const links = await database.db
    .selectFrom('record_links')
    .select(['source_record_id', 'person_id'])
    .where('superseded_at', 'is', null)
    .orderBy('source_record_id')
    .execute();
  const needs = await database.db.selectFrom('needs').select(['id', 'person_id']).orderBy('id').execute();
  return { links: links.map((row) => [row.source_record_id, row.person_id]), needs: needs.map((row) => [row.id, row.person_id]) };
}

async function livePersons(database: DatabaseHandle): Promise<string[]> {
  const rows = await sql<{ id: string }>`select id from persons where merged_into is null order by id`.execute(database.db);
  return rows.rows.map((row) => row.id);
}

type Step =
  | { kind: 'merge'; survivor: number; merged: number }
  | { kind: 'unmerge'; pick: number }
  | { kind: 'record'; person: number; typo: boolean; serial: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('merge' as const), survivor: fc.nat(), merged: fc.nat() }),
  fc.record({ kind: fc.constant('unmerge' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('record' as const), person: fc.nat(), typo: fc.boolean(), serial: fc.nat(1_000_000) }),
);

describe('merge and un-merge properties', () => {
  let database: DatabaseHandle;
  let serial = 0;
  before(async () => {
    database = await openPglite('memory://');
    await migrateToLatest(database.db);
    await loadSyntheticPlace(database.db, { seed: 5, people: 300 });
  });
  after(async () => {
    await database?.close();
  });

  test('random merges, un-merges and new records never lose or duplicate a source record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        for (const s of steps) {
          const persons = await livePersons(database);
          if (s.kind === 'merge') {
            const survivor = persons[s.survivor % persons.length]!;
            const merged = persons[s.merged % persons.length]!;
            if (survivor === merged) continue;
            await mergePersons(database.db, survivor, merged, actor, 'property test');
          } else if (s.kind === 'unmerge') {
            const open = await database.db
              .selectFrom('person_merges')
              .select('id')
              .where('unmerged_at', 'is', null)
              .orderBy('id')
              .execute();
            if (open.length === 0) continue;
            await unmerge(database.db, open[s.pick % open.length]!.id, actor, 'property test');
          } else {
            const person = await sql<{ given_name: string; family_name: string; birth_date: string | null; sex: string | null }>`
            select given_name, family_name, birth_date::text as birth_date, sex from persons where id = ${persons[s.person % persons.length]!}`.execute(
              database.db,
            );
            const p = person.rows[0]!;
            serial += 1;
            await receiveSourceRecord(database.db, 'PROPERTY', `r-${serial}-${s.serial}`, {
              given_name: s.typo ? p.given_name.slice(1) : p.given_name,
              family_name: p.family_name,
              birth_date: p.birth_date ?? '',
              sex: p.sex ?? '',
            });
          }
          await invariantHolds(database);
        }
      }),
      { numRuns: 12 },
    );
  });

  test('a merge followed by its un-merge restores every link and every need exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), async (x, y) => {
        const persons = await livePersons(database);
        const survivor = persons[x % persons.length]!;
        const merged = persons[y % persons.length]!;
        fc.pre(survivor !== merged);
        const before = await snapshot(database);
        const merge = await mergePersons(database.db, survivor, merged, actor, 'property test');
        const during = await snapshot(database);
        assert.ok(
          during.links.every(([, person]) => person !== merged),
          'nothing stays on the merged person',
        );
        await unmerge(database.db, merge.mergeId, actor, 'property test');
        assert.deepEqual(await snapshot(database), before);
        await invariantHolds(database);
      }),
      { numRuns: 15 },
    );
  });
});
