// The one home of the person index's link decisions: every agency record that arrives (a bulk
// import, a FHIR Patient create, a record an agency sends one at a time) is stored as received
// and then linked here, to an existing person, a new person, or a new person with items for a
// reviewer. `decideLink` is the decision; everything else stores, plans and writes around it.
// Idempotent on (source, source_id): a record received again with the same fields changes
// nothing; with different fields its old version goes to source_record_history.
//
// Three steps, so a bulk import can overlap them across batches (the database stores one
// batch while this process matches the next): storeBatch and writeLinkPlan run in the
// caller's transaction, planLinks is CPU only. Matching runs against the in-process index of
// `db`; records are added to it as the batch goes, so two records of the same new person in
// one file link together. If the transaction fails, call `forgetIndexState(db)` (the index is
// rebuilt on next use).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { bulkInsert } from '../platform/bulk.ts';
import {
  addInternedRecord,
  clearBest,
  internFields,
  matchInternedRecord,
  sameValuesAs,
  setEntryPerson,
  type CandidatePerson,
} from './online.ts';
import {
  RECORD_PREFIX,
  anchorLinkRecord,
  areReviewTwins,
  forgetIndexState,
  indexAnchor,
  indexState,
  livePerson,
  noteReviewTwins,
  withIndexLock,
  type IndexState,
} from './index-state.ts';
import { indexWhileLocked } from './person-index.ts';
import { FIELD_NAMES, type LinkRecord } from './types.ts';
import {
  bestValues,
  insertLinks,
  insertNewPersons,
  insertReviews,
  newPersonId,
  type BestValues,
  type NewReview,
  type SourceFields,
} from './link-writes.ts';

export interface IncomingRecord {
  sourceId: string;
  fields: SourceFields;
}

export type BatchOutcome = 'linked' | 'new_person' | 'review' | 'unchanged' | 'kept' | 'relinked' | 'unlinked';

export interface BatchResult {
  stored: number;
  unchanged: number;
  linked: number;
  newPerson: number;
  review: number;
  /** Stored without linking: no linkage model has been trained yet (run `joinery index`). */
  unlinked: number;
  /** Each record's outcome (left empty for a bulk import, which only counts). */
  bySourceId: Map<string, RecordOutcome>;
}

function sameFields(a: SourceFields, b: SourceFields): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if ((a[key] ?? '') !== (b[key] ?? '')) return false;
  return true;
}

/**
 * Whether a person's own details (as the index takes them: known fields, non-empty) are the
 * record's fields as received, string for string: then they number to the same values, which
 * is settled without numbering them again (sameValuesAs, for when they differ as text).
 */
function sameFieldsAsRecord(anchorFields: LinkRecord['fields'], fields: SourceFields): boolean {
  for (const name of FIELD_NAMES) {
    const raw = fields[name];
    const given = typeof raw === 'string' && raw.trim() !== '' ? raw : undefined;
    if (anchorFields[name] !== given) return false;
  }
  return true;
}

