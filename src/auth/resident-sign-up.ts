// A resident makes their own account from a link emailed to them. Which person the account is for
// is decided by the module that sends the link (the consent or self-referral side, which knows
// why this email address belongs to this person); this module only keeps that promise: the link
// works once, for 72 hours, only while newest, and only while the person has no resident account
// and is a live person (not merged into another). Only a SHA-256 of its token is kept.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { isLivePerson, isLivePersonOf, personSummary } from '../people/index.ts';
import { createAccount, hashPassword, type SignedInUser } from './accounts.ts';
import { checkNewPassword, PASSWORD_LINK_HOURS, PasswordRefused } from './account-admin.ts';
import { checkEmail } from './contact-details.ts';
import type { AuthPorts } from './ports.ts';
import { RefusedInput } from '../platform/refused.ts';

type Db = Kysely<Database> | Transaction<Database>;

export const SIGN_UP_LINK_HOURS = PASSWORD_LINK_HOURS;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

async function hasResidentAccount(db: Db, personId: string): Promise<boolean> {
  return Boolean(
    await db.selectFrom('users').select('id').where('person_id', '=', personId).where('role', '=', 'citizen').executeTakeFirst(),
  );
}

export type SignUpInvitation = { outcome: 'invited'; expiresAt: Date } | { outcome: 'has_account' };

/**
 * Emails `email` a link to make a resident account for `personId`, in the caller's transaction
 * (through the notifications outbox), replacing any earlier sign-up link for the person. The
 * caller has decided that this address belongs to this person. When the person already has an
 * account nothing is sent, and the caller should tell them to sign in (or recover their account).
 * `invitedBy` is who caused it (the resident's own self-referral: null).
 */
export async function inviteResidentToSignUp(
  trx: Db,
  ports: Pick<AuthPorts, 'sendAccountEmail'>,
  input: { personId: string; email: string; invitedBy: SignedInUser | null },
  publicUrl: string,
  now: Date = new Date(),
): Promise<SignUpInvitation> {
  const email = checkEmail(input.email);
  if ('error' in email || email.value === null) throw new RefusedInput(400, 'error' in email ? email.error : 'Enter an email address');
  if (await hasResidentAccount(trx, input.personId)) return { outcome: 'has_account' };
  await trx
    .updateTable('password_links')
    .set({ used_at: now })
    .where('person_id', '=', input.personId)
    .where('purpose', '=', 'resident_sign_up')
    .where('used_at', 'is', null)
    .execute();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SIGN_UP_LINK_HOURS * 3_600_000);
  await trx
    .insertInto('password_links')
    .values({
      token_hash: hashOf(token),
      user_id: null,
      person_id: input.personId,
      purpose: 'resident_sign_up',
      created_by: input.invitedBy?.id ?? null,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
    })
    .execute();
  await ports.sendAccountEmail(trx, { email: email.value, ...signUpEmail(`${publicUrl}/account/create/${token}`) }, now);
  await appendAudit(trx, {
    actorUserId: input.invitedBy?.id ?? null,
    actorRole: input.invitedBy?.role ?? null,
    actorOrganisationId: input.invitedBy?.organisationId ?? null,
    action: 'invite_resident',
    personId: input.personId,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `emailed a link to make a resident account, until ${expiresAt.toISOString()}`,
  });
  return { outcome: 'invited', expiresAt };
}

export function signUpEmail(url: string): { subject: string; body: string } {
  return {
    subject: 'Make your Joinery account',
    body: [
      'You can now make a Joinery account, to see your record and what happens to your requests for help.',
      '',
      'To choose a username and password, open this link:',
      url,
      '',
      `The link works once, for ${SIGN_UP_LINK_HOURS} hours. If you did not ask a service in Joinery for help, you can ignore this email.`,
    ].join('\n'),
  };
}

/** Whether a sign-up link can still be used: unused, unexpired, newest, and its person has no account yet. */
export async function signUpLinkIsUsable(db: Kysely<Database>, token: string, now: Date = new Date()): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return false;
  const row = await db
    .selectFrom('password_links')
    .select('password_links.person_id')
    .where('token_hash', '=', hashOf(token))
    .where('purpose', '=', 'resident_sign_up')
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where(isLivePersonOf('password_links.person_id'))
    .executeTakeFirst();
  return Boolean(row?.person_id) && !(await hasResidentAccount(db, row!.person_id!));
}

export interface SignUpInput {
  username: string;
  email: string;
  password: string;
  confirm: string;
}
export interface SignUpFieldError {
  field: keyof SignUpInput;
  message: string;
}

/** A sign-up form that cannot be used as it is: every problem, in the order of the form. */
export class SignUpRefused extends RefusedInput {
  override name = 'SignUpRefused';
  readonly errors: SignUpFieldError[];
  constructor(errors: SignUpFieldError[]) {
    super(400, errors[0]?.message ?? 'Check what you entered');
    this.errors = errors;
  }
}

/** A resident's username: 3 to 64 lower-case letters, digits, dots, hyphens, underscores, or an email address. */
const RESIDENT_USERNAME = /^[a-z0-9][a-z0-9._@+-]{2,63}$/;

export async function checkSignUp(db: Kysely<Database>, input: SignUpInput): Promise<SignUpFieldError[]> {
  const errors: SignUpFieldError[] = [];
  if (!input.username) errors.push({ field: 'username', message: 'Enter a username' });
  else if (!RESIDENT_USERNAME.test(input.username))
    errors.push({
      field: 'username',
      message: 'A username is 3 to 64 letters, digits, dots, hyphens or underscores (or your email address), with no spaces',
    });
  else if (await db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst())
    errors.push({ field: 'username', message: 'That username is taken: choose another' });
  const email = checkEmail(input.email);
  if ('error' in email) errors.push({ field: 'email', message: email.error });
  try {
    checkNewPassword(input.username, input.password, input.confirm);
  } catch (error) {
    if (!(error instanceof PasswordRefused)) throw error;
    errors.push({ field: error.field, message: error.message });
  }
  return errors;
}

