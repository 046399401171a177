// The FHIR routes for history, $everything, compartment search, JSON Patch and $validate,
// registered inside the /fhir scope by routes.ts (which hands over its request helpers, so the
// bearer token, errors, rate limit and the update path are the same ones every route uses).
// Routes stay thin: each parses, calls a function that decides access itself, and answers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CapabilityStatement, OperationOutcome, Parameters, Resource } from '@medplum/fhirtypes';
import { defFor, type FhirContext, type Query } from './engine.ts';
import { instanceHistory, readVersion, systemHistory, typeHistory } from './history.ts';
import { compartmentSearch, everything, PATIENT_COMPARTMENT } from './everything.ts';
import { patchedResource } from './patch.ts';
import { FhirError, invalid } from './outcome.ts';
import { MAX_RESOURCE_BYTES } from './limits.ts';
import { resourceDefs } from './resources.ts';
import { shapeForRead } from './search-features.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const JSON_PATCH = 'application/json-patch+json';

export interface HistoryRouteDeps {
  context(request: FastifyRequest): FhirContext;
  sendResource(reply: FastifyReply, resource: Resource, status?: number): FastifyReply;
  /** Answers an update as PUT does (validation, writer, kept copy, history, ETag). */
  replyToUpdate(
    request: FastifyRequest,
    reply: FastifyReply,
    type: string,
    id: string,
    body: unknown,
    ifMatch: string | undefined,
  ): Promise<FastifyReply>;
  /** The checks a create or update makes of a resource before writing; throws a FhirError naming each problem. */
  checkValid(resource: unknown, type: string): Resource;
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function registerHistoryRoutes(fhir: FastifyInstance, deps: HistoryRouteDeps): void {
  fhir.addContentTypeParser(JSON_PATCH, { parseAs: 'string', bodyLimit: MAX_RESOURCE_BYTES }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new FhirError(400, 'structure', 'the body is not valid JSON'), undefined);
    }
  });

  fhir.get('/_history', async (request, reply) => {
    return reply.type(FHIR_JSON).send(await systemHistory(deps.context(request), request.query as Query));
  });

  fhir.get('/:type/_history', async (request, reply) => {
    const { type } = request.params as { type: string };
    return reply.type(FHIR_JSON).send(await typeHistory(deps.context(request), type, request.query as Query));
  });

  // Three segments: an instance's history, Patient/[id]/$everything, or a compartment search
  // (Patient/[id]/[type]); one route, since Patient/[id]/_history is all three's shape.
  fhir.get('/:type/:id/:part', async (request, reply) => {
    const { type, id, part } = request.params as { type: string; id: string; part: string };
    const ctx = deps.context(request);
    const query = request.query as Query;
    if (part === '_history') return reply.type(FHIR_JSON).send(await instanceHistory(ctx, type, id, query));
    defFor(type);
    if (type !== 'Patient') throw new FhirError(404, 'not-found', `there is nothing at ${type}/${id}/${part} in the FHIR API`);
    if (part === '$everything') return reply.type(FHIR_JSON).send(await everything(ctx, id, query));
    if (part.startsWith('$')) throw new FhirError(404, 'not-supported', `the operation ${part} is not offered on Patient/${id}`);
    return reply.type(FHIR_JSON).send(await compartmentSearch(ctx, id, part, query));
  });

  fhir.get('/:type/:id/_history/:vid', async (request, reply) => {
    const { type, id, vid } = request.params as { type: string; id: string; vid: string };
    // A vread is a read: _summary and _elements shape it as they do the current version.
    return deps.sendResource(reply, shapeForRead(await readVersion(deps.context(request), type, id, vid), request.query as Query));
  });

  fhir.patch('/:type/:id', { config: { csrf: false }, bodyLimit: MAX_RESOURCE_BYTES }, async (request, reply) => {
    const { type, id } = request.params as { type: string; id: string };
    const ctx = deps.context(request);
    const contentType = String(request.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (contentType !== JSON_PATCH && contentType !== 'application/json')
      throw new FhirError(
        415,
        'not-supported',
        `PATCH takes a JSON Patch (Content-Type: ${JSON_PATCH}); FHIRPath Patch (Parameters) is not supported`,
      );
    defFor(type);
    const { resource, ifMatch } = await patchedResource(ctx, type, id, request.body, header(request.headers['if-match']));
    return deps.replyToUpdate(request, reply, type, id, resource, ifMatch);
  });

  // $validate: the checks a create or update makes, without writing (nothing is stored or audited).
  fhir.post('/:type/$validate', { config: { csrf: false }, bodyLimit: MAX_RESOURCE_BYTES }, async (request, reply) => {
    const { type } = request.params as { type: string };
    deps.context(request);
    defFor(type);
    const body = request.body as Resource | undefined;
    const resource =
      body?.resourceType === 'Parameters'
        ? (body as Parameters).parameter?.find((p) => p.name === 'resource')?.resource
        : (body as Resource | undefined);
    if (!resource) throw invalid('POST the resource to validate, or Parameters with a parameter named resource');
    const query = request.query as Query;
    const mode = (body as Parameters).parameter?.find((p) => p.name === 'mode')?.valueCode ?? query.mode;
    if (mode !== undefined && mode !== 'create' && mode !== 'update')
      throw new FhirError(400, 'not-supported', '$validate takes mode create or update (resources are not deleted here)');
    if (query.profile !== undefined || (body as Parameters).parameter?.some((p) => p.name === 'profile'))
      throw new FhirError(400, 'not-supported', '$validate checks against the R4 base definitions only; profile is not supported');
    let outcome: OperationOutcome;
    try {
      deps.checkValid(resource, type);
      if (mode === 'update' && !resource.id) throw invalid(`an update needs the ${type}'s id`);
      outcome = {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', diagnostics: `the ${type} is valid FHIR R4` }],
      };
    } catch (error) {
      if (!(error instanceof FhirError) || error.status >= 500) throw error;
      outcome = {
        resourceType: 'OperationOutcome',
        issue: error.message.split('; ').map((diagnostics) => ({ severity: 'error' as const, code: error.code, diagnostics })),
      };
    }
    return reply.type(FHIR_JSON).send(outcome);
  });
}

