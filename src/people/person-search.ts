// The persons side of "find a person" (records' search, which adds the searcher's reach and the
// ranking): the live people an NHS number, dates of birth and a postcode pick through their
// indexes; the names a misspelt name could be, and the people of one name in the name indexes'
// order (the functions of migrations 0157 and 0158); and the persons and households columns a
// hit shows. Each person's name as a table, too, for records' inbox, which names the people in it. Fragments, so a search stays one
// statement: person search is a hot path.
import { sql, type RawBuilder } from 'kysely';

export interface PersonKeys {
  nhsNumber: string | null;
  /** Dates of birth (YYYY-MM-DD) any of which may be the person's: the one typed, and its day and month swapped. */
  birthDates: readonly string[];
  /** A postcode in capitals without spaces. */
  postcode: string | null;
}

/** Kysely: the live persons matching every key given (none: every live person), as a subquery of id. */
export function livePersonsWithKeys(keys: PersonKeys): RawBuilder<{ id: string }> {
  const conditions: RawBuilder<unknown>[] = [sql`p.merged_into is null`];
  if (keys.nhsNumber) conditions.push(sql`p.nhs_number = ${keys.nhsNumber}`);
  if (keys.birthDates.length === 1) conditions.push(sql`p.birth_date = ${keys.birthDates[0]}::date`);
  else if (keys.birthDates.length > 1) conditions.push(sql`p.birth_date in (${sql.join(keys.birthDates.map((d) => sql`${d}::date`))})`);
  if (keys.postcode)
    conditions.push(sql`p.household_id in (select h.id from households h where replace(upper(h.postcode), ' ', '') = ${keys.postcode})`);
  return sql<{ id: string }>`(select p.id from persons p where ${sql.join(conditions, sql` and `)})`;
}

/**
 * Kysely: every person record as a table to join on id, with what a search hit shows of them: id,
 * given_name, family_name, birth_date and household_id. Plain subqueries (this and
 * householdPostcodes), which the planner flattens: the caller's statement plans as if it named
 * the tables.
 */
export const personsForSearch = sql<{
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string | null;
  household_id: string | null;
}>`(select p.id, p.given_name, p.family_name, p.birth_date, p.household_id from persons p)`;

/** Kysely: every household's postcode as a table to join on id: id, postcode. */
export const householdPostcodes = sql<{ id: string; postcode: string | null }>`(select h.id, h.postcode from households h)`;

/** Kysely: the distinct names like `name` (pg_trgm's similarity), as a set-returning function to select from: kind ('full' or 'family'), name, s (similarity). */
export function personNamesLike(name: string): RawBuilder<{ kind: 'full' | 'family'; name: string; s: number }> {
  return sql`person_names_matching(${name})`;
}

/** Kysely: the ids of live people whose full name (lower case) is `name` (an SQL expression), at most `n`, in id order; a set-returning function. */
export function livePersonsOfFullName(name: RawBuilder<string>, n: number): RawBuilder<string> {
  return sql`persons_by_full_name(${name}, ${n}::int)`;
}

/** Kysely: the ids of live people whose family name (lower case) is `name` (an SQL expression), at most `n`, by given name then id; a set-returning function. */
export function livePersonsOfFamilyName(name: RawBuilder<string>, n: number): RawBuilder<string> {
  return sql`persons_by_family_name(${name}, ${n}::int)`;
}

/** Kysely: every person record's name, as a table to join on id: id, given_name, family_name. */
export const personNamesById = sql<{
  id: string;
  given_name: string;
  family_name: string;
}>`(select p.id, p.given_name, p.family_name from persons p)`;
