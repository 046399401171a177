// The FHIR R4 REST API at /fhir: CapabilityStatement, read, search (GET and POST _search),
// create, update, and transaction / batch Bundles; history, vread, $everything, compartment
// search, PATCH and $validate in history-routes.ts. Bearer tokens only
// (the web session is not accepted, so no CSRF is needed); every error is an OperationOutcome.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { registerSmartGuard, smartContext, smartSecurity, userForBearer } from './smart-guard.ts';
import { withIndexLock, forgetIndexState, indexState } from '../linkage/index.ts';
import { defFor, readResource, readRow, search, writtenRow, type FhirContext, type Query } from './engine.ts';
import { keepReceived, notKept, notKeptOutcome } from './stored.ts';
import { asFhirError, FhirError, invalid, operationOutcome, stopIfClientGone } from './outcome.ts';
import { Refusal } from '../platform/refused.ts';
import { checkBundleEntries, checkResourceSize, MAX_BUNDLE_BYTES, MAX_RESOURCE_BYTES } from './limits.ts';
import { apiRateLimit } from '../platform/http.ts';
import { errorForLog } from '../platform/logger.ts';
import { resourceDefs } from './resources.ts';
import { createPatient, createPatientStandalone, createServiceRequest, updatePatient, updateTask, type WriteResult } from './writes.ts';
import { careWriters, type Writer } from './care-writes.ts';
import { adminWriters } from './admin-writes.ts';
import { familyWriters } from './family-writes.ts';
import { clinicalWriters } from './clinical-writes.ts';
import { isClinicalType } from './clinical.ts';
import { receivedIssues } from './validate.ts';
import { searchCapability, searchDocumentation, shapeForRead } from './search-features.ts';
import { checkId } from './params.ts';
import { registerBulkExportRoutes } from './bulk-export.ts';
import { registerSubscriptionRoutes, withBulkAndSubscriptions } from './subscriptions.ts';
import { alsoChangedByCreate, keepingHistory } from './history.ts';
import { inTransaction } from '../platform/db.ts';
import { registerHistoryRoutes, withHistoryCapabilities } from './history-routes.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Links are built on PUBLIC_URL: Host and X-Forwarded-Host are chosen by the client. */
function baseUrl(request: FastifyRequest): string {
  return `${request.server.joinery.config.publicUrl}/fhir`;
}

/** Aborted when a request's client goes away before its answer is sent. */
const clientGone = new WeakMap<object, AbortSignal>();

function context(request: FastifyRequest): FhirContext {
  const user = request.user;
  if (!user) throw new FhirError(401, 'login', 'send a bearer token: Authorization: Bearer <token> (joinery token create --user NAME)');
  return {
    db: request.server.joinery.database.db,
    actor: user,
    base: baseUrl(request),
    signal: clientGone.get(request.raw),
    lenient: /handling\s*=\s*lenient/i.test(String(request.headers.prefer ?? '')),
    ...smartContext(request),
  };
}

function sendResource(reply: FastifyReply, resource: Resource, status = 200): FastifyReply {
  const version = resource.meta?.versionId;
  if (version) reply.header('etag', `W/"${version}"`);
  if (resource.meta?.lastUpdated) reply.header('last-modified', new Date(resource.meta.lastUpdated).toUTCString());
  return reply.code(status).type(FHIR_JSON).send(resource);
}

function checkValid(resource: unknown, type: string): Resource {
  const r = resource as Resource | undefined;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw invalid('the body must be a FHIR resource in JSON');
  if (r.resourceType !== type) throw invalid(`the body must be a ${type}, not ${String(r.resourceType)}`);
  checkResourceSize(r, type);
  const issues = receivedIssues(r);
  if (issues.length > 0) {
    const error = new FhirError(
      400,
      'structure',
      issues
        .map((i) => `${i.expression?.[0] ?? type}: ${i.details?.text ?? i.diagnostics ?? 'invalid'}`)
        .slice(0, 10)
        .join('; '),
    );
    throw error;
  }
  return r;
}

/** Create and update for every writable type but Patient create (which needs the person index). */
const writers: Record<string, Writer> = {
  ...careWriters,
  ...adminWriters,
  ...familyWriters,
  ...clinicalWriters,
  Patient: { update: (ctx, id, resource, ifMatch) => inTransaction(ctx.db, (trx) => updatePatient(ctx, trx, id, resource, ifMatch)) },
  ServiceRequest: { create: (ctx, resource) => createServiceRequest(ctx, ctx.db, resource) },
  Task: { update: (ctx, id, resource, ifMatch) => updateTask(ctx, ctx.db, id, resource, ifMatch) },
};

