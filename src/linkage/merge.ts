// Merging two persons and undoing it, with full history. Persons are never deleted: a merged
// person points to its survivor (persons.merged_into). Every link the merge replaced, and every
// row of a person-owned table it moved, is recorded, so an un-merge puts each source record
// back exactly where it was, moves rows back, and flags what it cannot attribute for review.

import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { userDisplayNameOf } from '../auth/index.ts';
import { lockPersonForMerge, setMergedInto } from '../people/index.ts';
import { RefusedInput } from '../platform/refused.ts';
import { matchRecord, setEntryPerson } from './online.ts';
import {
  indexAnchor,
  indexState,
  linkRecordFromFields,
  livePerson,
  loadAnchors,
  loadedState,
  noteLinkChanges,
  withIndexLock,
} from './index-state.ts';
import type { Actor } from './index-state.ts';

/**
 * A table whose rows belong to a person. Merges move its rows to the survivor; un-merges move
 * them back and flag rows recorded against the survivor while merged. `idColumn` must be a
 * growing (serial) id so "recorded since the merge" is "id above the merge's high-water mark".
 */
export interface PersonOwnedTable {
  table: string;
  idColumn: string;
  personColumn: string;
}

const personOwnedTables: PersonOwnedTable[] = [
  { table: 'needs', idColumn: 'id', personColumn: 'person_id' },
  { table: 'person_events', idColumn: 'id', personColumn: 'person_id' },
];

/** Later modules register their person-owned tables here (once, at import time). */
export function registerPersonOwnedTable(table: PersonOwnedTable): void {
  if (!personOwnedTables.some((known) => known.table === table.table)) personOwnedTables.push(table);
}

export function registeredPersonOwnedTables(): readonly PersonOwnedTable[] {
  return personOwnedTables;
}

/** A merge or un-merge refused: the persons are not in a state it can apply to (409). */
export class MergeError extends RefusedInput {
  override name = 'MergeError';
  constructor(message: string) {
    super(409, message);
  }
}

export interface MergeOptions {
  /** The review item the merge was decided on, kept with the merge. */
  reviewId?: number;
}

export interface MergeResult {
  mergeId: number;
  movedRecords: number;
  reassignedRows: number;
}

const lockPerson = (trx: Transaction<Database>, id: string) => lockPersonForMerge(trx, id);

/** Merges `mergedId` into `survivorId`: its records and rows move to the survivor. */
export async function mergePersons(
  db: Kysely<Database>,
  survivorId: string,
  mergedId: string,
  actor: Actor,
  reason: string,
  options: MergeOptions = {},
): Promise<MergeResult> {
  return withIndexLock(db, () => mergeUnlocked(db, survivorId, mergedId, actor, reason, options));
}

