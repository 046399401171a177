// Who is in a person's household, and which members are adults on a day: what a budget or a
// referral held by the household needs to know so that every adult's agreement can be asked for.
// Only fetches: callers hold the access decision for each person before showing anything.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { ageOn } from './age.ts';

export interface HouseholdMember {
  id: string;
  givenName: string;
  familyName: string;
  adult: boolean;
}

/** The household the person lives in now, if any. */
export async function householdOfPerson(db: Kysely<Database>, personId: string): Promise<string | null> {
  const row = await db.selectFrom('persons').select('household_id').where('id', '=', personId).executeTakeFirst();
  return row?.household_id ?? null;
}

/**
 * The household's members now (merged records aside), oldest first, each marked adult (18 or
 * over on `on`). Someone whose age is not known counts as an adult: their agreement is asked for.
 */
export async function householdMembersOn(db: Kysely<Database>, householdId: string, on: Date): Promise<HouseholdMember[]> {
  const rows = await db
    .selectFrom('persons')
    .select(['id', 'given_name', 'family_name', sql<string | null>`birth_date::text`.as('birth_date')])
    .where('household_id', '=', householdId)
    .where(sql<boolean>`merged_into is null`)
    .orderBy('birth_date')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, givenName: r.given_name, familyName: r.family_name, adult: (ageOn(r.birth_date, on) ?? 18) >= 18 }));
}
