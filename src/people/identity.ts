// Finding a person by an identity another service has verified (an NHS number and date of birth
// from NHS login): used by auth to tie a resident's existing account to their NHS login. Only
// live people (not merged into another) are returned, and only when both facts agree.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { isValidNhsNumber } from '../platform/nhs-number.ts';

/**
 * The ids of live people with this NHS number and date of birth (YYYY-MM-DD). More than one means
 * the person index has not settled who is who, and a caller must not pick one.
 */
export async function peopleWithVerifiedIdentity(db: Kysely<Database>, nhsNumber: string, birthDate: string): Promise<string[]> {
  if (!isValidNhsNumber(nhsNumber) || !/^\d{10}$/.test(nhsNumber) || !/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) return [];
  const rows = await db
    .selectFrom('persons')
    .select('id')
    .where('nhs_number', '=', nhsNumber)
    .where('birth_date', '=', birthDate)
    .where(sql<boolean>`merged_into is null`)
    .orderBy('id')
    .limit(2)
    .execute();
  return rows.map((r) => r.id);
}
