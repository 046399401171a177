// FHIR R4 Subscriptions (rest-hook) built on the webhooks: a Subscription is stored as a webhook
// of the user whose token made it, on the outbox topic its criteria listen to (ServiceRequest and
// Task: referral.status; CarePlan: plan.changed; Consent: consent.changed; EpisodeOfCare:
// care_network.changed), and delivered by the same transactional outbox and dispatcher, with its
// retries. At delivery the criteria are run as a search by the subscriber, restricted to the
// event's resource (_id), through the same access decision as any search: a notification is sent
// only when the resource matches and the subscriber may read it now (their token still live).
//
// The payload is id-only, the safest choice: with channel.payload absent the POST has no body
// (R4's "just a notification"); with application/fhir+json it is a history Bundle in the shape of
// the Subscriptions R5 Backport's id-only content (a Parameters of the subscription's status and
// the event, then an entry naming the resource by fullUrl, with no resource). The subscriber reads
// the resource through the API, where the access decision applies again. Nothing else is sent.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Bundle, CapabilityStatement, Subscription } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import {
  addFhirSubscription,
  apiTokenIdOf,
  checkWebhookUrl,
  countFhirSubscriptionsOf,
  fhirSubscriptionOf,
  fhirSubscriptionsOf,
  setFhirNotificationRenderer,
  updateFhirSubscription,
  userForApiTokenId,
  type FhirDelivery,
  type OutboxTopic,
  type RenderedNotification,
  type StoredSubscription,
} from '../interop/index.ts';
import { search, type Query } from './engine.ts';
import { FhirError, invalid } from './outcome.ts';
import { validateFhir } from './validate.ts';
import { compartmentTypes, exportableTypes } from './bulk-export.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** The outbox topic whose events can change a resource of each type a Subscription may name. */
export const subscriptionTopics: Record<string, OutboxTopic> = {
  ServiceRequest: 'referral.status',
  Task: 'referral.status',
  CarePlan: 'plan.changed',
  Consent: 'consent.changed',
  EpisodeOfCare: 'care_network.changed',
};

/** The outbox event's resource type for each type a Subscription may name (a Task is its referral's). */
const eventType: Record<string, string> = {
  ServiceRequest: 'ServiceRequest',
  Task: 'ServiceRequest',
  CarePlan: 'CarePlan',
  Consent: 'Consent',
  EpisodeOfCare: 'EpisodeOfCare',
};

const MAX_SUBSCRIPTIONS = 20;
/** Headers a subscriber may not set: they belong to HTTP itself or to Joinery's signature. */
const RESERVED_HEADERS =
  /^(host|content-length|content-type|connection|transfer-encoding|te|upgrade|trailer|keep-alive|proxy-.*|user-agent|x-joinery-.*)$/i;

function parseCriteria(criteria: unknown): { type: string; query: Query } {
  if (typeof criteria !== 'string' || criteria.trim() === '') throw invalid('criteria is required, e.g. ServiceRequest?status=active');
  const [type = '', queryString = ''] = criteria.trim().split('?', 2);
  if (!Object.hasOwn(subscriptionTopics, type))
    throw new FhirError(
      400,
      'not-supported',
      `Subscriptions are offered for ${Object.keys(subscriptionTopics).join(', ')} (the changes Joinery tells partners of), not ${type}`,
    );
  const query: Query = {};
  for (const [k, v] of new URLSearchParams(queryString)) {
    if (k.startsWith('_') && k !== '_id') throw invalid(`criteria take search parameters, not ${k}`);
    const existing = query[k];
    query[k] = existing === undefined ? v : [...(Array.isArray(existing) ? existing : [existing]), v];
  }
  return { type, query };
}

function parseHeaders(headers: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (headers.length > 10) throw invalid('channel.header may have at most 10 entries');
  for (const h of headers) {
    const m = /^([A-Za-z0-9-]{1,64}):\s?([^\r\n]{0,2000})$/.exec(h);
    if (!m) throw invalid(`channel.header "${h.slice(0, 40)}" must be "Name: value"`);
    if (RESERVED_HEADERS.test(m[1]!)) throw invalid(`channel.header may not set ${m[1]}`);
    out[m[1]!.toLowerCase()] = m[2]!;
  }
  return out;
}

