// Sends what the notifications outbox holds. A pass claims due rows with a lease (FOR UPDATE SKIP
// LOCKED, then next_attempt_at moves to the lease's end and the attempt is counted), so several
// servers on one PostgreSQL never claim one row at once, and a row whose sender crashed is due
// again when its lease ends. Then it sends: each straight-away row alone, and each account's due
// daily rows on one channel as one summary. A failure is retried with exponential backoff, and
// after the last attempt the row is marked failed with the reason, for the admin to see. A row
// for an account disabled since it was written fails at once: no retry could rightly reach them.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { accountIsActive, contactDetailsOf } from '../auth/index.ts';
import { digestMessage, eventMessage, smsText, type Message } from './messages.ts';
import { failureText, SendFailure, type Senders } from './senders.ts';
import type { Channel, Frequency, NotificationEvent, OutboxKind } from './schema.ts';

export interface NotificationDispatcherOptions {
  senders: Senders;
  /** Read at each send: links are built on it. */
  publicUrl: () => string;
  /** The hour (UK time) daily summaries go out. */
  digestHour?: number;
  maxAttempts?: number;
  /** First retry delay; each later one doubles (with up to 20% jitter). */
  baseDelayMs?: number;
  /** How long a claim lasts: longer than any send can take. */
  leaseMs?: number;
  /** Set to run passes on a timer (the server does); unset, call runOnce. */
  intervalMs?: number;
  /** Told of a pass that failed as a whole (the database was unreachable). */
  onError?: (error: unknown) => void;
}

export interface NotificationDispatcher {
  /** One pass: claim what is due at `now`, send it. Returns the rows claimed. */
  runOnce(now?: Date): Promise<number>;
  stop(): Promise<void>;
}

interface Claimed {
  id: number;
  user_id: string | null;
  kind: OutboxKind;
  channel: Channel;
  frequency: Frequency;
  path: string | null;
  to_address: string | null;
  subject: string | null;
  body: string | null;
  attempts: number;
}

export function notificationBackoffMs(attempts: number, baseDelayMs: number, jitter = Math.random()): number {
  return Math.round(baseDelayMs * 2 ** Math.max(0, attempts - 1) * (1 + 0.2 * jitter));
}

const ukParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** The UK's offset from UTC at an instant, in milliseconds (0 in winter, an hour in summer). */
function ukOffsetMs(at: Date): number {
  const p = Object.fromEntries(ukParts.formatToParts(at).map((x) => [x.type, x.value]));
  return (
    Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) -
    Math.floor(at.getTime() / 1000) * 1000
  );
}

/** The last time the daily summary was due, at or before `now`: today's digest hour in the UK, or yesterday's. */
export function lastDigestTime(now: Date, digestHour: number): Date {
  const local = new Date(now.getTime() + ukOffsetMs(now));
  let candidate = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), digestHour);
  candidate -= ukOffsetMs(new Date(candidate));
  if (candidate > now.getTime()) {
    candidate = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - 1, digestHour);
    candidate -= ukOffsetMs(new Date(candidate));
  }
  return new Date(candidate);
}

