// What administrators do to accounts besides ending them (accounts.ts): create one for someone
// joining (role, organisation and team), give someone a one-time link to set their own password,
// and unlock an account locked after failed sign-ins. Administrators never choose or see a
// password: a link's token is shown once, to the administrator who made it, and only its SHA-256
// is kept; it works once, for 72 hours, and a newer link for the account replaces it. Every
// change is on the audit trail by account id, without names.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { createPractitionerInTeam, isTeamOf, organisationById, practitionerActiveOf } from '../network/index.ts';
import { createAccount, hashPassword, lockedAccount, type SignedInUser } from './accounts.ts';
import { AccountInputError } from './errors.ts';
import type { Role } from './schema.ts';

export const PASSWORD_LINK_HOURS = 72;
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 200;

/** The roles an administrator can give. A resident's account is never made by an administrator: it is tied to a person's record. */
export const creatableRoles = ['practitioner', 'manager', 'admin', 'data_quality', 'privacy_officer'] as const satisfies readonly Role[];
export type CreatableRole = (typeof creatableRoles)[number];

export const roleLabels: Record<Role, string> = {
  citizen: 'Resident',
  practitioner: 'Practitioner',
  manager: 'Manager or commissioner',
  admin: 'Administrator',
  data_quality: 'Data-quality officer',
  privacy_officer: 'Privacy officer',
};

export const roleHints: Record<CreatableRole, string> = {
  practitioner: 'Works with people in a team: sees the records the access rules allow.',
  manager: 'Sees the place in figures only, never a person.',
  admin: 'Manages accounts, API tokens and feeds; sees no personal data.',
  data_quality: 'Reviews uncertain matches in the person index.',
  privacy_officer: 'Reviews emergency accesses to records.',
};

export interface NewAccountInput {
  username: string;
  givenName: string;
  familyName: string;
  role: string;
  organisationId: string;
  teamId: string;
  jobRole: string;
  email: string;
}

export interface FieldError {
  field: keyof NewAccountInput;
  message: string;
}

/** A new-account form that cannot be used as it is: every problem, by field, in the order of the form. */
export class AccountFormRefused extends AccountInputError {
  override name = 'AccountFormRefused';
  readonly errors: FieldError[];
  constructor(errors: FieldError[]) {
    super(400, errors[0]?.message ?? 'Check the account details');
    this.errors = errors;
  }
}

/**
 * What only the records can say of a well-formed form (newAccountForm in forms.ts checks its
 * shape): whether the username is free, the organisation real and the team one of it.
 */
async function checkNewAccount(db: Kysely<Database>, input: NewAccountInput): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  if (await db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst())
    errors.push({ field: 'username', message: 'There is already an account with that username: choose another' });
  const organisation = input.organisationId ? await organisationById(db, input.organisationId) : undefined;
  if (input.organisationId && !organisation) errors.push({ field: 'organisationId', message: 'Choose an organisation from the list' });
  if (input.role === 'practitioner' && organisation && !(await isTeamOf(db, input.teamId, organisation.id)))
    errors.push({ field: 'teamId', message: 'Choose a team of the organisation you chose' });
  return errors;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
const actorOf = (admin: SignedInUser) => ({ actorUserId: admin.id, actorRole: admin.role, actorOrganisationId: admin.organisationId });

export interface PasswordLink {
  token: string;
  expiresAt: Date;
}

/** A new one-time link for an account, replacing any unused one, in the caller's transaction. */
async function newPasswordLink(db: Kysely<Database>, admin: SignedInUser | null, userId: string, now: Date): Promise<PasswordLink> {
  await db.updateTable('password_links').set({ used_at: now }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + PASSWORD_LINK_HOURS * 3_600_000);
  await db
    .insertInto('password_links')
    .values({ token_hash: hashOf(token), user_id: userId, created_by: admin?.id ?? null, expires_at: expiresAt, used_at: null })
    .execute();
  return { token, expiresAt };
}

/**
 * Creates an account with no password and a one-time link to set one, from a form newAccountForm
 * has passed. A practitioner gets a practitioner record in the chosen team (what the access rules
 * read). Refuses with every problem the records show at once. In the caller's transaction.
 */
