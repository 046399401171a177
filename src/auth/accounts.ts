// Accounts, password sign-in with lockout, database-backed sessions, and ending an account:
// an administrator disables it, or the practitioner it belongs to leaves the network.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { preparedQuery, type BesideColumn } from '../platform/db.ts';
import { AccountInputError } from './errors.ts';
import { appendAudit } from '../audit/index.ts';
import {
  organisationNameOf,
  practitionerActiveOf,
  practitionerActiveSql,
  practitionerTeamIdOf,
  practitionerTeamIdSql,
} from '../network/index.ts';
import type { AuthPorts } from './ports.ts';
import type { Role } from './schema.ts';
import { signedInUserOf } from './user-reads.ts';

export interface SignedInUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  personId: string | null;
  practitionerId: string | null;
  organisationId: string | null;
  teamId: string | null;
}

// Every request carries who is signed in (or undefined): the HTTP layer (platform/http.ts) sets it
// from the session cookie with userForSession, and declares no more about it than this says.
declare module 'fastify' {
  interface FastifyRequest {
    user: SignedInUser | undefined;
  }
}

export function hashPassword(password: string): Promise<string> {
  // argon2id with the library's defaults (19 MiB, t=2), the OWASP-recommended baseline.
  return argon2Hash(password);
}

export async function passwordMatches(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(hash, password);
  } catch {
    return false;
  }
}

export interface NewAccount {
  username: string;
  displayName: string;
  role: Role;
  password?: string;
  oidcSubject?: string;
  personId?: string;
  practitionerId?: string;
  organisationId?: string;
}

export async function createAccount(db: Kysely<Database>, account: NewAccount): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({
      id,
      username: account.username.toLowerCase(),
      display_name: account.displayName,
      role: account.role,
      password_hash: account.password ? await hashPassword(account.password) : null,
      oidc_subject: account.oidcSubject ?? null,
      person_id: account.personId ?? null,
      practitioner_id: account.practitionerId ?? null,
      organisation_id: account.organisationId ?? null,
      locked_until: null,
      last_sign_in_at: null,
    })
    .execute();
  return id;
}

export type SignInResult =
  | { outcome: 'signed_in'; user: SignedInUser }
  | { outcome: 'wrong_credentials' }
  | { outcome: 'locked'; until: Date; justLocked: boolean }
  /** The password was right, but the account is disabled or its practitioner has left. */
  | { outcome: 'disabled' };

// Compared against when the username is unknown, so timing does not reveal which accounts exist.
let decoyHash: Promise<string> | undefined;

type UserRow = Selectable<Database['users']> & { team_id: string | null };

/** Users with their practitioner's team (which access decisions need) and whether they are still active. */
function usersWithTeam(db: Kysely<Database>) {
  return db
    .selectFrom('users')
    .selectAll('users')
    .select([
      practitionerTeamIdOf('users.practitioner_id').as('team_id'),
      practitionerActiveOf('users.practitioner_id').as('practitioner_active'),
    ]);
}

/** An account acts only while not disabled and, if it is a practitioner's, while they are active. */
function mayAct(row: { disabled_at: Date | null; practitioner_active: boolean | null }): boolean {
  return row.disabled_at === null && row.practitioner_active !== false;
}

/**
 * Checks a password, at most `maxAttempts` times in a row per account, however many attempts
 * arrive at once (on any number of servers): each attempt is counted, in one UPDATE, before its
 * password is checked, and the attempt that reaches the limit locks the account; a right
 * password then clears the count. A locked account's password is not checked at all (so a lock
 * cannot be used to test guesses), and an unknown username is checked against a decoy hash, so
 * unknown, locked and wrong all take the same work and get the same answer from the sign-in page.
 */
