// The in-process side of the person index: the online matching index over every spine person
// and every linked source record, built lazily from the database, kept in step by every write
// the linkage module makes, and one lock so writes to the index take turns. On PostgreSQL the
// lock is also a database advisory lock, so writers in every process take turns, and each
// process catches its index up with what the others committed before it matches anything:
// correctness never rests on one process's memory.

import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { mergedPersons, personsToMatch } from '../people/index.ts';
import { databaseKindOf } from '../platform/db.ts';
import { addRecord, createLinkageIndex, setEntryPerson } from './online.ts';
import type { LinkageIndex } from './online.ts';
import { modelFromJson } from './model.ts';
import { FIELD_NAMES } from './types.ts';
import type { LinkageModel, LinkRecord } from './types.ts';

/** Who did something to the index: a signed-in user, or the system itself. */
export interface Actor {
  id: string;
  role: string;
  organisationId?: string | null;
}

export const SYSTEM_ACTOR: Actor = { id: 'system:linkage', role: 'system', organisationId: null };

export const SPINE_PREFIX = 'person:';
export const RECORD_PREFIX = 'record:';

/** A person's row as the index compares it. */
export interface AnchorRow {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string | null;
  sex: string | null;
  nhs_number: string | null;
  phone: string | null;
  email: string | null;
  postcode: string | null;
  address_line: string | null;
}

export function anchorLinkRecord(row: AnchorRow): LinkRecord {
  return linkRecordFromFields(SPINE_PREFIX + row.id, {
    given_name: row.given_name,
    family_name: row.family_name,
    birth_date: row.birth_date ?? '',
    sex: row.sex ?? '',
    postcode: row.postcode ?? '',
    address: row.address_line ?? '',
    nhs_number: row.nhs_number ?? '',
    phone: row.phone ?? '',
    email: row.email ?? '',
  });
}

/** A source record's fields as the linkage engine takes them (known fields, non-empty only). */
export function linkRecordFromFields(id: string, fields: Record<string, unknown>): LinkRecord {
  const out: LinkRecord['fields'] = {};
  for (const name of FIELD_NAMES) {
    const value = fields[name];
    if (typeof value === 'string' && value.trim() !== '') out[name] = value;
  }
  return { id, fields: out, text: {} };
}

/** Ids below this are held in an array; any above it (a sequence run far ahead) in a map. */
const DENSE_ID_LIMIT = 2 ** 27;

/**
 * Source record id → its entry number in the index. Record ids come from a sequence, so they
 * are dense: an array indexed by id answers without the hashing and cache misses of a map of
 * millions of entries.
 */
export class RecordEntries {
  private dense = new Int32Array(1024).fill(-1);
  private readonly sparse = new Map<number, number>();

  private static isDense(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < DENSE_ID_LIMIT;
  }

  get(id: number): number | undefined {
    if (RecordEntries.isDense(id)) {
      const entry = id < this.dense.length ? this.dense[id]! : -1;
      return entry < 0 ? undefined : entry;
    }
    return this.sparse.get(id);
  }

  set(id: number, entry: number): void {
    if (!RecordEntries.isDense(id)) {
      this.sparse.set(id, entry);
      return;
    }
    if (id >= this.dense.length) {
      const bigger = new Int32Array(Math.min(DENSE_ID_LIMIT, Math.max(id + 1, this.dense.length * 2))).fill(-1);
      bigger.set(this.dense);
      this.dense = bigger;
    }
    this.dense[id] = entry;
  }
}

/** Adds a spine person's own details to the index, noting their entry. */
export function indexAnchor(state: Pick<IndexState, 'index' | 'personEntries'>, anchor: AnchorRow): void {
  state.personEntries.set(anchor.id, state.index.recordIds.length);
  addRecord(state.index, anchorLinkRecord(anchor), anchor.id);
}

/** Adds a source record's current version to the index under `personId`, noting its entry. */
export function indexSourceRecord(
  state: Pick<IndexState, 'index' | 'recordEntries'>,
  sourceRecordId: number,
  fields: Record<string, unknown>,
  personId: string,
): void {
  state.recordEntries.set(sourceRecordId, state.index.recordIds.length);
  addRecord(state.index, linkRecordFromFields(RECORD_PREFIX + sourceRecordId, fields), personId);
}

