// FHIR Subscriptions are webhooks: a Subscription resource (R4 rest-hook) is a row of
// webhook_subscriptions with the resource beside it, the bearer token it was made with (whose
// user each notification is decided for) and its FHIR status; its notifications are deliveries
// from the same outbox, retried the same way. A delivery the subscriber may not read, or that does
// not match the criteria, is set aside as skipped rather than sent or counted as failed.
import { sql, type Kysely, type Migration } from 'kysely';

export interface SubscriptionColumns {
  /** The Subscription as accepted (less id and meta); null for an administrator's plain webhook. */
  fhir: unknown;
  /** The token the Subscription was made with: notifications are decided as its user, and stop when it is revoked. */
  api_token_id: string | null;
  fhir_status: 'requested' | 'active' | 'error' | 'off' | null;
  fhir_error: string | null;
  fhir_version: number | null;
}

export interface DeliverySkipColumns {
  skipped_at: Date | null;
  skip_reason: string | null;
}

export const subscriptionMigrations: Record<string, Migration> = {
  '0145_interop_fhir_subscriptions': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table webhook_subscriptions
          add column fhir jsonb,
          add column api_token_id text references api_tokens(id),
          add column fhir_status text check (fhir_status in ('requested', 'active', 'error', 'off')),
          add column fhir_error text,
          add column fhir_version integer;
        create index webhook_subscriptions_token on webhook_subscriptions(api_token_id) where api_token_id is not null;
        alter table webhook_deliveries
          add column skipped_at timestamptz,
          add column skip_reason text;
        drop index webhook_deliveries_due;
        create index webhook_deliveries_due on webhook_deliveries(next_attempt_at)
          where delivered_at is null and failed_at is null and skipped_at is null;
      `.execute(db);
    },
  },
};
