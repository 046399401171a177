// The directory pages for signed-in users: find a service by need, words, age and distance
// from a postcode, and see each service's opening times, contact, eligibility, referral clocks
// and capacity.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { fullServiceObjects, lookupPostcode, searchServices, type ServiceFilters } from './queries.ts';
import { describeDistance } from './format.ts';
import { NEED_GROUPS, NEED_TERMS, needTermId } from './taxonomy.ts';
import { serviceApiPath } from './api.ts';

const PER_PAGE = 20;
export const DISTANCE_CHOICES_MILES = [1, 3, 5, 10, 25];
const METRES_PER_MILE = 1609.344;

type Query = Record<string, string | string[] | undefined>;

function text(query: Query, name: string, max = 100): string {
  const value = query[name];
  const first = Array.isArray(value) ? value[0] : value;
  return (first ?? '').trim().slice(0, max);
}

export interface DirectoryForm { q: string; need: string; age: string; postcode: string; distance: string }
interface FieldError { field: keyof DirectoryForm; text: string }

interface NetworkFacts {
  id: string; eligibility: string; min_age: number | null; max_age: number | null; acknowledge_within_days: number;
  first_contact_within_days: number; capacity_per_month: number; organisation: string; needs: string[];
}

async function networkFacts(db: Kysely<Database>, ids: string[]): Promise<Map<string, NetworkFacts>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('services').innerJoin('organisations', 'organisations.id', 'services.organisation_id')
    .select(['services.id', 'services.eligibility', 'services.min_age', 'services.max_age', 'services.acknowledge_within_days',
      'services.first_contact_within_days', 'services.capacity_per_month', 'services.needs', 'organisations.name as organisation'])
    .where('services.id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export function ageRange(min: number | null, max: number | null): string {
  if (min === null && max === null) return 'Any age';
  if (min !== null && max !== null) return min === 0 ? `Under ${max + 1}` : `${min} to ${max}`;
  if (min !== null) return `${min} and over`;
  return `Up to ${max}`;
}

/** The parts of an ORUK service object the code reads (templates read the rest). */
interface OrukServiceView {
  name: string;
  service_at_locations?: Array<{ location?: unknown }>;
  attributes?: Array<{ taxonomy_term?: { name?: string } }>;
}

/** View model of a service for the pages: the ORUK record plus the network's referral facts. */
async function serviceCards(db: Kysely<Database>, hits: Array<{ id: string; distance: number | null }>) {
  const ids = hits.map((h) => h.id);
  const [oruk, facts] = await Promise.all([fullServiceObjects(db, ids), networkFacts(db, ids)]);
  return hits.flatMap((h) => {
    const service = oruk.get(h.id) as OrukServiceView | undefined;
    const network = facts.get(h.id);
    if (!service || !network) return [];
    const locations = (service.service_at_locations ?? []).map((sal) => sal.location).filter(Boolean);
    return [{
      id: h.id,
      apiPath: serviceApiPath(h.id),
      service,
      network,
      ages: ageRange(network.min_age, network.max_age),
      distance: h.distance === null ? null : describeDistance(h.distance),
      locations,
      needs: (service.attributes ?? []).map((a) => a.taxonomy_term?.name).filter(Boolean),
    }];
  });
}

function needItems(selected: string) {
  const items: Array<{ value: string; text: string; selected: boolean }> = [{ value: '', text: 'Any need', selected: selected === '' }];
  for (const group of NEED_GROUPS) {
    items.push({ value: group.code, text: `${group.name}: all`, selected: selected === group.code });
    for (const term of NEED_TERMS.filter((t) => t.group === group.code)) items.push({ value: term.code, text: `${group.name}: ${term.name}`, selected: selected === term.code });
  }
  return items;
}

function pageHref(form: DirectoryForm, page: number): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) if (value) params.set(key, value);
  if (page > 1) params.set('page', String(page));
  const query = params.toString();
  return `/directory${query ? `?${query}` : ''}`;
}

function serviceIdParam(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw new HttpError(404, 'There is no such service in the directory.');
  return id;
}

