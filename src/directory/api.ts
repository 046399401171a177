// The public, read-only Open Referral UK API under /oruk: JSON only, no sign-in, following the
// paths and query parameters of the UK profile's OpenAPI description (HSDS 3.0). Bad parameters
// get a 400 naming the problem, unknown ids a 404, both as JSON.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { HttpError, routeOf } from '../platform/http.ts';
import { Refusal } from '../platform/refused.ts';
import { errorForLog, pathOnly } from '../platform/logger.ts';
import { organisationsNamed, serviceIdsOfOrganisation } from '../network/index.ts';
import { isUuid, orukId } from './ids.ts';
import {
  fullServiceObjects,
  lookupPostcode,
  organisationIdForOruk,
  organisationObjects,
  searchServiceAtLocations,
  searchServices,
  serviceAtLocationObjects,
  serviceIdForOruk,
  serviceAtLocationById,
  serviceListObjects,
  taxonomiesPage,
  taxonomyById,
  taxonomyObject,
  taxonomyTerms,
  type Paging,
  type ServiceFilters,
} from './queries.ts';
import { DAY_CODES } from './format.ts';

type Query = Record<string, string | string[] | undefined>;
type Json = Record<string, unknown>;

export const MAX_PER_PAGE = 500;
const DEFAULT_PER_PAGE = 50;

const DAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/** A 400 with a message that says what was wrong and what is accepted. */
export class BadParameter extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new BadParameter(`${name} was given ${value.length} times; give it once`);
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function wholeNumber(query: Query, name: string, min: number, max: number): number | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new BadParameter(`${name} must be a whole number from ${min} to ${max.toLocaleString('en-GB')}, not "${raw.slice(0, 40)}"`);
  }
  return Number(raw);
}

function number(query: Query, name: string, min: number, max: number): number | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
    throw new BadParameter(`${name} must be a number from ${min} to ${max.toLocaleString('en-GB')}, not "${raw.slice(0, 40)}"`);
  }
  return value;
}

function uuid(query: Query, name: string): string | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  if (!isUuid(raw)) throw new BadParameter(`${name} must be a UUID (like 3f7b145d-84af-42d7-8fae-eaca714b02b2), not "${raw.slice(0, 40)}"`);
  return raw.toLowerCase();
}

function time(query: Query, name: string): string | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  const m = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/.exec(raw);
  if (!m) throw new BadParameter(`${name} must be a time of day as HH:MM or HH:MM:SS (24-hour clock), not "${raw.slice(0, 40)}"`);
  return `${m[1]}:${m[2]}:${m[3] ?? '00'}`;
}

function day(query: Query): string | undefined {
  const raw = single(query, 'day');
  if (raw === undefined) return undefined;
  const upper = raw.toUpperCase();
  if ((DAY_CODES as readonly string[]).includes(upper)) return upper;
  const index = DAY_NAMES.indexOf(raw.toLowerCase());
  if (index >= 0) return DAY_CODES[index];
  throw new BadParameter(`day must be a day of the week (MO, TU, WE, TH, FR, SA, SU or its name), not "${raw.slice(0, 40)}"`);
}

export function paging(query: Query): Paging {
  return {
    page: wholeNumber(query, 'page', 1, 1_000_000) ?? 1,
    perPage: wholeNumber(query, 'per_page', 1, MAX_PER_PAGE) ?? DEFAULT_PER_PAGE,
  };
}

/** The ORUK paging envelope around one page of contents. */
export function pageEnvelope(total: number, { page, perPage }: Paging, contents: unknown[]): Json {
  const totalPages = Math.ceil(total / perPage);
  return {
    total_items: total,
    total_pages: totalPages,
    page_number: page,
    size: contents.length,
    first_page: page === 1,
    last_page: page >= totalPages,
    empty: contents.length === 0,
    contents,
  };
}

