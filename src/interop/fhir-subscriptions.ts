// The webhook side of FHIR Subscriptions: storing a Subscription as a webhook of the user who made
// it (on the outbox topic its criteria listen to), reading, changing and listing a user's own,
// and the hook through which the FHIR module renders each notification. The dispatcher
// (outbox.ts) fans events out and retries deliveries for these exactly as for any webhook; it asks
// the renderer, per delivery, whether and what to send, so the access decision and the criteria
// are applied by the FHIR module, at delivery time, as the subscriber.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { checkWebhookUrl, type OutboxTopic } from './outbox.ts';

/** One event to one FHIR Subscription, as the dispatcher hands it to the renderer. */
export interface FhirDelivery {
  subscriptionId: string;
  subscription: unknown;
  apiTokenId: string | null;
  outboxId: number;
  topic: string;
  resourceType: string;
  resourceId: string;
  occurredAt: Date;
}

export type RenderedNotification =
  { send: false; reason: string } | { send: true; body: string; contentType: string | undefined; headers: Record<string, string> };

export type FhirRenderer = (db: Kysely<Database>, delivery: FhirDelivery) => Promise<RenderedNotification>;

let renderer: FhirRenderer | undefined;

/** The FHIR module hands its renderer over when its routes are registered (interop does not import fhir). */
export function setFhirNotificationRenderer(render: FhirRenderer): void {
  renderer = render;
}

export function fhirNotificationRenderer(): FhirRenderer | undefined {
  return renderer;
}

export interface StoredSubscription {
  id: string;
  url: string;
  topic: string;
  resource: unknown;
  status: 'requested' | 'active' | 'error' | 'off';
  error: string | null;
  version: number;
  createdBy: string | null;
  createdAt: Date;
}

function stored(row: {
  id: string;
  url: string;
  topics: string[];
  fhir: unknown;
  fhir_status: string | null;
  fhir_error: string | null;
  fhir_version: number | null;
  created_by: string | null;
  created_at: Date;
}): StoredSubscription {
  return {
    id: row.id,
    url: row.url,
    topic: row.topics[0]!,
    resource: typeof row.fhir === 'string' ? JSON.parse(row.fhir) : row.fhir,
    status: (row.fhir_status ?? 'off') as StoredSubscription['status'],
    error: row.fhir_error,
    version: row.fhir_version ?? 1,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
  };
}

const columns = ['id', 'url', 'topics', 'fhir', 'fhir_status', 'fhir_error', 'fhir_version', 'created_by', 'created_at'] as const;

export async function addFhirSubscription(
  db: Kysely<Database>,
  input: { url: string; topic: OutboxTopic; resource: unknown; apiTokenId: string; userId: string; status: 'active' | 'off' },
): Promise<StoredSubscription> {
  const url = checkWebhookUrl(input.url);
  const id = `sub-${randomUUID()}`;
  const row = await db
    .insertInto('webhook_subscriptions')
    .values({
      id,
      url,
      secret: `whsec_${randomBytes(24).toString('base64url')}`,
      topics: [input.topic],
      active: input.status === 'active',
      created_by: input.userId,
      fhir: JSON.stringify(input.resource),
      api_token_id: input.apiTokenId,
      fhir_status: input.status,
      fhir_error: null,
      fhir_version: 1,
    })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return stored(row);
}

/** A user's own Subscription (anyone else's, or a plain webhook: undefined). */
export async function fhirSubscriptionOf(db: Kysely<Database>, userId: string, id: string): Promise<StoredSubscription | undefined> {
  const row = await db
    .selectFrom('webhook_subscriptions')
    .select(columns)
    .where('id', '=', id)
    .where('created_by', '=', userId)
    .where('fhir', 'is not', null)
    .executeTakeFirst();
  return row ? stored(row) : undefined;
}

export async function fhirSubscriptionsOf(db: Kysely<Database>, userId: string): Promise<StoredSubscription[]> {
  const rows = await db
    .selectFrom('webhook_subscriptions')
    .select(columns)
    .where('created_by', '=', userId)
    .where('fhir', 'is not', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(stored);
}

export async function countFhirSubscriptionsOf(db: Kysely<Database>, userId: string): Promise<number> {
  const row = await db
    .selectFrom('webhook_subscriptions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('created_by', '=', userId)
    .where('fhir', 'is not', null)
    .where('active', '=', true)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Replaces a user's own Subscription (endpoint, topic, resource, on or off); undefined if it is not theirs. */
export async function updateFhirSubscription(
  db: Kysely<Database>,
  userId: string,
  id: string,
  change: { url: string; topic: OutboxTopic; resource: unknown; status: 'active' | 'off' },
): Promise<StoredSubscription | undefined> {
  const url = checkWebhookUrl(change.url);
  const row = await db
    .updateTable('webhook_subscriptions')
    .set((eb) => ({
      url,
      topics: [change.topic],
      fhir: JSON.stringify(change.resource),
      active: change.status === 'active',
      fhir_status: change.status,
      fhir_error: null,
      fhir_version: eb(eb.fn.coalesce('fhir_version', eb.val(1)), '+', 1),
    }))
    .where('id', '=', id)
    .where('created_by', '=', userId)
    .where('fhir', 'is not', null)
    .returning(columns)
    .executeTakeFirst();
  return row ? stored(row) : undefined;
}

/** What the dispatcher records of a Subscription's deliveries: error after one is given up, active again after one arrives. */
export async function markFhirSubscription(db: Kysely<Database>, id: string, outcome: { error: string | null }): Promise<void> {
  await db
    .updateTable('webhook_subscriptions')
    .set({ fhir_status: outcome.error === null ? 'active' : 'error', fhir_error: outcome.error })
    .where('id', '=', id)
    .where('fhir', 'is not', null)
    .where('fhir_status', 'in', ['active', 'error'])
    .execute();
}
