// The master person index in the database: every agency record linked to one person on the
// spine, probabilistically. Batch: train on spine persons and agency records together (no
// labels), cluster, link. Online: one record as it arrives, against the same model.
//
// Clusters: exactly one spine person → its records link to that person ('probabilistic');
// no spine person → a new person from the records' best values ('probabilistic_new'). Two
// registered persons never share a cluster (they are distinct by definition); the pairs the
// clustering could not settle, and pairs in the uncertain band, go to the review queue while
// the record stays with the person it matched best, or on its own (conservative).

import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { linkRecords } from './link.ts';
import { AMBIGUITY_MARGIN_BITS, clearBest, matchRecord, setEntryPerson } from './online.ts';
import type { CandidatePerson } from './online.ts';
import { log2Odds, modelToJson, probabilityFromWeight } from './model.ts';
import { isValidNhsNumber, normaliseNhsNumber, normaliseSex } from './normalise.ts';
import type { ProgressCallback } from './types.ts';
import {
  RECORD_PREFIX,
  anchorLinkRecord,
  indexAnchor,
  indexSourceRecord,
  forgetIndexState,
  indexState,
  linkRecordFromFields,
  livePerson,
  loadAnchors,
  withIndexLock,
} from './index-state.ts';
import type { IndexState } from './index-state.ts';

export type SourceFields = Record<string, string>;

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

/** A new person's values: per field the most common non-empty value among its records. */
export function bestValues(records: readonly SourceFields[]): {
  given_name: string; family_name: string; birth_date: string | null; sex: string | null; nhs_number: string | null;
  phone: string | null; email: string | null; postcode: string | null; address: string | null;
} {
  const mode = (field: string, accept: (value: string) => string | null = (v) => v): string | null => {
    const counts = new Map<string, number>();
    for (const record of records) {
      const raw = record[field];
      const value = typeof raw === 'string' && raw.trim() !== '' ? accept(raw.trim()) : null;
      if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestCount = 0;
    for (const [value, count] of counts) if (count > bestCount) [best, bestCount] = [value, count];
    return best;
  };
  const isoDate = (value: string): string | null => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
    const date = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value ? value : null;
  };
  const sex = (value: string): string | null => {
    const normal = normaliseSex(value);
    return normal === 'f' ? 'female' : normal === 'm' ? 'male' : null;
  };
  const nhs = (value: string): string | null => {
    const normal = normaliseNhsNumber(value);
    return normal !== null && isValidNhsNumber(normal) ? normal : null;
  };
  return {
    given_name: mode('given_name') ?? '',
    family_name: mode('family_name') ?? '',
    birth_date: mode('birth_date', isoDate),
    sex: mode('sex', sex),
    nhs_number: mode('nhs_number', nhs),
    phone: mode('phone'),
    email: mode('email'),
    postcode: mode('postcode'),
    address: mode('address'),
  };
}

export function newPersonId(): string {
  return `lp-${randomUUID()}`;
}

async function insertNewPersons(db: Kysely<Database>, persons: { id: string; records: SourceFields[] }[]): Promise<void> {
  const rows = persons.map((person) => ({ id: person.id, ...bestValues(person.records) }));
  await bulkInsert(db, 'persons', [
    { name: 'id', type: 'text', value: (p) => p.id },
    { name: 'given_name', type: 'text', value: (p) => p.given_name },
    { name: 'family_name', type: 'text', value: (p) => p.family_name },
    { name: 'birth_date', type: 'date', value: (p) => p.birth_date },
    { name: 'sex', type: 'text', value: (p) => p.sex },
    { name: 'nhs_number', type: 'text', value: (p) => p.nhs_number },
    { name: 'phone', type: 'text', value: (p) => p.phone },
    { name: 'email', type: 'text', value: (p) => p.email },
    { name: 'origin', type: 'text', value: () => 'linkage' },
    { name: 'linkage_postcode', type: 'text', value: (p) => p.postcode },
    { name: 'linkage_address', type: 'text', value: (p) => p.address },
  ], rows);
}

interface NewLink { sourceRecordId: number; personId: string; method: string; probability: number | null }

async function insertLinks(db: Kysely<Database>, links: readonly NewLink[], supersede: boolean): Promise<void> {
  if (supersede) {
    for (let start = 0; start < links.length; start += 5000) {
      const ids = links.slice(start, start + 5000).map((link) => link.sourceRecordId);
      await sql`update record_links set superseded_at = now() where superseded_at is null and source_record_id = any(${ids}::bigint[])`.execute(db);
    }
  }
  await bulkInsert(db, 'record_links', [
    { name: 'source_record_id', type: 'bigint', value: (l) => l.sourceRecordId },
    { name: 'person_id', type: 'text', value: (l) => l.personId },
    { name: 'method', type: 'text', value: (l) => l.method },
    { name: 'match_probability', type: 'float8', value: (l) => l.probability },
  ], links as NewLink[]);
}

