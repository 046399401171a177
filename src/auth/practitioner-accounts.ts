// The sign-in accounts a practitioner works under, for modules that tell them something (a new
// message on a referral assigned to them): only the accounts, never how they sign in.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../platform/schema.ts';

/** The ids of the practitioner accounts of this practitioner (none for an unknown one). */
export async function accountsOfPractitioner(db: Kysely<Database> | Transaction<Database>, practitionerId: string): Promise<string[]> {
  const rows = await db.selectFrom('users').select('id').where('practitioner_id', '=', practitionerId).where('role', '=', 'practitioner').execute();
  return rows.map((r) => r.id);
}
