// The review queue: pairs the index could not settle, for a data quality reviewer to decide.
// Decisions are remembered as must-link / cannot-link and bind later batch and online linking.
// A reviewer may also merge the two persons of an item outright (every record of one moves to
// the other), and see a decided item read-only: who decided what, when and why.

import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { userDisplayNameOf } from '../auth/index.ts';
import { organisationNameOfSource } from '../network/index.ts';
import { createIndexPersons, personOrigin } from '../people/index.ts';
import { RefusedInput } from '../platform/refused.ts';
import { damerauLevenshtein } from './string-metrics.ts';
import { explainPair } from './explain.ts';
import type { PairExplanation } from './explain.ts';
import {
  RECORD_PREFIX,
  anchorLinkRecord,
  indexAnchor,
  indexState,
  linkRecordFromFields,
  livePerson,
  loadAnchors,
  loadedState,
  noteDecision,
  noteLinkChanges,
  withIndexLock,
} from './index-state.ts';
import type { Actor, AnchorRow } from './index-state.ts';
import { mergeUnlocked, MergeError } from './merge.ts';
import { bestValues, newPersonId } from './person-index.ts';

export interface QueueItem {
  id: number;
  source: string;
  /** The organisation that sent the record, by name (the source code when no organisation has it). */
  agency: string;
  createdAt: Date;
  probability: number;
  reason: string;
}

export interface QueueSummary {
  open: number;
  decidedSame: number;
  decidedDifferent: number;
  items: QueueItem[];
}

/** The name of the organisation whose source code this is, or the code itself. */
// A function, not a constant: the network module may still be loading when this one does.
const agencyOf = () => sql<string>`coalesce(${organisationNameOfSource('s.source')}, s.source)`;

/** Open items, oldest first. No names here: the list itself reveals nobody. */
export async function reviewQueue(db: Kysely<Database>, limit = 50): Promise<QueueSummary> {
  const counts = await sql<{ status: string; n: number }>`select status, count(*)::int as n from linkage_reviews group by status`.execute(
    db,
  );
  const count = (status: string) => counts.rows.find((row) => row.status === status)?.n ?? 0;
  const items = await db
    .selectFrom('linkage_reviews as r')
    .innerJoin('source_records as s', 's.id', 'r.source_record_id')
    .select(['r.id', 's.source', 'r.created_at', 'r.probability', 'r.reason', agencyOf().as('agency')])
    .where('r.status', '=', 'open')
    .orderBy('r.created_at')
    .orderBy('r.id')
    .limit(limit)
    .execute();
  return {
    open: count('open'),
    decidedSame: count('same'),
    decidedDifferent: count('different'),
    items: items.map((item) => ({
      id: item.id,
      source: item.source,
      agency: item.agency,
      createdAt: item.created_at,
      probability: item.probability,
      reason: item.reason,
    })),
  };
}

export interface ReviewSide {
  /** "Source record" or "Person record". */
  kind: 'source_record' | 'person';
  label: string;
  personId: string;
  fields: { name: string; value: string }[];
}

export interface ReviewItem {
  id: number;
  status: string;
  reason: string;
  probability: number;
  sourceRecordId: number;
  left: ReviewSide;
  right: ReviewSide;
  explanation: PairExplanation;
  /** Other agency records linked to the person the incoming record is linked to now: a merge would move them too. */
  otherRecordsOfCurrent: number;
}

const SHOWN_FIELDS: [string, string][] = [
  ['given_name', 'Given name'],
  ['family_name', 'Family name'],
  ['birth_date', 'Date of birth'],
  ['sex', 'Sex'],
  ['nhs_number', 'NHS number'],
  ['postcode', 'Postcode'],
  ['address', 'Address'],
  ['phone', 'Phone'],
  ['email', 'Email'],
];

function sideFields(fields: Record<string, string>): { name: string; value: string }[] {
  return SHOWN_FIELDS.map(([key, name]) => ({ name, value: fields[key] ?? '' }));
}