export interface IndexState {
  modelId: number;
  model: LinkageModel;
  index: LinkageIndex;
  /** Source record id → its entry number in the index (a number key: far cheaper than a string at millions of records). */
  recordEntries: RecordEntries;
  /** Spine person id → the entry number of the person's own details. */
  personEntries: Map<string, number>;
  /** Merged person → the person it was merged into (follow to the end for the live person). */
  mergedInto: Map<string, string>;
  /** Source record id → persons a reviewer said it is not. */
  cannotLink: Map<number, Set<string>>;
  /** Source record id → the person a reviewer said it is. */
  mustLink: Map<number, string>;
  /**
   * Persons that may be one person, waiting for a reviewer: a person made for a doubtful record
   * and each person that record was sent to review against, both ways, with the record's id.
   * Taken from open review items when the index loads and from this process's own matches since
   * (another process's are not seen: then its records go to review as before).
   */
  reviewTwins: Map<string, Map<string, number>>;
  /** How far this process has followed the database (ids of links and decisions, a digest of merges). */
  seen: Watermarks;
}

/** What this process's index has taken in: everything up to these, from every process. */
export interface Watermarks {
  modelId: number;
  linkId: number;
  decisionId: number;
  merges: string;
}

async function currentWatermarks(db: Kysely<Database>): Promise<Watermarks> {
  const row = (
    await sql<{ model_id: string | null; link_id: string | null; decision_id: string | null; merges: string }>`
    select (select max(id) from linkage_models)::text as model_id, (select max(id) from record_links)::text as link_id, (select max(id) from linkage_decisions)::text as decision_id,
           (select count(*)::text || '/' || coalesce(max(id), 0)::text || '/' || count(unmerged_at)::text from person_merges) as merges`.execute(
      db,
    )
  ).rows[0]!;
  return {
    modelId: Number(row.model_id ?? 0),
    linkId: Number(row.link_id ?? 0),
    decisionId: Number(row.decision_id ?? 0),
    merges: row.merges,
  };
}

const states = new WeakMap<object, Promise<IndexState>>();
const locks = new WeakMap<object, Promise<void>>();

/** The advisory lock every process's person-index writers take in turn ('JoinIdx' as a number). */
const INDEX_LOCK_KEY = 0x4a6f696e496478;

/** Runs `work` when no other index write on this database is running, in this or any process. */
export async function withIndexLock<T>(db: Kysely<Database>, work: () => Promise<T>): Promise<T> {
  const release = await acquireIndexLock(db);
  try {
    return await work();
  } finally {
    await release();
  }
}

/**
 * Holds PostgreSQL's advisory lock on a connection of its own until released: a session lock,
 * because an import's window spans many transactions. A process that dies loses its connection,
 * and the server releases the lock with it.
 */
async function holdDatabaseLock(db: Kysely<Database>): Promise<() => Promise<void>> {
  let letGo!: () => void;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  let taken!: () => void;
  let failed!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    taken = resolve;
    failed = reject;
  });
  const held = db
    .connection()
    .execute(async (connection) => {
      await sql`select pg_advisory_lock(${INDEX_LOCK_KEY})`.execute(connection);
      taken();
      await released;
      await sql`select pg_advisory_unlock(${INDEX_LOCK_KEY})`.execute(connection);
    })
    .catch((error: unknown) => failed(error));
  await ready;
  return async () => {
    letGo();
    await held;
  };
}

/**
 * Waits for the index lock and returns its release (for holds that span several steps). Once
 * held, a loaded index takes in what other processes committed; on release it notes how far
 * the database has come, which is all its own doing while it held the lock.
 */
export async function acquireIndexLock(db: Kysely<Database>): Promise<() => Promise<void>> {
  const previous = locks.get(db) ?? Promise.resolve();
  let releaseLocal!: () => void;
  const mine = new Promise<void>((resolve) => (releaseLocal = resolve));
  locks.set(
    db,
    previous.then(() => mine),
  );
  await previous;
  let releaseDatabase: (() => Promise<void>) | null = null;
  try {
    if (databaseKindOf(db) === 'postgres') releaseDatabase = await holdDatabaseLock(db);
    await catchUp(db);
  } catch (error) {
    await releaseDatabase?.();
    releaseLocal();
    throw error;
  }
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    try {
      const state = await loadedState(db).catch(() => undefined);
      if (state) state.seen = await currentWatermarks(db);
    } finally {
      await releaseDatabase?.();
      releaseLocal();
    }
  };
}

