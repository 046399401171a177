// Accounts, password sign-in with lockout, and database-backed sessions.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { preparedQuery } from '../platform/db.ts';
import type { Role } from './schema.ts';

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
  | { outcome: 'locked'; until: Date; justLocked: boolean };

// Compared against when the username is unknown, so timing does not reveal which accounts exist.
let decoyHash: Promise<string> | undefined;

type UserRow = Selectable<Database['users']> & { team_id: string | null };

/** Users with their practitioner's team, which access decisions need. */
function usersWithTeam(db: Kysely<Database>) {
  return db.selectFrom('users').leftJoin('practitioners', 'practitioners.id', 'users.practitioner_id').selectAll('users').select('practitioners.team_id');
}

function toSignedInUser(row: Pick<UserRow, 'id' | 'username' | 'display_name' | 'role' | 'person_id' | 'practitioner_id' | 'organisation_id' | 'team_id'>): SignedInUser {
  return {
    teamId: row.team_id,
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    personId: row.person_id,
    practitionerId: row.practitioner_id,
    organisationId: row.organisation_id,
  };
}

export async function signInWithPassword(
  db: Kysely<Database>,
  username: string,
  password: string,
  policy: { maxAttempts: number; lockMinutes: number },
  now: Date = new Date(),
): Promise<SignInResult> {
  const row = await usersWithTeam(db).where('users.username', '=', username.trim().toLowerCase()).executeTakeFirst();
  if (!row || !row.password_hash) {
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await passwordMatches(await decoyHash, password);
    return { outcome: 'wrong_credentials' };
  }
  if (row.locked_until && row.locked_until > now) return { outcome: 'locked', until: row.locked_until, justLocked: false };
  if (await passwordMatches(row.password_hash, password)) {
    await db.updateTable('users').set({ failed_sign_ins: 0, locked_until: null, last_sign_in_at: now }).where('id', '=', row.id).execute();
    return { outcome: 'signed_in', user: toSignedInUser(row) };
  }
  const failures = row.failed_sign_ins + 1;
  if (failures >= policy.maxAttempts) {
    const until = new Date(now.getTime() + policy.lockMinutes * 60_000);
    await db.updateTable('users').set({ failed_sign_ins: 0, locked_until: until }).where('id', '=', row.id).execute();
    return { outcome: 'locked', until, justLocked: true };
  }
  await db.updateTable('users').set({ failed_sign_ins: failures }).where('id', '=', row.id).execute();
  return { outcome: 'wrong_credentials' };
}

export async function findUserForOidc(db: Kysely<Database>, subject: string, username: string | undefined): Promise<SignedInUser | undefined> {
  let query = usersWithTeam(db).where('users.oidc_subject', '=', subject);
  if (username) query = usersWithTeam(db).where((eb) => eb.or([eb('users.oidc_subject', '=', subject), eb('users.username', '=', username.toLowerCase())]));
  const row = await query.executeTakeFirst();
  return row ? toSignedInUser(row) : undefined;
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function startSession(db: Kysely<Database>, userId: string, hours: number): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + hours * 3_600_000);
  await db.insertInto('sessions').values({ token_hash: tokenHash(token), user_id: userId, expires_at: expiresAt }).execute();
  // Housekeeping: expired sessions go when anyone signs in.
  await db.deleteFrom('sessions').where('expires_at', '<', new Date()).execute();
  return { token, expiresAt };
}

// Every request looks up its session: a prepared statement, planned once per connection.
const SESSION_USER_SQL = `
  select u.id, u.username, u.display_name, u.role, u.person_id, u.practitioner_id, u.organisation_id, pr.team_id
  from sessions s
  join users u on u.id = s.user_id
  left join practitioners pr on pr.id = u.practitioner_id
  where s.token_hash = $1 and s.expires_at > $2`;

export async function userForSession(db: Kysely<Database>, token: string): Promise<SignedInUser | undefined> {
  const rows = await preparedQuery<Pick<UserRow, 'id' | 'username' | 'display_name' | 'role' | 'person_id' | 'practitioner_id' | 'organisation_id' | 'team_id'>>(
    db, 'joinery_session_user', SESSION_USER_SQL, [tokenHash(token), new Date()]);
  const row = rows[0];
  return row ? toSignedInUser(row) : undefined;
}

export async function endSession(db: Kysely<Database>, token: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash(token)).execute();
}
