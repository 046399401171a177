// The master person index in the database: every agency record linked to one person on the
// spine, probabilistically. Batch: train on spine persons and agency records together (no
// labels), cluster, link. Online: one record as it arrives, against the same model (receive.ts).
//
// Clusters: exactly one spine person → its records link to that person ('probabilistic');
// no spine person → a new person from the records' best values ('probabilistic_new'). Two
// registered persons never share a cluster (they are distinct by definition); the pairs the
// clustering could not settle, and pairs in the uncertain band, go to the review queue while
// the record stays with the person it matched best, or on its own (conservative).

import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { mergedPersons } from '../people/index.ts';
import { linkRecords } from './link.ts';
import { AMBIGUITY_MARGIN_BITS } from './online.ts';
import { log2Odds, modelToJson, probabilityFromWeight } from './model.ts';
import type { ProgressCallback } from './types.ts';
import {
  RECORD_PREFIX,
  anchorLinkRecord,
  forgetIndexState,
  linkRecordFromFields,
  livePerson,
  loadAnchors,
  withIndexLock,
} from './index-state.ts';
import {
  insertLinks,
  insertNewPersons,
  insertReviews,
  newPersonId,
  type NewLink,
  type NewReview,
  type SourceFields,
} from './link-writes.ts';

// Kept for the review queue's imports (it makes persons the same way).
export { bestValues, newPersonId } from './link-writes.ts';

/** Bits within which another person's evidence counts as competing with the chosen person's. */
const REVIEW_MARGIN = AMBIGUITY_MARGIN_BITS;

export interface IndexOptions {
  /** Re-cluster every record, not only the unlinked ones; links that change are superseded. */
  relinkAll?: boolean;
  workers?: number;
  onProgress?: ProgressCallback;
}

export interface IndexSummary {
  persons: number;
  records: number;
  linked: number;
  newPersons: number;
  /** Records whose link changed (relinkAll). */
  relinked: number;
  reviews: number;
  candidatePairs: number;
  modelId: number;
  seconds: number;
}

interface RecordRow {
  id: number;
  fields: SourceFields;
  received_at: Date | string;
  person_id: string | null;
  method: string | null;
}

/** Links a person made (a review decision, a merge or un-merge): a batch re-run keeps them. */
const HUMAN_METHODS = new Set(['reviewer', 'merge', 'unmerge']);

/** Follows merged_into to the live person, for every person id given. */
async function liveMap(db: Kysely<Database>): Promise<Map<string, string>> {
  return mergedPersons(db);
}

/**
 * Links the place's agency records to the spine. By default only records without a current
 * link are clustered (with every live person as an anchor); `relinkAll` re-clusters all of them.
 * Reviewers' decisions are constraints. Stores the trained model for online matching.
 */
export async function indexPlaceRecords(db: Kysely<Database>, options: IndexOptions = {}): Promise<IndexSummary> {
  return withIndexLock(db, () => indexWhileLocked(db, options));
}