function liveCandidates(state: IndexState, candidates: readonly CandidatePerson[], ruledOut: Set<string> | undefined): CandidatePerson[] {
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

/**
 * The candidates that make a record ambiguous: all but persons waiting for a reviewer to say
 * whether they are the best candidate (one made for an earlier doubtful record of the best, or
 * the reverse). A record that clearly belongs to that pair is no new doubt: it links to the
 * better of the two instead of making a third person and asking the same question again, and
 * merging the pair later (the review's "same person") brings it along. A reviewer's "different"
 * ends the pairing, and then such a record goes to review as before.
 */
function rivalsOfBest(state: IndexState, candidates: readonly CandidatePerson[]): readonly CandidatePerson[] {
  const best = candidates[0];
  if (!best || state.reviewTwins.size === 0) return candidates;
  return candidates.filter((candidate, i) => i === 0 || !areReviewTwins(state, best.personId, candidate.personId));
}

const REVIEW_CANDIDATES = 3;

/** A batch after storing: its counts so far and the records that need linking. */
export interface StoredBatch {
  result: BatchResult;
  toLink: Array<{ id: number; sourceId: string; fields: SourceFields; currentPerson: string | null }>;
  /** Whether each record's outcome is kept in result.bySourceId. */
  outcomes: boolean;
}

/** What linking a batch decided, to be written in the batch's transaction. */
export interface LinkPlan {
  newPersons: Array<{ id: string; records: SourceFields[]; values?: BestValues }>;
  links: Array<{ sourceRecordId: number; personId: string; method: string; probability: number | null }>;
  supersede: number[];
  reviews: Array<{
    sourceRecordId: number;
    candidatePersonId: string;
    comparedRecordId: number | null;
    probability: number;
    reason: string;
  }>;
}

export async function storeAndLinkBatch(
  db: Kysely<Database>,
  trx: Kysely<Database>,
  source: string,
  input: readonly IncomingRecord[],
  options: { link?: boolean } = {},
): Promise<BatchResult> {
  const stored = await storeBatch(trx, source, input);
  const state = options.link === false || stored.toLink.length === 0 ? undefined : await indexState(db);
  await writeLinkPlan(trx, planLinks(state, stored));
  return stored.result;
}

/** Stores the batch's records (new ones inserted, changed ones updated with their history kept). */
export async function storeBatch(
  trx: Kysely<Database>,
  source: string,
  input: readonly IncomingRecord[],
  options: { outcomes?: boolean } = {},
): Promise<StoredBatch> {
  const result: BatchResult = { stored: 0, unchanged: 0, linked: 0, newPerson: 0, review: 0, unlinked: 0, bySourceId: new Map() };
  const outcomes = options.outcomes !== false;
  if (input.length === 0) return { result, toLink: [], outcomes };
  // The last version of a record in the batch wins; earlier ones count as superseded in-file.
  const latest = new Map<string, SourceFields>();
  for (const record of input) latest.set(record.sourceId, record.fields);
  // New records go straight in; those this source sent before are compared with what is stored.
  // The batch travels as one JSON document: far cheaper to send than text arrays.
  const insertedIds = new Map<string, number>();
  const entries = [...latest.entries()];
  for (let start = 0; start < entries.length; start += 5000) {
    const batch = entries.slice(start, start + 5000);
    const rows = (
      await sql<{ id: number; source_id: string }>`
      insert into source_records (source, source_id, fields)
      select ${source}, e->>0, e->1 from jsonb_array_elements(${JSON.stringify(batch)}::jsonb) as e
      on conflict (source, source_id) do nothing
      returning id, source_id`.execute(trx)
    ).rows;
    for (const row of rows) insertedIds.set(row.source_id, Number(row.id));
  }
  const seenBefore = entries.filter(([id]) => !insertedIds.has(id)).map(([id]) => id);
  const existingRows =
    seenBefore.length === 0
      ? []
      : (
          await sql<{ id: number; source_id: string; fields: SourceFields; received_at: Date; person_id: string | null }>`
    select s.id, s.source_id, s.fields, s.received_at, l.person_id
    from source_records s left join record_links l on l.source_record_id = s.id and l.superseded_at is null
    where s.source = ${source} and s.source_id = any(${seenBefore}::text[])`.execute(trx)
        ).rows;
  const existing = new Map(existingRows.map((row) => [row.source_id, row]));

  const fresh = entries.filter(([id]) => insertedIds.has(id)).map(([sourceId, fields]) => ({ sourceId, fields }));
  const changed: Array<{ id: number; sourceId: string; fields: SourceFields; old: (typeof existingRows)[number] }> = [];
  for (const sourceId of seenBefore) {
    const fields = latest.get(sourceId)!;
    const old = existing.get(sourceId)!;
    if (sameFields(old.fields, fields) && old.person_id !== null) {
      result.unchanged++;
      if (outcomes)
        result.bySourceId.set(sourceId, {
          sourceRecordId: Number(old.id),
          personId: old.person_id,
          outcome: 'unchanged',
          createdPerson: false,
          probability: null,
          candidates: [],
        });
    } else changed.push({ id: Number(old.id), sourceId, fields, old });
  }
  result.unchanged += input.length - latest.size;

  if (changed.length > 0) {
    await bulkInsert(
      trx,
      'source_record_history',
      [
        { name: 'source_record_id', type: 'bigint', value: (c) => c.id },
        { name: 'fields', type: 'jsonb', value: (c) => c.old.fields },
        { name: 'received_at', type: 'timestamptz', value: (c) => c.old.received_at },
      ],
      changed.filter((c) => !sameFields(c.old.fields, c.fields)),
    );
    await sql`update source_records s set fields = u.fields::jsonb, received_at = now()
      from unnest(${changed.map((c) => c.id)}::bigint[], ${changed.map((c) => JSON.stringify(c.fields))}::text[]) as u(id, fields)
      where s.id = u.id`.execute(trx);
  }
  result.stored = fresh.length + changed.length;
  const toLink = [
    ...fresh.map((r) => ({
      id: insertedIds.get(r.sourceId)!,
      sourceId: r.sourceId,
      fields: r.fields,
      currentPerson: null as string | null,
    })),
    ...changed.map((c) => ({ id: c.id, sourceId: c.sourceId, fields: c.fields, currentPerson: c.old.person_id })),
  ];
  return { result, toLink, outcomes };
}

/** What the index decided for one record, before anything is written. */
export interface LinkDecision {
  personId: string;
  outcome: Exclude<BatchOutcome, 'unchanged' | 'unlinked'>;
  /** The match probability of the link (1 for a reviewer's must-link), null when nothing matched. */
  probability: number | null;
  method: 'reviewer' | 'probabilistic' | 'probabilistic_new';
  /** A new person was made for this record (a stranger, or a doubtful match sent to review). */
  createdPerson: boolean;
  /** Other persons a reviewer should compare it with. */
  reviews: Omit<NewReview, 'sourceRecordId'>[];
  /** Every live candidate, best first. */
  candidates: CandidatePerson[];
}

/**
 * The decision: link to the one clearly best person (or the person a reviewer tied the record
 * to), keep a changed record where it was when nothing is now clear, or make a new person; and
 * when the evidence is doubtful, open review items for the persons it might also be.
 */
export function decideLink(
  state: IndexState,
  record: { id: number; currentPerson: string | null },
  candidatesFound: readonly CandidatePerson[],
): LinkDecision {
  const currentPerson = record.currentPerson === null ? null : livePerson(state, record.currentPerson);
  const mustLink = state.mustLink.get(record.id);
  const candidates = liveCandidates(state, candidatesFound, state.cannotLink.get(record.id));
  const best = candidates[0];
  const linkTo =
    mustLink !== undefined
      ? livePerson(state, mustLink)
      : best && clearBest(rivalsOfBest(state, candidates), state.model)
        ? best.personId
        : null;
  let personId: string;
  let outcome: LinkDecision['outcome'];
  let probability: number | null = null;
  let createdPerson = false;
  if (linkTo !== null) {
    personId = linkTo;
    probability = mustLink !== undefined ? 1 : best!.probability;
    outcome = currentPerson === null ? 'linked' : currentPerson === personId ? 'kept' : 'relinked';
  } else if (currentPerson !== null) {
    // A changed record that no longer clearly matches anyone stays where it is.
    personId = currentPerson;
    outcome = best ? 'review' : 'kept';
  } else {
    personId = newPersonId();
    createdPerson = true;
    outcome = best ? 'review' : 'new_person';
  }
  const reviews =
    linkTo !== null || !best
      ? []
      : candidates
          .filter((candidate) => candidate.personId !== personId && candidate.probability >= state.model.reviewThreshold)
          .slice(0, REVIEW_CANDIDATES)
          .map((candidate) => ({
            candidatePersonId: candidate.personId,
            probability: candidate.probability,
            comparedRecordId: candidate.recordId.startsWith(RECORD_PREFIX) ? Number(candidate.recordId.slice(RECORD_PREFIX.length)) : null,
            reason: candidate.probability >= state.model.linkThreshold ? 'ambiguous' : 'uncertain',
          }));
  const method = mustLink !== undefined ? 'reviewer' : linkTo !== null ? 'probabilistic' : 'probabilistic_new';
  return { personId, outcome, probability, method, createdPerson, reviews, candidates };
}

/** One record's outcome as the caller sees it. */
export interface RecordOutcome {
  sourceRecordId: number;
  personId: string | null;
  outcome: BatchOutcome;
  createdPerson: boolean;
  /** The new link's match probability (null when unchanged, kept or a new person). */
  probability: number | null;
  candidates: CandidatePerson[];
}

/**
 * Links a stored batch through the person index (no `state`: no model trained yet, so the
 * records stay unlinked). CPU only; the index is updated as it goes. Fills in the batch's
 * result and returns what to write.
 */
export function planLinks(state: IndexState | undefined, stored: StoredBatch): LinkPlan {
  const { result, toLink } = stored;
  const plan: LinkPlan = { newPersons: [], links: [], supersede: [], reviews: [] };
  if (!state) {
    for (const record of toLink) {
      result.unlinked++;
      if (stored.outcomes) {
        result.bySourceId.set(record.sourceId, {
          sourceRecordId: record.id,
          personId: record.currentPerson,
          outcome: record.currentPerson ? 'kept' : 'unlinked',
          createdPerson: false,
          probability: null,
          candidates: [],
        });
      }
    }
    return plan;
  }
  for (const record of toLink) {
    if (record.currentPerson !== null) {
      // Its old version must not vote for itself.
      const entry = state.recordEntries.get(record.id);
      if (entry !== undefined) setEntryPerson(state.index, entry, '');
    }
    // Prepared and numbered once: matched, then added to the index under its record key.
    const interned = internFields(state.index, RECORD_PREFIX + record.id, record.fields);
    // A reviewer's word on this record changes who may win: then every candidate is scored.
    const reviewed = state.cannotLink.has(record.id) || state.mustLink.has(record.id);
    const match = matchInternedRecord(state.index, state.model, interned, { decisionOnly: !reviewed });
    const decision = decideLink(state, record, match.candidates);
    const { personId, outcome } = decision;
    const currentPerson = record.currentPerson === null ? null : livePerson(state, record.currentPerson);
    // A new person's values, worked out once: for its own entry in the index and for its row.
    const values = decision.createdPerson ? bestValues([record.fields]) : undefined;
    if (values) plan.newPersons.push({ id: personId, records: [record.fields], values });
    if (currentPerson !== personId) {
      if (currentPerson !== null) plan.supersede.push(record.id);
      plan.links.push({ sourceRecordId: record.id, personId, method: decision.method, probability: decision.probability });
    }
    for (const review of decision.reviews) {
      plan.reviews.push({ sourceRecordId: record.id, ...review });
      if (decision.createdPerson) noteReviewTwins(state, personId, review.candidatePersonId, record.id);
    }
    // Keep the in-process index in step as the batch goes (a failed batch forgets the index).
    state.recordEntries.set(record.id, state.index.recordIds.length);
    addInternedRecord(state.index, interned, personId);
    if (values) {
      const anchor = {
        id: personId,
        given_name: values.given_name,
        family_name: values.family_name,
        birth_date: values.birth_date,
        sex: values.sex,
        nhs_number: values.nhs_number,
        phone: values.phone,
        email: values.email,
        postcode: values.postcode,
        address_line: values.address,
      };
      // Made from this one record, the person's own details are usually that record again: a
      // second copy in the index would only be scored again by every later match. When they
      // differ (a date of birth the person cannot take, say), they are indexed as ever.
      const anchorFields = anchorLinkRecord(anchor).fields;
      if (!sameFieldsAsRecord(anchorFields, record.fields) && !sameValuesAs(state.index, anchorFields, interned))
        indexAnchor(state, anchor);
    }
    if (outcome === 'linked' || outcome === 'relinked') result.linked++;
    else if (outcome === 'new_person') result.newPerson++;
    else if (outcome === 'review') result.review++;
    if (stored.outcomes) {
      result.bySourceId.set(record.sourceId, {
        sourceRecordId: record.id,
        personId,
        outcome,
        createdPerson: decision.createdPerson,
        probability: decision.probability,
        candidates: decision.candidates,
      });
    }
  }
  return plan;
}

/** Writes a batch's new persons, links and review items; returns the review items' ids. */
export async function writeLinkPlan(trx: Kysely<Database>, plan: LinkPlan): Promise<number[]> {
  await insertNewPersons(trx, plan.newPersons);
  if (plan.supersede.length > 0) {
    await sql`update record_links set superseded_at = now() where superseded_at is null and source_record_id = any(${plan.supersede}::bigint[])`.execute(
      trx,
    );
  }
  await insertLinks(trx, plan.links, false);
  return insertReviews(trx, plan.reviews);
}

/** What receiving one record did. */
export interface ReceiveResult {
  sourceRecordId: number;
  outcome: Exclude<BatchOutcome, 'unlinked'>;
  /** The person the record is now linked to. */
  personId: string;
  probability: number | null;
  createdPerson: boolean;
  /** Review items opened for this record. */
  reviewIds: number[];
  candidates: CandidatePerson[];
}

/**
 * One agency record, stored and linked at once in its own transaction, under the index lock
 * (trains the first model if there is none yet). The same decision as a bulk import's.
 */
export async function receiveSourceRecord(
  db: Kysely<Database>,
  source: string,
  sourceId: string,
  fields: SourceFields,
): Promise<ReceiveResult> {
  return withIndexLock(db, async () => {
    if (!(await indexState(db))) await indexWhileLocked(db, {});
    const state = await indexState(db);
    if (!state) throw new Error('the person index could not be built');
    try {
      return await db.transaction().execute(async (trx) => {
        const stored = await storeBatch(trx, source, [{ sourceId, fields }]);
        const reviewIds = await writeLinkPlan(trx, planLinks(state, stored));
        const outcome = stored.result.bySourceId.get(sourceId)!;
        return {
          sourceRecordId: outcome.sourceRecordId,
          outcome: outcome.outcome as ReceiveResult['outcome'],
          personId: livePerson(state, outcome.personId!),
          probability: outcome.probability,
          createdPerson: outcome.createdPerson,
          reviewIds,
          candidates: outcome.candidates,
        };
      });
    } catch (error) {
      forgetIndexState(db);
      throw error;
    }
  });
}
