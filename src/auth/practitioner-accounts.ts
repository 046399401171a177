// The sign-in accounts behind a practitioner or a person, for modules that tell them something (a
// new message on a referral or in a conversation): only the accounts, never how they sign in; and
// the practitioner an account works as, as a fragment to embed in another module's statement.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The ids of the accounts of this practitioner: only its practitioner accounts unless `role` is null (none for an unknown one). */
export async function accountsOfPractitioner(
  db: Db,
  practitionerId: string,
  role: 'practitioner' | null = 'practitioner',
): Promise<string[]> {
  let q = db.selectFrom('users').select('id').where('practitioner_id', '=', practitionerId);
  if (role) q = q.where('role', '=', role);
  return (await q.execute()).map((r) => r.id);
}

/** The resident accounts that are the person's own, or are among `userIds` (people who wrote for them). */
export async function residentAccountsOf(
  db: Db,
  personId: string,
  userIds: readonly string[] = [],
): Promise<Array<{ id: string; personId: string | null }>> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'person_id'])
    .where((eb) =>
      userIds.length ? eb.or([eb('person_id', '=', personId), eb('id', 'in', [...userIds])]) : eb('person_id', '=', personId),
    )
    .where('role', '=', 'citizen')
    .execute();
  return rows.map((r) => ({ id: r.id, personId: r.person_id }));
}

/** Kysely: the practitioner the account whose id is in column `ref` works as (null for residents, or when none). */
export function userPractitionerIdOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select u.practitioner_id from users u where u.id = ${sql.ref(ref)})`;
}
