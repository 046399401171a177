// An account holder's own contact details (email address, mobile number): read and changed only
// for the signed-in user's own account, checked the GOV.UK way, and used by notifications and
// account emails. Changing them is audited without the values (the audit log holds no addresses).
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { signInWithPassword, type SignedInUser } from './accounts.ts';
import type { AuthPorts } from './ports.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface ContactDetails {
  email: string | null;
  mobile: string | null;
}

export interface ContactDetailsInput {
  email: string;
  mobile: string;
}

export interface ContactFieldError {
  field: 'email' | 'mobile' | 'currentPassword';
  message: string;
}

export type ContactDetailsCheck = { ok: true; details: ContactDetails } | { ok: false; errors: ContactFieldError[] };

// GOV.UK's advice: check there is something, an @, and a domain with a dot; no stricter
// pattern, because real addresses break stricter ones.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** An email address as typed (spaces trimmed), or an error message for the form. */
export function checkEmail(typed: string): { value: string | null } | { error: string } {
  const value = typed.trim();
  if (value === '') return { value: null };
  if (value.length > 254) return { error: 'Email address must be 254 characters or fewer' };
  if (!EMAIL.test(value)) return { error: 'Enter an email address in the correct format, like name@example.com' };
  return { value };
}

/**
 * A mobile number in the international form +447700900123. UK numbers may be typed as
 * 07700 900123, +44 7700 900123 or 0044 7700 900123 (spaces, dashes and brackets allowed);
 * another country's need their + and country code.
 */
export function checkMobile(typed: string): { value: string | null } | { error: string } {
  const raw = typed.trim();
  if (raw === '') return { value: null };
  if (!/^[+\d\s()-]+$/.test(raw)) return { error: 'Enter a mobile phone number, like 07700 900 982 or +44 7700 900 982' };
  let digits = raw.replace(/[\s()-]/g, '');
  if (digits.startsWith('00')) digits = `+${digits.slice(2)}`;
  if (digits.startsWith('07')) digits = `+44${digits.slice(1)}`;
  if (/^\+440/.test(digits)) digits = `+44${digits.slice(4)}`;
  if (digits.startsWith('+44') || digits.startsWith('0')) {
    if (!/^\+447\d{9}$/.test(digits)) return { error: 'Enter a UK mobile phone number, like 07700 900 982' };
    return { value: digits };
  }
  if (!/^\+[1-9]\d{7,14}$/.test(digits))
    return { error: 'Enter a mobile phone number, like 07700 900 982, or an international number starting with +' };
  return { value: digits };
}

export function checkContactDetails(input: ContactDetailsInput): ContactDetailsCheck {
  const email = checkEmail(input.email);
  const mobile = checkMobile(input.mobile);
  const errors: ContactFieldError[] = [];
  if ('error' in email) errors.push({ field: 'email', message: email.error });
  if ('error' in mobile) errors.push({ field: 'mobile', message: mobile.error });
  if (errors.length > 0 || 'error' in email || 'error' in mobile) return { ok: false, errors };
  return { ok: true, details: { email: email.value, mobile: mobile.value } };
}

/** The contact details of one account (any account: the caller decides who may ask). */
export async function contactDetailsOf(db: Db, userId: string): Promise<ContactDetails | undefined> {
  const row = await db.selectFrom('users').select(['email', 'mobile']).where('id', '=', userId).executeTakeFirst();
  return row ? { email: row.email, mobile: row.mobile } : undefined;
}

/** Whether the account signs in with a password (so changing its email address asks for it). */
export async function accountHasPassword(db: Db, userId: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
  return Boolean(row?.password_hash);
}

/** Whether an account exists and may act (not disabled): a disabled account is told nothing. */
export async function accountIsActive(db: Db, userId: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('disabled_at').where('id', '=', userId).executeTakeFirst();
  return row !== undefined && row.disabled_at === null;
}

/** How many wrong passwords in a row lock an account, and for how long (the sign-in policy). */
export interface PasswordPolicy {
  maxAttempts: number;
  lockMinutes: number;
}

/**
 * Changes the signed-in user's own contact details: there is no way to name another account.
 * The email address is where password reset links go, so changing it on an account with a
 * password needs that password again: otherwise anyone who found a session open (a shared
 * computer, a stolen cookie) could point recovery at themselves and keep the account. Wrong
 * passwords count towards the same lock as signing in. The old address is told of the change.
 */
export async function changeOwnContactDetails(
  db: Kysely<Database>,
  ports: Pick<AuthPorts, 'sendAccountEmail'>,
  user: SignedInUser,
  input: ContactDetailsInput & { currentPassword?: string },
  policy: PasswordPolicy,
  now: Date = new Date(),
): Promise<ContactDetailsCheck> {
  const checked = checkContactDetails(input);
  if (!checked.ok) return checked;
  const before = await db
    .selectFrom('users')
    .select(['email', 'mobile', 'password_hash'])
    .where('id', '=', user.id)
    .executeTakeFirstOrThrow();
  const emailChanges = (before.email ?? null) !== checked.details.email;
  if (emailChanges && before.password_hash !== null) {
    const typed = input.currentPassword ?? '';
    if (typed === '')
      return { ok: false, errors: [{ field: 'currentPassword', message: 'Enter your current password to change your email address' }] };
    const result = await signInWithPassword(db, user.username, typed, policy, now);
    if (result.outcome === 'locked')
      return {
        ok: false,
        errors: [
          {
            field: 'currentPassword',
            message: 'Too many wrong passwords: your account is locked for now. Sign out and use "Forgotten your password or locked out?"',
          },
        ],
      };
    if (result.outcome !== 'signed_in')
      return { ok: false, errors: [{ field: 'currentPassword', message: 'Your current password is not right' }] };
  }
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('users')
      .set({ email: checked.details.email, mobile: checked.details.mobile })
      .where('id', '=', user.id)
      .execute();
    const changed = [emailChanges ? 'email address' : null, before.mobile !== checked.details.mobile ? 'mobile number' : null].filter(
      Boolean,
    );
    if (changed.length > 0) {
      await appendAudit(trx, {
        actorUserId: user.id,
        actorRole: user.role,
        actorOrganisationId: user.organisationId,
        action: 'change_contact_details',
        personId: null,
        category: null,
        purpose: null,
        decision: 'success',
        reason: `changed their own ${changed.join(' and ')}`,
      });
    }
    if (emailChanges && before.email) await ports.sendAccountEmail(trx, { email: before.email, ...emailChangedNotice(user.username) }, now);
  });
  return checked;
}

/** Told to the old address: what changed, and what to do if it was not them. Nothing else. */
export function emailChangedNotice(username: string): { subject: string; body: string } {
  return {
    subject: 'The email address of your Joinery account was changed',
    body: [
      `The email address of the Joinery account ${username} was changed, and emails about the account now go to the new address.`,
      '',
      'If you did not do this, contact your council or care team straight away: someone may be using your account.',
    ].join('\n'),
  };
}

/** Active accounts of these people (citizens' own accounts), for telling them something. */
export async function accountsOfPeople(db: Db, personIds: readonly string[]): Promise<Array<{ userId: string; personId: string }>> {
  if (personIds.length === 0) return [];
  // One array parameter, however many people: a place's worth of plan reviews stays one query.
  const rows = await db
    .selectFrom('users')
    .select(['id', 'person_id'])
    .where(sql<boolean>`person_id = any(${[...new Set(personIds)]}::text[])`)
    .where('role', '=', 'citizen')
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ userId: r.id, personId: r.person_id! }));
}