export async function signInWithPassword(
  db: Kysely<Database>,
  username: string,
  password: string,
  policy: { maxAttempts: number; lockMinutes: number },
  now: Date = new Date(),
): Promise<SignInResult> {
  const name = username.trim().toLowerCase();
  const until = new Date(now.getTime() + policy.lockMinutes * 60_000);
  const claimed = (
    await sql<{ id: string; password_hash: string; failed_sign_ins: number }>`
    update users set
      failed_sign_ins = case when failed_sign_ins + 1 >= ${policy.maxAttempts} then 0 else failed_sign_ins + 1 end,
      locked_until = case when failed_sign_ins + 1 >= ${policy.maxAttempts} then ${until} else locked_until end
    where username = ${name} and password_hash is not null and (locked_until is null or locked_until <= ${now})
    returning id, password_hash, failed_sign_ins`.execute(db)
  ).rows[0];
  if (!claimed) {
    // Unknown, or locked: the same decoy check either way.
    const locked = await db
      .selectFrom('users')
      .select('locked_until')
      .where('username', '=', name)
      .where('password_hash', 'is not', null)
      .executeTakeFirst();
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await passwordMatches(await decoyHash, password);
    return locked?.locked_until && locked.locked_until > now
      ? { outcome: 'locked', until: locked.locked_until, justLocked: false }
      : { outcome: 'wrong_credentials' };
  }
  if (await passwordMatches(claimed.password_hash, password)) {
    await db.updateTable('users').set({ failed_sign_ins: 0, locked_until: null }).where('id', '=', claimed.id).execute();
    const row = await usersWithTeam(db).where('users.id', '=', claimed.id).executeTakeFirstOrThrow();
    // Said only after the right password, so the answer does not tell strangers which accounts are disabled.
    if (!mayAct(row)) return { outcome: 'disabled' };
    await db.updateTable('users').set({ last_sign_in_at: now }).where('id', '=', row.id).execute();
    return { outcome: 'signed_in', user: signedInUserOf(row) };
  }
  // The count went back to 0 only if this attempt set the lock.
  return claimed.failed_sign_ins === 0 ? { outcome: 'locked', until, justLocked: true } : { outcome: 'wrong_credentials' };
}

export type OidcMatch = { outcome: 'signed_in'; user: SignedInUser } | { outcome: 'disabled' } | { outcome: 'unknown' };

/**
 * The account an identity provider's sign-in is for: the one with its subject; failing that, a
 * staff account whose username is the claim the provider vouched for. A resident's account is
 * never found by a username claim, only by its subject (tied once by a proved identity, oidc.ts).
 */
export async function findUserForOidc(db: Kysely<Database>, subject: string, username: string | undefined): Promise<OidcMatch> {
  let row = await usersWithTeam(db).where('users.oidc_subject', '=', subject).executeTakeFirst();
  if (!row && username)
    row = await usersWithTeam(db)
      .where('users.username', '=', username.toLowerCase())
      .where('users.role', '<>', 'citizen')
      .where('users.oidc_subject', 'is', null)
      .executeTakeFirst();
  if (!row) return { outcome: 'unknown' };
  // The identity provider vouched for who they are, so saying the account is disabled reveals nothing.
  return mayAct(row) ? { outcome: 'signed_in', user: signedInUserOf(row) } : { outcome: 'disabled' };
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function startSession(db: Kysely<Database>, userId: string, hours: number): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + hours * 3_600_000);
  await db
    .insertInto('sessions')
    .values({ token_hash: tokenHash(token), user_id: userId, expires_at: expiresAt })
    .execute();
  // Housekeeping: expired sessions go when anyone signs in.
  await db.deleteFrom('sessions').where('expires_at', '<', new Date()).execute();
  return { token, expiresAt };
}

// Every request looks up its session: a prepared statement, planned once per connection. A
// disabled account, or a practitioner no longer active, has no session, however it was ended
// (this server, another one, a FHIR write, the database itself).
// The practitioner's team and whether they are active are the network's, embedded here. Built on
// first use, as the network module may still be loading when this one does.
let sessionUserSql: string | undefined;
const SESSION_USER_SQL = (): string =>
  (sessionUserSql ??= `
  select u.id, u.username, u.display_name, u.role, u.person_id, u.practitioner_id, u.organisation_id, ${practitionerTeamIdSql('u.practitioner_id')} as team_id
  from sessions s
  join users u on u.id = s.user_id
  where s.token_hash = $1 and s.expires_at > $2
    and u.disabled_at is null and coalesce(${practitionerActiveSql('u.practitioner_id')}, true)`);

export async function userForSession(db: Kysely<Database>, token: string): Promise<SignedInUser | undefined> {
  const rows = await preparedQuery<
    Pick<UserRow, 'id' | 'username' | 'display_name' | 'role' | 'person_id' | 'practitioner_id' | 'organisation_id' | 'team_id'>
  >(db, 'joinery_session_user', SESSION_USER_SQL(), [tokenHash(token), new Date()]);
  const row = rows[0];
  return row ? signedInUserOf(row) : undefined;
}