/** A Subscription as sent, checked: rest-hook, an endpoint Joinery may call, criteria it can evaluate. */
async function checkSubscription(
  db: Kysely<Database>,
  request: FastifyRequest,
  body: unknown,
): Promise<{ resource: Subscription; topic: OutboxTopic; status: 'active' | 'off' }> {
  const r = body as Subscription | undefined;
  if (!r || typeof r !== 'object' || r.resourceType !== 'Subscription') throw invalid('the body must be a Subscription');
  const issues = validateFhir(r);
  if (issues.length > 0)
    throw new FhirError(
      400,
      'structure',
      issues.map((i) => `${i.expression?.[0] ?? 'Subscription'}: ${i.diagnostics ?? 'invalid'}`).join('; '),
    );
  if (r.channel.type !== 'rest-hook') throw new FhirError(400, 'not-supported', 'only channel.type rest-hook is offered');
  if (!r.channel.endpoint) throw invalid('channel.endpoint is required for a rest-hook');
  try {
    checkWebhookUrl(r.channel.endpoint);
  } catch (error) {
    throw invalid(`channel.endpoint: ${(error as Error).message}`);
  }
  if (r.channel.payload !== undefined && r.channel.payload !== 'application/fhir+json')
    throw new FhirError(400, 'not-supported', 'channel.payload must be absent (no body) or application/fhir+json (id-only notification)');
  parseHeaders(r.channel.header);
  const { type, query } = parseCriteria(r.criteria);
  // The criteria must be a search the subscriber could run now (parameters known, values valid).
  await search({ db, actor: request.user!, base: '' }, type, { ...query, _count: '0', _total: 'none' });
  if (r.end && new Date(r.end).getTime() <= Date.now()) throw invalid('end is in the past');
  const status = r.status === 'off' ? 'off' : 'active';
  const { id: _id, meta: _meta, ...rest } = r;
  return { resource: { ...rest, status } as Subscription, topic: subscriptionTopics[type]!, status };
}

function asResource(s: StoredSubscription): Subscription {
  const r = s.resource as Subscription;
  return {
    ...r,
    resourceType: 'Subscription',
    id: s.id,
    meta: { versionId: String(s.version) },
    status: s.status,
    ...(s.error ? { error: s.error } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Notifications

/** What to send for one event to one Subscription, decided as the subscriber. */
export async function renderNotification(db: Kysely<Database>, base: string, d: FhirDelivery): Promise<RenderedNotification> {
  const subscription = d.subscription as Subscription;
  const user = d.apiTokenId ? await userForApiTokenId(db, d.apiTokenId) : undefined;
  if (!user) return { send: false, reason: 'the token that made the Subscription is no longer valid' };
  if (subscription.end && new Date(subscription.end).getTime() <= d.occurredAt.getTime())
    return { send: false, reason: 'the Subscription had ended' };
  let type: string;
  let query: Query;
  try {
    ({ type, query } = parseCriteria(subscription.criteria));
  } catch {
    return { send: false, reason: 'the criteria can no longer be evaluated' };
  }
  if (eventType[type] !== d.resourceType) return { send: false, reason: 'the event is not about the criteria type' };
  let matched: boolean;
  try {
    const found = await search({ db, actor: user, base }, type, { ...query, _id: d.resourceId, _count: '1', _total: 'none' });
    matched = (found.entry ?? []).some((e) => e.search?.mode === 'match');
  } catch (error) {
    if (error instanceof FhirError) return { send: false, reason: 'the criteria can no longer be evaluated' };
    throw error;
  }
  if (!matched) return { send: false, reason: 'the resource does not match the criteria, or the subscriber may not read it' };
  const headers = parseHeaders(subscription.channel.header);
  if (subscription.channel.payload === undefined) return { send: true, body: '', contentType: undefined, headers };
  const reference = `${type}/${d.resourceId}`;
  const notification: Bundle = {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: `${base}/Subscription/${d.subscriptionId}` } },
            { name: 'topic', valueCanonical: `${base}/Subscription/${d.subscriptionId}` },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(d.outboxId) },
                { name: 'timestamp', valueInstant: d.occurredAt.toISOString() },
                { name: 'focus', valueReference: { reference } },
              ],
            },
          ],
        },
        request: { method: 'GET', url: `Subscription/${d.subscriptionId}/$status` },
        response: { status: '200' },
      },
      { fullUrl: `${base}/${reference}`, request: { method: 'PUT', url: reference }, response: { status: '200' } },
    ],
  };
  return { send: true, body: JSON.stringify(notification), contentType: 'application/fhir+json', headers };
}

