// SMART app tokens on the FHIR API. A SMART access token acts as the user who approved the app,
// through the same access decision as every other request, and never beyond its scopes: each
// request's type and interaction must be in a granted scope (else 403), and where only a patient/
// scope allows it, the request is confined to the launch patient (ctx.confinedTo, which the
// engine applies to every row before any access decision, and a search is narrowed to that
// patient so its pages fill). History, $everything and $export give only the types the scopes
// read (narrowed with _type), under a patient/ scope only the launch patient's. Interactions this
// guard does not know are refused to SMART tokens, so an interaction added to the API later is
// closed to apps until it is mapped here. Every app request, allowed or refused, goes on the
// audit trail naming the app.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import type { SignedInUser } from '../auth/index.ts';
import { userForApiToken } from '../interop/index.ts';
import { auditAppRequest, isSmartAccessToken, smartAccessForToken, type SmartAccess } from './smart/grants.ts';
import { scopesAllow, type Permission } from './smart/scopes.ts';
import { resourceDefs } from './resources.ts';
import { writtenRow, type FhirContext } from './engine.ts';
import { FhirError } from './outcome.ts';
import { PATIENT_COMPARTMENT } from './everything.ts';

const accessOf = new WeakMap<object, SmartAccess>();
const confinedOf = new WeakMap<object, string>();

/** The user a bearer token acts as: an API token's, or a SMART app token's (remembered for the guard). */
export async function userForBearer(request: FastifyRequest, token: string): Promise<SignedInUser | undefined> {
  const db = request.server.joinery.database.db;
  if (!isSmartAccessToken(token)) return userForApiToken(db, token);
  const access = await smartAccessForToken(db, token);
  if (access) accessOf.set(request.raw, access);
  return access?.user;
}

/** May the app read resources of this type (read or search), and is it confined to the launch patient to do so? */
function readable(access: SmartAccess, type: string): { allowed: boolean; confined: boolean } {
  const r = scopesAllow(access.scopes, type, 'r');
  const s = scopesAllow(access.scopes, type, 's');
  if (!r.allowed && !s.allowed) return { allowed: false, confined: false };
  // Confined only when no user/ scope covers it either way.
  return { allowed: true, confined: !((r.allowed && !r.confined) || (s.allowed && !s.confined)) };
}

/** Personal types the app may read only about the launch patient: then a bulk export or history is confined to them. */
function confinedTypes(access: SmartAccess): string[] {
  return Object.keys(resourceDefs).filter((t) => resourceDefs[t]!.access && readable(access, t).confined);
}

/**
 * For $export by a SMART app: the types its scopes let it read, and the launch patient the whole
 * export is confined to when any personal type is readable only under a patient/ scope.
 */
export function smartExportLimits(request: FastifyRequest): { readable(type: string): boolean; confinedTo?: string } | undefined {
  const access = accessOf.get(request.raw);
  if (!access) return undefined;
  const confined = confinedTypes(access).length > 0 && access.personId ? access.personId : undefined;
  return { readable: (type) => readable(access, type).allowed, ...(confined ? { confinedTo: confined } : {}) };
}

/** What the FHIR context carries for this request: the launch patient a patient/ scope confines it to. */
export function smartContext(request: FastifyRequest): Pick<FhirContext, 'confinedTo'> {
  const person = confinedOf.get(request.raw);
  return person ? { confinedTo: person } : {};
}

const WORDS: Record<Permission, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

function refuse(message: string): never {
  throw new FhirError(403, 'forbidden', message);
}

/** Every `Patient/<id>` a resource refers to, wherever it does. */
function patientReferences(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 32 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    for (const v of value) patientReferences(v, out, depth + 1);
    return out;
  }
  for (const [key, v] of Object.entries(value)) {
    if (key === 'reference' && typeof v === 'string') {
      const m = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/.exec(v);
      if (m) out.push(m[1]!);
    } else patientReferences(v, out, depth + 1);
  }
  return out;
}

/** A type's search parameter naming the patient, to narrow a confined search to the launch patient. */
function patientParam(type: string): string | undefined {
  if (type === 'Patient') return '_id';
  const names = Object.keys(resourceDefs[type]?.paramTypes ?? {});
  return ['patient', 'subject', 'member', 'beneficiary'].find((n) => names.includes(n));
}

