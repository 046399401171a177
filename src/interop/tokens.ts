// Bearer tokens for machine clients (FHIR API, import API). Only a SHA-256 of the token is
// stored; the token itself is shown once, when it is created.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import type { SignedInUser } from '../auth/accounts.ts';

export const TOKEN_PREFIX = 'jnt_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CreatedToken { id: string; token: string; expiresAt: Date }

export async function createApiToken(db: Kysely<Database>, userId: string, name: string, days = 90, now: Date = new Date()): Promise<CreatedToken> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + days * 86_400_000);
  await db.insertInto('api_tokens').values({ id, token_hash: hashToken(token), user_id: userId, name, expires_at: expiresAt, revoked_at: null, last_used_at: null }).execute();
  return { id, token, expiresAt };
}

export async function createApiTokenForUsername(db: Kysely<Database>, username: string, name: string, days = 90): Promise<CreatedToken> {
  const user = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
  if (!user) throw new Error(`there is no user called ${username}`);
  return createApiToken(db, user.id, name, days);
}

export async function revokeApiToken(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every live token of a user (their account was disabled, or they left): returns how many. */
export async function revokeTokensOfUser(db: Kysely<Database>, userId: string, now: Date = new Date()): Promise<number> {
  const result = await db.updateTable('api_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * The user a bearer token belongs to, if it is live (not expired or revoked) and its account may
 * act: not disabled and, for a practitioner, still active in the network. Checked on every
 * request, so a change made anywhere (another server, a FHIR write, the database) counts at once.
 */
export async function userForApiToken(db: Kysely<Database>, token: string, now: Date = new Date()): Promise<SignedInUser | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const row = await db.selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .leftJoin('practitioners', 'practitioners.id', 'users.practitioner_id')
    .select(['api_tokens.id as token_id', 'api_tokens.last_used_at', 'users.id', 'users.username', 'users.display_name', 'users.role', 'users.person_id', 'users.practitioner_id', 'users.organisation_id', 'practitioners.team_id'])
    .where('api_tokens.token_hash', '=', hashToken(token))
    .where('api_tokens.revoked_at', 'is', null)
    .where('api_tokens.expires_at', '>', now)
    .where('users.disabled_at', 'is', null)
    .where((eb) => eb.or([eb('practitioners.id', 'is', null), eb('practitioners.active', '=', true)]))
    .executeTakeFirst();
  if (!row) return undefined;
  // Record use at most once a minute, so reads do not turn into writes.
  if (!row.last_used_at || now.getTime() - new Date(row.last_used_at).getTime() > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.token_id).execute();
  }
  return {
    id: row.id, username: row.username, displayName: row.display_name, role: row.role, personId: row.person_id,
    practitionerId: row.practitioner_id, organisationId: row.organisation_id, teamId: row.team_id,
  };
}