interface NewReview { sourceRecordId: number; candidatePersonId: string; comparedRecordId: number | null; probability: number; reason: string }

async function insertReviews(db: Kysely<Database>, reviews: readonly NewReview[]): Promise<number[]> {
  const ids: number[] = [];
  for (let start = 0; start < reviews.length; start += 5000) {
    const batch = reviews.slice(start, start + 5000);
    const result = await sql<{ id: number }>`
      insert into linkage_reviews (source_record_id, candidate_person_id, compared_record_id, probability, reason)
      select * from unnest(${batch.map((r) => r.sourceRecordId)}::bigint[], ${batch.map((r) => r.candidatePersonId)}::text[],
        ${batch.map((r) => r.comparedRecordId)}::bigint[], ${batch.map((r) => r.probability)}::float8[], ${batch.map((r) => r.reason)}::text[])
      on conflict (source_record_id, candidate_person_id) where status = 'open' do nothing
      returning id`.execute(db);
    ids.push(...result.rows.map((row) => row.id));
  }
  return ids;
}

/** Follows merged_into to the live person, for every person id given. */
async function liveMap(db: Kysely<Database>): Promise<Map<string, string>> {
  const rows = await sql<{ id: string; merged_into: string }>`select id, merged_into from persons where merged_into is not null`.execute(db);
  return new Map(rows.rows.map((row) => [row.id, row.merged_into]));
}

/**
 * Links the place's agency records to the spine. By default only records without a current
 * link are clustered (with every live person as an anchor); `relinkAll` re-clusters all of them.
 * Reviewers' decisions are constraints. Stores the trained model for online matching.
 */
export async function indexPlaceRecords(db: Kysely<Database>, options: IndexOptions = {}): Promise<IndexSummary> {
  return withIndexLock(db, () => indexUnlocked(db, options));
}

