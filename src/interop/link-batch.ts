// Stores a batch of agency records as received and links each one through the person index,
// in the caller's transaction: the batch equivalent of receiveSourceRecord. Idempotent on
// (source, source_id): a record received again with the same fields changes nothing; with
// different fields its old version goes to source_record_history.
//
// Three steps, so a bulk import can overlap them across batches (the database stores one
// batch while this process matches the next): storeBatch and writeLinkPlan run in the
// caller's transaction, planLinks is CPU only. Matching runs against the in-process index of
// `db`; records are added to it as the batch goes, so two records of the same new person in
// one file link together. If the transaction fails, call `forgetIndexState(db)` (the index is
// rebuilt on next use).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { bestValues, newPersonId, type SourceFields } from '../linkage/person-index.ts';
import { addInternedRecord, clearBest, internFields, matchInternedRecord, setEntryPerson, type CandidatePerson } from '../linkage/online.ts';
import {
  RECORD_PREFIX, indexAnchor, indexState, livePerson, type IndexState,
} from '../linkage/index-state.ts';

export interface IncomingRecord { sourceId: string; fields: SourceFields }

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
  bySourceId: Map<string, { sourceRecordId: number; personId: string | null; outcome: BatchOutcome }>;
}

function sameFields(a: SourceFields, b: SourceFields): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if ((a[key] ?? '') !== (b[key] ?? '')) return false;
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
  newPersons: Array<{ id: string; records: SourceFields[] }>;
  links: Array<{ sourceRecordId: number; personId: string; method: string; probability: number | null }>;
  supersede: number[];
  reviews: Array<{ sourceRecordId: number; candidatePersonId: string; comparedRecordId: number | null; probability: number; reason: string }>;
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
    const rows = (await sql<{ id: number; source_id: string }>`
      insert into source_records (source, source_id, fields)
      select ${source}, e->>0, e->1 from jsonb_array_elements(${JSON.stringify(batch)}::jsonb) as e
      on conflict (source, source_id) do nothing
      returning id, source_id`.execute(trx)).rows;
    for (const row of rows) insertedIds.set(row.source_id, Number(row.id));
  }
  const seenBefore = entries.filter(([id]) => !insertedIds.has(id)).map(([id]) => id);
  const existingRows = seenBefore.length === 0 ? [] : (await sql<{ id: number; source_id: string; fields: SourceFields; received_at: Date; person_id: string | null }>`
    select s.id, s.source_id, s.fields, s.received_at, l.person_id
    from source_records s left join record_links l on l.source_record_id = s.id and l.superseded_at is null
    where s.source = ${source} and s.source_id = any(${seenBefore}::text[])`.execute(trx)).rows;
  const existing = new Map(existingRows.map((row) => [row.source_id, row]));

  const fresh = entries.filter(([id]) => insertedIds.has(id)).map(([sourceId, fields]) => ({ sourceId, fields }));
  const changed: Array<{ id: number; sourceId: string; fields: SourceFields; old: (typeof existingRows)[number] }> = [];
  for (const sourceId of seenBefore) {
    const fields = latest.get(sourceId)!;
    const old = existing.get(sourceId)!;
    if (sameFields(old.fields, fields) && old.person_id !== null) {
      result.unchanged++;
      if (outcomes) result.bySourceId.set(sourceId, { sourceRecordId: Number(old.id), personId: old.person_id, outcome: 'unchanged' });
    } else changed.push({ id: Number(old.id), sourceId, fields, old });
  }
  result.unchanged += input.length - latest.size;

  if (changed.length > 0) {
    await bulkInsert(trx, 'source_record_history', [
      { name: 'source_record_id', type: 'bigint', value: (c) => c.id },
      { name: 'fields', type: 'jsonb', value: (c) => c.old.fields },
      { name: 'received_at', type: 'timestamptz', value: (c) => c.old.received_at },
    ], changed.filter((c) => !sameFields(c.old.fields, c.fields)));
    await sql`update source_records s set fields = u.fields::jsonb, received_at = now()
      from unnest(${changed.map((c) => c.id)}::bigint[], ${changed.map((c) => JSON.stringify(c.fields))}::text[]) as u(id, fields)
      where s.id = u.id`.execute(trx);
  }
  result.stored = fresh.length + changed.length;
  const toLink = [
    ...fresh.map((r) => ({ id: insertedIds.get(r.sourceId)!, sourceId: r.sourceId, fields: r.fields, currentPerson: null as string | null })),
    ...changed.map((c) => ({ id: c.id, sourceId: c.sourceId, fields: c.fields, currentPerson: c.old.person_id })),
  ];
  return { result, toLink, outcomes };
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
      if (stored.outcomes) result.bySourceId.set(record.sourceId, { sourceRecordId: record.id, personId: record.currentPerson, outcome: record.currentPerson ? 'kept' : 'unlinked' });
    }
    return plan;
  }
  for (const record of toLink) {
    const currentPerson = record.currentPerson === null ? null : livePerson(state, record.currentPerson);
    if (record.currentPerson !== null) {
      const entry = state.recordEntries.get(record.id);
      if (entry !== undefined) setEntryPerson(state.index, entry, '');
    }
    // Prepared and numbered once: matched, then added to the index under its record key.
    const key = RECORD_PREFIX + record.id;
    const interned = internFields(state.index, key, record.fields);
    const ruledOut = state.cannotLink.get(record.id);
    const mustLink = state.mustLink.get(record.id);
    // A reviewer's word on this record changes who may win: then every candidate is scored.
    const match = matchInternedRecord(state.index, state.model, interned, { decisionOnly: ruledOut === undefined && mustLink === undefined });
    const candidates = liveCandidates(state, match.candidates, ruledOut);
    const best = candidates[0];
    const linkTo = mustLink !== undefined ? livePerson(state, mustLink) : best && clearBest(candidates, state.model) ? best.personId : null;
    let personId: string;
    let outcome: BatchOutcome;
    let probability: number | null = null;
    if (linkTo !== null) {
      personId = linkTo;
      probability = mustLink !== undefined ? 1 : best!.probability;
      outcome = currentPerson === null ? 'linked' : currentPerson === personId ? 'kept' : 'relinked';
    } else if (currentPerson !== null) {
      personId = currentPerson;
      outcome = best ? 'review' : 'kept';
    } else {
      personId = newPersonId();
      plan.newPersons.push({ id: personId, records: [record.fields] });
      outcome = best ? 'review' : 'new_person';
    }
    if (currentPerson !== personId) {
      if (currentPerson !== null) plan.supersede.push(record.id);
      plan.links.push({ sourceRecordId: record.id, personId, method: mustLink !== undefined ? 'reviewer' : linkTo !== null ? 'probabilistic' : 'probabilistic_new', probability });
    }
    if (linkTo === null && best) {
      for (const candidate of candidates.filter((c) => c.personId !== personId && c.probability >= state.model.reviewThreshold).slice(0, REVIEW_CANDIDATES)) {
        plan.reviews.push({
          sourceRecordId: record.id, candidatePersonId: candidate.personId, probability: candidate.probability,
          comparedRecordId: candidate.recordId.startsWith(RECORD_PREFIX) ? Number(candidate.recordId.slice(RECORD_PREFIX.length)) : null,
          reason: candidate.probability >= state.model.linkThreshold ? 'ambiguous' : 'uncertain',
        });
      }
    }
    // Keep the in-process index in step as the batch goes (a failed batch forgets the index).
    state.recordEntries.set(record.id, state.index.recordIds.length);
    addInternedRecord(state.index, interned, personId);
    if (outcome === 'new_person' || (outcome === 'review' && currentPerson === null)) {
      const values = bestValues([record.fields]);
      const anchor = { id: personId, given_name: values.given_name, family_name: values.family_name, birth_date: values.birth_date, sex: values.sex, nhs_number: values.nhs_number, phone: values.phone, email: values.email, postcode: values.postcode, address_line: values.address };
      indexAnchor(state, anchor);
    }
    if (outcome === 'linked' || outcome === 'relinked') result.linked++;
    else if (outcome === 'new_person') result.newPerson++;
    else if (outcome === 'review') result.review++;
    if (stored.outcomes) result.bySourceId.set(record.sourceId, { sourceRecordId: record.id, personId, outcome });
  }
  return plan;
}