export async function mergeUnlocked(
  db: Kysely<Database>,
  survivorId: string,
  mergedId: string,
  actor: Actor,
  reason: string,
  options: MergeOptions = {},
): Promise<MergeResult> {
  if (survivorId === mergedId) throw new MergeError('a person cannot be merged into themselves');
  const { result, moved } = await db.transaction().execute(async (trx) => {
    const [first, second] = [survivorId, mergedId].sort();
    const persons = new Map<string, { id: string; merged_into: string | null } | undefined>();
    for (const id of [first!, second!]) persons.set(id, await lockPerson(trx, id));
    const survivor = persons.get(survivorId);
    const merged = persons.get(mergedId);
    if (!survivor || !merged) throw new MergeError('there is no such person');
    if (survivor.merged_into)
      throw new MergeError(`person ${survivorId} was merged into ${survivor.merged_into}: merge into that person instead`);
    if (merged.merged_into) throw new MergeError(`person ${mergedId} is already merged into ${merged.merged_into}`);

    const highWater: Record<string, number> = {};
    for (const owned of personOwnedTables) {
      const row = await sql<{ max: number | null }>`select max(${sql.ref(owned.idColumn)}) as max from ${sql.table(owned.table)}`.execute(
        trx,
      );
      highWater[owned.table] = Number(row.rows[0]?.max ?? 0);
    }
    const merge = await trx
      .insertInto('person_merges')
      .values({
        survivor_id: survivorId,
        merged_id: mergedId,
        merged_by: actor.id,
        reason,
        high_water: JSON.stringify(highWater) as never,
        review_id: options.reviewId ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    const moved = await moveLinks(trx, mergedId, survivorId, 'merge', null);
    if (moved.length > 0) {
      await trx
        .insertInto('person_merge_links')
        .values(
          moved.map((link) => ({
            merge_id: merge.id,
            source_record_id: link.sourceRecordId,
            from_link_id: link.fromLinkId,
            to_link_id: link.toLinkId,
          })),
        )
        .execute();
    }
    let reassignedRows = 0;
    for (const owned of personOwnedTables) {
      const rows = await sql<{ id: string }>`
        update ${sql.table(owned.table)} set ${sql.ref(owned.personColumn)} = ${survivorId}
        where ${sql.ref(owned.personColumn)} = ${mergedId}
        returning ${sql.ref(owned.idColumn)}::text as id`.execute(trx);
      reassignedRows += rows.rows.length;
      await recordReassignments(
        trx,
        merge.id,
        owned.table,
        rows.rows.map((row) => row.id),
        mergedId,
        survivorId,
      );
    }
    await setMergedInto(trx, mergedId, survivorId);
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorRole: actor.role,
      actorOrganisationId: actor.organisationId ?? null,
      action: 'merge',
      personId: survivorId,
      category: 'demographics',
      purpose: 'care_coordination',
      decision: 'success',
      reason: `person index: merged another person record into this one (merge ${merge.id})`,
    });
    return { result: { mergeId: merge.id, movedRecords: moved.length, reassignedRows }, moved };
  });
  const state = await loadedState(db);
  if (state) state.mergedInto.set(mergedId, survivorId);
  await noteLinkChanges(
    db,
    moved.map((link) => ({ sourceRecordId: link.sourceRecordId, personId: survivorId })),
  );
  return result;
}

async function recordReassignments(
  trx: Transaction<Database>,
  mergeId: number,
  table: string,
  rowIds: readonly string[],
  from: string,
  to: string,
): Promise<void> {
  for (let start = 0; start < rowIds.length; start += 5000) {
    const batch = rowIds.slice(start, start + 5000);
    await sql`insert into person_reassignments (merge_id, table_name, row_id, from_person_id, to_person_id)
      select ${mergeId}, ${table}, r, ${from}, ${to} from unnest(${[...batch]}::text[]) as r`.execute(trx);
  }
}

interface MovedLink {
  sourceRecordId: number;
  fromLinkId: number;
  toLinkId: number;
}

/** Supersedes every current link of `from` (or only `onlyRecords`) with a link to `to`. */
async function moveLinks(
  trx: Transaction<Database>,
  from: string,
  to: string,
  method: string,
  onlyRecords: readonly number[] | null,
): Promise<MovedLink[]> {
  const only = onlyRecords ? sql`and source_record_id = any(${[...onlyRecords]}::bigint[])` : sql``;
  const old = await sql<{ id: number; source_record_id: number; match_probability: number | null }>`
    update record_links set superseded_at = now()
    where person_id = ${from} and superseded_at is null ${only}
    returning id, source_record_id, match_probability`.execute(trx);
  if (old.rows.length === 0) return [];
  const inserted = await sql<{ id: number; source_record_id: number }>`
    insert into record_links (source_record_id, person_id, method, match_probability)
    select r, ${to}, ${method}, p from unnest(${old.rows.map((row) => row.source_record_id)}::bigint[], ${old.rows.map((row) => row.match_probability)}::float8[]) as t(r, p)
    returning id, source_record_id`.execute(trx);
  const newLinkOf = new Map(inserted.rows.map((row) => [row.source_record_id, row.id]));
  return old.rows.map((row) => ({
    sourceRecordId: row.source_record_id,
    fromLinkId: row.id,
    toLinkId: newLinkOf.get(row.source_record_id)!,
  }));
}

export interface UnmergeResult {
  /** Records put back with the restored person. */
  restoredRecords: number;
  /** Records linked to the survivor while merged that were matched again (moved or kept). */
  rematchedRecords: number;
  restoredRows: number;
  /** Rows and records a person must check. */
  flags: number;
}

/**
 * Undoes a merge. Records the merge moved go back (also when a later merge carried them on);
 * records a person has re-linked since stay. Records linked to the survivor by online matching
 * while merged are matched again against both; rows recorded against the survivor while merged
 * are flagged for review, since either person may own them.
 */