/** Turns the query string of /services or /service_at_locations into search filters. */
async function serviceFilters(db: Kysely<Database>, query: Query, allowProximity: boolean): Promise<ServiceFilters> {
  const filters: ServiceFilters = {};
  const search = single(query, 'search');
  if (search !== undefined) {
    if (search.length > 200) throw new BadParameter('search must be at most 200 characters');
    filters.search = search;
  }
  const terms = single(query, 'taxonomy_term_id');
  if (terms !== undefined) {
    const ids = terms
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const bad = ids.find((t) => !isUuid(t));
    if (bad !== undefined || ids.length === 0 || ids.length > 20)
      throw new BadParameter(`taxonomy_term_id must be a UUID, or up to 20 separated by commas, not "${(bad ?? terms).slice(0, 40)}"`);
    filters.taxonomyTermIds = ids.map((t) => t.toLowerCase());
  }
  filters.taxonomyId = uuid(query, 'taxonomy_id');
  filters.minimumAge = number(query, 'minimum_age', 0, 150);
  filters.maximumAge = number(query, 'maximum_age', 0, 150);
  filters.age = number(query, 'age', 0, 150);
  const organisation = uuid(query, 'organization_id');
  if (organisation !== undefined) filters.organisationId = (await organisationIdForOruk(db, organisation)) ?? `(unknown ${organisation})`;
  filters.day = day(query);
  filters.startTime = time(query, 'start_time');
  filters.endTime = time(query, 'end_time');
  const postcode = single(query, 'postcode');
  const proximity = allowProximity ? number(query, 'proximity', 1, 1_000_000) : undefined;
  if (proximity !== undefined && postcode === undefined)
    throw new BadParameter('proximity needs a postcode to measure from: add postcode=');
  if (postcode !== undefined) {
    const origin = await lookupPostcode(db, postcode);
    if (!origin) throw new BadParameter(`postcode "${postcode.slice(0, 12)}" is not a postcode this directory knows`);
    filters.origin = origin;
    filters.coversPostcode = origin.postcode;
    if (proximity !== undefined) filters.withinMetres = proximity;
  }
  return filters;
}

function notFound(what: string): never {
  throw new HttpError(404, `There is no ${what} with that id.`);
}

function idParam(request: FastifyRequest, what: string): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!isUuid(id)) notFound(what);
  return id.toLowerCase();
}

const STATUS_NAMES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
};

