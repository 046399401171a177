// Persons as fragments other modules embed in their own single statement: the access decision
// reads a child's date of birth without a second round trip, and a list names each person in the
// query that reads it. Batched queries by id are in lookups.ts.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

/** SQL text: the date of birth of the person `personExpr` names (a scalar subquery; null when unknown). */
export const personBirthDateSql = (personExpr: string): string => `(select p.birth_date from persons p where p.id = ${personExpr})`;

/**
 * SQL text: every person record that has a household, as a table to join: person_id,
 * household_id, small_area_id (where the household lives; null when unknown) and merged_into
 * (null for a live record). Place's residents and its counts by area are made from this.
 */
export const personsWithHomeSql = `(select p.id as person_id, p.household_id, h.small_area_id, p.merged_into
  from persons p join households h on h.id = p.household_id)`;

/** Kysely: the same table as personsWithHomeSql, for a `sql` template. */
export const personsWithHome = sql`${sql.raw(personsWithHomeSql)}`;

/** Kysely: "Given Family", the full name of the person whose id is in column `ref` (null when none), for a list's select. */
export function personFullNameOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select p.given_name || ' ' || p.family_name from persons p where p.id = ${sql.ref(ref)})`;
}

/** Kysely: whether the person whose id is in column `ref` exists and is not merged into another (a condition). */
export function isLivePersonOf(ref: string): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from persons p where p.id = ${sql.ref(ref)} and p.merged_into is null)`;
}

/** Kysely: the person record that remains for the person whose id is in column `ref` (itself, or the one it was merged into; null when unknown). */
export function remainingPersonIdOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select coalesce(p.merged_into, p.id) from persons p where p.id = ${sql.ref(ref)})`;
}

/** The person record that remains for this id (itself, or the one it was merged into), or undefined if unknown. */
export async function remainingPersonId(db: Kysely<Database>, id: string): Promise<string | undefined> {
  const row = await sql<{ id: string }>`select coalesce(merged_into, id) as id from persons where id = ${id}`.execute(db);
  return row.rows[0]?.id;
}

/** Whether the person exists and is not merged into another. */
export async function isLivePerson(db: Kysely<Database>, id: string): Promise<boolean> {
  return (
    (await db
      .selectFrom('persons')
      .select('id')
      .where('id', '=', id)
      .where(sql<boolean>`merged_into is null`)
      .executeTakeFirst()) !== undefined
  );
}
