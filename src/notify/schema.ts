// The notify module's tables: what each account wants to be told and how (preferences), and the
// notifications outbox: one row per message to one account on one channel, written in the same
// transaction as the change it tells of, then claimed, sent and retried by the dispatcher.
// The outbox holds no personal details: the event's kind and a link path, never names or health
// text; an account email (a password reset) keeps its subject and body only until it is sent or
// given up, then they are erased.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export const notificationEvents = ['new_message', 'referral_step', 'plan_review_due', 'correction_answered', 'emergency_access'] as const;
export type NotificationEvent = (typeof notificationEvents)[number];
/** An account email (password reset, sign-up link): sent whatever the person's preferences. */
export type OutboxKind = NotificationEvent | 'account_email';

export const channels = ['email', 'sms'] as const;
export type Channel = (typeof channels)[number];

export const frequencies = ['immediate', 'daily'] as const;
export type Frequency = (typeof frequencies)[number];

export type DeliveryStatus = 'queued' | 'sent' | 'failed';

export interface NotifyTables {
  notification_preferences: {
    user_id: string;
    /** Empty: the person chose not to be told. */
    channels: Channel[];
    frequency: Frequency;
    updated_at: Generated<Date>;
  };
  notification_outbox: {
    id: Generated<number>;
    /** The account told; null for an account email to an address with no account yet. */
    user_id: string | null;
    kind: OutboxKind;
    channel: Channel;
    frequency: Frequency;
    /** Where the link in the message goes, a path on PUBLIC_URL (no personal details). */
    path: string | null;
    /** One notice per key and account (a plan review date is told of once). */
    dedupe_key: string | null;
    /** Account emails only, and only until sent or given up. */
    to_address: string | null;
    subject: string | null;
    body: string | null;
    status: Generated<DeliveryStatus>;
    attempts: Generated<number>;
    /** When it may next be claimed: due time, the retry time, or the end of a claim's lease. */
    next_attempt_at: Date;
    created_at: Generated<Date>;
    sent_at: Date | null;
    failed_at: Date | null;
    last_error: string | null;
    /** Which sender took it ("smtp", "govuk-notify", "not-configured"). */
    sender: string | null;
  };
}

export const notifyMigrations: Record<string, Migration> = {
  '0100_notify': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table notification_preferences (
          user_id text primary key references users(id),
          channels text[] not null check (channels <@ array['email', 'sms']::text[]),
          frequency text not null check (frequency in ('immediate', 'daily')),
          updated_at timestamptz not null default now()
        );
        create table notification_outbox (
          id bigserial primary key,
          user_id text references users(id),
          kind text not null check (kind in ('new_message', 'referral_step', 'plan_review_due', 'correction_answered', 'emergency_access', 'account_email')),
          channel text not null check (channel in ('email', 'sms')),
          frequency text not null check (frequency in ('immediate', 'daily')),
          path text,
          dedupe_key text,
          to_address text,
          subject text,
          body text,
          status text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
          attempts integer not null default 0,
          next_attempt_at timestamptz not null,
          created_at timestamptz not null default now(),
          sent_at timestamptz,
          failed_at timestamptz,
          last_error text,
          sender text,
          check (user_id is not null or to_address is not null or status <> 'queued')
        );
        create index notification_outbox_due on notification_outbox (next_attempt_at, id) where status = 'queued';
        create index notification_outbox_recent on notification_outbox (created_at desc, id desc);
        create unique index notification_outbox_once on notification_outbox (user_id, channel, dedupe_key) where dedupe_key is not null;
      `.execute(db);
    },
  },
};
