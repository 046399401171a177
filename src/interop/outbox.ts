// Events out: signed webhooks delivered from the transactional outbox. Triggers write an outbox
// row in the same transaction as the change (see schema.ts), so an event exists exactly when
// its change committed. The dispatcher fans each event out to the subscriptions that want its
// topic and delivers each with retries and exponential backoff; a delivery is claimed with a
// lease (FOR UPDATE SKIP LOCKED), so several servers can run dispatchers side by side.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { fhirNotificationRenderer, markFhirSubscription, type FhirRenderer } from './fhir-subscriptions.ts';
import { z } from 'zod';
import { RefusedInput } from '../platform/refused.ts';

export const outboxTopics = ['referral.status', 'plan.changed', 'consent.changed', 'care_network.changed'] as const;
export type OutboxTopic = (typeof outboxTopics)[number];

const TOPICS_IN_WORDS = outboxTopics.join(', ');

/** What POST /api/webhooks takes; /openapi.json shows this schema. */
export const webhookRequest = z.object(
  {
    url: z
      .string({ error: 'send the URL to deliver to as "url": "https://..."' })
      .meta({ format: 'uri', description: 'https, or http to 127.0.0.1 for testing' }),
    topics: z
      .array(z.enum(outboxTopics, { error: (issue) => `"${String(issue.input)}" is not a topic; use ${TOPICS_IN_WORDS}` }), {
        error: `send the topics as a list, e.g. ["${outboxTopics[0]}"]`,
      })
      .min(1, 'choose at least one topic')
      .optional()
      .meta({ description: 'The events to be told of; all of them when left out' }),
  },
  { error: `send a JSON object: {"url": "https://...", "topics": ["${outboxTopics[0]}"]}` },
);

export class WebhookInputError extends RefusedInput {
  constructor(message: string) {
    super(400, message);
  }
}

/** https anywhere; plain http only to this machine (for local receivers and tests). */
export function checkWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookInputError('the webhook URL is not a URL');
  }
  if (url.username || url.password) throw new WebhookInputError('the webhook URL must not carry a user name or password');
  if (url.protocol === 'https:') return url.toString();
  if (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]'))
    return url.toString();
  throw new WebhookInputError('the webhook URL must be https (or http to 127.0.0.1 for testing)');
}