// The session's statement with another module's column beside it, by the column's name.
const sessionUserWith = new Map<string, string>();

/**
 * The same look-up, carrying a column another module reads for the request (a route's access
 * facts), so the request's first round trip brings both. The column sees the signed-in account's
 * row as `signed_in` (id, role, person_id, practitioner_id, organisation_id, team_id) and is
 * read only when the session is live: no session, no column.
 */
export async function userForSessionWith(
  db: Kysely<Database>,
  token: string,
  beside: BesideColumn,
): Promise<{ user: SignedInUser; beside: unknown } | undefined> {
  let text = sessionUserWith.get(beside.name);
  if (text === undefined) {
    text = `select signed_in.*, ${beside.sql(3)} as beside from (${SESSION_USER_SQL()}) as signed_in`;
    sessionUserWith.set(beside.name, text);
  }
  const rows = await preparedQuery<
    Pick<UserRow, 'id' | 'username' | 'display_name' | 'role' | 'person_id' | 'practitioner_id' | 'organisation_id' | 'team_id'> & {
      beside: unknown;
    }
  >(db, `joinery_session_user_with_${beside.name}`, text, [tokenHash(token), new Date(), ...beside.values]);
  const row = rows[0];
  return row ? { user: signedInUserOf(row), beside: row.beside } : undefined;
}

/**
 * The account with this id as it signs in now, if it may act (not disabled; a practitioner still
 * active): what a bearer credential issued to it earlier (a SMART app's token) acts as, checked
 * on every use so an account ended anywhere stops its apps at once.
 */
export async function activeUserById(db: Kysely<Database>, userId: string): Promise<SignedInUser | undefined> {
  const rows = await preparedQuery<
    Pick<UserRow, 'id' | 'username' | 'display_name' | 'role' | 'person_id' | 'practitioner_id' | 'organisation_id' | 'team_id'>
  >(
    db,
    'joinery_active_user_by_id',
    `select u.id, u.username, u.display_name, u.role, u.person_id, u.practitioner_id, u.organisation_id, ${practitionerTeamIdSql('u.practitioner_id')} as team_id
     from users u where u.id = $1 and u.disabled_at is null and coalesce(${practitionerActiveSql('u.practitioner_id')}, true)`,
    [userId],
  );
  const row = rows[0];
  return row ? signedInUserOf(row) : undefined;
}

export async function endSession(db: Kysely<Database>, token: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash(token)).execute();
}

// ---------------------------------------------------------------------------------------------
// Ending an account

export { AccountInputError };

/** Ends everything an account holds now: its sessions go and its bearer tokens are revoked (in `db`, the caller's transaction). */
async function endSessionsAndTokens(
  db: Kysely<Database>,
  ports: Pick<AuthPorts, 'revokeApiTokens'>,
  userId: string,
): Promise<{ sessions: number; tokens: number }> {
  const deleted = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
  return { sessions: Number(deleted.numDeletedRows), tokens: await ports.revokeApiTokens(db, userId) };
}

/** Who acts, for the audit trail: an administrator, or an operator at the command line (null). */
function auditActor(admin: SignedInUser | null) {
  return { actorUserId: admin?.id ?? null, actorRole: admin?.role ?? null, actorOrganisationId: admin?.organisationId ?? null };
}
const where = (admin: SignedInUser | null) => (admin ? '' : ' at the command line');

/** An account's row, locked until the transaction ends (a second administrator's change waits); 404 when there is none. */
export async function lockedAccount(trx: Transaction<Database>, userId: string) {
  const account = await trx
    .selectFrom('users')
    .select(['id', 'role', 'disabled_at'])
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  if (!account) throw new AccountInputError(404, 'There is no such account.');
  return account;
}

/**
 * Disables an account: in one transaction it is marked disabled, its sessions end and its tokens
 * are revoked, and the audit trail says so (the account's id, not its name or the reason, which
 * only administrators see). Refuses an administrator's own account and the last enabled
 * administrator's, so a place always keeps someone who can enable accounts. False if it was
 * already disabled.
 */