/**
 * Makes the resident's account from a sign-up link: checks the form (every problem at once), then
 * in one transaction claims the link (so two uses at once cannot both succeed), makes sure the
 * person still has no account, creates it with the person's name, and audits it. Undefined when
 * the link cannot be used (used, expired, replaced, or the person has an account by now).
 */
export async function createResidentAccount(
  db: Kysely<Database>,
  token: string,
  input: SignUpInput,
  now: Date = new Date(),
): Promise<{ userId: string } | undefined> {
  if (!(await signUpLinkIsUsable(db, token, now))) return undefined;
  const errors = await checkSignUp(db, input);
  if (errors.length > 0) throw new SignUpRefused(errors);
  const hash = await hashPassword(input.password);
  try {
    return await db.transaction().execute(async (trx) => {
      const claimed = (
        await sql<{ person_id: string }>`
        update password_links set used_at = ${now}
        where token_hash = ${hashOf(token)} and purpose = 'resident_sign_up' and used_at is null and expires_at > ${now}
        returning person_id`.execute(trx)
      ).rows[0];
      if (!claimed) return undefined;
      // One account per person, however many links are used at once.
      await sql`select pg_advisory_xact_lock(hashtext(${`resident-account:${claimed.person_id}`}))`.execute(trx);
      if (await hasResidentAccount(trx, claimed.person_id)) return undefined;
      const person = await personSummary(trx, claimed.person_id);
      if (!person) return undefined;
      const userId = await createAccount(trx, {
        username: input.username,
        displayName: `${person.givenName} ${person.familyName}`,
        role: 'citizen',
        personId: claimed.person_id,
      });
      const email = checkEmail(input.email);
      await trx
        .updateTable('users')
        .set({ password_hash: hash, email: 'value' in email ? email.value : null })
        .where('id', '=', userId)
        .execute();
      await appendAudit(trx, {
        actorUserId: userId,
        actorRole: 'citizen',
        actorOrganisationId: null,
        action: 'create_account',
        personId: claimed.person_id,
        category: null,
        purpose: null,
        decision: 'success',
        reason: `resident account ${userId} made with a sign-up link`,
      });
      return { userId };
    });
  } catch (error) {
    // Someone took the username between the check and the insert.
    if ((error as { code?: string }).code === '23505')
      throw new SignUpRefused([{ field: 'username', message: 'That username is taken: choose another' }]);
    throw error;
  }
}

/**
 * A resident account that is nobody's yet: made from a link sent to the email address typed on a
 * request for help (the referrals module keeps the link and what the account may follow). Its
 * person_id stays null, so the one access decision grants it nothing on any record; it becomes a
 * person's account only when the consent module ties it (NHS login at P9, or a practitioner who
 * confirmed who they are). Every problem with the form at once (SignUpRefused); in the caller's
 * transaction, so the account and what it follows are made together.
 */
export async function createUnconfirmedResidentAccount(
  trx: Transaction<Database>,
  input: SignUpInput & { displayName: string },
): Promise<{ userId: string }> {
  const errors = await checkSignUp(trx, input);
  if (errors.length > 0) throw new SignUpRefused(errors);
  const hash = await hashPassword(input.password);
  const email = checkEmail(input.email);
  // A username taken at the same moment fails the insert (23505): the caller, outside its
  // transaction, answers it with usernameTakenRefusal().
  const userId = await createAccount(trx, { username: input.username, displayName: input.displayName, role: 'citizen' });
  await trx
    .updateTable('users')
    .set({ password_hash: hash, email: 'value' in email ? email.value : null })
    .where('id', '=', userId)
    .execute();
  await appendAudit(trx, {
    actorUserId: userId,
    actorRole: 'citizen',
    actorOrganisationId: null,
    action: 'create_account',
    personId: null,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `resident account ${userId} made from a request for help, not yet tied to a person`,
  });
  return { userId };
}

/** The form error for a username another sign-up took between the check and the insert (a unique violation), or undefined. */
export function usernameTakenRefusal(error: unknown): SignUpRefused | undefined {
  return (error as { code?: string } | null)?.code === '23505'
    ? new SignUpRefused([{ field: 'username', message: 'That username is taken: choose another' }])
    : undefined;
}

export type TieOutcome = 'tied' | 'person_has_account' | 'not_unconfirmed' | 'no_such_person';

/**
 * Makes an account made from a request for help the person's own resident account: called only
 * by the consent module, which decides that who they are has been confirmed (the fact that
 * grants access to the record). One resident account per person: refused when the person has one
 * already (or gets one at the same moment), or when the account is not an unconfirmed resident's.
 */
export async function tieUnconfirmedAccountToPerson(trx: Transaction<Database>, userId: string, personId: string): Promise<TieOutcome> {
  await sql`select pg_advisory_xact_lock(hashtext(${`resident-account:${personId}`}))`.execute(trx);
  const account = await trx
    .selectFrom('users')
    .select(['role', 'person_id', 'disabled_at'])
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  if (!account || account.role !== 'citizen' || account.person_id !== null || account.disabled_at) return 'not_unconfirmed';
  if (!(await isLivePerson(trx, personId))) return 'no_such_person';
  if (await hasResidentAccount(trx, personId)) return 'person_has_account';
  await trx.updateTable('users').set({ person_id: personId }).where('id', '=', userId).execute();
  return 'tied';
}
