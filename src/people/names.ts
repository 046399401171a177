// Persons' names, dates of birth and home areas as fragments another module embeds in its own statement (a
// referral inbox stays one query), records merged into a person as a subquery, and a person's
// own contact details. These only fetch: callers hold the access decision for the person first.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

/** A column holding a person id ('r.person_id'), or any SQL expression for one (sql`${personId}`). */
type PersonExpr = string | RawBuilder<unknown>;
const expr = (e: PersonExpr) => (typeof e === 'string' ? sql.ref(e) : e);

/** Kysely: the given name of the person whose id is in column `ref`. */
export function personGivenNameOf(ref: PersonExpr): RawBuilder<string> {
  return sql<string>`(select p.given_name from persons p where p.id = ${expr(ref)})`;
}

/** Kysely: the family name of the person whose id is in column `ref`. */
export function personFamilyNameOf(ref: PersonExpr): RawBuilder<string> {
  return sql<string>`(select p.family_name from persons p where p.id = ${expr(ref)})`;
}

/** Kysely: the date of birth (YYYY-MM-DD) of the person whose id is in column `ref`, or null. */
export function personBirthDateOf(ref: PersonExpr): RawBuilder<string | null> {
  return sql<string | null>`(select p.birth_date from persons p where p.id = ${expr(ref)})`;
}

/** Kysely: the small area the person's household lives in (null when unknown): place says where that is. */
export function personSmallAreaOf(ref: PersonExpr): RawBuilder<string | null> {
  return sql<string | null>`(select h.small_area_id from persons p join households h on h.id = p.household_id where p.id = ${expr(ref)})`;
}

/** Kysely: the ids of the person records merged into this person (a subquery for `in (...)`). */
export function recordsMergedInto(personId: string): RawBuilder<string> {
  return sql<string>`(select mp.id from persons mp where mp.merged_into = ${personId})`;
}

/** The person's name and the email address and phone number their record holds, or undefined. */
export async function personDetails(
  db: Kysely<Database> | Transaction<Database>,
  personId: string,
): Promise<{ givenName: string; familyName: string; birthDate: string | null; email: string | null; phone: string | null } | undefined> {
  const row = await db
    .selectFrom('persons')
    .select(['given_name', 'family_name', 'birth_date', 'email', 'phone'])
    .where('id', '=', personId)
    .executeTakeFirst();
  return row
    ? { givenName: row.given_name, familyName: row.family_name, birthDate: row.birth_date, email: row.email, phone: row.phone }
    : undefined;
}

/**
 * Live person records that match exactly on date of birth and NHS number, or date of birth and
 * name (lower case): at most `limit`, for a search that must find one person or say it cannot.
 */
export async function exactPersonMatches(
  db: Kysely<Database>,
  input: { birthDate: string; nhsNumber: string | null; givenName: string | null; familyName: string | null },
  limit: number,
): Promise<Array<{ id: string; givenName: string; familyName: string; birthDate: string }>> {
  const rows = (
    await sql<{ id: string; given_name: string; family_name: string; birth_date: string }>`
    select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date from persons p
    where p.merged_into is null and p.birth_date = ${input.birthDate}::date
      and ${
        input.nhsNumber !== null
          ? sql`p.nhs_number = ${input.nhsNumber}`
          : sql`lower(p.given_name) = ${input.givenName} and lower(p.family_name) = ${input.familyName}`
      }
    limit ${limit}`.execute(db)
  ).rows;
  return rows.map((r) => ({ id: r.id, givenName: r.given_name, familyName: r.family_name, birthDate: r.birth_date }));
}