/** Fields of the candidate shown as they are: names are what the reviewer weighs, and the incoming record already carries them. */
const CANDIDATE_FIELDS_SHOWN = new Set(['given_name', 'family_name']);
const squash = (v: string) => v.toLowerCase().replace(/[^a-z0-9@.]/g, '');

/**
 * How the candidate's value compares with the incoming record's, in words, without showing it.
 * The review queue must not become a way to read someone's record: a reviewer sees the incoming
 * record in full and, of the candidate, only their names and how each other field compares.
 */
export function comparedInWords(key: string, incoming: string, candidate: string): string {
  if (CANDIDATE_FIELDS_SHOWN.has(key)) return candidate;
  if (!candidate.trim()) return 'Not held';
  if (!incoming.trim()) return 'Held (not shown: nothing to compare with)';
  const a = squash(incoming);
  const b = squash(candidate);
  if (a === b) return 'Same';
  if (key === 'birth_date' && /^\d{4}-\d{2}-\d{2}$/.test(incoming) && /^\d{4}-\d{2}-\d{2}$/.test(candidate)) {
    const [y1, m1, d1] = incoming.split('-');
    const [y2, m2, d2] = candidate.split('-');
    if (y1 === y2 && m1 === d2 && d1 === m2) return 'Different: day and month swapped';
    if (m1 === m2 && d1 === d2) return 'Different year, same day and month';
    if (y1 === y2) return 'Same year, different day or month';
    return 'Different';
  }
  return damerauLevenshtein(a, b, 3) <= 2 ? 'Close: one or two characters differ' : 'Different';
}

function candidateFields(incoming: Record<string, string>, candidate: Record<string, string>): { name: string; value: string }[] {
  return SHOWN_FIELDS.map(([key, name]) => ({ name, value: comparedInWords(key, incoming[key] ?? '', candidate[key] ?? '') }));
}

function anchorFields(anchor: AnchorRow): Record<string, string> {
  return {
    given_name: anchor.given_name,
    family_name: anchor.family_name,
    birth_date: anchor.birth_date ?? '',
    sex: anchor.sex ?? '',
    nhs_number: anchor.nhs_number ?? '',
    postcode: anchor.postcode ?? '',
    address: anchor.address_line ?? '',
    phone: anchor.phone ?? '',
    email: anchor.email ?? '',
  };
}

/** A review refused: 400 a missing reason, 404 no such item, 409 decided already, 422 nothing to compare yet. */
export class ReviewError extends RefusedInput {
  override name = 'ReviewError';
  constructor(message: string, status: 400 | 404 | 409 | 422 = 400) {
    super(status, message);
  }
}

/** The persons a review item shows (for the access decision before it is shown). */
/** Whether a review item is still open or has been decided (and how); undefined when there is no such item. */
export async function reviewStatus(db: Kysely<Database>, id: number): Promise<string | undefined> {
  return (await db.selectFrom('linkage_reviews').select('status').where('id', '=', id).executeTakeFirst())?.status;
}

export async function reviewPersons(db: Kysely<Database>, id: number): Promise<string[] | undefined> {
  const row = await sql<{ candidate_person_id: string; current_person_id: string | null }>`
    select r.candidate_person_id, l.person_id as current_person_id from linkage_reviews r
    left join record_links l on l.source_record_id = r.source_record_id and l.superseded_at is null
    where r.id = ${id}`.execute(db);
  const found = row.rows[0];
  if (!found) return undefined;
  return [...new Set([found.current_person_id, found.candidate_person_id].filter((p): p is string => p !== null))];
}