/** indexPlaceRecords for a caller that already holds the index lock. */
export async function indexWhileLocked(db: Kysely<Database>, options: IndexOptions): Promise<IndexSummary> {
  const started = Date.now();
  const anchors = await loadAnchors(db);
  const records = (
    await sql<RecordRow>`
    select s.id, s.fields, s.received_at, l.person_id, l.method
    from source_records s left join record_links l on l.source_record_id = s.id and l.superseded_at is null
    ${options.relinkAll ? sql`` : sql`where l.id is null`}
    order by s.id`.execute(db)
  ).rows;
  const anchorCount = anchors.length;
  if (records.length === 0) {
    // Nothing to link: keep the model online matching uses (retraining on the spine alone would be worse).
    const latest = await db.selectFrom('linkage_models').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return {
      persons: anchorCount,
      records: 0,
      linked: 0,
      newPersons: 0,
      relinked: 0,
      reviews: 0,
      candidatePairs: 0,
      modelId: latest?.id ?? 0,
      seconds: (Date.now() - started) / 1000,
    };
  }
  const input = [
    ...anchors.map(anchorLinkRecord),
    ...records.map((record) => linkRecordFromFields(RECORD_PREFIX + record.id, record.fields)),
  ];

  const merged = await liveMap(db);
  const live = (personId: string) => livePerson({ mergedInto: merged }, personId);
  const anchorPosition = new Map(anchors.map((anchor, position) => [anchor.id, position]));
  const recordPosition = new Map(records.map((record, position) => [record.id, anchorCount + position]));
  const decisions = await db.selectFrom('linkage_decisions').select(['source_record_id', 'person_id', 'kind']).orderBy('id').execute();
  const latestDecision = new Map<string, 'must_link' | 'cannot_link'>();
  for (const decision of decisions) latestDecision.set(`${decision.source_record_id}|${live(decision.person_id)}`, decision.kind);
  const mustLink: [number, number][] = [];
  const cannotLink: [number, number][] = [];
  const cannotSet = new Set<string>();
  for (const [key, kind] of latestDecision) {
    const [recordId, personId] = key.split('|') as [string, string];
    const a = recordPosition.get(Number(recordId));
    const b = anchorPosition.get(personId);
    if (kind === 'cannot_link') cannotSet.add(key);
    if (a === undefined || b === undefined) continue;
    (kind === 'must_link' ? mustLink : cannotLink).push([a, b]);
  }
  records.forEach((record, position) => {
    if (record.person_id === null || record.method === null || !HUMAN_METHODS.has(record.method)) return;
    const anchor = anchorPosition.get(live(record.person_id));
    if (anchor !== undefined) mustLink.push([anchorCount + position, anchor]);
  });

  const result = await linkRecords(input, {
    workers: options.workers,
    onProgress: options.onProgress,
    exclusiveKey: (position) => (position < anchorCount ? anchors[position]!.id : null),
    mustLink,
    cannotLink,
    collectUncertain: true,
  });
  const { clusterOf, pairProbability, model } = result;

  // One person per cluster: its anchor, or a new person from its records.
  const membersOf = new Map<number, number[]>();
  clusterOf.forEach((cluster, position) => {
    const members = membersOf.get(cluster);
    if (members) members.push(position);
    else membersOf.set(cluster, [position]);
  });
  const personOfCluster = new Map<number, string>();
  const newPersons: { id: string; records: SourceFields[] }[] = [];
  for (const [cluster, members] of membersOf) {
    const anchor = members.find((position) => position < anchorCount);
    if (anchor !== undefined) {
      personOfCluster.set(cluster, anchors[anchor]!.id);
    } else {
      const id = newPersonId();
      personOfCluster.set(cluster, id);
      newPersons.push({ id, records: members.map((position) => records[position - anchorCount]!.fields) });
    }
  }

  const links: NewLink[] = [];
  const assigned = new Map<number, string>();
  for (const [cluster, members] of membersOf) {
    const personId = personOfCluster.get(cluster)!;
    const isNew = !members.some((position) => position < anchorCount);
    for (const position of members) {
      if (position < anchorCount) continue;
      const record = records[position - anchorCount]!;
      assigned.set(record.id, personId);
      if (record.person_id !== null && live(record.person_id) === personId) continue;
      let probability: number | null = null;
      for (const other of members.slice(0, 50)) {
        if (other !== position) probability = Math.max(probability ?? 0, pairProbability(position, other));
      }
      links.push({ sourceRecordId: record.id, personId, method: isNew ? 'probabilistic_new' : 'probabilistic', probability });
    }
  }

  // A record goes to review when another person's best pair comes close to its own person's
  // best pair (within REVIEW_MARGIN bits) and reaches the review threshold: family members who
  // share an address and a phone are told apart by far more than that, typo'd strangers are not.
  const ownWeight = new Map<number, number>();
  for (const link of links)
    ownWeight.set(link.sourceRecordId, link.probability === null ? Number.NEGATIVE_INFINITY : log2Odds(link.probability));
  const alternative = new Map<number, { other: number; weight: number }>();
  const consider = (a: number, b: number, weight: number) => {
    if (clusterOf[a] === clusterOf[b]) return;
    for (const [asked, other] of [
      [a, b],
      [b, a],
    ] as const) {
      if (asked < anchorCount) continue;
      const best = alternative.get(asked);
      if (!best || weight > best.weight) alternative.set(asked, { other, weight });
    }
  };
  for (const pair of result.uncertainPairs) consider(pair.a, pair.b, pair.weight);
  for (const pair of result.links) consider(pair.a, pair.b, pair.weight);
  const reviews: NewReview[] = [];
  for (const [asked, { other, weight }] of alternative) {
    const record = records[asked - anchorCount]!;
    if (!ownWeight.has(record.id)) continue; // kept its existing link (relinkAll)
    const own = ownWeight.get(record.id)!;
    if (own - weight >= REVIEW_MARGIN) continue;
    const candidatePersonId = personOfCluster.get(clusterOf[other]!)!;
    if (cannotSet.has(`${record.id}|${candidatePersonId}`)) continue;
    const probability = probabilityFromWeight(weight);
    reviews.push({
      sourceRecordId: record.id,
      candidatePersonId,
      comparedRecordId: other >= anchorCount ? records[other - anchorCount]!.id : null,
      probability,
      reason: probability >= model.linkThreshold ? 'ambiguous' : 'uncertain',
    });
  }

  const summary = await db.transaction().execute(async (trx) => {
    await insertNewPersons(trx, newPersons);
    await insertLinks(trx, links, options.relinkAll === true);
    const reviewIds = await insertReviews(trx, reviews);
    const modelRow = await trx
      .insertInto('linkage_models')
      .values({
        model: JSON.stringify(modelToJson(model)) as never,
        summary: JSON.stringify({ anchors: anchorCount, records: records.length, candidatePairs: result.candidatePairCount }) as never,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { reviews: reviewIds.length, modelId: modelRow.id };
  });
  forgetIndexState(db);
  return {
    persons: anchorCount,
    records: records.length,
    linked: links.filter((link) => link.method === 'probabilistic').length,
    newPersons: newPersons.length,
    relinked: options.relinkAll ? links.length : 0,
    reviews: summary.reviews,
    candidatePairs: result.candidatePairCount,
    modelId: summary.modelId,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Pairwise precision, recall and F1 of an assignment of items to groups against the truth. */
export function pairwiseScores(assigned: readonly string[], truth: readonly string[]): { precision: number; recall: number; f1: number } {
  const choose2 = (n: number) => (n * (n - 1)) / 2;
  const byAssigned = new Map<string, Map<string, number>>();
  const byTruth = new Map<string, number>();
  assigned.forEach((group, i) => {
    const inner = byAssigned.get(group) ?? new Map<string, number>();
    inner.set(truth[i]!, (inner.get(truth[i]!) ?? 0) + 1);
    byAssigned.set(group, inner);
    byTruth.set(truth[i]!, (byTruth.get(truth[i]!) ?? 0) + 1);
  });
  let truePositives = 0;
  let predicted = 0;
  for (const inner of byAssigned.values()) {
    let size = 0;
    for (const count of inner.values()) {
      truePositives += choose2(count);
      size += count;
    }
    predicted += choose2(size);
  }
  let actual = 0;
  for (const count of byTruth.values()) actual += choose2(count);
  const precision = predicted === 0 ? 1 : truePositives / predicted;
  const recall = actual === 0 ? 1 : truePositives / actual;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}