export async function unmerge(db: Kysely<Database>, mergeId: number, actor: Actor, reason: string): Promise<UnmergeResult> {
  return withIndexLock(db, async () => {
    const state = await indexState(db);
    const outcome = await db.transaction().execute(async (trx) => {
      const merge = await sql<{
        id: number;
        survivor_id: string;
        merged_id: string;
        merged_at: Date;
        high_water: Record<string, number>;
        unmerged_at: Date | null;
      }>`
        select id, survivor_id, merged_id, merged_at, high_water, unmerged_at from person_merges where id = ${mergeId} for update`.execute(
        trx,
      );
      const row = merge.rows[0];
      if (!row) throw new MergeError('there is no such merge');
      if (row.unmerged_at) throw new MergeError('this merge has already been undone');
      const { survivor_id: survivorId, merged_id: mergedId } = row;

      // Each record the merge moved goes back unless a person or the matcher has linked it since:
      // later merges and un-merges only carry it along, so they do not count as a decision.
      const back = (
        await sql<{ source_record_id: number }>`
        select ml.source_record_id from person_merge_links ml
        join record_links cur on cur.source_record_id = ml.source_record_id and cur.superseded_at is null
        where ml.merge_id = ${mergeId} and cur.person_id <> ${mergedId}
          and not exists (select 1 from record_links later where later.source_record_id = ml.source_record_id
                          and later.id > ml.to_link_id and later.method not in ('merge', 'unmerge'))`.execute(trx)
      ).rows.map((r) => r.source_record_id);
      const changes: { sourceRecordId: number; personId: string }[] = [];
      if (back.length > 0) {
        const old = await sql<{ id: number; source_record_id: number; match_probability: number | null }>`
          update record_links set superseded_at = now() where superseded_at is null and source_record_id = any(${back}::bigint[])
          returning id, source_record_id, match_probability`.execute(trx);
        await sql`insert into record_links (source_record_id, person_id, method, match_probability)
          select r, ${mergedId}, 'unmerge', p from unnest(${old.rows.map((r) => r.source_record_id)}::bigint[], ${old.rows.map((r) => r.match_probability)}::float8[]) as t(r, p)`.execute(
          trx,
        );
        for (const id of back) changes.push({ sourceRecordId: id, personId: mergedId });
      }

      // Rows the merge moved: back, unless someone moved them since.
      let restoredRows = 0;
      let flags = 0;
      const reassignments = await sql<{ id: number; table_name: string; row_id: string; from_person_id: string; to_person_id: string }>`
        select id, table_name, row_id, from_person_id, to_person_id from person_reassignments where merge_id = ${mergeId} and reverted_at is null`.execute(
        trx,
      );
      for (const reassignment of reassignments.rows) {
        const owned = personOwnedTables.find((table) => table.table === reassignment.table_name);
        if (!owned) continue;
        const moved = await sql<{ id: string }>`
          update ${sql.table(owned.table)} set ${sql.ref(owned.personColumn)} = ${mergedId}
          where ${sql.ref(owned.idColumn)}::text = ${reassignment.row_id}
            and ${sql.ref(owned.personColumn)} in (select ${survivorId}::text union select to_person_id from person_reassignments where table_name = ${owned.table} and row_id = ${reassignment.row_id} and id > ${reassignment.id} and reverted_at is null)
          returning ${sql.ref(owned.idColumn)}::text as id`.execute(trx);
        if (moved.rows.length > 0) {
          restoredRows += 1;
          await sql`update person_reassignments set reverted_at = now() where id = ${reassignment.id}`.execute(trx);
        } else {
          flags += await flag(
            trx,
            mergedId,
            mergeId,
            owned.table,
            reassignment.row_id,
            'moved by the merge and changed since: check who it belongs to',
          );
        }
      }
      // Rows recorded against the survivor while merged may belong to either person.
      for (const owned of personOwnedTables) {
        const mark = row.high_water[owned.table] ?? 0;
        const since = await sql<{ id: string }>`
          select ${sql.ref(owned.idColumn)}::text as id from ${sql.table(owned.table)}
          where ${sql.ref(owned.personColumn)} = ${survivorId} and ${sql.ref(owned.idColumn)} > ${mark}`.execute(trx);
        for (const recorded of since.rows) {
          flags += await flag(
            trx,
            survivorId,
            mergeId,
            owned.table,
            recorded.id,
            'recorded while two person records were merged: check whether it belongs to the person un-merged',
          );
        }
      }

      await setMergedInto(trx, mergedId, null);
      await sql`update person_merges set unmerged_at = now(), unmerged_by = ${actor.id}, unmerge_reason = ${reason} where id = ${mergeId}`.execute(
        trx,
      );
      await appendAudit(trx, {
        actorUserId: actor.id,
        actorRole: actor.role,
        actorOrganisationId: actor.organisationId ?? null,
        action: 'unmerge',
        personId: survivorId,
        category: 'demographics',
        purpose: 'care_coordination',
        decision: 'success',
        reason: `person index: undid merge ${mergeId}`,
      });
      return { survivorId, mergedId, mergedAt: row.merged_at, changes, restoredRows, flags };
    });

    if (state) state.mergedInto.delete(outcome.mergedId);
    await noteLinkChanges(db, outcome.changes);
    const rematch = await rematchSince(db, outcome.survivorId, outcome.mergedId, outcome.mergedAt, mergeId);
    return {
      restoredRecords: outcome.changes.length,
      rematchedRecords: rematch.rematched,
      restoredRows: outcome.restoredRows,
      flags: outcome.flags + rematch.flags,
    };
  });
}