// ---------------------------------------------------------------------------------------------
// Routes

function bearerToken(request: FastifyRequest): string {
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!m || !request.user)
    throw new FhirError(401, 'login', 'send a bearer token: Authorization: Bearer <token> (joinery token create --user NAME)');
  return m[1]!;
}

function mayCreate(request: FastifyRequest): void {
  bearerToken(request);
  if (request.user!.role !== 'practitioner')
    throw new FhirError(
      403,
      'forbidden',
      "Subscriptions are for partner systems acting as a practitioner (a notification is decided as its subscriber); this account's role cannot make one",
    );
}

/** Search parameters of R4 Subscription this server does not offer (the CapabilityStatement lists them). */
const UNSUPPORTED_SUBSCRIPTION_PARAMS = ['contact', 'criteria', 'payload', 'type', 'url'];

/**
 * A search of the token's own Subscriptions: by status (comma-separated codes: active, off), or
 * all of them. Any other parameter is refused, as on every other type, never silently ignored.
 */
function subscriptionStatusSearched(query: Query): string[] | undefined {
  let status: string[] | undefined;
  for (const [key, value] of Object.entries(query)) {
    if (key === '_format' || key === '_pretty') continue;
    if (key !== 'status')
      throw new FhirError(
        400,
        'not-supported',
        `${key} is not a search parameter of Subscription here (only status); see /fhir/metadata for what is supported`,
      );
    // Commas are alternatives; a repeated status narrows (both must hold), as in every FHIR search.
    for (const one of Array.isArray(value) ? value : [value]) {
      const codes = String(one ?? '').split(',');
      if (codes.some((code) => !['active', 'off', 'requested', 'error'].includes(code)))
        throw invalid('status is one of active, off, requested, error');
      status = status === undefined ? codes : status.filter((code) => codes.includes(code));
    }
  }
  return status;
}

export function registerSubscriptionRoutes(fhir: FastifyInstance): void {
  const base = () => `${fhir.joinery.config.publicUrl}/fhir`;
  setFhirNotificationRenderer((db, delivery) => renderNotification(db, base(), delivery));
  const db = () => fhir.joinery.database.db;

  fhir.post('/Subscription', { config: { csrf: false } }, async (request, reply) => {
    mayCreate(request);
    const checked = await checkSubscription(db(), request, request.body);
    if ((await countFhirSubscriptionsOf(db(), request.user!.id)) >= MAX_SUBSCRIPTIONS)
      throw new FhirError(429, 'throttled', `an account may have at most ${MAX_SUBSCRIPTIONS} active Subscriptions; turn one off first`);
    const tokenId = await apiTokenIdOf(db(), bearerToken(request));
    if (!tokenId) throw new FhirError(401, 'login', 'the bearer token is not valid (unknown, expired or revoked)');
    const stored = await addFhirSubscription(db(), {
      url: checked.resource.channel.endpoint!,
      topic: checked.topic,
      resource: checked.resource,
      apiTokenId: tokenId,
      userId: request.user!.id,
      status: checked.status,
    });
    const resource = asResource(stored);
    return reply
      .code(201)
      .header('location', `${base()}/Subscription/${stored.id}/_history/${stored.version}`)
      .header('etag', `W/"${stored.version}"`)
      .type(FHIR_JSON)
      .send(resource);
  });
  fhir.get('/Subscription', async (request, reply) => {
    bearerToken(request);
    const status = subscriptionStatusSearched(request.query as Query);
    const mine = (await fhirSubscriptionsOf(db(), request.user!.id)).filter((s) => status === undefined || status.includes(s.status));
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: mine.length,
      link: [{ relation: 'self', url: `${base()}/Subscription` }],
      ...(mine.length > 0
        ? {
            entry: mine.map((s) => ({
              fullUrl: `${base()}/Subscription/${s.id}`,
              resource: asResource(s),
              search: { mode: 'match' as const },
            })),
          }
        : {}),
    };
    return reply.type(FHIR_JSON).send(bundle);
  });
  fhir.get('/Subscription/:id', async (request, reply) => {
    bearerToken(request);
    const stored = await fhirSubscriptionOf(db(), request.user!.id, (request.params as { id: string }).id);
    if (!stored) throw new FhirError(404, 'not-found', 'there is no such Subscription of yours');
    return reply.header('etag', `W/"${stored.version}"`).type(FHIR_JSON).send(asResource(stored));
  });
  fhir.put('/Subscription/:id', { config: { csrf: false } }, async (request, reply) => {
    mayCreate(request);
    const { id } = request.params as { id: string };
    const current = await fhirSubscriptionOf(db(), request.user!.id, id);
    if (!current) throw new FhirError(404, 'not-found', 'there is no such Subscription of yours');
    const ifMatch = request.headers['if-match'];
    if (ifMatch && ifMatch !== `W/"${current.version}"`)
      throw new FhirError(412, 'conflict', `the Subscription has changed (version ${current.version})`);
    const checked = await checkSubscription(db(), request, request.body);
    const stored = await updateFhirSubscription(db(), request.user!.id, id, {
      url: checked.resource.channel.endpoint!,
      topic: checked.topic,
      resource: checked.resource,
      status: checked.status,
    });
    if (!stored) throw new FhirError(404, 'not-found', 'there is no such Subscription of yours');
    return reply.header('etag', `W/"${stored.version}"`).type(FHIR_JSON).send(asResource(stored));
  });
}