/** The CapabilityStatement with the interactions and operations these routes offer. */
export function withHistoryCapabilities(statement: CapabilityStatement): CapabilityStatement {
  for (const rest of statement.rest ?? []) {
    for (const resource of rest.resource ?? []) {
      // Only the types served from resourceDefs have history, patch and $validate here.
      if (!Object.hasOwn(resourceDefs, resource.type)) continue;
      const codes = new Set((resource.interaction ?? []).map((i) => i.code));
      const add = (code: NonNullable<typeof resource.interaction>[number]['code']) => {
        if (!codes.has(code)) resource.interaction = [...(resource.interaction ?? []), { code }];
        codes.add(code);
      };
      add('vread');
      add('history-instance');
      add('history-type');
      if (codes.has('update')) add('patch');
      resource.readHistory = true;
      resource.operation = [
        ...(resource.operation ?? []),
        { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
        ...(resource.type === 'Patient'
          ? [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }]
          : []),
      ];
    }
    rest.compartment = [...(rest.compartment ?? []), 'http://hl7.org/fhir/CompartmentDefinition/patient'];
    const system = new Set((rest.interaction ?? []).map((i) => i.code));
    if (!system.has('history-system')) rest.interaction = [...(rest.interaction ?? []), { code: 'history-system' }];
    rest.documentation =
      `${rest.documentation ?? ''} History: GET [type]/[id]/_history, [type]/_history (_since, _count, _summary=true|text|data|count|false, _elements), /_history (every type, or those _type names) and vread of earlier versions, each version through the access decision as it stands now; versions made outside the API (the web pages) or superseded before history was kept are not held, so _at (what was current at a moment) is not supported. Patient/[id]/$everything (_since, _type, _count, _summary, _elements) and compartment search (Patient/[id]/[type]) over the R4 Patient compartment (${Object.keys(PATIENT_COMPARTMENT).join(', ')}; $everything adds Task). PATCH with a JSON Patch (application/json-patch+json), validated and checked as an update. $validate on every type.`.trim();
  }
  return statement;
}