async function flag(
  trx: Transaction<Database>,
  personId: string,
  mergeId: number,
  table: string,
  rowId: string,
  reason: string,
): Promise<number> {
  await trx
    .insertInto('person_flags')
    .values({ person_id: personId, merge_id: mergeId, table_name: table, row_id: rowId, reason })
    .execute();
  return 1;
}

/**
 * Records linked to the survivor while merged by online matching (not by the merge, not by a
 * reviewer): matched again now both persons are back. Clear → linked there; unclear → stay, flagged.
 */
async function rematchSince(
  db: Kysely<Database>,
  survivorId: string,
  mergedId: string,
  mergedAt: Date,
  mergeId: number,
): Promise<{ rematched: number; flags: number }> {
  const candidates = await sql<{ source_record_id: number; fields: Record<string, string>; method: string }>`
    select l.source_record_id, s.fields, l.method from record_links l join source_records s on s.id = l.source_record_id
    where l.person_id = ${survivorId} and l.superseded_at is null and l.linked_at >= ${mergedAt}
      and l.method in ('probabilistic', 'probabilistic_new')
      and not exists (select 1 from person_merge_links ml where ml.to_link_id = l.id)`.execute(db);
  if (candidates.rows.length === 0) return { rematched: 0, flags: 0 };
  const state = await indexState(db);
  if (!state) return { rematched: 0, flags: 0 };
  // The restored person must be in the index under its own id.
  if (!state.personEntries.has(mergedId)) {
    const [anchor] = await loadAnchors(db, [mergedId]);
    if (anchor) indexAnchor(state, anchor);
  }
  let rematched = 0;
  let flags = 0;
  const changes: { sourceRecordId: number; personId: string }[] = [];
  await db.transaction().execute(async (trx) => {
    for (const row of candidates.rows) {
      const entry = state.recordEntries.get(Number(row.source_record_id));
      const saved = entry === undefined ? undefined : state.index.personIds[entry];
      if (entry !== undefined) setEntryPerson(state.index, entry, '');
      const match = matchRecord(state.index, state.model, linkRecordFromFields('rematch', row.fields));
      if (entry !== undefined) setEntryPerson(state.index, entry, saved!);
      const scores = new Map<string, number>();
      for (const candidate of match.candidates) {
        if (candidate.personId === '') continue;
        const person = livePerson(state, candidate.personId);
        if (person === survivorId || person === mergedId) scores.set(person, Math.max(scores.get(person) ?? 0, candidate.probability));
      }
      const toMerged = scores.get(mergedId) ?? 0;
      const toSurvivor = scores.get(survivorId) ?? 0;
      rematched++;
      if (toMerged >= state.model.linkThreshold && toSurvivor < state.model.linkThreshold) {
        await sql`update record_links set superseded_at = now() where source_record_id = ${row.source_record_id} and superseded_at is null`.execute(
          trx,
        );
        await trx
          .insertInto('record_links')
          .values({ source_record_id: row.source_record_id, person_id: mergedId, method: 'unmerge_rematch', match_probability: toMerged })
          .execute();
        changes.push({ sourceRecordId: row.source_record_id, personId: mergedId });
      } else if (!(toSurvivor >= state.model.linkThreshold && toMerged < state.model.linkThreshold)) {
        flags += await flag(
          trx,
          survivorId,
          mergeId,
          'source_records',
          String(row.source_record_id),
          'linked while two person records were merged and matches both or neither: check which person it belongs to',
        );
      }
    }
  });
  await noteLinkChanges(db, changes);
  return { rematched, flags };
}

