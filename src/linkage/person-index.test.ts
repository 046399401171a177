// The person index in the database, on PGlite and (when reachable) PostgreSQL: batch linking
// of a synthetic place against its truth, online matching, reviewers' decisions, merge/un-merge.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { loadSyntheticPlace } from '../demo/index.ts';
import { createPlaceFrame, generateHouseholds } from '../synth/index.ts';
import { indexPlaceRecords, pairwiseScores } from './person-index.ts';
import { receiveSourceRecord } from './receive.ts';
import { decideReview, reviewItem } from './review.ts';
import { reviewerAgreement, reviewerPairLabels } from './review-labels.ts';
import { mergePersons, unmerge } from './merge.ts';

const PLACE = { seed: 11, people: 1500 };
const reviewer = { id: 'u-reviewer', role: 'data_quality' };

function truthOfPlace(): Map<string, string> {
  const truth = new Map<string, string>();
  for (const bundle of generateHouseholds(createPlaceFrame(PLACE), PLACE)) {
    for (const record of bundle.sourceRecords) truth.set(`${record.source}|${record.sourceId}`, record.truePersonId);
  }
  return truth;
}

async function currentLinks(database: DatabaseHandle): Promise<Map<number, string>> {
  const rows = await database.db
    .selectFrom('record_links')
    .select(['source_record_id', 'person_id'])
    .where('superseded_at', 'is', null)
    .execute();
  return new Map(rows.map((row) => [row.source_record_id, row.person_id]));
}

interface SpinePerson {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: string;
  nhs_number: string;
  postcode: string;
  address_line: string;
}

async function spinePersonWithRecords(database: DatabaseHandle, offset = 0): Promise<SpinePerson> {
  const result = await sql<SpinePerson>`
    select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.sex, p.nhs_number, h.postcode, h.address_line
    from persons p join households h on h.id = p.household_id
    where p.nhs_number is not null and p.merged_into is null and p.birth_date < date '1990-01-01'
      and (select count(*) from record_links l where l.person_id = p.id and l.superseded_at is null) >= 2
      and exists (select 1 from needs n where n.person_id = p.id)
    order by p.id offset ${offset} limit 1`.execute(database.db);
  return result.rows[0]!;
}