export async function createAccountWithLink(
  trx: Transaction<Database>,
  admin: SignedInUser,
  input: NewAccountInput,
  now: Date = new Date(),
): Promise<{ userId: string; link: PasswordLink }> {
  const errors = await checkNewAccount(trx, input);
  if (errors.length > 0) throw new AccountFormRefused(errors);
  const role = input.role as CreatableRole;
  const practitionerId =
    role === 'practitioner'
      ? await createPractitionerInTeam(trx, {
          givenName: input.givenName,
          familyName: input.familyName,
          email: input.email || null,
          active: true,
          organisationId: input.organisationId,
          teamId: input.teamId,
          role: input.jobRole || 'practitioner',
        })
      : undefined;
  let userId: string;
  try {
    userId = await createAccount(trx, {
      username: input.username,
      displayName: `${input.givenName} ${input.familyName}`,
      role,
      organisationId: role === 'practitioner' || role === 'manager' || input.organisationId ? input.organisationId || undefined : undefined,
      practitionerId,
    });
  } catch (error) {
    // Two administrators choosing the same username at once: the second is told, as the form would.
    if ((error as { code?: string }).code === '23505')
      throw new AccountFormRefused([{ field: 'username', message: 'There is already an account with that username: choose another' }]);
    throw error;
  }
  const link = await newPasswordLink(trx, admin, userId, now);
  await appendAudit(trx, {
    ...actorOf(admin),
    action: 'create_account',
    personId: null,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `created account ${userId} (${role})${practitionerId ? ` for Practitioner/${practitionerId}` : ''} with a set-password link until ${link.expiresAt.toISOString()}`,
  });
  return { userId, link };
}

/**
 * A new one-time link for someone to set their password (a forgotten one, or a link that expired).
 * Not for residents' accounts (an administrator must never be able to sign in as a resident) nor a
 * disabled account (enable it first). In the caller's transaction.
 */
export async function issuePasswordLink(
  trx: Transaction<Database>,
  admin: SignedInUser,
  userId: string,
  now: Date = new Date(),
): Promise<PasswordLink> {
  const account = await lockedAccount(trx, userId);
  if (account.role === 'citizen')
    throw new AccountInputError(422, "Residents set their own passwords: an administrator cannot give a link for a resident's account.");
  if (account.disabled_at) throw new AccountInputError(409, 'This account is disabled. Enable it before giving a link to set a password.');
  const link = await newPasswordLink(trx, admin, userId, now);
  await appendAudit(trx, {
    ...actorOf(admin),
    action: 'issue_password_link',
    personId: null,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `gave account ${userId} a set-password link until ${link.expiresAt.toISOString()}`,
  });
  return link;
}

/** Unlocks an account locked after failed sign-ins, in the caller's transaction. False if it was not locked. */
export async function unlockAccount(
  trx: Transaction<Database>,
  admin: SignedInUser,
  userId: string,
  now: Date = new Date(),
): Promise<boolean> {
  const account = await trx.selectFrom('users').select(['id', 'locked_until']).where('id', '=', userId).forUpdate().executeTakeFirst();
  if (!account) throw new AccountInputError(404, 'There is no such account.');
  if (!account.locked_until || account.locked_until <= now) return false;
  await trx.updateTable('users').set({ locked_until: null, failed_sign_ins: 0 }).where('id', '=', userId).execute();
  await appendAudit(trx, {
    ...actorOf(admin),
    action: 'unlock_account',
    personId: null,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `unlocked account ${userId}, locked after failed sign-ins until ${account.locked_until.toISOString()}`,
  });
  return true;
}

/**
 * The account a link is for, while it is unused and unexpired, the link is of this purpose, and the
 * account may still act (not disabled, not a practitioner who has left); undefined for any other token.
 */