export function registerDirectoryPages(app: FastifyInstance): void {
  app.get('/directory', async (request, reply) => {
    requireRole(request, 'citizen', 'practitioner', 'manager', 'admin');
    const db = app.joinery.database.db;
    const query = request.query as Query;
    const form: DirectoryForm = { q: text(query, 'q'), need: text(query, 'need', 40), age: text(query, 'age', 10), postcode: text(query, 'postcode', 12), distance: text(query, 'distance', 4) };
    const errors: FieldError[] = [];
    const filters: ServiceFilters = {};
    if (form.q) filters.search = form.q;
    if (form.need) {
      const known = NEED_TERMS.some((t) => t.code === form.need) || NEED_GROUPS.some((g) => g.code === form.need);
      if (known) filters.taxonomyTermIds = [needTermId(form.need)];
      else errors.push({ field: 'need', text: 'Choose a need from the list' });
    }
    if (form.age) {
      if (/^\d{1,3}$/.test(form.age) && Number(form.age) <= 120) filters.age = Number(form.age);
      else errors.push({ field: 'age', text: 'Age must be a whole number of years, like 34' });
    }
    if (form.distance && !DISTANCE_CHOICES_MILES.includes(Number(form.distance))) errors.push({ field: 'distance', text: 'Choose a distance from the list' });
    let origin: Awaited<ReturnType<typeof lookupPostcode>> = null;
    if (form.postcode) {
      origin = await lookupPostcode(db, form.postcode);
      if (origin) {
        form.postcode = origin.postcode;
        filters.origin = origin;
        filters.coversPostcode = origin.postcode;
        if (form.distance && DISTANCE_CHOICES_MILES.includes(Number(form.distance))) filters.withinMetres = Number(form.distance) * METRES_PER_MILE;
      } else {
        errors.push({ field: 'postcode', text: 'Enter a postcode in this place, like the one on a letter from a local service (for example RV1 1AA)' });
      }
    } else if (form.distance) {
      errors.push({ field: 'postcode', text: 'Enter a postcode to search by distance' });
    }
    const pageRaw = text(query, 'page', 7);
    const page = /^\d{1,6}$/.test(pageRaw) && Number(pageRaw) >= 1 ? Number(pageRaw) : 1;

    let results: Awaited<ReturnType<typeof serviceCards>> = [];
    let total = 0;
    if (errors.length === 0) {
      const hits = await searchServices(db, filters, { page, perPage: PER_PAGE });
      total = hits.total;
      results = await serviceCards(db, hits.rows);
    }
    const totalPages = Math.ceil(total / PER_PAGE);
    const pagination = totalPages > 1 ? {
      previous: page > 1 ? { href: pageHref(form, page - 1) } : undefined,
      next: page < totalPages ? { href: pageHref(form, page + 1) } : undefined,
      items: Array.from({ length: totalPages }, (_, i) => i + 1)
        .filter((n) => n === 1 || n === totalPages || Math.abs(n - page) <= 2)
        .flatMap((n, i, all) => [...(i > 0 && n - all[i - 1]! > 1 ? [{ ellipsis: true }] : []), { number: n, href: pageHref(form, n), current: n === page }]),
    } : null;
    const errorFor = Object.fromEntries(errors.map((e) => [e.field, { text: e.text }]));
    return reply.view('directory-search.njk', viewContext(request, reply, {
      title: errors.length ? 'Error: Find a service' : 'Find a service',
      form, errors: errors.map((e) => ({ text: e.text, href: `#${e.field}` })), errorFor,
      needItems: needItems(form.need),
      distanceItems: [{ value: '', text: 'Any distance', selected: form.distance === '' }, ...DISTANCE_CHOICES_MILES.map((m) => ({ value: String(m), text: `Within ${m} mile${m === 1 ? '' : 's'}`, selected: form.distance === String(m) }))],
      results, total, page, totalPages, pagination, origin, searched: Object.values(form).some(Boolean),
    }));
  });

  app.get('/directory/services/:id', async (request, reply) => {
    requireRole(request, 'citizen', 'practitioner', 'manager', 'admin');
    const db = app.joinery.database.db;
    const id = serviceIdParam(request);
    const [card] = await serviceCards(db, [{ id, distance: null }]);
    if (!card) throw new HttpError(404, 'There is no such service in the directory.');
    return reply.view('directory-service.njk', viewContext(request, reply, { title: card.service.name, card }));
  });
}