function addParam(target: unknown, name: string, value: string): void {
  if (!target || typeof target !== 'object') return;
  const record = target as Record<string, unknown>;
  const existing = record[name];
  record[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
}

/** The type and interaction of one entry of a batch or transaction, from its method and URL. */
function entryInteraction(entry: NonNullable<Bundle['entry']>[number]): { type: string; perm: Permission } | undefined {
  const method = entry.request?.method;
  const url = entry.request?.url ?? '';
  const path = url.split('?')[0]!.split('/').filter(Boolean);
  const at = path.findIndex((p) => /^[A-Z][A-Za-z]+$/.test(p));
  const type = at >= 0 ? path[at]! : (entry.resource as Resource | undefined)?.resourceType;
  if (!type) return undefined;
  const id = at >= 0 ? path[at + 1] : undefined;
  if (method === 'GET') return { type, perm: id && id !== '_search' ? 'r' : 's' };
  if (method === 'POST') return { type, perm: 'c' };
  if (method === 'PUT') return { type, perm: 'u' };
  if (method === 'PATCH') return { type, perm: 'u' };
  if (method === 'DELETE') return { type, perm: 'd' };
  return undefined;
}

async function check(request: FastifyRequest, access: SmartAccess): Promise<string> {
  const route = `${request.method} ${request.routeOptions.url ?? ''}`;
  const params = (request.params ?? {}) as Record<string, string>;
  const db = request.server.joinery.database.db;
  if (route === 'GET /fhir/metadata') return 'read the CapabilityStatement';
  if (route === 'POST /fhir/' || route === 'POST /fhir') {
    const bundle = request.body as Bundle | undefined;
    for (const entry of bundle?.entry ?? []) {
      const wanted = entryInteraction(entry);
      if (!wanted) refuse('an entry of this Bundle is not an interaction SMART apps may make');
      const answer = scopesAllow(access.scopes, wanted.type, wanted.perm);
      if (!answer.allowed) refuse(`this app's scopes (${access.scope}) do not allow it to ${WORDS[wanted.perm]} ${wanted.type}`);
      if (answer.confined)
        refuse('patient/ scopes cover single reads, searches and writes about the launch patient, not batches or transactions');
    }
    return `${bundle?.type ?? 'Bundle'} of ${bundle?.entry?.length ?? 0} entries`;
  }
  // Bulk export: the kick-off checks each type against the scopes (smartExportLimits); its status,
  // files and cancelling answer only the token that asked.
  if (/^(GET|POST) \/fhir\/(\$export|Patient\/\$export|Group\/:id\/\$export)$/.test(route)) {
    if (!Object.keys(resourceDefs).some((t) => readable(access, t).allowed))
      refuse(`this app's scopes (${access.scope}) allow it to read nothing`);
    if (route.includes('Group')) {
      const group = readable(access, 'Group');
      if (!group.allowed || group.confined)
        refuse('a Group export needs a user/ scope that reads Group; a patient/ scope exports with Patient/$export');
    }
    if (confinedTypes(access).length > 0) {
      if (!access.personId) refuse('patient/ scopes need a launch patient');
      confinedOf.set(request.raw, access.personId);
    }
    return `bulk export (${request.routeOptions.url})`;
  }
  if (['GET /fhir/bulk-status/:id', 'DELETE /fhir/bulk-status/:id', 'GET /fhir/bulk-files/:id/:file'].includes(route))
    return 'bulk export status or file';
  // History and $everything give many types at once: narrowed (_type) to those the scopes let the
  // app read, naming one outside them is refused; under a patient/ scope, the launch patient's only.
  if (
    route === 'GET /fhir/_history' ||
    (route === 'GET /fhir/:type/:id/:part' && params.type === 'Patient' && params.part === '$everything')
  ) {
    const everything = route !== 'GET /fhir/_history';
    const query = request.query as Record<string, unknown>;
    const asked =
      query._type === undefined
        ? undefined
        : String(Array.isArray(query._type) ? query._type.join(',') : query._type)
            .split(',')
            .map((t) => t.trim());
    const outside = (asked ?? []).filter((t) => !readable(access, t).allowed);
    if (outside.length > 0) refuse(`this app's scopes (${access.scope}) do not allow it to read ${outside.join(', ')}`);
    const offered = everything ? ['Patient', ...Object.keys(PATIENT_COMPARTMENT), 'Task'] : Object.keys(resourceDefs);
    const types = asked ?? offered.filter((t) => readable(access, t).allowed);
    if (types.length === 0) refuse(`this app's scopes (${access.scope}) allow it to read nothing`);
    if (asked === undefined) query._type = types.join(',');
    if (types.some((t) => resourceDefs[t]?.access && readable(access, t).confined)) {
      if (!access.personId) refuse('patient/ scopes need a launch patient');
      if (everything && params.id !== access.personId) refuse('patient/ scopes reach the launch patient only');
      confinedOf.set(request.raw, access.personId);
    }
    return everything ? `$everything of Patient/${params.id} (${types.join(', ')})` : `system history (${types.join(', ')})`;
  }
  const interactions: Record<string, Permission> = {
    'GET /fhir/:type': 's',
    'POST /fhir/:type/_search': 's',
    'GET /fhir/:type/:id': 'r',
    'GET /fhir/:type/:id/_history/:vid': 'r',
    'GET /fhir/:type/_history': 's',
    'POST /fhir/:type': 'c',
    'PUT /fhir/:type/:id': 'u',
  };
  // A compartment search (Patient/[id]/[type]) is a search of that type about the patient;
  // PATCH an update (under user/ scopes only: a patch can point a resource at someone else).
  const compartment = route === 'GET /fhir/:type/:id/:part' && params.type === 'Patient' && /^[A-Z][A-Za-z]+$/.test(params.part ?? '');
  // An instance's history is a read of each of its versions.
  const instanceHistory = route === 'GET /fhir/:type/:id/:part' && params.part === '_history';
  const perm = compartment ? 's' : instanceHistory ? 'r' : route === 'PATCH /fhir/:type/:id' ? 'u' : interactions[route];
  if (!perm || !params.type) refuse('this interaction is not open to SMART apps');
  const type = compartment ? params.part! : params.type;
  const answer = scopesAllow(access.scopes, type, perm);
  if (!answer.allowed) refuse(`this app's scopes (${access.scope}) do not allow it to ${WORDS[perm]} ${type}`);
  const what = compartment
    ? `search ${type} of Patient/${params.id}`
    : `${WORDS[perm]} ${type}${params.id ? `/${params.id}` : ''}${instanceHistory || route.endsWith('/_history') ? ' history' : ''}`;
  if (!answer.confined) return what;
  const patient = access.personId;
  if (!patient) refuse('patient/ scopes need a launch patient');
  if (route === 'PATCH /fhir/:type/:id') refuse('patient/ scopes do not cover PATCH: send the whole resource with PUT');
  if (compartment && params.id !== patient) refuse('patient/ scopes reach the launch patient only');
  const def = resourceDefs[type];
  // Nobody's personal data (the directory, staff): a patient/ scope reaches it as a user's would.
  if (!def?.access) return what;
  confinedOf.set(request.raw, patient);
  // History: every version passes the confinement (engine.ts authorise) as the current one does.
  if (instanceHistory || route === 'GET /fhir/:type/_history') return what;
  if (perm === 's') {
    const param = patientParam(type);
    if (param) {
      addParam(request.query, param, param === '_id' ? patient : `Patient/${patient}`);
      if (request.method === 'POST') addParam(request.body, param, param === '_id' ? patient : `Patient/${patient}`);
    }
  } else if (perm === 'c' || perm === 'u') {
    if (type === 'Patient' && perm === 'c') refuse('patient/ scopes cannot create a Patient');
    const refs = type === 'Patient' ? [params.id ?? ''] : patientReferences(request.body);
    if (refs.length === 0 || refs.some((id) => id !== patient)) refuse('patient/ scopes let this app write about the launch patient only');
    if (perm === 'u' && params.id) {
      const row = await writtenRow({ db }, type, params.id).catch(() => undefined);
      if (row && def.access.personOf(row) !== patient) refuse('patient/ scopes let this app write about the launch patient only');
    }
  }
  return what;
}

/** Search results of types the app may not read (an _include) are left out of what it is sent. */
function withinScopes(access: SmartAccess, payload: unknown): unknown {
  const bundle = payload as Bundle | undefined;
  if (!bundle || bundle.resourceType !== 'Bundle' || (bundle.type !== 'searchset' && bundle.type !== 'history') || !bundle.entry)
    return payload;
  const entry = bundle.entry.filter((e) => {
    const type = e.resource?.resourceType;
    if (!type || type === 'OperationOutcome') return true;
    return scopesAllow(access.scopes, type, 'r').allowed || scopesAllow(access.scopes, type, 's').allowed;
  });
  if (entry.length === bundle.entry.length) return payload;
  // FHIR JSON has no empty arrays: a Bundle left with no entries has none.
  const { entry: _all, ...rest } = bundle;
  return entry.length > 0 ? { ...rest, entry } : rest;
}

/** Adds the guard to the FHIR API's scope: after the bearer token says who it is, before any handler. */
export function registerSmartGuard(fhir: FastifyInstance): void {
  fhir.addHook('preHandler', async (request) => {
    const access = accessOf.get(request.raw);
    if (!access) return;
    const db = request.server.joinery.database.db;
    try {
      const what = await check(request, access);
      await auditAppRequest(db, access, what, true, confinedOf.get(request.raw) ?? null);
    } catch (error) {
      await auditAppRequest(
        db,
        access,
        `${request.method} ${request.routeOptions.url ?? '(no route)'}: ${(error as Error).message}`,
        false,
        access.personId,
      );
      throw error;
    }
  });
  fhir.addHook('preSerialization', async (request, _reply, payload) => {
    const access = accessOf.get(request.raw);
    return access ? withinScopes(access, payload) : payload;
  });
}

/** The CapabilityStatement's security: bearer tokens, and SMART's OAuth endpoints (its oauth-uris extension). */
export function smartSecurity(base: string): NonNullable<NonNullable<CapabilityStatement['rest']>[number]['security']> {
  const site = base.replace(/\/fhir$/, '');
  return {
    cors: false,
    service: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' }], text: 'Bearer token' },
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }],
        text: 'SMART App Launch',
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'authorize', valueUri: `${site}/smart/authorize` },
          { url: 'token', valueUri: `${site}/smart/token` },
          { url: 'revoke', valueUri: `${site}/smart/revoke` },
        ],
      },
    ],
  };
}