export async function addWebhook(
  db: Kysely<Database>,
  input: { url: string; topics: string[]; createdBy: string | null },
): Promise<{ id: string; secret: string }> {
  const url = checkWebhookUrl(input.url);
  const topics = [...new Set(input.topics)];
  if (topics.length === 0) throw new WebhookInputError('choose at least one topic');
  for (const topic of topics)
    if (!(outboxTopics as readonly string[]).includes(topic))
      throw new WebhookInputError(`"${topic}" is not a topic; use ${outboxTopics.join(', ')}`);
  const id = `wh-${randomUUID()}`;
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  await db.insertInto('webhook_subscriptions').values({ id, url, secret, topics, created_by: input.createdBy }).execute();
  return { id, secret };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the subscription's secret>`. */
export function signatureHeader(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export interface DispatcherOptions {
  fetch?: typeof fetch;
  /** First retry delay; each later one doubles (with up to 20% jitter). */
  baseDelayMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  intervalMs?: number;
  /** Renders FHIR Subscriptions' notifications (default: the one the FHIR module set). */
  renderFhir?: FhirRenderer;
}

export interface Dispatcher {
  /** One pass: fan out new events, deliver what is due. Returns deliveries attempted. */
  runOnce(now?: Date): Promise<number>;
  stop(): Promise<void>;
}

export function backoffMs(attempts: number, baseDelayMs: number, jitter = Math.random()): number {
  return Math.round(baseDelayMs * 2 ** Math.max(0, attempts - 1) * (1 + 0.2 * jitter));
}

export function createDispatcher(db: Kysely<Database>, options: DispatcherOptions = {}): Dispatcher {
  const doFetch = options.fetch ?? fetch;
  const baseDelayMs = options.baseDelayMs ?? 2000;
  const maxAttempts = options.maxAttempts ?? 10;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function fanOut(): Promise<number> {
    return db.transaction().execute(async (trx) => {
      const events = (
        await sql<{ id: number; topic: string }>`
        select id, topic from outbox where dispatched_at is null order by id limit 1000 for update skip locked`.execute(trx)
      ).rows;
      if (events.length === 0) return 0;
      const ids = events.map((e) => Number(e.id));
      await sql`
        insert into webhook_deliveries (outbox_id, subscription_id)
        select o.id, s.id from outbox o join webhook_subscriptions s on s.active and o.topic = any(s.topics) and o.created_at >= s.created_at
        where o.id = any(${ids}::bigint[])
        on conflict (outbox_id, subscription_id) do nothing`.execute(trx);
      await sql`update outbox set dispatched_at = now() where id = any(${ids}::bigint[])`.execute(trx);
      return events.length;
    });
  }

  async function deliverDue(now: Date): Promise<number> {
    // Claim due deliveries with a lease, so a crash mid-send retries later and no two dispatchers send one twice at once.
    const lease = new Date(now.getTime() + timeoutMs + 30_000);
    const claimed = await db.transaction().execute(
      async (trx) =>
        (
          await sql<{
            id: number;
            attempts: number;
            outbox_id: number;
            topic: string;
            resource_type: string;
            resource_id: string;
            payload: unknown;
            created_at: Date;
            url: string;
            secret: string;
            subscription_id: string;
            fhir: unknown;
            api_token_id: string | null;
          }>`
      with due as (
        select d.id from webhook_deliveries d
        where d.delivered_at is null and d.failed_at is null and d.skipped_at is null and d.next_attempt_at <= greatest(now(), ${now.toISOString()}::timestamptz)
        order by d.next_attempt_at, d.id limit 50 for update skip locked)
      update webhook_deliveries d set next_attempt_at = ${lease.toISOString()}::timestamptz, attempts = d.attempts + 1
      from due, outbox o, webhook_subscriptions s
      where d.id = due.id and o.id = d.outbox_id and s.id = d.subscription_id
      returning d.id, d.attempts, d.outbox_id, o.topic, o.resource_type, o.resource_id, o.payload, o.created_at, s.url, s.secret,
        s.id as subscription_id, s.fhir, s.api_token_id`.execute(trx)
        ).rows,
    );

    await Promise.all(
      claimed.map(async (delivery) => {
        // A FHIR Subscription's notification is rendered by the FHIR module, as its subscriber:
        // one they may not read, or that does not match the criteria, is set aside unsent.
        let fhir: Extract<Awaited<ReturnType<FhirRenderer>>, { send: true }> | undefined;
        if (delivery.fhir !== null && delivery.fhir !== undefined) {
          const render = options.renderFhir ?? fhirNotificationRenderer();
          const rendered = render
            ? await render(db, {
                subscriptionId: delivery.subscription_id,
                subscription: typeof delivery.fhir === 'string' ? JSON.parse(delivery.fhir) : delivery.fhir,
                apiTokenId: delivery.api_token_id,
                outboxId: Number(delivery.outbox_id),
                topic: delivery.topic,
                resourceType: delivery.resource_type,
                resourceId: delivery.resource_id,
                occurredAt: new Date(delivery.created_at),
              }).catch(() => undefined)
            : undefined;
          if (!rendered) {
            // Not yet renderable here (no FHIR module in this process, or the database failed): later.
            await db
              .updateTable('webhook_deliveries')
              .set({ next_attempt_at: new Date(now.getTime() + baseDelayMs), attempts: Math.max(0, Number(delivery.attempts) - 1) })
              .where('id', '=', delivery.id)
              .execute();
            return;
          }
          if (!rendered.send) {
            await db
              .updateTable('webhook_deliveries')
              .set({ skipped_at: new Date(), skip_reason: rendered.reason })
              .where('id', '=', delivery.id)
              .execute();
            return;
          }
          fhir = rendered;
        }
        const body = fhir
          ? fhir.body
          : JSON.stringify({
              id: `evt-${delivery.outbox_id}`,
              type: delivery.topic,
              occurredAt: new Date(delivery.created_at).toISOString(),
              resource: {
                resourceType: delivery.resource_type,
                id: delivery.resource_id,
                reference: `${delivery.resource_type}/${delivery.resource_id}`,
              },
              data: typeof delivery.payload === 'string' ? JSON.parse(delivery.payload) : delivery.payload,
            });
        const timestamp = Math.floor(Date.now() / 1000);
        let status: number | null = null;
        let error: string | null = null;
        try {
          const response = await doFetch(delivery.url, {
            method: 'POST',
            headers: {
              ...fhir?.headers,
              ...(fhir ? (fhir.contentType ? { 'content-type': fhir.contentType } : {}) : { 'content-type': 'application/json' }),
              'user-agent': 'Joinery-Webhooks/1',
              'x-joinery-event-id': `evt-${delivery.outbox_id}`,
              'x-joinery-event-type': delivery.topic,
              'x-joinery-signature': signatureHeader(delivery.secret, body, timestamp),
            },
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(timeoutMs),
          });
          status = response.status;
          await response.body?.cancel().catch(() => {});
          if (status < 200 || status >= 300) error = `the receiver answered ${status}`;
        } catch (e) {
          error = (e as Error).name === 'TimeoutError' ? 'the receiver did not answer in time' : 'the receiver could not be reached';
        }
        const attempts = Number(delivery.attempts);
        if (error === null) {
          await db
            .updateTable('webhook_deliveries')
            .set({ delivered_at: new Date(), last_status: status, last_error: null })
            .where('id', '=', delivery.id)
            .execute();
          if (fhir) await markFhirSubscription(db, delivery.subscription_id, { error: null });
        } else if (attempts >= maxAttempts) {
          await db
            .updateTable('webhook_deliveries')
            .set({ failed_at: new Date(), last_status: status, last_error: error })
            .where('id', '=', delivery.id)
            .execute();
          if (fhir) await markFhirSubscription(db, delivery.subscription_id, { error });
        } else {
          const next = new Date(now.getTime() + backoffMs(attempts, baseDelayMs));
          await db
            .updateTable('webhook_deliveries')
            .set({ next_attempt_at: next, last_status: status, last_error: error })
            .where('id', '=', delivery.id)
            .execute();
        }
      }),
    );
    return claimed.length;
  }

  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const dispatcher: Dispatcher = {
    async runOnce(now = new Date()) {
      while ((await fanOut()) === 1000);
      return deliverDue(now);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => {});
    },
  };

  if (options.intervalMs !== undefined) {
    const tick = () => {
      if (stopped) return;
      running = (async () => {
        // Nothing to do without subscriptions: keep the database quiet.
        const any = await db.selectFrom('webhook_subscriptions').select('id').where('active', '=', true).limit(1).executeTakeFirst();
        if (any) await dispatcher.runOnce();
      })()
        .catch(() => {})
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, options.intervalMs).unref();
        });
    };
    timer = setTimeout(tick, options.intervalMs).unref();
  }
  return dispatcher;
}

/**
 * Every webhook subscription, oldest first, with its deliveries counted by state (delivered,
 * failed, still to go, and skipped: a FHIR Subscription's notification its subscriber could not
 * read, or that did not match, never sent): what an administrator sees of them.
 */
export async function webhooksWithDeliveries(db: Kysely<Database>) {
  const subscriptions = await db
    .selectFrom('webhook_subscriptions')
    .select(['id', 'url', 'topics', 'active', 'created_at', 'fhir_status'])
    .orderBy('created_at')
    .execute();
  const counts = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => [
      'subscription_id',
      eb.fn.count<number>('id').filterWhere('delivered_at', 'is not', null).as('delivered'),
      eb.fn.count<number>('id').filterWhere('failed_at', 'is not', null).as('failed'),
      eb.fn
        .count<number>('id')
        .filterWhere((w) => w.and([w('delivered_at', 'is', null), w('failed_at', 'is', null), w('skipped_at', 'is', null)]))
        .as('pending'),
      eb.fn.count<number>('id').filterWhere('skipped_at', 'is not', null).as('skipped'),
    ])
    .groupBy('subscription_id')
    .execute();
  return { subscriptions, counts };
}
