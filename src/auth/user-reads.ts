// Accounts as other modules read them: a user's display name, organisation or person, as
// fragments a caller embeds in its own statement (one round trip for a whole list), and batched
// by id. Other modules read the users table only through these.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

/** Kysely: the display name of the user whose id is in column `ref` (null when none). */
export function userDisplayNameOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select u.display_name from users u where u.id = ${sql.ref(ref)})`;
}

/** Kysely: the username of the user whose id is in column `ref` (null when none). */
export function userNameOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select u.username from users u where u.id = ${sql.ref(ref)})`;
}

/** Kysely: the person the account whose id is in column `ref` belongs to (null for staff, or when none). */
export function userPersonIdOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select u.person_id from users u where u.id = ${sql.ref(ref)})`;
}

/** Kysely: the organisation of the user whose id is in column `ref` (null when none). */
export function userOrganisationIdOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select u.organisation_id from users u where u.id = ${sql.ref(ref)})`;
}

export interface UserRef {
  id: string;
  displayName: string;
  role: string;
  organisationId: string | null;
  personId: string | null;
}

/** The users with these ids (unknown ids are left out), by id: one query however many. */
export async function usersByIds(db: Kysely<Database>, ids: Iterable<string | null | undefined>): Promise<Map<string, UserRef>> {
  const wanted = [...new Set([...ids].filter((id): id is string => typeof id === 'string'))];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .selectFrom('users')
    .select(['id', 'display_name', 'role', 'organisation_id', 'person_id'])
    .where('id', 'in', wanted)
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      { id: r.id, displayName: r.display_name, role: r.role, organisationId: r.organisation_id, personId: r.person_id },
    ]),
  );
}