export function registerOrukApi(app: FastifyInstance): void {
  const db = () => app.joinery.database.db;
  app.register(
    async (api) => {
      api.addHook('onSend', async (_request, reply, payload) => {
        reply.header('access-control-allow-origin', '*');
        reply.header('cache-control', 'public, max-age=60');
        return payload;
      });
      api.setNotFoundHandler(async (request, reply) => {
        return reply
          .code(404)
          .type('application/json')
          .send({ status: 404, error: 'Not Found', message: `There is no ${pathOnly(request.url)} in this API. Start at /oruk/.` });
      });
      api.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
        const refusal = error instanceof Refusal && error.status < 500 ? error : undefined;
        const status = refusal ? refusal.status : (error.statusCode ?? 500);
        if (status >= 500) {
          request.log.error({ err: errorForLog(error), path: routeOf(request) }, 'oruk request failed');
          return reply
            .code(500)
            .type('application/json')
            .send({ status: 500, error: 'Internal Server Error', message: `Something went wrong. Reference: ${request.id}` });
        }
        const message = refusal
          ? refusal.message
          : status === 429
            ? 'Too many requests. Wait a minute and try again.'
            : 'The request could not be understood.';
        return reply
          .code(status)
          .type('application/json')
          .send({ status, error: STATUS_NAMES[status] ?? 'Bad Request', message });
      });
      // Read-only: anything but GET is refused plainly (and needs no CSRF token to be refused).
      api.route({
        method: ['POST', 'PUT', 'PATCH', 'DELETE'],
        url: '/*',
        config: { csrf: false },
        handler: async (_request, reply) => {
          reply.header('allow', 'GET, HEAD');
          throw new HttpError(405, 'This API is read-only: use GET.');
        },
      });

      const rateLimit = { rateLimit: { max: 1200, timeWindow: '1 minute' } };

      api.get('/', { config: rateLimit }, async () => ({
        version: '3.0',
        profile: 'https://github.com/openreferral/uk-profile',
        openapi_url: 'https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/openapi.json',
      }));

      api.get('/services', { config: rateLimit }, async (request) => {
        const query = request.query as Query;
        const page = paging(query);
        const filters = await serviceFilters(db(), query, true);
        const hits = await searchServices(db(), filters, page);
        const objects = await serviceListObjects(
          db(),
          hits.rows.map((h) => h.id),
        );
        return pageEnvelope(hits.total, page, hits.rows.map((h) => objects.get(h.id)).filter(Boolean));
      });

      api.get('/services/:id', { config: rateLimit }, async (request) => {
        const serviceId = await serviceIdForOruk(db(), idParam(request, 'service'));
        if (!serviceId) notFound('service');
        return (await fullServiceObjects(db(), [serviceId])).get(serviceId) ?? notFound('service');
      });

      api.get('/service_at_locations', { config: rateLimit }, async (request) => {
        const query = request.query as Query;
        const page = paging(query);
        const filters = await serviceFilters(db(), query, true);
        const hits = await searchServiceAtLocations(db(), filters, page);
        const objects = await serviceAtLocationObjects(db(), hits.rows);
        return pageEnvelope(hits.total, page, hits.rows.map((h) => objects.get(h.id)).filter(Boolean));
      });

      api.get('/service_at_locations/:id', { config: rateLimit }, async (request) => {
        const id = idParam(request, 'service at location');
        const row = await serviceAtLocationById(db(), id);
        if (!row) notFound('service at location');
        const objects = await serviceAtLocationObjects(
          db(),
          [{ id: row.id, serviceId: row.serviceId, locationId: row.locationId, distance: null }],
          true,
        );
        return objects.get(row.id);
      });

      api.get('/organizations', { config: rateLimit }, async (request) => {
        const query = request.query as Query;
        const page = paging(query);
        const search = single(query, 'search');
        if (search !== undefined && search.length > 200) throw new BadParameter('search must be at most 200 characters');
        const words = (search ?? '').split(/\s+/).filter(Boolean).slice(0, 10);
        const { ids, total } = await organisationsNamed(db(), words, page);
        const objects = await organisationObjects(db(), ids);
        return pageEnvelope(total, page, ids.map((id) => objects.get(id)).filter(Boolean));
      });

      api.get('/organizations/:id', { config: rateLimit }, async (request) => {
        const organisationId = await organisationIdForOruk(db(), idParam(request, 'organization'));
        if (!organisationId) notFound('organization');
        const organisation = (await organisationObjects(db(), [organisationId])).get(organisationId) ?? notFound('organization');
        const serviceIds = await serviceIdsOfOrganisation(db(), organisationId);
        const services = await fullServiceObjects(db(), serviceIds);
        return { ...organisation, services: serviceIds.map((id) => services.get(id)).filter(Boolean) };
      });

      api.get('/taxonomies', { config: rateLimit }, async (request) => {
        const page = paging(request.query as Query);
        const { total, rows } = await taxonomiesPage(db(), page);
        return pageEnvelope(total, page, rows.map(taxonomyObject));
      });

      api.get('/taxonomies/:id', { config: rateLimit }, async (request) => {
        const id = idParam(request, 'taxonomy');
        const row = await taxonomyById(db(), id);
        if (!row) notFound('taxonomy');
        const terms = await taxonomyTerms(db(), { taxonomyId: id });
        return { ...taxonomyObject(row), taxonomy_terms: terms.rows };
      });

      api.get('/taxonomy_terms', { config: rateLimit }, async (request) => {
        const query = request.query as Query;
        const page = paging(query);
        const terms = await taxonomyTerms(db(), { taxonomyId: uuid(query, 'taxonomy_id') }, page);
        return pageEnvelope(terms.total, page, terms.rows);
      });

      api.get('/taxonomy_terms/:id', { config: rateLimit }, async (request) => {
        const id = idParam(request, 'taxonomy term');
        const terms = await taxonomyTerms(db(), { ids: [id] });
        return terms.rows[0] ?? notFound('taxonomy term');
      });
    },
    { prefix: '/oruk' },
  );
}

/** The ORUK id of a network service, for links from the directory pages to the API. */
export const serviceApiPath = (serviceId: string): string => `/oruk/services/${orukId('service', serviceId)}`;