/** Writes a batch's new persons, links and review items. */
export async function writeLinkPlan(trx: Kysely<Database>, plan: LinkPlan): Promise<void> {
  const { newPersons, links, supersede, reviews } = plan;
  if (newPersons.length > 0) {
    const rows = newPersons.map((person) => ({ id: person.id, ...bestValues(person.records) }));
    await bulkInsert(trx, 'persons', [
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
  if (supersede.length > 0) {
    await sql`update record_links set superseded_at = now() where superseded_at is null and source_record_id = any(${supersede}::bigint[])`.execute(trx);
  }
  await bulkInsert(trx, 'record_links', [
    { name: 'source_record_id', type: 'bigint', value: (l) => l.sourceRecordId },
    { name: 'person_id', type: 'text', value: (l) => l.personId },
    { name: 'method', type: 'text', value: (l) => l.method },
    { name: 'match_probability', type: 'float8', value: (l) => l.probability },
  ], links);
  if (reviews.length > 0) {
    await sql`
      insert into linkage_reviews (source_record_id, candidate_person_id, compared_record_id, probability, reason)
      select * from unnest(${reviews.map((r) => r.sourceRecordId)}::bigint[], ${reviews.map((r) => r.candidatePersonId)}::text[],
        ${reviews.map((r) => r.comparedRecordId)}::bigint[], ${reviews.map((r) => r.probability)}::float8[], ${reviews.map((r) => r.reason)}::text[])
      on conflict (source_record_id, candidate_person_id) where status = 'open' do nothing`.execute(trx);
  }
}