for (const target of await testDatabaseTargets()) {
  describe(`person index on ${target.kind}`, () => {
    let database: DatabaseHandle;
    before(async () => {
      database = await target.open();
      await loadSyntheticPlace(database.db, PLACE);
    });
    after(async () => {
      await database?.close();
    });

    test('a link must name a stored record and a person, and neither can be deleted or renumbered while linked', async () => {
      const db = database.db;
      const record = await db.selectFrom('source_records').select('id').orderBy('id').limit(1).executeTakeFirstOrThrow();
      const person = await db.selectFrom('persons').select('id').orderBy('id').limit(1).executeTakeFirstOrThrow();
      const link = (sourceRecordId: number, personId: string) =>
        db
          .insertInto('record_links')
          .values({
            source_record_id: sourceRecordId,
            person_id: personId,
            method: 'reviewer',
            match_probability: null,
            superseded_at: new Date(),
          })
          .execute();
      await assert.rejects(link(record.id, 'p-nobody'), /names a person who does not exist/);
      await assert.rejects(link(987_654_321, person.id), /names a source record that does not exist/);
      const linked = await db
        .selectFrom('record_links')
        .select(['id', 'person_id', 'source_record_id'])
        .orderBy('id')
        .limit(1)
        .executeTakeFirstOrThrow();
      await assert.rejects(
        db.updateTable('record_links').set({ person_id: 'p-nobody' }).where('id', '=', linked.id).execute(),
        /names a person who does not exist/,
      );
      await assert.rejects(
        db.deleteFrom('persons').where('id', '=', linked.person_id).execute(),
        /a person with links cannot be deleted or renumbered/,
      );
      await assert.rejects(
        db.updateTable('persons').set({ id: 'p-renamed' }).where('id', '=', linked.person_id).execute(),
        /a person with links cannot be deleted or renumbered/,
      );
      await assert.rejects(
        db.deleteFrom('source_records').where('id', '=', linked.source_record_id).execute(),
        /a source record with links cannot be deleted or renumbered/,
      );
      const still = await db
        .selectFrom('record_links')
        .select(['person_id', 'source_record_id'])
        .where('id', '=', linked.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(still, { person_id: linked.person_id, source_record_id: linked.source_record_id }, 'the link is unchanged');
    });

    test('every agency record is linked to exactly one person, and nearly always the right one', async () => {
      const records = await sql<{ source: string; source_id: string; person_id: string | null; links: number; method: string | null }>`
        select s.source, s.source_id, min(l.person_id) as person_id, count(l.id)::int as links, min(l.method) as method
        from source_records s left join record_links l on l.source_record_id = s.id and l.superseded_at is null
        group by s.id, s.source, s.source_id`.execute(database.db);
      assert.ok(records.rows.length > 2000);
      assert.ok(
        records.rows.every((row) => row.links === 1),
        'one current link per record',
      );
      assert.ok(
        records.rows.every((row) => row.method === 'probabilistic' || row.method === 'probabilistic_new'),
        'no ground truth used',
      );
      const truth = truthOfPlace();
      const scores = pairwiseScores(
        records.rows.map((row) => row.person_id!),
        records.rows.map((row) => truth.get(`${row.source}|${row.source_id}`)!),
      );
      assert.ok(scores.f1 > 0.97, `pairwise F1 ${scores.f1}`);
      const onSpine = records.rows.filter((row) => row.person_id === truth.get(`${row.source}|${row.source_id}`)).length;
      assert.ok(onSpine / records.rows.length > 0.98, `records on their true person: ${onSpine} of ${records.rows.length}`);
      const model = await database.db.selectFrom('linkage_models').select('id').executeTakeFirst();
      assert.ok(model, 'the trained model is stored for online matching');
    });

    test('the review queue asks about a record against a person it is not linked to, with an explanation', async () => {
      const open = await database.db
        .selectFrom('linkage_reviews')
        .select(['id', 'source_record_id', 'candidate_person_id'])
        .where('status', '=', 'open')
        .orderBy('id')
        .execute();
      assert.ok(open.length > 0, 'a place this size has uncertain matches');
      const links = await currentLinks(database);
      for (const item of open) assert.notEqual(links.get(item.source_record_id), item.candidate_person_id);
      const item = await reviewItem(database.db, open[0]!.id);
      assert.ok(item);
      assert.equal(item.left.fields.length, item.right.fields.length);
      assert.ok(item.explanation.fields.some((field) => field.weight !== 0));
      assert.ok(
        Math.abs(item.explanation.total - item.explanation.fields.reduce((sum, f) => sum + f.weight, item.explanation.prior)) < 1e-9,
      );
    });

    test('an arriving record with a typo links to its person; a stranger becomes a new person; an update keeps the old fields', async () => {
      const person = await spinePersonWithRecords(database);
      const typo =
        person.given_name.length > 3
          ? person.given_name.slice(0, 1) + person.given_name.slice(2, 3) + person.given_name.slice(1, 2) + person.given_name.slice(3)
          : person.given_name;
      const linked = await receiveSourceRecord(database.db, 'TEST-GP', 'gp-1', {
        given_name: typo,
        family_name: person.family_name,
        birth_date: person.birth_date,
        sex: person.sex,
        nhs_number: person.nhs_number,
        postcode: person.postcode,
        address: person.address_line,
      });
      assert.equal(linked.outcome, 'linked');
      assert.equal(linked.personId, person.id);
      assert.equal((await currentLinks(database)).get(linked.sourceRecordId), person.id);

      const stranger = await receiveSourceRecord(database.db, 'TEST-GP', 'gp-2', {
        given_name: 'Zebedee',
        family_name: 'Quoxworthy',
        birth_date: '1931-02-03',
        sex: 'male',
        postcode: 'ZZ9 9ZZ',
        address: '1 Nowhere Lane',
      });
      assert.equal(stranger.outcome, 'new_person');
      const created = await sql<{
        given_name: string;
        family_name: string;
        origin: string;
      }>`select given_name, family_name, origin from persons where id = ${stranger.personId}`.execute(database.db);
      assert.deepEqual(created.rows[0], { given_name: 'Zebedee', family_name: 'Quoxworthy', origin: 'linkage' });

      const again = await receiveSourceRecord(database.db, 'TEST-GP', 'gp-2', {
        given_name: 'Zebedee',
        family_name: 'Quoxworthy',
        birth_date: '1931-02-03',
        sex: 'male',
        postcode: 'ZZ9 9ZZ',
        address: '1 Nowhere Lane',
      });
      assert.equal(again.outcome, 'unchanged');
      assert.equal(again.personId, stranger.personId);

      const moved = await receiveSourceRecord(database.db, 'TEST-GP', 'gp-2', {
        given_name: 'Zebedee',
        family_name: 'Quoxworthy',
        birth_date: '1931-02-03',
        sex: 'male',
        postcode: 'ZZ9 9ZZ',
        address: '1 Nowhere Lane',
        phone: '07700 900999',
      });
      assert.equal(moved.personId, stranger.personId, 'the updated record stays with its person');
      const history = await database.db
        .selectFrom('source_record_history')
        .select('fields')
        .where('source_record_id', '=', stranger.sourceRecordId)
        .execute();
      assert.equal(history.length, 1);
      assert.equal(history[0]!.fields.phone, undefined, 'the old version, without the phone, is kept');
      const now = await database.db
        .selectFrom('source_records')
        .select('fields')
        .where('id', '=', stranger.sourceRecordId)
        .executeTakeFirstOrThrow();
      assert.equal(now.fields.phone, '07700 900999');
      // The same stranger from another agency now finds the person the index created.
      const second = await receiveSourceRecord(database.db, 'TEST-HOUSING', 'h-9', {
        given_name: 'Zebedee',
        family_name: 'Quoxworthy',
        birth_date: '1931-02-03',
        sex: 'male',
        postcode: 'ZZ9 9ZZ',
        address: '1 Nowhere Lane',
      });
      assert.equal(second.outcome, 'linked');
      assert.equal(second.personId, stranger.personId);
    });

    test('reviewers\' decisions hold: "same" links the record, "not the same" is never undone by a later batch run', async () => {
      const open = await database.db
        .selectFrom('linkage_reviews')
        .select(['id', 'source_record_id', 'candidate_person_id'])
        .where('status', '=', 'open')
        .orderBy('id')
        .execute();
      assert.ok(open.length >= 1);
      const same = open[0]!;
      // A reviewer is asked whether a record really is the person it is strongly linked to, and says no.
      const person = await spinePersonWithRecords(database, 7);
      const recordOfPerson = await database.db
        .selectFrom('record_links')
        .select('source_record_id')
        .where('person_id', '=', person.id)
        .where('superseded_at', 'is', null)
        .orderBy('source_record_id')
        .executeTakeFirstOrThrow();
      const different = await database.db
        .insertInto('linkage_reviews')
        .values({
          source_record_id: recordOfPerson.source_record_id,
          candidate_person_id: person.id,
          compared_record_id: null,
          probability: 0.99,
          reason: 'uncertain',
        })
        .returning(['id', 'source_record_id', 'candidate_person_id'])
        .executeTakeFirstOrThrow();
      await decideReview(database.db, same.id, 'same', reviewer, 'same NHS number');
      await decideReview(database.db, different.id, 'different', reviewer, 'different dates of birth, twins');
      let links = await currentLinks(database);
      assert.equal(links.get(same.source_record_id), same.candidate_person_id);
      assert.notEqual(links.get(different.source_record_id), different.candidate_person_id);
      const stillOpen = await database.db
        .selectFrom('linkage_reviews')
        .select('id')
        .where('id', 'in', [same.id, different.id])
        .where('status', '=', 'open')
        .execute();
      assert.deepEqual(stillOpen, []);

      await indexPlaceRecords(database.db, { relinkAll: true });
      links = await currentLinks(database);
      assert.equal(links.get(same.source_record_id), same.candidate_person_id, 'must-link kept by the batch');
      assert.notEqual(links.get(different.source_record_id), different.candidate_person_id, 'cannot-link kept by the batch');
      const reasked = await database.db
        .selectFrom('linkage_reviews')
        .select('id')
        .where('source_record_id', '=', different.source_record_id)
        .where('candidate_person_id', '=', different.candidate_person_id)
        .where('status', '=', 'open')
        .execute();
      assert.deepEqual(reasked, [], 'a decided pair is not asked again');

      // The decisions come back as labelled pairs, named as the agencies name their records.
      const labels = await reviewerPairLabels(database.db);
      const named = async (id: number) => {
        const row = await database.db
          .selectFrom('source_records')
          .select(['source', 'source_id'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        return `${row.source}:${row.source_id}`;
      };
      const sameLabel = labels.find((label) => label.same);
      assert.equal(sameLabel?.recordA, await named(same.source_record_id));
      const differentLabel = labels.find((label) => !label.same);
      assert.deepEqual(
        { a: differentLabel?.recordA, b: differentLabel?.recordB, probability: differentLabel?.probability },
        { a: await named(different.source_record_id), b: `person:${person.id}`, probability: 0.99 },
        "compared with the person's own entry, the pair names the person",
      );
      const agreement = await reviewerAgreement(database.db, labels);
      assert.equal(agreement.decided, 2);
      assert.equal(
        agreement.bands.find((band) => band.from === 0.99)?.different,
        1,
        'the 99% pair reviewers called different is counted in the top band',
      );
    });

    test('merge moves records and needs; un-merge puts them back and flags what was recorded while merged', async () => {
      const a = await spinePersonWithRecords(database, 3);
      const b = await spinePersonWithRecords(database, 4);
      const before = await currentLinks(database);
      const needsOfA = (await database.db.selectFrom('needs').select('id').where('person_id', '=', a.id).execute()).map((row) => row.id);
      assert.ok(needsOfA.length > 0);

      const merge = await mergePersons(database.db, b.id, a.id, reviewer, 'looked like one person');
      let links = await currentLinks(database);
      for (const [record, person] of before) if (person === a.id) assert.equal(links.get(record), b.id);
      const merged = await sql<{ merged_into: string }>`select merged_into from persons where id = ${a.id}`.execute(database.db);
      assert.equal(merged.rows[0]!.merged_into, b.id, 'the merged person is kept, pointing to its survivor');
      assert.deepEqual(await database.db.selectFrom('needs').select('id').where('person_id', '=', a.id).execute(), []);

      // While merged: a new record of A arrives (lands on B), and B gets a new need.
      const arriving = await receiveSourceRecord(database.db, 'TEST-GP', 'gp-merge-1', {
        given_name: a.given_name,
        family_name: a.family_name,
        birth_date: a.birth_date,
        sex: a.sex,
        nhs_number: a.nhs_number,
        postcode: a.postcode,
        address: a.address_line,
      });
      assert.equal(arriving.personId, b.id);
      const organisation = await database.db.selectFrom('organisations').select('id').executeTakeFirstOrThrow();
      const need = await database.db
        .insertInto('needs')
        .values({
          person_id: b.id,
          code: 'housing',
          organisation_id: organisation.id,
          recorded_at: '2026-01-01',
          severity: 2,
          current: true,
        })
        .returning('id')
        .executeTakeFirstOrThrow();

      const undone = await unmerge(database.db, merge.mergeId, reviewer, 'two different people');
      links = await currentLinks(database);
      for (const [record, person] of before) assert.equal(links.get(record), person, `record ${record} is back where it was`);
      assert.equal(links.get(arriving.sourceRecordId), a.id, 'the record that arrived while merged is matched again, to A');
      const needsNow = (await database.db.selectFrom('needs').select('id').where('person_id', '=', a.id).execute()).map((row) => row.id);
      assert.deepEqual(needsNow.sort(), [...needsOfA].sort());
      assert.ok(undone.flags >= 1);
      const flagged = await database.db
        .selectFrom('person_flags')
        .select(['table_name', 'row_id'])
        .where('merge_id', '=', merge.mergeId)
        .execute();
      assert.ok(
        flagged.some((row) => row.table_name === 'needs' && row.row_id === String(need.id)),
        'the need recorded while merged is flagged',
      );
      const restored = await sql<{ merged_into: string | null }>`select merged_into from persons where id = ${a.id}`.execute(database.db);
      assert.equal(restored.rows[0]!.merged_into, null);
      await assert.rejects(unmerge(database.db, merge.mergeId, reviewer, 'again'), /already been undone/);
    });

    test('a later batch run keeps a merge a person made', async () => {
      const c = await spinePersonWithRecords(database, 10);
      const d = await spinePersonWithRecords(database, 11);
      const recordsOfC = (
        await database.db
          .selectFrom('record_links')
          .select('source_record_id')
          .where('person_id', '=', c.id)
          .where('superseded_at', 'is', null)
          .execute()
      ).map((row) => row.source_record_id);
      const merge = await mergePersons(database.db, d.id, c.id, reviewer, 'one person registered twice');
      await indexPlaceRecords(database.db, { relinkAll: true });
      const links = await currentLinks(database);
      for (const record of recordsOfC) assert.equal(links.get(record), d.id);
      await unmerge(database.db, merge.mergeId, reviewer, 'two people after all');
      const after = await currentLinks(database);
      for (const record of recordsOfC) assert.equal(after.get(record), c.id);
    });
  });
}