/**
 * Takes in what was committed since this index last looked: new and changed links (a source
 * record re-read with its current fields), the persons they name, reviewers' decisions, and
 * merges. Idempotent, so taking in one's own writes again does no harm.
 */
export async function catchUp(db: Kysely<Database>): Promise<void> {
  const state = await loadedState(db);
  if (!state) return;
  const now = await currentWatermarks(db);
  // Another process trained a new model: this index is rebuilt with it when next used.
  if (now.modelId !== state.modelId) {
    forgetIndexState(db);
    return;
  }
  // Paged, so a night's import by another process is taken in without holding it all at once.
  for (let after = state.seen.linkId; after < now.linkId;) {
    const links = await sql<{ id: string; source_record_id: string; person_id: string; fields: Record<string, unknown> }>`
      select l.id, l.source_record_id, l.person_id, s.fields from record_links l join source_records s on s.id = l.source_record_id
      where l.id > ${after} and l.id <= ${now.linkId} order by l.id limit 20000`.execute(db);
    if (links.rows.length === 0) break;
    const newPersons = new Set<string>();
    for (const link of links.rows) {
      const id = Number(link.source_record_id);
      const entry = state.recordEntries.get(id);
      // The record may have changed as well as moved: its old entry stops voting, the current one is added.
      if (entry !== undefined) setEntryPerson(state.index, entry, '');
      indexSourceRecord(state, id, link.fields, link.person_id);
      if (!state.personEntries.has(link.person_id)) newPersons.add(link.person_id);
    }
    if (newPersons.size > 0) for (const anchor of await loadAnchors(db, [...newPersons])) indexAnchor(state, anchor);
    after = Number(links.rows[links.rows.length - 1]!.id);
  }
  if (now.decisionId > state.seen.decisionId) {
    const decisions = await db
      .selectFrom('linkage_decisions')
      .select(['source_record_id', 'person_id', 'kind'])
      .where('id', '>', state.seen.decisionId)
      .where('id', '<=', now.decisionId)
      .orderBy('id')
      .execute();
    for (const decision of decisions) noteDecision(state, Number(decision.source_record_id), decision.person_id, decision.kind);
  }
  if (now.merges !== state.seen.merges) {
    state.mergedInto = await mergedPersons(db);
  }
  state.seen = now;
}

export function livePerson(state: Pick<IndexState, 'mergedInto'>, personId: string): string {
  let current = personId;
  for (let hops = 0; hops < 1000; hops++) {
    const next = state.mergedInto.get(current);
    if (next === undefined) return current;
    current = next;
  }
  return current;
}

export async function latestModel(db: Kysely<Database>): Promise<{ id: number; model: LinkageModel } | undefined> {
  const row = await db.selectFrom('linkage_models').select(['id', 'model']).orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row && { id: row.id, model: modelFromJson(row.model) };
}

/** Every live (not merged) person, with the household's address for comparison. */
export async function loadAnchors(db: Kysely<Database>, personIds?: readonly string[]): Promise<AnchorRow[]> {
  return personsToMatch(db, personIds);
}