// ---------------------------------------------------------------------------------------------
// CapabilityStatement

/** The CapabilityStatement with Bulk Data $export (system, Patient, Group) and Subscription. */
export function withBulkAndSubscriptions(statement: CapabilityStatement): CapabilityStatement {
  const exportOp = { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' };
  const rest = statement.rest?.[0];
  if (!rest) return statement;
  const resources = (rest.resource ?? []).map((r) =>
    r.type === 'Patient'
      ? {
          ...r,
          operation: [
            ...(r.operation ?? []),
            { ...exportOp, definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' },
          ],
        }
      : r.type === 'Group'
        ? {
            ...r,
            operation: [
              ...(r.operation ?? []),
              { ...exportOp, definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' },
            ],
          }
        : r,
  );
  resources.push({
    type: 'Subscription',
    documentation: `R4 rest-hook Subscriptions on ${Object.keys(subscriptionTopics).join(', ')}, made by practitioners' tokens; each notification is id-only (no body, or with payload application/fhir+json a history Bundle naming the resource) and sent only when the resource matches the criteria and the subscriber may read it at that moment. Turn one off with status off. A search lists the token's own Subscriptions, by status or all; not supported: ${UNSUPPORTED_SUBSCRIPTION_PARAMS.join(', ')}.`,
    interaction: [{ code: 'create' }, { code: 'read' }, { code: 'update' }, { code: 'search-type' }],
    searchParam: [{ name: 'status', type: 'token', documentation: 'active, off (comma-separated for either). No modifiers.' }],
    versioning: 'versioned',
  });
  return {
    ...statement,
    instantiates: [...(statement.instantiates ?? []), 'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
    rest: [
      {
        ...rest,
        resource: resources,
        operation: [...(rest.operation ?? []), exportOp],
        documentation: `${rest.documentation ?? ''} Bulk Data $export (system: ${exportableTypes().length} types; Patient and Group (a household): ${compartmentTypes().join(', ')}) asynchronous with Prefer: respond-async, kicked off by GET or by POST with a Parameters body; _type, _since, _outputFormat (application/fhir+ndjson) and _typeFilter (searches of an exported type with its parameters and modifiers, no chains or _has; a type's filters are alternatives); not supported (400): _elements, patient, includeAssociatedData, _until. Each resource passes the access decision as a read by the token's account (action export), and only that token may poll and download. A SMART app exports only the types its scopes let it read (naming another is 403), and under a patient/ scope only the launch patient's records.`,
      },
    ],
  };
}
