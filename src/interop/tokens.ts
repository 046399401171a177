// Bearer tokens for machine clients (FHIR API, import API). Only a SHA-256 of the token is
// stored; the token itself is shown once, when it is created. Administrators list every token
// (never the token itself) and revoke one, on the audit trail.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { accountStandings, accountsThatMayAct, signedInUserOf, userIdByUsername, type Role, type SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { RefusedInput } from '../platform/refused.ts';

export const TOKEN_PREFIX = 'jnt_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CreatedToken {
  id: string;
  token: string;
  expiresAt: Date;
}

export async function createApiToken(
  db: Kysely<Database>,
  userId: string,
  name: string,
  days = 90,
  now: Date = new Date(),
): Promise<CreatedToken> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + days * 86_400_000);
  await db
    .insertInto('api_tokens')
    .values({ id, token_hash: hashToken(token), user_id: userId, name, expires_at: expiresAt, revoked_at: null, last_used_at: null })
    .execute();
  return { id, token, expiresAt };
}

export async function createApiTokenForUsername(db: Kysely<Database>, username: string, name: string, days = 90): Promise<CreatedToken> {
  const userId = await userIdByUsername(db, username);
  if (!userId) throw new Error(`there is no user called ${username}`);
  return createApiToken(db, userId, name, days);
}

export async function revokeApiToken(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export type TokenState = 'live' | 'expired' | 'revoked';
export const tokenStates: readonly TokenState[] = ['live', 'expired', 'revoked'];

export interface TokenListing {
  id: string;
  name: string;
  username: string;
  role: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  state: TokenState;
  /** Live, but its account may not act (disabled, or its practitioner left): it is refused on use. */
  accountEnded: boolean;
}

/** Every token for the administrators' page (never the token), newest first, a page at a time. */
export async function listApiTokens(
  db: Kysely<Database>,
  filter: { state?: TokenState; q?: string; page?: number; perPage?: number } = {},
  now: Date = new Date(),
) {
  const perPage = Math.max(1, Math.min(200, filter.perPage ?? 50));
  let query = db
    .selectFrom('api_tokens as t')
    .innerJoin(accountStandings().as('u'), 'u.id', 't.user_id')
    .select(['t.id', 't.name', 'u.username', 'u.role', 't.created_at', 't.expires_at', 't.revoked_at', 't.last_used_at', 'u.ended']);
  if (filter.state === 'revoked') query = query.where('t.revoked_at', 'is not', null);
  else if (filter.state === 'expired') query = query.where('t.revoked_at', 'is', null).where('t.expires_at', '<=', now);
  else if (filter.state === 'live') query = query.where('t.revoked_at', 'is', null).where('t.expires_at', '>', now);
  const q = (filter.q ?? '').toLowerCase().trim();
  if (q) {
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb(eb.fn('lower', ['u.username']), 'like', like), eb(eb.fn('lower', ['t.name']), 'like', like)]));
  }
  const matching = Number(
    (
      await query
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const pages = Math.max(1, Math.ceil(matching / perPage));
  const page = Math.min(Math.max(1, Math.trunc(filter.page ?? 1) || 1), pages);
  const rows = await query
    .orderBy('t.created_at', 'desc')
    .orderBy('t.id')
    .limit(perPage)
    .offset((page - 1) * perPage)
    .execute();
  const tokens: TokenListing[] = rows.map((r) => ({
    id: r.id,
    name: r.name,
    username: r.username,
    role: r.role,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
    state: r.revoked_at ? 'revoked' : r.expires_at <= now ? 'expired' : 'live',
    accountEnded: r.ended,
  }));
  return { tokens, matching, page, pages, perPage };
}

export class TokenRefused extends RefusedInput {
  override name = 'TokenRefused';
}

/** An administrator revokes a token, in the caller's transaction: it stops working on its next use. False if it was not live. */
export async function revokeApiTokenAsAdmin(
  trx: Transaction<Database>,
  admin: SignedInUser,
  id: string,
  now: Date = new Date(),
): Promise<boolean> {
  const token = await trx
    .selectFrom('api_tokens')
    .select(['id', 'user_id', 'revoked_at', 'expires_at'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!token) throw new TokenRefused(404, 'There is no such API token.');
  if (token.revoked_at) return false;
  await trx.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).execute();
  await appendAudit(trx, {
    actorUserId: admin.id,
    actorRole: admin.role,
    actorOrganisationId: admin.organisationId,
    action: 'revoke_token',
    personId: null,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `revoked API token ${id} of account ${token.user_id}${token.expires_at <= now ? ' (already expired)' : ''}`,
  });
  return true;
}

/** Revokes every live token of a user (their account was disabled, or they left): returns how many. */
export async function revokeTokensOfUser(db: Kysely<Database>, userId: string, now: Date = new Date()): Promise<number> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The live token (not expired or revoked) found by its hash or its id, with its account, if the account may act. */
async function liveToken(db: Kysely<Database>, by: { hash: string } | { id: string }, now: Date): Promise<LiveToken | undefined> {
  const which = 'hash' in by ? sql`t.token_hash = ${by.hash}` : sql`t.id = ${by.id}`;
  const rows = await sql<LiveToken>`select t.id as token_id, t.last_used_at, u.id, u.username, u.display_name, u.role, u.person_id,
      u.practitioner_id, u.organisation_id, u.team_id
    from api_tokens t join ${accountsThatMayAct()} u on u.id = t.user_id
    where ${which} and t.revoked_at is null and t.expires_at > ${now}`.execute(db);
  return rows.rows[0];
}

interface LiveToken {
  token_id: string;
  last_used_at: Date | null;
  id: string;
  username: string;
  display_name: string;
  role: Role;
  person_id: string | null;
  practitioner_id: string | null;
  organisation_id: string | null;
  team_id: string | null;
}

/**
 * The user a bearer token belongs to, if it is live (not expired or revoked) and its account may
 * act: not disabled and, for a practitioner, still active in the network. Checked on every
 * request, so a change made anywhere (another server, a FHIR write, the database) counts at once.
 */
export async function userForApiToken(db: Kysely<Database>, token: string, now: Date = new Date()): Promise<SignedInUser | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const row = await liveToken(db, { hash: hashToken(token) }, now);
  if (!row) return undefined;
  // Record use at most once a minute, so reads do not turn into writes.
  if (!row.last_used_at || now.getTime() - new Date(row.last_used_at).getTime() > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.token_id).execute();
  }
  return signedInUserOf(row);
}

/** The id of a live bearer token, for something that acts later on its behalf (a FHIR Subscription's notifications). */
export async function apiTokenIdOf(db: Kysely<Database>, token: string, now: Date = new Date()): Promise<string | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  return (await liveToken(db, { hash: hashToken(token) }, now))?.token_id;
}

/**
 * The user of the token with this id, on the same terms as a request bearing it (live token,
 * account that may act): a FHIR Subscription's notifications stop when its token is revoked.
 */
export async function userForApiTokenId(db: Kysely<Database>, id: string, now: Date = new Date()): Promise<SignedInUser | undefined> {
  const row = await liveToken(db, { id }, now);
  return row ? signedInUserOf(row) : undefined;
}