/** One item with both records side by side and the model's explanation. */
export async function reviewItem(db: Kysely<Database>, id: number): Promise<ReviewItem | undefined> {
  const row = await sql<{
    id: number;
    status: string;
    reason: string;
    probability: number;
    source_record_id: number;
    candidate_person_id: string;
    compared_record_id: number | null;
    source: string;
    agency: string;
    fields: Record<string, string>;
    current_person_id: string | null;
  }>`
    select r.id, r.status, r.reason, r.probability, r.source_record_id, r.candidate_person_id, r.compared_record_id,
           s.source, ${agencyOf()} as agency, s.fields, l.person_id as current_person_id
    from linkage_reviews r join source_records s on s.id = r.source_record_id
    left join record_links l on l.source_record_id = r.source_record_id and l.superseded_at is null
    where r.id = ${id}`.execute(db);
  const item = row.rows[0];
  if (!item) return undefined;
  const state = await indexState(db);
  if (!state) throw new ReviewError('the person index has no model yet', 422);
  const candidate = livePerson(state, item.candidate_person_id);
  let rightFields: Record<string, string>;
  let right: ReviewSide;
  let rightRecord;
  const compared =
    item.compared_record_id === null
      ? undefined
      : await db
          .selectFrom('source_records as s')
          .select(['s.source', 's.fields', agencyOf().as('agency')])
          .where('s.id', '=', item.compared_record_id)
          .executeTakeFirst();
  if (compared) {
    rightFields = compared.fields;
    right = {
      kind: 'source_record',
      label: `Record held by ${compared.agency}, linked to the candidate person`,
      personId: candidate,
      fields: candidateFields(item.fields, rightFields),
    };
    rightRecord = linkRecordFromFields(RECORD_PREFIX + item.compared_record_id, rightFields);
  } else {
    const [anchor] = await loadAnchors(db, [candidate]);
    if (!anchor) throw new ReviewError('the candidate person is not on the index', 422);
    rightFields = anchorFields(anchor);
    right = {
      kind: 'person',
      label: 'The candidate person on the person index',
      personId: candidate,
      fields: candidateFields(item.fields, rightFields),
    };
    rightRecord = anchorLinkRecord(anchor);
  }
  const left: ReviewSide = {
    kind: 'source_record',
    label: `Record held by ${item.agency}`,
    personId: item.current_person_id ? livePerson(state, item.current_person_id) : '',
    fields: sideFields(item.fields),
  };
  const explanation = explainPair(linkRecordFromFields(RECORD_PREFIX + item.source_record_id, item.fields), rightRecord, state.model);
  const others =
    left.personId && left.personId !== candidate
      ? await sql<{ n: number }>`
    select count(*)::int as n from record_links where person_id = ${left.personId} and superseded_at is null and source_record_id <> ${item.source_record_id}`.execute(
          db,
        )
      : undefined;
  return {
    id: item.id,
    status: item.status,
    reason: item.reason,
    probability: item.probability,
    sourceRecordId: item.source_record_id,
    left,
    right,
    explanation,
    otherRecordsOfCurrent: Number(others?.rows[0]?.n ?? 0),
  };
}

export type ReviewDecision = 'same' | 'different';

export interface DecisionResult {
  /** The person the record is linked to after the decision. */
  personId: string;
}

/**
 * Records a reviewer's decision. "Same": the record links to the candidate person (a person the
 * index created for this record alone is merged into it); "different": the pair is never linked.
 */
export async function decideReview(
  db: Kysely<Database>,
  id: number,
  decision: ReviewDecision,
  actor: Actor,
  reason: string,
): Promise<DecisionResult> {
  if (reason.trim() === '' && decision === 'different') throw new ReviewError('Give a reason why these are not the same person');
  return withIndexLock(db, () => decideUnlocked(db, id, decision, actor, reason));
}