/** The writer for a create or update the type offers; otherwise a 405 saying why not. */
function writerFor(type: string, interaction: 'create' | 'update'): Writer {
  const def = defFor(type);
  const writer = writers[type];
  const special = type === 'Patient' && interaction === 'create';
  if (!def.interactions.includes(interaction) || (!special && !writer?.[interaction])) {
    throw new FhirError(
      405,
      'not-supported',
      `${type} cannot be ${interaction === 'create' ? 'created' : 'updated'} through this API: ${def.writes[interaction]}`,
    );
  }
  return writer ?? {};
}

/**
 * Conditional create (If-None-Exist: a search): one match the actor can see is the answer, and
 * nothing is created (200); more than one is a 412; none, and the create goes ahead.
 */
async function existingMatch(ctx: FhirContext, type: string, ifNoneExist: string | undefined): Promise<WriteResult | undefined> {
  if (ifNoneExist === undefined || ifNoneExist.trim() === '') return undefined;
  const ids = await matchingIds(ctx, type, ifNoneExist, 'If-None-Exist');
  if (ids.length > 1)
    throw new FhirError(412, 'multiple-matches', `If-None-Exist (${ifNoneExist}) matches more than one ${type}; make it more selective`);
  return ids[0] ? { type, id: ids[0], created: false, matched: true } : undefined;
}

/**
 * The ids (at most two: one is the answer, two too many) a search written as a URL's query finds
 * among what the actor may see, for a conditional create or a conditional reference. Only
 * search parameters (and _id): result parameters would change what "the match" is.
 */
async function matchingIds(ctx: FhirContext, type: string, search_: string, what: string): Promise<string[]> {
  const query: Query = {};
  for (const [k, v] of new URLSearchParams(search_.replace(/^.*\?/, ''))) {
    if (k.startsWith('_') && k !== '_id') throw invalid(`${what} takes search parameters, not ${k}`);
    const existing = query[k];
    query[k] = existing === undefined ? v : [...(Array.isArray(existing) ? existing : [existing]), v];
  }
  if (Object.keys(query).length === 0)
    throw invalid(`${what} must be a search, e.g. identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009`);
  const found = await search(ctx, type, { ...query, _count: '2', _total: 'none' });
  return (found.entry ?? []).filter((e) => e.search?.mode === 'match').flatMap((e) => (e.resource?.id ? [e.resource.id] : []));
}

/** A conditional reference (`Organization?identifier=...|...`), as Synthea's exports name practitioners and organisations. */
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?(.+)$/;

/**
 * A transaction's conditional references, each replaced by the one resource its search finds
 * (R4 http.html#trules): none, or more than one, fails the transaction. Searched as the writer,
 * so a reference can only be resolved to what they may see: a person they may not see is
 * answered as one nobody has. Each distinct search runs once per transaction.
 */
async function resolveConditionalReferences(ctx: FhirContext, value: unknown, resolved: Map<string, string>): Promise<unknown> {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) out.push(await resolveConditionalReferences(ctx, v, resolved));
    return out;
  }
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const conditional = k === 'reference' && typeof v === 'string' ? CONDITIONAL_REFERENCE.exec(v) : null;
    if (!conditional) {
      out[k] = await resolveConditionalReferences(ctx, v, resolved);
      continue;
    }
    const reference = v as string;
    const [, type, query] = conditional as unknown as [string, string, string];
    if (!resolved.has(reference)) {
      if (!Object.hasOwn(resourceDefs, type))
        throw invalid(`the conditional reference ${reference.slice(0, 120)} names ${type}, which this server does not serve`);
      const ids = await matchingIds(ctx, type, query, 'a conditional reference');
      if (ids.length === 0)
        throw new FhirError(
          404,
          'not-found',
          `the conditional reference ${reference.slice(0, 120)} matches no ${type}; send that ${type} first`,
        );
      if (ids.length > 1)
        throw new FhirError(412, 'multiple-matches', `the conditional reference ${reference.slice(0, 120)} matches more than one ${type}`);
      resolved.set(reference, `${type}/${ids[0]}`);
    }
    out[k] = resolved.get(reference);
  }
  return out;
}

/** A write's result with what was sent, to say afterwards what of it was not kept. */
type Written = WriteResult & { sent?: Resource };

/**
 * Files what was sent as the resource's stored copy, under the person and category of the row
 * the write made. Not for a create that matched someone already known (the sender's copy must not
 * replace theirs), nor for types whose rows are shown in parts (households, care networks).
 */