export async function accountForPasswordLink(
  db: Kysely<Database>,
  token: string,
  now: Date = new Date(),
  purpose: PasswordLinkPurpose = 'set_password',
): Promise<{ userId: string; username: string } | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const row = await db
    .selectFrom('password_links')
    .innerJoin('users', 'users.id', 'password_links.user_id')
    .select(['users.id', 'users.username'])
    .where('password_links.token_hash', '=', hashOf(token))
    .where('password_links.purpose', '=', purpose)
    .where('password_links.used_at', 'is', null)
    .where('password_links.expires_at', '>', now)
    .where('users.disabled_at', 'is', null)
    .where(sql<boolean>`coalesce(${practitionerActiveOf('users.practitioner_id')}, true)`)
    .executeTakeFirst();
  return row ? { userId: row.id, username: row.username } : undefined;
}

/** The links that set an existing account's password: an administrator's, or one asked for on the recovery page. */
export type PasswordLinkPurpose = 'set_password' | 'reset_password';

export class PasswordRefused extends AccountInputError {
  override name = 'PasswordRefused';
  readonly field: 'password' | 'confirm';
  constructor(field: 'password' | 'confirm', message: string) {
    super(400, message);
    this.field = field;
  }
}

/** Whether a password may be set for `username`: long enough, not too long, not the username, typed twice the same. */
export function checkNewPassword(username: string, password: string, confirm: string): void {
  if (!password) throw new PasswordRefused('password', 'Enter a password');
  if ([...password].length < PASSWORD_MIN_LENGTH)
    throw new PasswordRefused('password', `Your password must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (password.length > PASSWORD_MAX_LENGTH)
    throw new PasswordRefused('password', `Your password must be ${PASSWORD_MAX_LENGTH} characters or fewer`);
  if (password.trim().toLowerCase() === username.toLowerCase())
    throw new PasswordRefused('password', 'Your password must not be your username');
  if (password !== confirm) throw new PasswordRefused('confirm', 'The passwords do not match: type the same password twice');
}

/**
 * Sets the password of the link's account and uses the link up, in one transaction: the link is
 * claimed in the same UPDATE that checks it, so two uses at once cannot both succeed. The
 * account's sessions end and any lock is cleared. Undefined when the link is not (or no longer)
 * valid, or the account was disabled (or its practitioner left) since the link was made.
 */
export async function setPasswordWithLink(
  db: Kysely<Database>,
  token: string,
  password: string,
  confirm: string,
  now: Date = new Date(),
  purpose: PasswordLinkPurpose = 'set_password',
): Promise<{ username: string } | undefined> {
  const account = await accountForPasswordLink(db, token, now, purpose);
  if (!account) return undefined;
  checkNewPassword(account.username, password, confirm);
  const hash = await hashPassword(password);
  return db.transaction().execute(async (trx) => {
    const claimed = (
      await sql<{ user_id: string }>`
      update password_links set used_at = ${now}
      where token_hash = ${hashOf(token)} and purpose = ${purpose} and used_at is null and expires_at > ${now}
        and exists (select 1 from users u
                    where u.id = password_links.user_id and u.disabled_at is null and coalesce(${practitionerActiveOf('u.practitioner_id')}, true))
      returning user_id`.execute(trx)
    ).rows[0];
    if (!claimed) return undefined;
    const before = await trx
      .selectFrom('users')
      .select(['role', 'organisation_id', 'locked_until'])
      .where('id', '=', claimed.user_id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('users')
      .set({ password_hash: hash, failed_sign_ins: 0, locked_until: null })
      .where('id', '=', claimed.user_id)
      .execute();
    const ended = await trx.deleteFrom('sessions').where('user_id', '=', claimed.user_id).executeTakeFirst();
    const unlocked = before.locked_until && before.locked_until > now ? '; its lock was cleared' : '';
    await appendAudit(trx, {
      actorUserId: claimed.user_id,
      actorRole: before.role,
      actorOrganisationId: before.organisation_id,
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      ...(purpose === 'reset_password'
        ? {
            action: 'reset_password',
            reason: `account ${claimed.user_id} reset its password with an emailed link${unlocked}; ${Number(ended.numDeletedRows)} sessions ended`,
          }
        : {
            action: 'set_password',
            reason: `account ${claimed.user_id} set its password with a one-time link${unlocked}; ${Number(ended.numDeletedRows)} sessions ended`,
          }),
    });
    return { username: account.username };
  });
}
