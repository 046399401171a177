// A person split by one doubtful record must not split again with every later record. When a
// record is doubtful the index makes a person for it and asks a reviewer whether it is the person
// it resembles; a later record that clearly belongs to that pair used to be ambiguous between the
// two halves, so it made a third person and a second review item of the same question. It now
// links to the better half, unless a reviewer has said the two differ (in any process); and a
// record ambiguous between two persons nobody is reviewing still goes to review.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { loadSyntheticPlace } from '../demo/index.ts';
import {
  areReviewTwins,
  forgetIndexState,
  indexState,
  noteDecision,
  noteReviewTwins,
  withIndexLock,
  type IndexState,
} from './index-state.ts';
import { openPostgres } from '../platform/db.ts';
import { decideLink, receiveSourceRecord } from './receive.ts';
import { decideReview } from './review.ts';
import type { CandidatePerson } from './online.ts';

const probability = (weight: number) => 2 ** weight / (1 + 2 ** weight);
const candidate = (personId: string, weight: number): CandidatePerson => ({
  personId,
  recordId: `record:${personId}`,
  weight,
  probability: probability(weight),
});

/** Just what decideLink reads of the index: thresholds, merges, reviewers' words and the pairs under review. */
function stateWith(): IndexState {
  return {
    model: { linkThreshold: 0.99, reviewThreshold: 0.5 },
    mergedInto: new Map(),
    cannotLink: new Map(),
    mustLink: new Map(),
    reviewTwins: new Map(),
  } as unknown as IndexState;
}

const RECORD = { id: 500, currentPerson: null };
// Both clear the link threshold (0.99 is about 6.6 bits) and lie within 5 bits of each other.
const AMBIGUOUS = [candidate('p-half', 14), candidate('p-doubtful-half', 12)];

describe('a record that matches both halves of a person under review', () => {
  test('with nobody reviewing the pair, it is ambiguous: a new person and review items, as before', () => {
    const decision = decideLink(stateWith(), RECORD, AMBIGUOUS);
    assert.equal(decision.outcome, 'review');
    assert.equal(decision.createdPerson, true);
    assert.deepEqual(
      decision.reviews.map((r) => r.candidatePersonId),
      ['p-half', 'p-doubtful-half'],
    );
  });

  test('when the pair waits for a reviewer, it links to the better half and asks nothing new', () => {
    const state = stateWith();
    noteReviewTwins(state, 'p-doubtful-half', 'p-half', 400);
    const decision = decideLink(state, RECORD, AMBIGUOUS);
    assert.equal(decision.outcome, 'linked');
    assert.equal(decision.personId, 'p-half');
    assert.equal(decision.createdPerson, false);
    assert.deepEqual(decision.reviews, []);
    // Either way round: the better half may be the one made for the doubtful record.
    const reversed = decideLink(state, RECORD, [candidate('p-doubtful-half', 14), candidate('p-half', 12)]);
    assert.equal(reversed.outcome, 'linked');
    assert.equal(reversed.personId, 'p-doubtful-half');
  });

  test('after a reviewer\'s "different" on the pair, it goes to review again', () => {
    const state = stateWith();
    noteReviewTwins(state, 'p-doubtful-half', 'p-half', 400);
    noteDecision(state, 400, 'p-half', 'cannot_link');
    assert.equal(areReviewTwins(state, 'p-half', 'p-doubtful-half'), false);
    assert.equal(decideLink(state, RECORD, AMBIGUOUS).outcome, 'review');
  });

  test('a third person close to the best still makes it ambiguous', () => {
    const state = stateWith();
    noteReviewTwins(state, 'p-doubtful-half', 'p-half', 400);
    const decision = decideLink(state, RECORD, [...AMBIGUOUS, candidate('p-namesake', 11)]);
    assert.equal(decision.outcome, 'review');
    assert.equal(decision.createdPerson, true);
  });

  test('a pairing says nothing about other persons: two persons not under review stay ambiguous', () => {
    const state = stateWith();
    noteReviewTwins(state, 'p-doubtful-half', 'p-half', 400);
    assert.equal(decideLink(state, RECORD, [candidate('p-half', 14), candidate('p-namesake', 12)]).outcome, 'review');
  });
});

interface Spine {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: string;
  postcode: string;
}

for (const target of await testDatabaseTargets()) {
  describe(`pairs under review, kept by the index on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let people: Spine[];
    before(async () => {
      handle = await target.open();
      await loadSyntheticPlace(handle.db, { seed: 31, people: 800 });
      people = (
        await sql<Spine>`
        select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.sex, h.postcode
        from persons p join households h on h.id = p.household_id
        where p.birth_date < date '1990-01-01' order by p.id limit 40`.execute(handle.db)
      ).rows;
    });
    after(async () => {
      await handle?.close();
    });

    test('a doubtful record pairs its new person with the one it resembles, in a rebuilt index too, until a reviewer says they differ', async () => {
      const db = handle.db;
      // A doubtful record of someone: the name and birth year, a day and month that are not theirs, no postcode.
      let doubtful: Awaited<ReturnType<typeof receiveSourceRecord>> | undefined;
      for (const [i, p] of people.entries()) {
        const received = await receiveSourceRecord(db, 'TEST-AGENCY', `doubtful-${i}`, {
          given_name: p.given_name,
          family_name: p.family_name,
          birth_date: `${p.birth_date.slice(0, 4)}-${p.birth_date.slice(5, 7) === '11' ? '03' : '11'}-28`,
          sex: p.sex,
        });
        if (received.outcome === 'review' && received.createdPerson) {
          doubtful = received;
          break;
        }
      }
      assert.ok(doubtful, 'one of these records is doubtful enough for review');
      const reviewed = doubtful.candidates.find((c) => c.personId !== doubtful.personId)!;
      assert.equal(areReviewTwins((await indexState(db))!, doubtful.personId, reviewed.personId), true, 'paired as it was matched');

      forgetIndexState(db);
      const rebuilt = (await indexState(db))!;
      assert.equal(areReviewTwins(rebuilt, reviewed.personId, doubtful.personId), true, 'paired again from the open review item');

      const item = (
        await sql<{
          id: string;
        }>`select id from linkage_reviews where source_record_id = ${doubtful.sourceRecordId} and candidate_person_id = ${reviewed.personId} and status = 'open'`.execute(
          db,
        )
      ).rows[0]!;
      // A second process (its own connections and its own index) pairs them from the open item too.
      const otherProcess =
        target.kind === 'postgres'
          ? await openPostgres(process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test', {
              searchPath: (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s,
              max: 2,
            })
          : undefined;
      try {
        if (otherProcess)
          assert.equal(
            areReviewTwins((await indexState(otherProcess.db))!, doubtful.personId, reviewed.personId),
            true,
            'in the other process',
          );

        await decideReview(db, Number(item.id), 'different', { id: 'u-reviewer', role: 'data_quality' }, 'different people');
        assert.equal(areReviewTwins((await indexState(db))!, doubtful.personId, reviewed.personId), false, 'a reviewer said they differ');
        if (otherProcess) {
          // The other process takes the decision in before it next matches anything (every match holds the index lock).
          await withIndexLock(otherProcess.db, async () => {
            assert.equal(
              areReviewTwins((await indexState(otherProcess.db))!, doubtful.personId, reviewed.personId),
              false,
              'the other process heard the reviewer\'s "different"',
            );
          });
        }
      } finally {
        await otherProcess?.close();
      }
      forgetIndexState(db);
      assert.equal(areReviewTwins((await indexState(db))!, doubtful.personId, reviewed.personId), false, 'nor after a rebuild');
    });
  });
}