export async function disableAccount(
  db: Kysely<Database>,
  ports: Pick<AuthPorts, 'revokeApiTokens'>,
  admin: SignedInUser | null,
  userId: string,
  reason: string,
): Promise<boolean> {
  const why = reason.trim();
  if (!why) throw new AccountInputError(400, 'Enter why you are disabling this account');
  if (why.length > 500) throw new AccountInputError(400, 'The reason must be 500 characters or fewer');
  if (admin?.id === userId) throw new AccountInputError(409, 'You cannot disable your own account. Ask another administrator.');
  return db.transaction().execute(async (trx) => {
    // Locking the administrators' rows first: two administrators disabling each other at once
    // cannot both succeed.
    const admins = await trx
      .selectFrom('users')
      .select(['id', 'disabled_at'])
      .where('role', '=', 'admin')
      .orderBy('id')
      .forUpdate()
      .execute();
    const account = await lockedAccount(trx, userId);
    if (account.disabled_at) return false;
    if (account.role === 'admin' && !admins.some((a) => a.id !== userId && a.disabled_at === null)) {
      throw new AccountInputError(409, 'This is the only administrator account that is enabled. Enable or create another first.');
    }
    await trx
      .updateTable('users')
      .set({ disabled_at: new Date(), disabled_by: admin?.id ?? null, disabled_reason: why })
      .where('id', '=', userId)
      .execute();
    const ended = await endSessionsAndTokens(trx, ports, userId);
    await appendAudit(trx, {
      ...auditActor(admin),
      action: 'disable_account',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `disabled account ${userId}${where(admin)}: ${ended.sessions} sessions ended, ${ended.tokens} tokens revoked`,
    });
    return true;
  });
}

/**
 * Enables a disabled account: they may sign in again. What they held before stays ended (a fresh
 * sign-in, new tokens). False if it was not disabled.
 */
export async function enableAccount(db: Kysely<Database>, admin: SignedInUser | null, userId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const account = await trx.selectFrom('users').select(['id', 'disabled_at']).where('id', '=', userId).forUpdate().executeTakeFirst();
    if (!account) throw new AccountInputError(404, 'There is no such account.');
    if (!account.disabled_at) return false;
    await trx.updateTable('users').set({ disabled_at: null, disabled_by: null, disabled_reason: null }).where('id', '=', userId).execute();
    await appendAudit(trx, {
      ...auditActor(admin),
      action: 'enable_account',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `enabled account ${userId}${where(admin)}`,
    });
    return true;
  });
}

/** The account called `username`, for the command line. */
export async function accountIdFor(db: Kysely<Database>, username: string): Promise<string> {
  const row = await db.selectFrom('users').select('id').where('username', '=', username.trim().toLowerCase()).executeTakeFirst();
  if (!row) throw new AccountInputError(404, `there is no account called ${username}`);
  return row.id;
}

/**
 * A practitioner stopped being active (they left the network): the sessions and tokens of their
 * account end now, in the caller's transaction, on the audit trail. The account is not disabled:
 * made active again, they sign in afresh.
 */
export async function endAccessOfPractitioner(
  db: Kysely<Database>,
  ports: Pick<AuthPorts, 'revokeApiTokens'>,
  actor: SignedInUser,
  practitionerId: string,
): Promise<void> {
  const accounts = await db.selectFrom('users').select('id').where('practitioner_id', '=', practitionerId).execute();
  for (const account of accounts) {
    const ended = await endSessionsAndTokens(db, ports, account.id);
    await appendAudit(db, {
      actorUserId: actor.id,
      actorRole: actor.role,
      actorOrganisationId: actor.organisationId,
      action: 'end_sessions',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `account ${account.id} of Practitioner/${practitionerId} no longer active: ${ended.sessions} sessions ended, ${ended.tokens} tokens revoked`,
    });
  }
}

export interface AccountListing {
  id: string;
  username: string;
  /** Null for a resident's account: administrators see no personal data of residents. */
  displayName: string | null;
  role: Role;
  organisation: string | null;
  lastSignInAt: Date | null;
  state: 'active' | 'disabled' | 'left' | 'locked';
  disabledAt: Date | null;
  disabledBy: string | null;
  disabledReason: string | null;
  lockedUntil: Date | null;
}

