// Telling people that something happened: notify() writes outbox rows in the caller's
// transaction (so a notification exists exactly when its change committed), one per channel the
// account chose, straight away or for the day's summary; sendTransactional() queues an account
// email (password reset) that goes whatever the preferences say. Preferences are each account's
// own: read and changed only for the signed-in user.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { accountIsActive, accountsOfPeople, contactDetailsOf, type SignedInUser } from '../auth/index.ts';
import { channels, frequencies, notificationEvents, type Channel, type Frequency, type NotificationEvent } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface Preferences {
  channels: Channel[];
  frequency: Frequency;
  /** False: nothing chosen yet, so the default applies (email straight away, if an address is known). */
  chosen: boolean;
}

/** A path on this site for a message's link: one leading '/', no scheme or host, no control characters. */
function safePath(path: string | undefined): string | null {
  if (path === undefined) return null;
  if (!/^\/(?![/\\])[A-Za-z0-9\-._~/?=&%#]*$/.test(path) || path.length > 300)
    throw new Error(`notification link must be a path on this site (got ${JSON.stringify(path)})`);
  return path;
}

export async function preferencesOf(db: Db, userId: string): Promise<Preferences> {
  const row = await db
    .selectFrom('notification_preferences')
    .select(['channels', 'frequency'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (row) return { channels: channels.filter((c) => row.channels.includes(c)), frequency: row.frequency, chosen: true };
  const contact = await contactDetailsOf(db, userId);
  return { channels: contact?.email ? ['email'] : [], frequency: 'immediate', chosen: false };
}

export interface NotifyInput {
  userId: string;
  event: NotificationEvent;
  /** Where the link goes (a path on PUBLIC_URL); the event's usual page when not given. */
  path?: string;
  /** Tell of this once per account (e.g. one notice per plan review date). */
  dedupeKey?: string;
}

/** Queues the notification in the caller's transaction; returns how many messages were queued (0: the account chose none). */
export async function notify(tx: Db, input: NotifyInput, now: Date = new Date()): Promise<number> {
  if (!(notificationEvents as readonly string[]).includes(input.event)) throw new Error(`unknown notification event ${input.event}`);
  const path = safePath(input.path);
  if (!(await accountIsActive(tx, input.userId))) return 0;
  const prefs = await preferencesOf(tx, input.userId);
  let queued = 0;
  for (const channel of prefs.channels) {
    const inserted = await sql<{ id: number }>`
      insert into notification_outbox (user_id, kind, channel, frequency, path, dedupe_key, next_attempt_at)
      values (${input.userId}, ${input.event}, ${channel}, ${prefs.frequency}, ${path}, ${input.dedupeKey ?? null}, ${now})
      on conflict (user_id, channel, dedupe_key) where dedupe_key is not null do nothing
      returning id`.execute(tx);
    queued += inserted.rows.length;
  }
  return queued;
}

/** Notifies every active account of these people (their own citizen accounts). */
export async function notifyPeople(
  tx: Db,
  input: Omit<NotifyInput, 'userId'> & { personIds: readonly string[] },
  now: Date = new Date(),
): Promise<number> {
  let queued = 0;
  for (const { userId } of await accountsOfPeople(tx, input.personIds)) queued += await notify(tx, { ...input, userId }, now);
  return queued;
}

export type TransactionalRecipient = { userId: string } | { email: string };

/**
 * Queues an account email (a password reset, a sign-up link) through the outbox: sent whatever
 * the account's notification preferences, retried like any notification, seen by the admin as
 * "account email" only. Its subject and body are kept only until sent or given up, then erased.
 * To an account, it goes to the account's email address as it is when sent.
 */
export async function sendTransactional(
  tx: Db,
  input: TransactionalRecipient & { subject: string; body: string },
  now: Date = new Date(),
): Promise<number> {
  const userId = 'userId' in input ? input.userId : null;
  const to = 'email' in input ? input.email : null;
  const row = await tx
    .insertInto('notification_outbox')
    .values({
      user_id: userId,
      kind: 'account_email',
      channel: 'email',
      frequency: 'immediate',
      path: null,
      dedupe_key: null,
      to_address: to,
      subject: input.subject,
      body: input.body,
      next_attempt_at: now,
      sent_at: null,
      failed_at: null,
      last_error: null,
      sender: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export interface PreferenceFieldError {
  field: 'channels' | 'frequency';
  message: string;
}

/** What the preferences form sends: the channels ticked (or "none"), and how often. */
export interface PreferencesInput {
  channels: string[];
  frequency: string;
}

export type PreferencesResult = { ok: true; preferences: Preferences } | { ok: false; errors: PreferenceFieldError[] };

/** Changes the signed-in user's own preferences: no other account can be named. */
export async function setOwnPreferences(db: Kysely<Database>, user: SignedInUser, input: PreferencesInput): Promise<PreferencesResult> {
  const errors: PreferenceFieldError[] = [];
  const none = input.channels.includes('none');
  const chosen = channels.filter((c) => input.channels.includes(c));
  const contact = await contactDetailsOf(db, user.id);
  if (none && chosen.length > 0)
    errors.push({ field: 'channels', message: 'Choose email or text message, or choose not to be told, not both' });
  else if (!none && chosen.length === 0)
    errors.push({ field: 'channels', message: 'Choose how we should tell you, or choose not to be told' });
  else if (chosen.includes('email') && !contact?.email)
    errors.push({ field: 'channels', message: 'Add an email address to your account to be told by email' });
  else if (chosen.includes('sms') && !contact?.mobile)
    errors.push({ field: 'channels', message: 'Add a mobile phone number to your account to be told by text message' });
  const frequency = (frequencies as readonly string[]).includes(input.frequency) ? (input.frequency as Frequency) : null;
  if (!none && frequency === null) errors.push({ field: 'frequency', message: 'Choose how often we should tell you' });
  if (errors.length > 0) return { ok: false, errors };
  const preferences: Preferences = { channels: none ? [] : chosen, frequency: frequency ?? 'immediate', chosen: true };
  await db
    .insertInto('notification_preferences')
    .values({ user_id: user.id, channels: preferences.channels, frequency: preferences.frequency, updated_at: new Date() })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({ channels: preferences.channels, frequency: preferences.frequency, updated_at: new Date() }),
    )
    .execute();
  return { ok: true, preferences };
}
