// Account recovery by the account's holder: "Forgotten your password or locked out?". Whoever
// types an email address or username is told the same thing whether or not an account uses it;
// each account that does (and may still sign in with a password) is sent a link, to its own email
// address only, that works once for an hour. Setting a new password through it clears a lockout
// and ends the account's sessions. A disabled account, a practitioner who has left, and an account
// that signs in only through single sign-on get no link: recovery must never reopen what an
// administrator closed, nor give a password to an account its organisation keeps on its own SSO.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { practitionerActiveOf } from '../network/index.ts';
import type { AuthPorts } from './ports.ts';

export const RESET_LINK_MINUTES = 60;
/** Links one account can be sent in an hour, however often (and from however many places) they are asked for. */
export const RESETS_PER_ACCOUNT_PER_HOUR = 3;
/** At most this many accounts get a link from one request (a family may share one address). */
const ACCOUNTS_PER_ADDRESS = 5;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** An email address or username as typed: trimmed, lower-case, a sane length; '' when it cannot be either. */
export function recoveryIdentifier(typed: unknown): string {
  if (typeof typed !== 'string') return '';
  const value = typed.trim().toLowerCase();
  return value.length > 254 || /[\p{Cc}\s]/u.test(value) ? '' : value;
}

/**
 * A reset link for every account this email address or username belongs to, sent to the
 * account's own email address through the notifications outbox (ports.sendAccountEmail), in one
 * transaction per account with the link and its audit entry. Returns how
 * many were sent (for tests and logs only: the person asking is never told). A newer link
 * replaces any unused one, so only the last link sent works.
 */
export async function requestPasswordReset(
  db: Kysely<Database>,
  ports: Pick<AuthPorts, 'sendAccountEmail'>,
  identifier: string,
  publicUrl: string,
  now: Date = new Date(),
): Promise<number> {
  if (!identifier) return 0;
  const accounts = await db
    .selectFrom('users')
    .select([
      'users.id',
      'users.username',
      'users.email',
      'users.role',
      'users.organisation_id',
      'users.disabled_at',
      'users.password_hash',
      practitionerActiveOf('users.practitioner_id').as('practitioner_active'),
    ])
    .where((eb) => eb.or([eb('users.username', '=', identifier), eb(sql<string>`lower(users.email)`, '=', identifier)]))
    .where('users.email', 'is not', null)
    .orderBy('users.id')
    .limit(ACCOUNTS_PER_ADDRESS)
    .execute();
  let sent = 0;
  for (const account of accounts) {
    const outcome = await db.transaction().execute(async (trx) => {
      // Locked first, so requests at once for one account count each other's links.
      const current = await trx
        .selectFrom('users')
        .select(['email', 'disabled_at', 'password_hash'])
        .where('id', '=', account.id)
        .forUpdate()
        .executeTakeFirst();
      if (!current?.email) return 'no address';
      const actor = {
        actorUserId: null,
        actorRole: null,
        actorOrganisationId: null,
        personId: null,
        category: null,
        purpose: null,
      } as const;
      if (current.disabled_at || account.practitioner_active === false) {
        await appendAudit(trx, {
          ...actor,
          action: 'request_password_reset',
          decision: 'failure',
          reason: `a reset link was asked for account ${account.id}, which is disabled or has left: none sent`,
        });
        return 'refused';
      }
      // No password to reset: the account signs in with its organisation's single sign-on (or
      // has yet to use the administrator's link that sets its first password).
      if (!current.password_hash) return 'no password';
      const recent = await trx
        .selectFrom('password_links')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', account.id)
        .where('purpose', '=', 'reset_password')
        .where('created_at', '>', new Date(now.getTime() - 3_600_000))
        .executeTakeFirstOrThrow();
      if (Number(recent.n) >= RESETS_PER_ACCOUNT_PER_HOUR) {
        await appendAudit(trx, {
          ...actor,
          action: 'request_password_reset',
          decision: 'failure',
          reason: `a reset link was asked for account ${account.id} more than ${RESETS_PER_ACCOUNT_PER_HOUR} times in an hour: none sent`,
        });
        return 'too many';
      }
      await trx
        .updateTable('password_links')
        .set({ used_at: now })
        .where('user_id', '=', account.id)
        .where('used_at', 'is', null)
        .execute();
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(now.getTime() + RESET_LINK_MINUTES * 60_000);
      await trx
        .insertInto('password_links')
        .values({
          token_hash: hashOf(token),
          user_id: account.id,
          purpose: 'reset_password',
          created_by: null,
          created_at: now,
          expires_at: expiresAt,
          used_at: null,
        })
        .execute();
      await ports.sendAccountEmail(
        trx,
        { userId: account.id, ...resetEmail(account.username, `${publicUrl}/account/reset/${token}`) },
        now,
      );
      await appendAudit(trx, {
        ...actor,
        action: 'request_password_reset',
        decision: 'success',
        reason: `sent account ${account.id} a reset link until ${expiresAt.toISOString()}`,
      });
      return 'sent';
    });
    if (outcome === 'sent') sent += 1;
  }
  return sent;
}

/**
 * The email: the link, how long it works, the username (someone locked out may have forgotten
 * it too), and what to do if they did not ask. Nothing from anyone's record.
 */
export function resetEmail(username: string, url: string): { subject: string; body: string } {
  return {
    subject: 'Reset your Joinery password',
    body: [
      'Someone asked to reset the password of your Joinery account, or to unlock it.',
      '',
      `Your username is: ${username}`,
      '',
      'To choose a new password, open this link:',
      url,
      '',
      `The link works once, for ${RESET_LINK_MINUTES} minutes. Choosing a new password also unlocks your account and signs you out everywhere else.`,
      '',
      'If you did not ask for this, you can ignore this email: your password has not changed.',
    ].join('\n'),
  };
}
