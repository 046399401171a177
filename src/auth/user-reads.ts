// Accounts as other modules read them: a user's display name, organisation or person, as
// fragments a caller embeds in its own statement (one round trip for a whole list), and batched
// by id. Other modules read the users table only through these.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { practitionerActiveSql, practitionerTeamIdOf, practitionerTeamIdSql } from '../network/index.ts';
import type { SignedInUser } from './accounts.ts';

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

/** The id of the account with this username, or undefined when there is none. */
export async function userIdByUsername(db: Kysely<Database>, username: string): Promise<string | undefined> {
  return (await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst())?.id;
}

let accountsMayAct: RawBuilder<unknown> | undefined;

/**
 * Kysely: the accounts that may act now (not disabled; a practitioner still active in the network),
 * as a table to join in one statement: id, username, display_name, role, person_id,
 * practitioner_id, organisation_id and team_id. What a bearer token acts as is read through this,
 * on every request. Made on first use: the network's fragments may still be loading when this file is.
 */
export function accountsThatMayAct(): RawBuilder<unknown> {
  return (accountsMayAct ??= sql`(select u.id, u.username, u.display_name, u.role, u.person_id, u.practitioner_id, u.organisation_id,
      ${sql.raw(practitionerTeamIdSql('u.practitioner_id'))} as team_id
    from users u where u.disabled_at is null and coalesce(${sql.raw(practitionerActiveSql('u.practitioner_id'))}, true))`);
}

/** Every account with whether it has ended (disabled, or its practitioner no longer active), as a table to join: id, username, role, ended. */
export function accountStandings(): RawBuilder<{ id: string; username: string; role: string; ended: boolean }> {
  return sql<{ id: string; username: string; role: string; ended: boolean }>`(select u.id, u.username, u.role,
    u.disabled_at is not null or coalesce(${sql.raw(practitionerActiveSql('u.practitioner_id'))} = false, false) as ended from users u)`;
}

/** Kysely: how many sessions have not yet expired (the administrator's home). */
export const activeSessionCount = sql<number>`(select count(*) from sessions where expires_at > now())`;

/** How many accounts hold each role, by role. */
export async function accountCountsByRole(db: Kysely<Database>): Promise<Array<{ role: string; n: number }>> {
  return db
    .selectFrom('users')
    .select(['role', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('role')
    .orderBy('role')
    .execute();
}

/** The account with this username as it would sign in, whether or not it may act now (the demo set-up acts for its own accounts). */
export async function userByUsername(db: Kysely<Database>, username: string): Promise<SignedInUser | undefined> {
  const row = await db
    .selectFrom('users as u')
    .select([
      'u.id',
      'u.username',
      'u.display_name',
      'u.role',
      'u.person_id',
      'u.practitioner_id',
      'u.organisation_id',
      practitionerTeamIdOf('u.practitioner_id').as('team_id'),
    ])
    .where('u.username', '=', username)
    .executeTakeFirst();
  return row ? signedInUserOf(row) : undefined;
}

/** An account's columns as every look-up reads them (a session, a bearer token, a username). */
export interface SignedInUserRow {
  id: string;
  username: string;
  display_name: string;
  role: SignedInUser['role'];
  person_id: string | null;
  practitioner_id: string | null;
  organisation_id: string | null;
  team_id: string | null | undefined;
}

/** The signed-in user an account's row describes: the one mapping from columns to the user every decision is made for. */
export function signedInUserOf(row: SignedInUserRow): SignedInUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    personId: row.person_id,
    practitionerId: row.practitioner_id,
    organisationId: row.organisation_id,
    teamId: row.team_id ?? null,
  };
}

/** Which of these usernames are taken. */
export async function takenUsernames(db: Kysely<Database>, usernames: readonly string[]): Promise<string[]> {
  if (usernames.length === 0) return [];
  return (
    await db
      .selectFrom('users')
      .select('username')
      .where('username', 'in', [...usernames])
      .execute()
  ).map((u) => u.username);
}