async function keepSent(ctx: FhirContext, db: FhirContext['db'], result: WriteResult, sent: Resource): Promise<void> {
  if (result.matched) return;
  const def = defFor(result.type);
  // A clinical resource is kept whole by its writer: the row is the copy.
  if (def.keptWhole || isClinicalType(result.type) || result.whole) return;
  if (def.access?.membersOf || def.access?.redact || def.access?.partCategories) return;
  const row = await writtenRow({ ...ctx, db }, result.type, result.id);
  if (!row) return;
  await keepReceived(
    db,
    ctx,
    result.type,
    result.id,
    sent,
    def.access?.personOf(row) ?? null,
    def.access?.categoryOf(row) ?? 'demographics',
  );
}

async function doCreate(ctx: FhirContext, type: string, body: unknown, ifNoneExist?: string): Promise<Written> {
  const writer = writerFor(type, 'create');
  const resource = checkValid(body, type);
  const existing = await existingMatch(ctx, type, ifNoneExist);
  if (existing) return existing;
  // Every version the write makes is kept for _history once it is done.
  const result = await keepingHistory(ctx, alsoChangedByCreate(type, resource), async () => {
    const made = type === 'Patient' ? await createPatientStandalone(ctx, resource) : await writer.create!(ctx, resource);
    await keepSent(ctx, ctx.db, made, resource);
    return made;
  });
  return { ...result, sent: resource };
}

async function doUpdate(ctx: FhirContext, type: string, id: string, body: unknown, ifMatch?: string): Promise<Written> {
  checkId(id);
  const writer = writerFor(type, 'update');
  const resource = checkValid(body, type);
  // The version replaced is kept as it last stood, and every version the write makes once it is done.
  const result = await keepingHistory(ctx, [{ type, id }], async () => {
    const made = await writer.update!(ctx, id, resource, ifMatch);
    await keepSent(ctx, ctx.db, made, resource);
    return made;
  });
  return { ...result, sent: resource };
}

/** What of the resource sent did not come back on reading it, as warnings (none: an information issue). */
function keptOutcome(result: Written, resource: Resource): OperationOutcome | undefined {
  if (!result.sent || resource.resourceType === 'OperationOutcome') return undefined;
  return notKeptOutcome(result.type, result.id, notKept(result.sent, resource));
}

/**
 * The resource as written, read back through the access decision. A write can leave it out of the
 * writer's sight (a member of another agency joined the network; the writer left it): then the
 * answer says so instead of showing it.
 */
async function writtenResource(ctx: FhirContext, result: WriteResult): Promise<Resource> {
  try {
    return await readResource(ctx, result.type, result.id);
  } catch (error) {
    if (error instanceof FhirError && error.status === 404) {
      const what = result.created ? 'created' : result.matched ? 'matched to someone already known (nothing new was created)' : 'updated';
      return operationOutcome(
        'information',
        'informational',
        `${result.type}/${result.id} was ${what}; the access rules do not show it to you`,
      );
    }
    throw error;
  }
}

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