async function buildState(db: Kysely<Database>): Promise<IndexState | undefined> {
  const latest = await latestModel(db);
  if (!latest) return undefined;
  // Noted before reading: whatever commits while the index is read is taken in by the next catch-up.
  const seen = await currentWatermarks(db);
  const index = createLinkageIndex(latest.model);
  const recordEntries = new RecordEntries();
  const personEntries = new Map<string, number>();
  for (const anchor of await loadAnchors(db)) indexAnchor({ index, personEntries }, anchor);
  const pageSize = 20_000;
  let after = 0;
  for (;;) {
    const page = await db
      .selectFrom('source_records as s')
      .innerJoin('record_links as l', (join) => join.onRef('l.source_record_id', '=', 's.id').on('l.superseded_at', 'is', null))
      .select(['s.id', 's.fields', 'l.person_id'])
      .where('s.id', '>', after)
      .orderBy('s.id')
      .limit(pageSize)
      .execute();
    for (const row of page) indexSourceRecord({ index, recordEntries }, Number(row.id), row.fields, row.person_id);
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.id;
  }
  const state: IndexState = {
    modelId: latest.id,
    model: latest.model,
    index,
    recordEntries,
    personEntries,
    mergedInto: new Map(),
    cannotLink: new Map(),
    mustLink: new Map(),
    reviewTwins: new Map(),
    seen,
  };
  state.mergedInto = await mergedPersons(db);
  const decisions = await db.selectFrom('linkage_decisions').select(['source_record_id', 'person_id', 'kind']).orderBy('id').execute();
  for (const decision of decisions) noteDecision(state, decision.source_record_id, decision.person_id, decision.kind);
  // Open review items of records that made a person of their own when they were doubtful.
  const twins = await sql<{ source_record_id: string; person_id: string; candidate_person_id: string }>`
    select r.source_record_id, l.person_id, r.candidate_person_id
    from linkage_reviews r join record_links l on l.source_record_id = r.source_record_id and l.superseded_at is null
    where r.status = 'open' and l.method = 'probabilistic_new'`.execute(db);
  for (const twin of twins.rows) noteReviewTwins(state, twin.person_id, twin.candidate_person_id, Number(twin.source_record_id));
  return state;
}

/** Notes that `made` (a person made for the doubtful record `sourceRecordId`) was sent to review against `candidate`. */
export function noteReviewTwins(state: Pick<IndexState, 'reviewTwins'>, made: string, candidate: string, sourceRecordId: number): void {
  for (const [a, b] of [
    [made, candidate],
    [candidate, made],
  ] as const) {
    const twins = state.reviewTwins.get(a) ?? new Map<string, number>();
    twins.set(b, sourceRecordId);
    state.reviewTwins.set(a, twins);
  }
}

/**
 * Whether two live persons wait for a reviewer to say whether they are one: a later record that
 * matches both is no new doubt (the review already asks it), unless a reviewer said they differ.
 */
export function areReviewTwins(state: Pick<IndexState, 'reviewTwins' | 'cannotLink'>, a: string, b: string): boolean {
  const sourceRecordId = state.reviewTwins.get(a)?.get(b);
  if (sourceRecordId === undefined) return false;
  const refused = state.cannotLink.get(sourceRecordId);
  return !(refused?.has(a) || refused?.has(b));
}

export function noteDecision(state: IndexState, sourceRecordId: number, personId: string, kind: 'must_link' | 'cannot_link'): void {
  if (kind === 'must_link') {
    state.mustLink.set(sourceRecordId, personId);
    state.cannotLink.get(sourceRecordId)?.delete(personId);
  } else {
    const set = state.cannotLink.get(sourceRecordId) ?? new Set<string>();
    set.add(personId);
    state.cannotLink.set(sourceRecordId, set);
    if (state.mustLink.get(sourceRecordId) === personId) state.mustLink.delete(sourceRecordId);
  }
}

/** The loaded index for this database, or undefined when no model has been trained yet. */
export async function indexState(db: Kysely<Database>): Promise<IndexState | undefined> {
  let state = states.get(db);
  if (!state) {
    state = buildState(db).then((built) => {
      if (!built) states.delete(db);
      return built as IndexState;
    });
    states.set(db, state);
  }
  return (await state) ?? undefined;
}

/** The index state only if it is already loaded (writes keep a loaded index in step; an unloaded one loads fresh). */
export async function loadedState(db: Kysely<Database>): Promise<IndexState | undefined> {
  const state = states.get(db);
  return state ? ((await state) ?? undefined) : undefined;
}

/** Forgets the in-process index (a new model was trained): the next match rebuilds it. */
export function forgetIndexState(db: Kysely<Database>): void {
  states.delete(db);
}

/** Keeps a loaded index in step with link changes made in the database. */
export async function noteLinkChanges(
  db: Kysely<Database>,
  changes: readonly { sourceRecordId: number; personId: string }[],
): Promise<void> {
  const state = await loadedState(db);
  if (!state) return;
  for (const change of changes) {
    const entry = state.recordEntries.get(Number(change.sourceRecordId));
    if (entry !== undefined) setEntryPerson(state.index, entry, change.personId);
  }
}