export function createNotificationDispatcher(db: Kysely<Database>, options: NotificationDispatcherOptions): NotificationDispatcher {
  const digestHour = options.digestHour ?? 8;
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 30_000;
  const leaseMs = options.leaseMs ?? 120_000;

  /** Claims up to 50 due rows; a daily row is due once a digest time has passed since it was written. */
  async function claim(now: Date): Promise<Claimed[]> {
    const lease = new Date(now.getTime() + leaseMs);
    const cutoff = lastDigestTime(now, digestHour);
    const rows = (
      await sql<Claimed>`
      with due as (
        select id from notification_outbox
        where status = 'queued' and next_attempt_at <= greatest(now(), ${now.toISOString()}::timestamptz)
          and (frequency = 'immediate' or attempts > 0 or created_at < ${cutoff.toISOString()}::timestamptz)
        order by next_attempt_at, id limit 50 for update skip locked)
      update notification_outbox o set next_attempt_at = ${lease.toISOString()}::timestamptz, attempts = o.attempts + 1
      from due where o.id = due.id
      returning o.id, o.user_id, o.kind, o.channel, o.frequency, o.path, o.to_address, o.subject, o.body, o.attempts`.execute(db)
    ).rows;
    return rows.map((r) => ({ ...r, id: Number(r.id), attempts: Number(r.attempts) }));
  }

  async function addressOf(row: Claimed): Promise<string> {
    if (row.to_address) return row.to_address;
    // An account disabled since the row was written (someone who left) is told nothing more.
    if (row.user_id && !(await accountIsActive(db, row.user_id))) throw new SendFailure('the account is disabled', { final: true });
    const contact = row.user_id ? await contactDetailsOf(db, row.user_id) : undefined;
    const address = row.channel === 'email' ? contact?.email : contact?.mobile;
    if (!address) throw new SendFailure(row.channel === 'email' ? 'the account has no email address' : 'the account has no mobile number');
    return address;
  }

  function messageFor(group: Claimed[]): Message {
    const first = group[0]!;
    if (first.kind === 'account_email') return { subject: first.subject ?? 'Joinery', text: first.body ?? '' };
    const publicUrl = options.publicUrl();
    if (group.length === 1 && first.frequency === 'immediate') return eventMessage(first.kind, publicUrl, first.path);
    return digestMessage(
      group.map((r) => ({ event: r.kind as NotificationEvent, path: r.path })),
      publicUrl,
    );
  }

  async function settle(group: Claimed[], now: Date, senderName: string, error: string | null, final = false): Promise<void> {
    const ids = group.map((r) => r.id);
    if (error === null) {
      await sql`update notification_outbox set status = 'sent', sent_at = now(), last_error = null, sender = ${senderName}, to_address = null, subject = null, body = null
        where id = any(${ids}::bigint[]) and status = 'queued'`.execute(db);
      return;
    }
    const attempts = Math.max(...group.map((r) => r.attempts));
    if (attempts >= maxAttempts || final) {
      await sql`update notification_outbox set status = 'failed', failed_at = now(), last_error = ${error}, sender = ${senderName}, to_address = null, subject = null, body = null
        where id = any(${ids}::bigint[]) and status = 'queued'`.execute(db);
    } else {
      const next = new Date(now.getTime() + notificationBackoffMs(attempts, baseDelayMs));
      await sql`update notification_outbox set next_attempt_at = ${next.toISOString()}::timestamptz, last_error = ${error}, sender = ${senderName}
        where id = any(${ids}::bigint[]) and status = 'queued'`.execute(db);
    }
  }

  async function deliver(group: Claimed[], now: Date): Promise<void> {
    const first = group[0]!;
    const sender = options.senders[first.channel];
    let error: string | null = null;
    let final = false;
    try {
      const to = await addressOf(first);
      const message = messageFor(group);
      await sender.send({
        to,
        subject: message.subject,
        text: first.channel === 'sms' ? smsText(message) : message.text,
        reference: `joinery-${first.id}`,
      });
    } catch (e) {
      error = failureText(e);
      final = e instanceof SendFailure && e.final;
    }
    await settle(group, now, sender.name, error, final);
  }

  async function runOnce(now: Date = new Date()): Promise<number> {
    const claimed = await claim(now);
    // Straight-away rows and account emails go alone; daily rows go as one summary per account and channel.
    const groups = new Map<string, Claimed[]>();
    for (const row of claimed) {
      const key = row.frequency === 'daily' && row.kind !== 'account_email' ? `daily:${row.user_id}:${row.channel}` : `one:${row.id}`;
      const group = groups.get(key);
      if (group) group.push(row);
      else groups.set(key, [row]);
    }
    await Promise.all([...groups.values()].map((group) => deliver(group, now)));
    return claimed.length;
  }

  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  if (options.intervalMs !== undefined) {
    const tick = () => {
      if (stopped) return;
      running = (async () => {
        // Keep the database quiet when nothing is due (one look along a partial index).
        const due = await db
          .selectFrom('notification_outbox')
          .select('id')
          .where('status', '=', 'queued')
          .where('next_attempt_at', '<=', new Date())
          .limit(1)
          .executeTakeFirst();
        if (due) while ((await runOnce()) === 50 && !stopped);
      })()
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, options.intervalMs).unref();
        });
    };
    timer = setTimeout(tick, options.intervalMs).unref();
  }

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => {});
    },
  };
}