/** Why the request's _format or Accept cannot be answered (XML, or FHIR other than 4.0), if it cannot. */
export function unacceptable(request: FastifyRequest): string | undefined {
  // An export's files are NDJSON (bulk-export.ts), asked for as such.
  if (request.url.includes('/bulk-files/')) return undefined;
  const format = (request.query as Record<string, unknown> | undefined)?._format;
  for (const f of Array.isArray(format) ? format : format === undefined ? [] : [format]) {
    const type = String(f).split(';')[0]!.trim().toLowerCase();
    if (!JSON_FORMATS.has(type)) return `_format=${String(f)} is not offered: this server answers in FHIR R4 JSON only (_format=json)`;
  }
  const accept = request.headers.accept;
  if (!accept) return undefined;
  const ranges = accept
    .split(',')
    .map((range) => {
      const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
      const param = (name: string) =>
        params
          .find((p) => p.startsWith(`${name}=`))
          ?.slice(name.length + 1)
          .replace(/"/g, '');
      return { type, q: Number(param('q') ?? 1), version: param('fhirversion') };
    })
    .filter((r) => r.type !== '' && !(r.q === 0));
  if (ranges.length === 0) return undefined;
  const acceptable = ranges.some(
    (r) =>
      (JSON_FORMATS.has(r.type) || r.type === '*/*' || r.type === 'application/*') &&
      (r.version === undefined || r.version === '4.0' || r.version === '4.0.1'),
  );
  if (acceptable) return undefined;
  const version = ranges.find((r) => r.version !== undefined)?.version;
  return version && !['4.0', '4.0.1'].includes(version)
    ? `FHIR ${version} is not offered: this server speaks FHIR R4 (fhirVersion=4.0) in JSON`
    : `${accept} is not offered: this server answers application/fhir+json (FHIR R4) only`;
}

/** Prefer: return=OperationOutcome asks for what was kept instead of the resource. */
function preferOutcome(request: FastifyRequest): boolean {
  return /return\s*=\s*OperationOutcome/i.test(String(request.headers.prefer ?? ''));
}

/** The paths not kept, in a header beside the resource (the full list: Prefer: return=OperationOutcome). */
function notKeptHeader(reply: FastifyReply, kept: OperationOutcome | undefined): void {
  const missing = (kept?.issue ?? [])
    .filter((i) => i.severity === 'warning')
    .map((i) => i.expression?.[0])
    .filter((p): p is string => !!p);
  if (missing.length > 0)
    reply.header('x-fhir-not-kept', missing.slice(0, 20).join(', ') + (missing.length > 20 ? `, and ${missing.length - 20} more` : ''));
}

export function capabilityStatement(base: string): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    id: 'joinery',
    url: `${base}/metadata`,
    name: 'JoineryFhirApi',
    title: 'Joinery FHIR R4 API',
    status: 'active',
    date: '2026-11-23',
    publisher: 'Joinery',
    kind: 'instance',
    software: { name: 'Joinery', version: '0.1.0' },
    implementation: { description: 'Joinery: one care network around people and households', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          "Bearer tokens (joinery token create --user NAME). Every read, search and write passes the same access decision as the web, and is audited; writes go through the same rules and history as the web pages. Each resource written is kept as sent and merged with what Joinery models on read; what is not kept is named in an OperationOutcome warning (Prefer: return=OperationOutcome, or the x-fhir-not-kept header). Bundle.total counts only what the reader may see (_total=none|estimate|accurate). Clinical resources Joinery does not model (Encounter, Condition, Observation, MedicationRequest, Immunization, AllergyIntolerance, DiagnosticReport, Procedure, and what else a Synthea export holds: Claim, ExplanationOfBenefit, DocumentReference, ImagingStudy, MedicationAdministration, Device, SupplyDelivery, Provenance, and another system's CareTeam or CarePlan) are kept whole against the Patient they name, as health information: shown beyond the sending organisation only where the person agreed. A Medication (a product prescriptions name in medicationReference, about no person) is kept whole as sent and readable by any API user. Transactions resolve urn:uuid and absolute fullUrl references (and relative ones against an absolute fullUrl's base), and take absolute request URLs; transactions and batches resolve conditional references (Practitioner?identifier=system|value) to the one resource the writer may see that matches (none or several fail the transaction). FHIR R4 JSON only: XML or other versions answer 406.",
        security: smartSecurity(base),
        resource: Object.values(resourceDefs).map((def) => ({
          type: def.type as NonNullable<CapabilityStatement['rest']>[number]['resource'] extends (infer R)[] | undefined
            ? R extends { type: infer T }
              ? T
              : never
            : never,
          documentation: `Create: ${def.interactions.includes('create') ? '' : 'not offered. '}${def.writes.create} Update: ${def.interactions.includes('update') ? '' : 'not offered. '}${def.writes.update}${searchDocumentation(def)}`,
          interaction: def.interactions.map((code) => ({ code })),
          versioning: 'versioned' as const,
          readHistory: false,
          updateCreate: false,
          conditionalCreate: def.interactions.includes('create'),
          ...searchCapability(def),
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

/** An update's answer (PUT, and PATCH once its patch is applied): the resource as written, or what was not kept. */
async function replyToUpdate(
  request: FastifyRequest,
  reply: FastifyReply,
  type: string,
  id: string,
  body: unknown,
  ifMatch: string | undefined,
): Promise<FastifyReply> {
  const ctx = context(request);
  const result = await doUpdate(ctx, type, id, body, ifMatch);
  const resource = await writtenResource(ctx, result);
  const kept = keptOutcome(result, resource);
  if (kept && preferOutcome(request)) return reply.type(FHIR_JSON).send(kept);
  notKeptHeader(reply, kept);
  return sendResource(reply, resource);
}

// ---------------------------------------------------------------------------------------------
// Bundles

interface Planned {
  index: number;
  entry: BundleEntry;
  method: string;
  type: string;
  id?: string;
  query?: Query;
  assignedId?: string;
}

/**
 * A request URL's path below the base, and its query: relative (Patient, /fhir/Patient/1) or
 * absolute (https://example.org/fhir/Patient/123), whose base is whatever precedes the first
 * segment naming a resource type.
 */
function requestTarget(url: string): { parts: string[]; queryString: string | undefined } {
  if (/^https?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(`${url.slice(0, 100)} is not a URL`);
    }
    const segments = parsed.pathname
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
    const at = segments.findIndex((p) => Object.hasOwn(resourceDefs, p));
    return { parts: at >= 0 ? segments.slice(at) : segments.slice(-1), queryString: parsed.search.replace(/^\?/, '') || undefined };
  }
  const [path, queryString] = url
    .replace(/^\/+/, '')
    .replace(/^fhir\//, '')
    .split('?');
  return { parts: path!.split('/'), queryString };
}

function plan(entry: BundleEntry, index: number): Planned {
  const method = entry.request?.method;
  const url = entry.request?.url;
  if (!method || !url) throw invalid(`entry ${index + 1} has no request.method and request.url`);
  const { parts, queryString } = requestTarget(url);
  const type = parts[0] ?? '';
  defFor(type);
  if (method === 'GET') {
    const query: Query = {};
    for (const [k, v] of new URLSearchParams(queryString ?? '')) {
      const existing = query[k];
      query[k] = existing === undefined ? v : [...(Array.isArray(existing) ? existing : [existing]), v];
    }
    // A read keeps its query too: _summary and _elements shape it as they would on its own.
    if (parts.length === 2) return { index, entry, method, type, id: checkId(parts[1]!), query };
    return { index, entry, method, type, query };
  }
  if (method === 'POST' && parts.length === 1) return { index, entry, method, type };
  if (method === 'PUT' && parts.length === 2) return { index, entry, method, type, id: checkId(parts[1]!) };
  throw new FhirError(405, 'not-supported', `entry ${index + 1}: ${method} ${url} is not supported in a Bundle`);
}

const order: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/** Replaces references to the Bundle's entries (urn:uuid, absolute URLs) with the ids the POSTs got. */
function resolveReferences(value: unknown, ids: Map<string, string>, relative?: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids, relative));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        k === 'reference' && typeof v === 'string' && (ids.has(v) || relative?.has(v))
          ? (ids.get(v) ?? relative!.get(v))
          : resolveReferences(v, ids, relative);
    }
    return out;
  }
  return value;
}

/** An absolute fullUrl's base and Type/id (https://example.org/fhir/Patient/123), if it is one. */
function absoluteFullUrl(fullUrl: string | undefined): { base: string; local: string } | undefined {
  const m = fullUrl ? /^(https?:\/\/.+)\/([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(fullUrl) : null;
  return m && Object.hasOwn(resourceDefs, m[2]!) ? { base: m[1]!, local: `${m[2]}/${m[3]}` } : undefined;
}

/**
 * Records the id an entry got under the names other entries may use for it: its fullUrl
 * (urn:uuid or absolute), and for an absolute fullUrl its Type/id relative to that base (a
 * relative reference in an entry of the same base means it, as FHIR resolves them).
 */
function nameEntry(
  fullUrl: string | undefined,
  reference: string,
  ids: Map<string, string>,
  relative: Map<string, Map<string, string>>,
): void {
  if (!fullUrl) return;
  if (fullUrl.startsWith('urn:uuid:') || fullUrl.startsWith('urn:oid:')) ids.set(fullUrl, reference);
  const absolute = absoluteFullUrl(fullUrl);
  if (absolute) {
    ids.set(fullUrl, reference);
    const local = relative.get(absolute.base) ?? relative.set(absolute.base, new Map()).get(absolute.base)!;
    local.set(absolute.local, reference);
  }
}

function statusLine(status: number): string {
  return `${status} ${({ 200: 'OK', 201: 'Created', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 412: 'Precondition Failed', 422: 'Unprocessable Entity' } as Record<number, string>)[status] ?? ''}`.trim();
}

async function writtenEntry(ctx: FhirContext, result: Written): Promise<BundleEntry> {
  const resource = await writtenResource(ctx, result);
  const kept = keptOutcome(result, resource);
  return {
    fullUrl: `${ctx.base}/${result.type}/${result.id}`,
    ...(resource.resourceType === 'OperationOutcome' ? {} : { resource }),
    response: {
      status: statusLine(result.created ? 201 : 200),
      location: `${result.type}/${result.id}/_history/${resource.meta?.versionId ?? '1'}`,
      etag: `W/"${resource.meta?.versionId ?? '1'}"`,
      ...(resource.meta?.lastUpdated ? { lastModified: resource.meta.lastUpdated } : {}),
      ...(resource.resourceType === 'OperationOutcome' ? { outcome: resource } : kept ? { outcome: kept } : {}),
    },
  };
}

async function readEntry(ctx: FhirContext, p: Planned): Promise<BundleEntry> {
  if (p.id) {
    const resource = shapeForRead(await readResource(ctx, p.type, p.id), p.query);
    return {
      fullUrl: `${ctx.base}/${p.type}/${p.id}`,
      resource,
      response: { status: '200 OK', etag: `W/"${resource.meta?.versionId ?? '1'}"` },
    };
  }
  return { resource: await search(ctx, p.type, p.query ?? {}), response: { status: '200 OK' } };
}

async function runTransaction(ctx: FhirContext, bundle: Bundle): Promise<Bundle> {
  const entries = bundle.entry ?? [];
  checkBundleEntries(entries.length, 'transaction');
  // Patients are created first among the POSTs: the entries about them name them.
  const patientFirst = (p: Planned) => (p.method === 'POST' && p.type === 'Patient' ? 0 : 1);
  const planned = entries
    .map(plan)
    .sort((a, b) => order[a.method]! - order[b.method]! || patientFirst(a) - patientFirst(b) || a.index - b.index);
  for (const p of planned) if (p.method !== 'GET') checkValid(p.entry.resource, p.type);
  const ids = new Map<string, string>();
  const relative = new Map<string, Map<string, string>>();
  // Clinical entries (and medicines) get their ids before any is written, so an entry may name one that follows it.
  for (const p of planned) {
    if (p.method !== 'POST' || !(isClinicalType(p.type) || p.type === 'Medication')) continue;
    p.assignedId = randomUUID();
    nameEntry(p.entry.fullUrl, `${p.type}/${p.assignedId}`, ids, relative);
  }
  const writes = new Map<number, Written>();
  const conditional = new Map<string, string>();
  await withIndexLock(ctx.db, async () => {
    await indexState(ctx.db);
    try {
      await ctx.db.transaction().execute(async (trx) => {
        // Every entry's writer runs in this transaction (ctx.db): none opens its own.
        const tctx = { ...ctx, db: trx };
        // Versions kept for _history within the transaction: rolled back with it.
        const updating = planned.flatMap((p) =>
          p.method === 'PUT' ? [{ type: p.type, id: p.id! }] : p.method === 'POST' ? alsoChangedByCreate(p.type, p.entry.resource) : [],
        );
        await keepingHistory(tctx, updating, async () => {
          for (const p of planned) {
            if (p.method === 'GET') continue;
            // Rolled back if the client has gone: nobody would learn the ids it was given.
            await stopIfClientGone(ctx.signal);
            const base = absoluteFullUrl(p.entry.fullUrl)?.base;
            const resource = (await resolveConditionalReferences(
              tctx,
              resolveReferences(p.entry.resource, ids, base ? relative.get(base) : undefined),
              conditional,
            )) as Resource;
            let result: Written;
            if (p.method === 'POST') {
              const writer = writerFor(p.type, 'create');
              const found = await existingMatch(tctx, p.type, p.entry.request?.ifNoneExist);
              result =
                found ??
                (p.type === 'Patient'
                  ? await createPatient(tctx, trx, ctx.db, resource)
                  : await writer.create!(tctx, resource, p.assignedId));
              if (!found) {
                await keepSent(tctx, trx, result, resource);
                result = { ...result, sent: resource } as Written;
              }
              nameEntry(p.entry.fullUrl, `${p.type}/${result.id}`, ids, relative);
            } else {
              result = await writerFor(p.type, 'update').update!(tctx, p.id!, resource, p.entry.request?.ifMatch);
              await keepSent(tctx, trx, result, resource);
              result = { ...result, sent: resource } as Written;
            }
            writes.set(p.index, result);
          }
          return [...writes.values()];
        });
      });
    } catch (error) {
      forgetIndexState(ctx.db);
      throw error;
    }
  });
  const out: BundleEntry[] = new Array(entries.length);
  for (const p of planned) {
    await stopIfClientGone(ctx.signal);
    out[p.index] = writes.has(p.index) ? await writtenEntry(ctx, writes.get(p.index)!) : await readEntry(ctx, p);
  }
  return { resourceType: 'Bundle', type: 'transaction-response', timestamp: new Date().toISOString(), entry: out };
}

async function runBatch(ctx: FhirContext, bundle: Bundle): Promise<Bundle> {
  const entries = bundle.entry ?? [];
  checkBundleEntries(entries.length, 'batch');
  const out: BundleEntry[] = [];
  // Synthea's hospital bundles are batches whose places name their organisation conditionally, as HAPI allows.
  const conditional = new Map<string, string>();
  for (const [index, entry] of entries.entries()) {
    // Between entries, not within one: the client that went will not read the rest.
    await stopIfClientGone(ctx.signal);
    try {
      const p = plan(entry, index);
      const resource = p.method === 'GET' ? undefined : await resolveConditionalReferences(ctx, entry.resource, conditional);
      if (p.method === 'GET') out.push(await readEntry(ctx, p));
      else if (p.method === 'POST') out.push(await writtenEntry(ctx, await doCreate(ctx, p.type, resource, entry.request?.ifNoneExist)));
      else out.push(await writtenEntry(ctx, await doUpdate(ctx, p.type, p.id!, resource, entry.request?.ifMatch)));
    } catch (error) {
      // A refusal of any kind is this entry's 4xx, as it would be for the request alone; anything else a 500.
      const refusal = error instanceof Refusal && error.status < 500 ? asFhirError(error) : undefined;
      const outcome = refusal
        ? operationOutcome('error', refusal.code, refusal.message)
        : operationOutcome('error', 'exception', 'this entry could not be processed');
      out.push({ response: { status: statusLine(refusal?.status ?? 500), outcome } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', timestamp: new Date().toISOString(), entry: out };
}

// ---------------------------------------------------------------------------------------------

export function registerFhirRoutes(app: FastifyInstance): void {
  void app.register(
    async (fhir) => {
      fhir.addContentTypeParser(
        ['application/fhir+json', 'application/json+fhir'],
        { parseAs: 'string', bodyLimit: MAX_BUNDLE_BYTES },
        (_request, body, done) => {
          try {
            done(null, JSON.parse(body as string));
          } catch {
            done(new FhirError(400, 'structure', 'the body is not valid JSON'), undefined);
          }
        },
      );

      // Only JSON bodies: text/plain (which Fastify would otherwise read as a string) is a 415.
      fhir.removeContentTypeParser('text/plain');

      // Only FHIR R4 in JSON is spoken: XML, or another FHIR version, is a 406 rather than R4 JSON
      // the client did not ask for. Checked before the token, so the refusal costs nothing.
      fhir.addHook('onRequest', async (request) => {
        const problem = unacceptable(request);
        if (problem) throw new FhirError(406, 'not-supported', problem);
      });

      // Bearer tokens replace the session here: a cookie must not act on the API (no CSRF on these routes).
      fhir.addHook('onRequest', async (request) => {
        request.user = undefined;
        const header = request.headers.authorization;
        if (!header) return;
        const m = /^Bearer\s+(\S+)$/i.exec(header);
        const user = m ? await userForBearer(request, m[1]!) : undefined;
        if (!user) throw new FhirError(401, 'login', 'the bearer token is not valid (unknown, expired or revoked)');
        request.user = user;
      });

      fhir.addHook('onRequest', async (request, reply) => {
        const controller = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        clientGone.set(request.raw, controller.signal);
      });

      // Each user's requests per minute, after the token has said who they are.
      fhir.addHook('preHandler', apiRateLimit(app, 'fhir'));
      // SMART app tokens: only within their scopes, patient/ scopes only about the launch patient.
      registerSmartGuard(fhir);

      fhir.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
        // Every refusal (FHIR's own, a page's, a domain module's) answers once, as an OperationOutcome.
        if (error instanceof Refusal && error.status < 500) {
          const refusal = asFhirError(error);
          if (refusal.status === 401) reply.header('www-authenticate', 'Bearer realm="joinery-fhir"');
          return reply
            .code(refusal.status)
            .type(FHIR_JSON)
            .send(operationOutcome('error', refusal.code, refusal.message, refusal.expression));
        }
        const status = error.statusCode ?? 500;
        if (status >= 500) {
          request.log.error({ err: errorForLog(error), path: request.routeOptions.url }, 'fhir request failed');
          return reply
            .code(500)
            .type(FHIR_JSON)
            .send(operationOutcome('error', 'exception', `the request could not be handled; reference ${request.id}`));
        }
        const message =
          error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'send application/fhir+json'
            : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
              ? `the body is too large: one resource may be at most ${MAX_RESOURCE_BYTES.toLocaleString('en-GB')} bytes, a Bundle ${MAX_BUNDLE_BYTES.toLocaleString('en-GB')}`
              : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
                ? 'the body is not valid JSON'
                : status === 429
                  ? 'too many requests; wait and try again'
                  : 'the request could not be handled';
        return reply
          .code(status)
          .type(FHIR_JSON)
          .send(
            operationOutcome(
              'error',
              status === 415 ? 'not-supported' : status === 429 ? 'throttled' : status === 413 ? 'too-costly' : 'invalid',
              message,
            ),
          );
      });
      fhir.setNotFoundHandler(async (_request, reply) =>
        reply
          .code(404)
          .type(FHIR_JSON)
          .send(operationOutcome('error', 'not-found', 'there is nothing at this address in the FHIR API')),
      );

      fhir.get('/metadata', async (request, reply) =>
        reply.type(FHIR_JSON).send(withHistoryCapabilities(withBulkAndSubscriptions(capabilityStatement(baseUrl(request))))),
      );
      registerBulkExportRoutes(fhir);
      registerSubscriptionRoutes(fhir);

      fhir.get('/:type', async (request, reply) => {
        const { type } = request.params as { type: string };
        return reply.type(FHIR_JSON).send(await search(context(request), type, request.query as Query));
      });
      fhir.post('/:type/_search', { config: { csrf: false } }, async (request, reply) => {
        const { type } = request.params as { type: string };
        const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Query;
        return reply.type(FHIR_JSON).send(await search(context(request), type, { ...(request.query as Query), ...body }));
      });
      fhir.get('/:type/:id', async (request, reply) => {
        const { type, id } = request.params as { type: string; id: string };
        return sendResource(reply, shapeForRead(await readResource(context(request), type, id), request.query as Query));
      });
      registerHistoryRoutes(fhir, { context, sendResource, replyToUpdate, checkValid });
      fhir.post('/:type', { config: { csrf: false }, bodyLimit: MAX_RESOURCE_BYTES }, async (request, reply) => {
        const { type } = request.params as { type: string };
        const ctx = context(request);
        const ifNoneExist = request.headers['if-none-exist'];
        const result = await doCreate(ctx, type, request.body, Array.isArray(ifNoneExist) ? ifNoneExist[0] : ifNoneExist);
        const resource = await writtenResource(ctx, result);
        reply.header('location', `${ctx.base}/${result.type}/${result.id}/_history/${resource.meta?.versionId ?? '1'}`);
        const kept = keptOutcome(result, resource);
        if (kept && preferOutcome(request))
          return reply
            .code(result.created ? 201 : 200)
            .type(FHIR_JSON)
            .send(kept);
        notKeptHeader(reply, kept);
        // Nothing new was made (a conditional create found its match, or a Patient matched someone
        // already known through the person index): 200, as FHIR answers an existing resource, and
        // only an OperationOutcome unless the access rules already show that person to the writer.
        return sendResource(reply, resource, result.created ? 201 : 200);
      });
      fhir.put('/:type/:id', { config: { csrf: false }, bodyLimit: MAX_RESOURCE_BYTES }, async (request, reply) => {
        const { type, id } = request.params as { type: string; id: string };
        return replyToUpdate(request, reply, type, id, request.body, request.headers['if-match']);
      });
      fhir.post('/', { config: { csrf: false } }, async (request, reply) => {
        const ctx = context(request);
        const bundle = request.body as Bundle | undefined;
        if (!bundle || bundle.resourceType !== 'Bundle') throw invalid('POST a Bundle of type transaction or batch to the base');
        if (bundle.type === 'transaction') return reply.type(FHIR_JSON).send(await runTransaction(ctx, bundle));
        if (bundle.type === 'batch') return reply.type(FHIR_JSON).send(await runBatch(ctx, bundle));
        throw invalid('the Bundle must be of type transaction or batch');
      });
      // OPTIONS says which methods an address takes. No CORS headers: the API is for servers holding
      // a bearer token, not for scripts on other sites' pages, so a browser's preflight learns only this.
      fhir.options('/*', { config: { csrf: false } }, async (request, reply) => {
        const depth = (request.params as { '*': string })['*'].split('/').filter(Boolean).length;
        const allow =
          depth === 0
            ? 'GET, POST, OPTIONS'
            : depth === 1
              ? 'GET, POST, OPTIONS'
              : depth === 2
                ? 'GET, PUT, PATCH, OPTIONS'
                : 'GET, POST, OPTIONS';
        return reply.code(204).header('allow', allow).send();
      });
      // Methods the API does not offer still answer with an OperationOutcome.
      for (const method of ['DELETE', 'PATCH'] as const) {
        fhir.route({
          method,
          url: '/*',
          config: { csrf: false },
          handler: async () => {
            throw new FhirError(405, 'not-supported', `${method} is not supported by this API`);
          },
        });
      }
    },
    { prefix: '/fhir' },
  );
}

export { readRow };
