// Which categories a person already shares with an organisation: their active "permit" choices
// naming it. Seeds ask before recording an agreement again, so the same choice is never held
// twice (people saw each doubled on their sharing page).
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** The categories the person's active choices permit this organisation to see (for any purpose). */
export async function categoriesSharedWith(
  db: Kysely<Database>,
  personId: string,
  organisationId: string,
  now: Date = new Date(),
): Promise<Set<string>> {
  const rows = await db
    .selectFrom('consent_directives')
    .select('category')
    .distinct()
    .where('person_id', '=', personId)
    .where('recipient_kind', '=', 'organisation')
    .where('recipient_id', '=', organisationId)
    .where('decision', '=', 'permit')
    .where('withdrawn_at', 'is', null)
    .where('valid_from', '<=', now)
    .where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', now)]))
    .execute();
  return new Set(rows.map((r) => r.category));
}