function accountListing(
  r: {
    id: string;
    username: string;
    display_name: string;
    role: Role;
    organisation: string | null;
    last_sign_in_at: Date | null;
    disabled_at: Date | null;
    disabled_reason: string | null;
    locked_until: Date | null;
    practitioner_active: boolean | null;
    disabled_by: string | null;
  },
  now: Date,
): AccountListing {
  return {
    id: r.id,
    username: r.username,
    displayName: r.role === 'citizen' ? null : r.display_name,
    role: r.role,
    organisation: r.organisation,
    lastSignInAt: r.last_sign_in_at,
    state: r.disabled_at
      ? 'disabled'
      : r.practitioner_active === false
        ? 'left'
        : r.locked_until && r.locked_until > now
          ? 'locked'
          : 'active',
    disabledAt: r.disabled_at,
    disabledBy: r.disabled_by,
    disabledReason: r.disabled_reason,
    lockedUntil: r.locked_until,
  };
}

function accountRows(db: Kysely<Database>) {
  return db
    .selectFrom('users as u')
    .leftJoin('users as by', 'by.id', 'u.disabled_by')
    .select([
      'u.id',
      'u.username',
      'u.display_name',
      'u.role',
      organisationNameOf('u.organisation_id').as('organisation'),
      'u.last_sign_in_at',
      'u.disabled_at',
      'u.disabled_reason',
      'u.locked_until',
      practitionerActiveOf('u.practitioner_id').as('practitioner_active'),
      'by.username as disabled_by',
    ]);
}

export type AccountState = AccountListing['state'];
export const accountStates: readonly AccountState[] = ['active', 'locked', 'disabled', 'left'];

export interface AccountFilter {
  /** Words of a username, or of the name of a staff account (residents' names are never searched). */
  q?: string;
  role?: Role;
  state?: AccountState;
  page?: number;
  perPage?: number;
}

/**
 * Accounts for the administrators' page, by username, a page at a time, filtered by a search,
 * role and state; with how many match and how many there are in all.
 */
export async function listAccounts(
  db: Kysely<Database>,
  filter: AccountFilter = {},
  now: Date = new Date(),
): Promise<{ accounts: AccountListing[]; total: number; matching: number; page: number; pages: number; perPage: number }> {
  const perPage = Math.max(1, Math.min(200, filter.perPage ?? 50));
  let query = accountRows(db);
  const words = (filter.q ?? '')
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 5)
    .map((w) => `%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  for (const w of words) {
    query = query.where((eb) =>
      eb.or([eb(sql`lower(u.username)`, 'like', w), eb.and([eb('u.role', '<>', 'citizen'), eb(sql`lower(u.display_name)`, 'like', w)])]),
    );
  }
  if (filter.role) query = query.where('u.role', '=', filter.role);
  if (filter.state === 'disabled') query = query.where('u.disabled_at', 'is not', null);
  else if (filter.state === 'left')
    query = query.where('u.disabled_at', 'is', null).where(sql<boolean>`${practitionerActiveOf('u.practitioner_id')} = false`);
  else if (filter.state === 'locked')
    query = query
      .where('u.disabled_at', 'is', null)
      .where(sql<boolean>`coalesce(${practitionerActiveOf('u.practitioner_id')}, true)`)
      .where('u.locked_until', '>', now);
  else if (filter.state === 'active')
    query = query
      .where('u.disabled_at', 'is', null)
      .where(sql<boolean>`coalesce(${practitionerActiveOf('u.practitioner_id')}, true)`)
      .where((eb) => eb.or([eb('u.locked_until', 'is', null), eb('u.locked_until', '<=', now)]));
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
    .orderBy('u.username')
    .limit(perPage)
    .offset((page - 1) * perPage)
    .execute();
  const total = Number(
    (
      await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  return { total, matching, page, pages, perPage, accounts: rows.map((r) => accountListing(r, now)) };
}

/** One account for the disable page. */
export async function accountForAdmin(db: Kysely<Database>, userId: string, now: Date = new Date()): Promise<AccountListing | undefined> {
  const row = await accountRows(db).where('u.id', '=', userId).executeTakeFirst();
  return row ? accountListing(row, now) : undefined;
}

/** Creates the account unless one with its username exists already (demo set-ups run again); returns the new id, or null. */
export async function createAccountUnlessTaken(db: Kysely<Database>, account: NewAccount): Promise<string | null> {
  const taken = await db.selectFrom('users').select('id').where('username', '=', account.username.toLowerCase()).executeTakeFirst();
  return taken ? null : createAccount(db, account);
}