async function indexUnlocked(db: Kysely<Database>, options: IndexOptions): Promise<IndexSummary> {
  const started = Date.now();
  const anchors = await loadAnchors(db);
  const records = (await sql<RecordRow>`
    select s.id, s.fields, s.received_at, l.person_id, l.method
    from source_records s left join record_links l on l.source_record_id = s.id and l.superseded_at is null
    ${options.relinkAll ? sql`` : sql`where l.id is null`}
    order by s.id`.execute(db)).rows;
  const anchorCount = anchors.length;
  if (records.length === 0) {
    // Nothing to link: keep the model online matching uses (retraining on the spine alone would be worse).
    const latest = await db.selectFrom('linkage_models').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return { persons: anchorCount, records: 0, linked: 0, newPersons: 0, relinked: 0, reviews: 0, candidatePairs: 0, modelId: latest?.id ?? 0, seconds: (Date.now() - started) / 1000 };
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
  for (const link of links) ownWeight.set(link.sourceRecordId, link.probability === null ? Number.NEGATIVE_INFINITY : log2Odds(link.probability));
  const alternative = new Map<number, { other: number; weight: number }>();
  const consider = (a: number, b: number, weight: number) => {
    if (clusterOf[a] === clusterOf[b]) return;
    for (const [asked, other] of [[a, b], [b, a]] as const) {
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
    const modelRow = await trx.insertInto('linkage_models').values({
      model: JSON.stringify(modelToJson(model)) as never,
      summary: JSON.stringify({ anchors: anchorCount, records: records.length, candidatePairs: result.candidatePairCount }) as never,
    }).returning('id').executeTakeFirstOrThrow();
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

export type ReceiveOutcome = 'linked' | 'new_person' | 'review' | 'unchanged' | 'relinked' | 'kept';

export interface ReceiveResult {
  sourceRecordId: number;
  outcome: ReceiveOutcome;
  /** The person the record is now linked to. */
  personId: string;
  probability: number | null;
  /** Review items opened for this record. */
  reviewIds: number[];
  candidates: CandidatePerson[];
}

function sameFields(a: SourceFields, b: SourceFields): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if ((a[key] ?? '') !== (b[key] ?? '')) return false;
  return true;
}

async function ensureState(db: Kysely<Database>): Promise<IndexState> {
  let state = await indexState(db);
  if (!state) {
    await indexUnlocked(db, {});
    state = await indexState(db);
  }
  if (!state) throw new Error('the person index could not be built');
  return state;
}

/** Candidates by live person, without the ones a reviewer ruled out, best first. */
function liveCandidates(state: IndexState, candidates: readonly CandidatePerson[], sourceRecordId: number | null): CandidatePerson[] {
  const ruledOut = sourceRecordId === null ? undefined : state.cannotLink.get(sourceRecordId);
  const best = new Map<string, CandidatePerson>();
  for (const candidate of candidates) {
    if (candidate.personId === '') continue;
    const personId = livePerson(state, candidate.personId);
    if (ruledOut?.has(personId)) continue;
    const existing = best.get(personId);
    if (!existing || candidate.weight > existing.weight) best.set(personId, { ...candidate, personId });
  }
  return [...best.values()].sort((x, y) => y.weight - x.weight);
}

const REVIEW_CANDIDATES = 3;

/**
 * Stores an agency record as received and matches it at once. A record the agency sent before
 * keeps its old fields in source_record_history. Decides link / new person / review.
 */
export async function receiveSourceRecord(
  db: Kysely<Database>,
  source: string,
  sourceId: string,
  fields: SourceFields,
): Promise<ReceiveResult> {
  return withIndexLock(db, async () => {
    const state = await ensureState(db);
    const existing = await db.selectFrom('source_records').select(['id', 'fields', 'received_at'])
      .where('source', '=', source).where('source_id', '=', sourceId).executeTakeFirst();
    const current = existing
      ? await db.selectFrom('record_links').select(['person_id', 'match_probability']).where('source_record_id', '=', existing.id).where('superseded_at', 'is', null).executeTakeFirst()
      : undefined;
    if (existing && current && sameFields(existing.fields, fields)) {
      return { sourceRecordId: existing.id, outcome: 'unchanged', personId: livePerson(state, current.person_id), probability: current.match_probability, reviewIds: [], candidates: [] };
    }

    const record = linkRecordFromFields('incoming', fields);
    if (existing) {
      // Its old version must not vote for itself.
      const entry = state.recordEntries.get(Number(existing.id));
      if (entry !== undefined) setEntryPerson(state.index, entry, '');
    }
    const match = matchRecord(state.index, state.model, record);
    const candidates = liveCandidates(state, match.candidates, existing?.id ?? null);
    const best = candidates[0];
    const mustLink = existing ? state.mustLink.get(existing.id) : undefined;
    const linkTo = mustLink !== undefined
      ? livePerson(state, mustLink)
      : best && clearBest(candidates, state.model)
        ? best.personId
        : null;

    const outcome = await db.transaction().execute(async (trx) => {
      let sourceRecordId: number;
      if (existing) {
        await trx.insertInto('source_record_history').values({
          source_record_id: existing.id, fields: JSON.stringify(existing.fields) as never, received_at: existing.received_at,
        }).execute();
        await trx.updateTable('source_records').set({ fields: JSON.stringify(fields) as never, received_at: new Date() }).where('id', '=', existing.id).execute();
        sourceRecordId = existing.id;
      } else {
        const inserted = await trx.insertInto('source_records').values({ source, source_id: sourceId, fields: JSON.stringify(fields) as never })
          .returning('id').executeTakeFirstOrThrow();
        sourceRecordId = inserted.id;
      }
      const currentPerson = current ? livePerson(state, current.person_id) : null;
      let personId: string;
      let result: ReceiveOutcome;
      let probability: number | null = null;
      if (linkTo !== null) {
        personId = linkTo;
        probability = mustLink !== undefined ? 1 : best!.probability;
        result = currentPerson === null ? 'linked' : currentPerson === personId ? 'kept' : 'relinked';
      } else if (currentPerson !== null) {
        // An updated record that no longer clearly matches anyone stays where it is.
        personId = currentPerson;
        probability = current!.match_probability;
        result = best ? 'review' : 'kept';
      } else {
        personId = newPersonId();
        await insertNewPersons(trx, [{ id: personId, records: [fields] }]);
        result = best ? 'review' : 'new_person';
      }
      if (currentPerson !== personId || !current) {
        if (current) await trx.updateTable('record_links').set({ superseded_at: new Date() }).where('source_record_id', '=', sourceRecordId).where('superseded_at', 'is', null).execute();
        await trx.insertInto('record_links').values({
          source_record_id: sourceRecordId, person_id: personId,
          method: mustLink !== undefined ? 'reviewer' : linkTo !== null ? 'probabilistic' : 'probabilistic_new', match_probability: probability,
        }).execute();
      }
      let reviewIds: number[] = [];
      if (linkTo === null && best) {
        const reviews = candidates
          .filter((candidate) => candidate.personId !== personId && candidate.probability >= state.model.reviewThreshold)
          .slice(0, REVIEW_CANDIDATES)
          .map((candidate): NewReview => ({
            sourceRecordId, candidatePersonId: candidate.personId, probability: candidate.probability,
            comparedRecordId: candidate.recordId.startsWith(RECORD_PREFIX) ? Number(candidate.recordId.slice(RECORD_PREFIX.length)) : null,
            reason: candidate.probability >= state.model.linkThreshold ? 'ambiguous' : 'uncertain',
          }));
        reviewIds = await insertReviews(trx, reviews);
      }
      return { sourceRecordId, outcome: result, personId, probability, reviewIds, candidates };
    });

    // Keep the in-process index in step: the new version joins under its person.
    indexSourceRecord(state, Number(outcome.sourceRecordId), fields, outcome.personId);
    if (outcome.outcome === 'new_person' || outcome.outcome === 'review') {
      if (!existing) {
        const [anchor] = await loadAnchors(db, [outcome.personId]);
        if (anchor) indexAnchor(state, anchor);
      }
    }
    return outcome;
  });
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