// ---------------------------------------------------------------------------------------------
// Reading the merge history (data-quality pages). Names of the persons are not read here: the
// caller shows them only where the access decision for identity review allows.

export interface MergeSummary {
  id: number;
  survivorId: string;
  mergedId: string;
  mergedAt: Date;
  mergedBy: string;
  reason: string;
  reviewId: number | null;
  /** Agency records the merge moved to the survivor. */
  recordsMoved: number;
  unmergedAt: Date | null;
  unmergedBy: string | null;
  unmergeReason: string | null;
}

async function mergeSummaries(db: Kysely<Database>, where: { mergeId?: number; personId?: string }): Promise<MergeSummary[]> {
  const rows = await sql<{
    id: number;
    survivor_id: string;
    merged_id: string;
    merged_at: Date;
    merged_by: string | null;
    reason: string;
    review_id: number | null;
    moved: number;
    unmerged_at: Date | null;
    unmerged_by: string | null;
    unmerge_reason: string | null;
  }>`
    select m.id, m.survivor_id, m.merged_id, m.merged_at, coalesce(${userDisplayNameOf('m.merged_by')}, 'An automatic process') as merged_by, m.reason, m.review_id,
           (select count(*)::int from person_merge_links ml where ml.merge_id = m.id) as moved,
           m.unmerged_at, ${userDisplayNameOf('m.unmerged_by')} as unmerged_by, m.unmerge_reason
    from person_merges m
    where (${where.mergeId ?? null}::bigint is null or m.id = ${where.mergeId ?? null})
      and (${where.personId ?? null}::text is null or m.survivor_id = ${where.personId ?? null} or m.merged_id = ${where.personId ?? null})
    order by m.merged_at desc, m.id desc
    limit 200`.execute(db);
  return rows.rows.map((r) => ({
    id: Number(r.id),
    survivorId: r.survivor_id,
    mergedId: r.merged_id,
    mergedAt: new Date(r.merged_at),
    mergedBy: r.merged_by ?? 'An automatic process',
    reason: r.reason,
    reviewId: r.review_id === null ? null : Number(r.review_id),
    recordsMoved: Number(r.moved),
    unmergedAt: r.unmerged_at ? new Date(r.unmerged_at) : null,
    unmergedBy: r.unmerged_at ? (r.unmerged_by ?? 'An automatic process') : null,
    unmergeReason: r.unmerge_reason,
  }));
}

/**
 * Kysely: the ids of the people merged into the person `personRef` (a column) names, while the
 * merge stands, as an array (null for none), for a statement that shows a person with the
 * records merged into it (the FHIR Patient's links). By the survivor's index: one lookup a row.
 */
export function peopleMergedIntoSql(personRef: string): RawBuilder<string[] | null> {
  return sql<string[] | null>`(select array_agg(pm.merged_id order by pm.merged_id) from person_merges pm
    where pm.survivor_id = ${sql.ref(personRef)} and pm.unmerged_at is null)`;
}

/** Kysely: the people merged into this person while the merge stands, as a subquery for `id in (...)`. */
export function peopleMergedInto(personId: string): RawBuilder<unknown> {
  return sql`(select pm.merged_id from person_merges pm where pm.survivor_id = ${personId} and pm.unmerged_at is null)`;
}

export async function mergeSummary(db: Kysely<Database>, mergeId: number): Promise<MergeSummary | undefined> {
  return (await mergeSummaries(db, { mergeId }))[0];
}

/** Every merge a person took part in, as survivor or as the person merged, newest first. */
export async function mergeHistoryOf(db: Kysely<Database>, personId: string): Promise<MergeSummary[]> {
  return mergeSummaries(db, { personId });
}

/** The merge made from a review item, if one was. */
export async function mergeOfReview(db: Kysely<Database>, reviewId: number): Promise<MergeSummary | undefined> {
  const row = await db.selectFrom('person_merges').select('id').where('review_id', '=', reviewId).orderBy('id', 'desc').executeTakeFirst();
  return row ? mergeSummary(db, Number(row.id)) : undefined;
}