/** The decision, with the index lock held by the caller. */
async function decideUnlocked(
  db: Kysely<Database>,
  id: number,
  decision: ReviewDecision,
  actor: Actor,
  reason: string,
): Promise<DecisionResult> {
  const state = await indexState(db);
  const item = await db
    .selectFrom('linkage_reviews')
    .select(['id', 'status', 'source_record_id', 'candidate_person_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!item) throw new ReviewError('There is no such review item.', 404);
  if (item.status !== 'open') throw new ReviewError('This item has already been decided.', 409);
  const candidate = state ? livePerson(state, item.candidate_person_id) : item.candidate_person_id;
  const current = await db
    .selectFrom('record_links')
    .select(['person_id'])
    .where('source_record_id', '=', item.source_record_id)
    .where('superseded_at', 'is', null)
    .executeTakeFirstOrThrow();
  const currentPerson = state ? livePerson(state, current.person_id) : current.person_id;
  let personId = currentPerson;
  let retire: string | null = null;

  await db.transaction().execute(async (trx) => {
    // Compare and set: of two reviewers deciding the same item at once, in any process, one wins.
    const claimed = await trx
      .updateTable('linkage_reviews')
      .set({ status: decision, decided_by: actor.id, decided_at: new Date(), decision_reason: reason })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .returning('id')
      .executeTakeFirst();
    if (!claimed) throw new ReviewError('This item has already been decided.', 409);
    await trx
      .insertInto('linkage_decisions')
      .values({
        source_record_id: item.source_record_id,
        person_id: candidate,
        kind: decision === 'same' ? 'must_link' : 'cannot_link',
        review_id: id,
        decided_by: actor.id,
        reason,
      })
      .execute();
    if (decision === 'same' && currentPerson !== candidate) {
      personId = candidate;
      await trx
        .updateTable('record_links')
        .set({ superseded_at: new Date() })
        .where('source_record_id', '=', item.source_record_id)
        .where('superseded_at', 'is', null)
        .execute();
      await trx
        .insertInto('record_links')
        .values({ source_record_id: item.source_record_id, person_id: candidate, method: 'reviewer', match_probability: 1 })
        .execute();
      const origin = await personOrigin(trx, currentPerson);
      const links =
        origin === undefined
          ? undefined
          : (
              await sql<{ links: number }>`
        select count(*)::int as links from record_links l where l.person_id = ${currentPerson} and l.superseded_at is null`.execute(trx)
            ).rows[0]?.links;
      if (origin === 'linkage' && links === 0) retire = currentPerson;
    } else if (decision === 'different' && currentPerson === candidate) {
      // Not the person it is linked to: it becomes a person of its own.
      const fields = (
        await trx.selectFrom('source_records').select('fields').where('id', '=', item.source_record_id).executeTakeFirstOrThrow()
      ).fields;
      personId = newPersonId();
      await createIndexPersons(trx, [{ id: personId, ...bestValues([fields]) }]);
      await trx
        .updateTable('record_links')
        .set({ superseded_at: new Date() })
        .where('source_record_id', '=', item.source_record_id)
        .where('superseded_at', 'is', null)
        .execute();
      await trx
        .insertInto('record_links')
        .values({ source_record_id: item.source_record_id, person_id: personId, method: 'reviewer', match_probability: null })
        .execute();
    }
    if (decision === 'same') {
      // The record's other open questions are answered too.
      await trx
        .updateTable('linkage_reviews')
        .set({ status: 'withdrawn', decided_by: actor.id, decided_at: new Date(), decision_reason: `answered by review ${id}` })
        .where('source_record_id', '=', item.source_record_id)
        .where('status', '=', 'open')
        .execute();
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorRole: actor.role,
      actorOrganisationId: actor.organisationId ?? null,
      action: 'write',
      personId: candidate,
      category: 'demographics',
      purpose: 'identity_review',
      decision: 'success',
      reason: `person index review ${id}: ${decision === 'same' ? 'same person' : 'not the same person'}`,
    });
  });

  if (state) noteDecision(state, item.source_record_id, candidate, decision === 'same' ? 'must_link' : 'cannot_link');
  await noteLinkChanges(db, [{ sourceRecordId: item.source_record_id, personId }]);
  if (personId !== currentPerson && decision === 'different') {
    const loaded = await loadedState(db);
    const [anchor] = await loadAnchors(db, [personId]);
    if (loaded && anchor) indexAnchor(loaded, anchor);
  }
  if (retire !== null)
    await mergeUnlocked(db, candidate, retire, actor, `review ${id}: its only record is the same person as the candidate`, {
      reviewId: id,
    });
  return { personId };
}

export interface MergeFromReviewResult {
  mergeId: number;
  recordsMoved: number;
}

/**
 * "These are one person": the person the incoming record is linked to now is merged into the
 * candidate (every record of theirs, and the rows the merge moves, go to the candidate), and the
 * item is decided "same person". Undone from the merge history like any merge.
 */
export async function mergeFromReview(db: Kysely<Database>, id: number, actor: Actor, reason: string): Promise<MergeFromReviewResult> {
  if (reason.trim() === '') throw new ReviewError('Give a reason why these are one person');
  return withIndexLock(db, async () => {
    const state = await indexState(db);
    const item = await db
      .selectFrom('linkage_reviews')
      .select(['id', 'status', 'source_record_id', 'candidate_person_id'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!item) throw new ReviewError('There is no such review item.', 404);
    if (item.status !== 'open') throw new ReviewError('This item has already been decided.', 409);
    const current = await db
      .selectFrom('record_links')
      .select(['person_id'])
      .where('source_record_id', '=', item.source_record_id)
      .where('superseded_at', 'is', null)
      .executeTakeFirstOrThrow();
    const candidate = state ? livePerson(state, item.candidate_person_id) : item.candidate_person_id;
    const currentPerson = state ? livePerson(state, current.person_id) : current.person_id;
    if (currentPerson === candidate)
      throw new ReviewError('The record is already linked to the candidate: choose "Same person" instead', 409);
    let merge;
    try {
      merge = await mergeUnlocked(db, candidate, currentPerson, actor, `review ${id}: ${reason.trim()}`, { reviewId: id });
    } catch (error) {
      if (error instanceof MergeError) throw new ReviewError(`These person records cannot be merged: ${error.message}`, 409);
      throw error;
    }
    // The record now belongs to the candidate: the decision only records "same person".
    await decideUnlocked(db, id, 'same', actor, reason.trim());
    return { mergeId: merge.mergeId, recordsMoved: merge.movedRecords };
  });
}

export interface DecidedReview {
  id: number;
  /** same, different, or withdrawn (answered by another review of the same record). */
  status: string;
  reason: string;
  probability: number;
  agency: string;
  createdAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionReason: string | null;
  /** For a withdrawn item, the review that answered it. */
  answeredBy: number | null;
}

/** A decided item as a record of the decision: nothing of either person, who decided what, when and why. */
export async function decidedReview(db: Kysely<Database>, id: number): Promise<DecidedReview | undefined> {
  const row = await sql<{
    id: number;
    status: string;
    reason: string;
    probability: number;
    agency: string;
    created_at: Date;
    decided_by: string | null;
    decided_at: Date | null;
    decision_reason: string | null;
  }>`
    select r.id, r.status, r.reason, r.probability, ${agencyOf()} as agency, r.created_at, ${userDisplayNameOf('r.decided_by')} as decided_by, r.decided_at, r.decision_reason
    from linkage_reviews r join source_records s on s.id = r.source_record_id
    where r.id = ${id}`.execute(db);
  const item = row.rows[0];
  if (!item) return undefined;
  const answered = item.status === 'withdrawn' ? /^answered by review (\d+)$/.exec(item.decision_reason ?? '') : null;
  return {
    id: Number(item.id),
    status: item.status,
    reason: item.reason,
    probability: item.probability,
    agency: item.agency,
    createdAt: new Date(item.created_at),
    decidedBy: item.decided_by,
    decidedAt: item.decided_at ? new Date(item.decided_at) : null,
    decisionReason: item.decision_reason,
    answeredBy: answered ? Number(answered[1]) : null,
  };
}

export interface DecidedSummary {
  id: number;
  status: string;
  agency: string;
  decidedBy: string | null;
  decidedAt: Date | null;
}

/** The latest decisions, for the queue page: no names, only what was decided, by whom and when. */
export async function recentDecisions(db: Kysely<Database>, limit = 10): Promise<DecidedSummary[]> {
  const rows = await sql<{ id: number; status: string; agency: string; decided_by: string | null; decided_at: Date | null }>`
    select r.id, r.status, ${agencyOf()} as agency, ${userDisplayNameOf('r.decided_by')} as decided_by, r.decided_at
    from linkage_reviews r join source_records s on s.id = r.source_record_id
    where r.status in ('same', 'different') order by r.decided_at desc nulls last, r.id desc limit ${limit}`.execute(db);
  return rows.rows.map((r) => ({
    id: Number(r.id),
    status: r.status,
    agency: r.agency,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at ? new Date(r.decided_at) : null,
  }));
}
