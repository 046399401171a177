// The directory's pages. /services is the public directory: anyone, signed in or not, finds a
// service by need, words, postcode and distance, age, cost, opening days and whether they can
// refer themselves, and sees how to get in touch and the service's typical wait. It shows nothing
// personal and nothing internal (no capacity, no referral clocks). /directory is the same search
// for signed-in users, where staff also see referral clocks and capacity, and an organisation's
// own staff keep its listings up to date.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import { pageHref, pagination, showing } from '../platform/pagination.ts';
import { writtenDate } from '../platform/dates.ts';
import type { SignedInUser } from '../auth/index.ts';
import { organisationsByIds, serviceRecords } from '../network/index.ts';
import { cachedForPages, lookupPostcode, searchServices, serviceObjectsForPages, type ServiceFilters } from './queries.ts';
import { describeDistance, DAY_CODES } from './format.ts';
import { NEED_GROUPS, NEED_TERMS, needTermId } from './taxonomy.ts';
import { serviceApiPath } from './api.ts';
import {
  confirmListing,
  listingForEdit,
  MAX_OPENING_ROWS,
  mayKeepListing,
  STALE_AFTER_MONTHS,
  staleBefore,
  staleListingsFor,
  updateListing,
  type ListingForm,
} from './listings.ts';
import { listingForm } from './listing-form.ts';
import { formBody, parseForm, typedText, type FormBody, type FormError } from '../platform/forms.ts';

/** Results a page: ten for residents (short pages on a phone, and half the page to draw), twenty for staff. */
const PER_PAGE = { '/services': 10, '/directory': 20 } as const;
export const DISTANCE_CHOICES_MILES = [1, 3, 5, 10, 25];
const METRES_PER_MILE = 1609.344;
const DAY_NAMES: Record<string, string> = {
  MO: 'Monday',
  TU: 'Tuesday',
  WE: 'Wednesday',
  TH: 'Thursday',
  FR: 'Friday',
  SA: 'Saturday',
  SU: 'Sunday',
};
const OPEN_CHOICES: Record<string, string> = {
  ...Object.fromEntries(DAY_CODES.map((d) => [d, `On ${DAY_NAMES[d]}s`])),
  weekends: 'At weekends',
  evenings: 'In the evening (after 6pm)',
};

type Query = Record<string, string | string[] | undefined>;

function text(query: Query, name: string, max = 100): string {
  const value = query[name];
  const first = Array.isArray(value) ? value[0] : value;
  return (first ?? '').trim().slice(0, max);
}

export interface DirectoryForm {
  q: string;
  need: string;
  age: string;
  postcode: string;
  distance: string;
  cost: string;
  open: string;
  self: string;
}
interface FieldError {
  field: keyof DirectoryForm;
  text: string;
}

/** Reads the search form from the address; every bad value is named against its field and kept as typed. */
async function parseSearch(
  db: Kysely<Database>,
  query: Query,
): Promise<{ form: DirectoryForm; filters: ServiceFilters; errors: FieldError[]; origin: { postcode: string } | null }> {
  const form: DirectoryForm = {
    q: text(query, 'q'),
    need: text(query, 'need', 40),
    age: text(query, 'age', 10),
    postcode: text(query, 'postcode', 12),
    distance: text(query, 'distance', 4),
    cost: text(query, 'cost', 5),
    open: text(query, 'open', 10),
    self: text(query, 'self', 3),
  };
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
  if (form.distance && !DISTANCE_CHOICES_MILES.includes(Number(form.distance)))
    errors.push({ field: 'distance', text: 'Choose a distance from the list' });
  if (form.cost === 'free' || form.cost === 'paid') filters.cost = form.cost;
  else if (form.cost) errors.push({ field: 'cost', text: 'Choose free or paid from the list' });
  if (form.open === 'weekends') filters.weekends = true;
  else if (form.open === 'evenings') filters.evenings = true;
  else if ((DAY_CODES as readonly string[]).includes(form.open)) filters.day = form.open;
  else if (form.open) errors.push({ field: 'open', text: 'Choose when the service is open from the list' });
  if (form.self === 'yes') filters.acceptsSelfReferral = true;
  else form.self = '';
  let origin: { postcode: string } | null = null;
  if (form.postcode) {
    const found = await lookupPostcode(db, form.postcode);
    if (found) {
      origin = found;
      form.postcode = found.postcode;
      filters.origin = found;
      filters.coversPostcode = found.postcode;
      if (form.distance && DISTANCE_CHOICES_MILES.includes(Number(form.distance)))
        filters.withinMetres = Number(form.distance) * METRES_PER_MILE;
    } else {
      errors.push({
        field: 'postcode',
        text: 'Enter a postcode in this place, like the one on a letter from a local service (for example RV1 1AA)',
      });
    }
  } else if (form.distance) {
    errors.push({ field: 'postcode', text: 'Enter a postcode to search by distance' });
  }
  return { form, filters, errors, origin };
}

interface NetworkFacts {
  id: string;
  organisation_id: string;
  eligibility: string;
  min_age: number | null;
  max_age: number | null;
  acknowledge_within_days: number;
  first_contact_within_days: number;
  capacity_per_month: number;
  organisation: string;
  needs: string[];
  accepts_self_referral: boolean;
  last_checked_at: Date | null;
}

async function networkFacts(db: Kysely<Database>, ids: string[]): Promise<Map<string, NetworkFacts>> {
  if (ids.length === 0) return new Map();
  const services = [...(await serviceRecords(db, ids)).values()];
  const organisations = await organisationsByIds(
    db,
    services.map((s) => s.organisationId),
  );
  // A service is listed with the organisation that provides it (one the network knows).
  return new Map(
    services
      .filter((s) => organisations.has(s.organisationId))
      .map((s) => [
        s.id,
        {
          id: s.id,
          organisation_id: s.organisationId,
          eligibility: s.eligibility,
          min_age: s.minAge,
          max_age: s.maxAge,
          acknowledge_within_days: s.acknowledgeWithinDays,
          first_contact_within_days: s.firstContactWithinDays,
          capacity_per_month: s.capacityPerMonth,
          needs: s.needs,
          organisation: organisations.get(s.organisationId)!.name,
          accepts_self_referral: s.acceptsSelfReferral,
          last_checked_at: s.lastCheckedAt,
        },
      ]),
  );
}

export function ageRange(min: number | null, max: number | null): string {
  if (min === null && max === null) return 'Any age';
  if (min !== null && max !== null) return min === 0 ? `Under ${max + 1}` : `${min} to ${max}`;
  if (min !== null) return `${min} and over`;
  return `Up to ${max}`;
}

/** A service's typical wait: the median working days from a referral being sent to first contact, over this many referrals. */
export interface TypicalWait {
  medianWorkingDays: number;
  referrals: number;
}

/**
 * Services' typical waits, read from the module that holds the referrals they are taken over (an
 * aggregate only). The composition root (src/app.ts) hands it in, so this module does not reach up
 * into referrals, which reads the directory.
 */
export interface TypicalWaits {
  /** Fewer referrals than this behind a wait and it is "not known yet". */
  minReferrals: number;
  /** The typical waits of the given services; services with none yet are missing from the map. */
  of(db: Kysely<Database>, serviceIds: readonly string[]): Promise<Map<string, TypicalWait>>;
}

/** "About 4 working days", from the referrals module's aggregate; null when not known yet. */
function describeWait(wait: TypicalWait | undefined): string | null {
  if (!wait) return null;
  const days = wait.medianWorkingDays;
  if (days === 0) return 'Usually the same working day';
  const shown = Number.isInteger(days) ? String(days) : days.toFixed(1);
  return `About ${shown} working day${days === 1 ? '' : 's'} from asking to first contact`;
}

/** The parts of an ORUK service object the code reads (templates read the rest). */
interface OrukServiceView {
  name: string;
  service_at_locations?: Array<{ location?: unknown }>;
  attributes?: Array<{ link_type?: string; taxonomy_term?: { name?: string } }>;
  cost_options?: Array<{ amount?: number }>;
}

/**
 * View model of a service: its ORUK record, the network's facts, its typical wait and when it was
 * last checked. Staff fields (clocks, capacity) are only filled in for staff pages.
 */
async function serviceCards(
  db: Kysely<Database>,
  hits: Array<{ id: string; distance: number | null }>,
  options: { staff: boolean; user?: SignedInUser; lang?: 'en' | 'cy'; waits?: TypicalWaits },
) {
  const ids = hits.map((h) => h.id);
  // A service's own page reads its facts and typical wait afresh; search results use what the
  // pages keep (the typical wait, from referrals, only on a service's own page).
  const [oruk, facts, waits] = await Promise.all([
    serviceObjectsForPages(db, ids),
    options.waits ? networkFacts(db, ids) : cachedForPages(db, 'facts', ids, (missing) => networkFacts(db, missing)),
    options.waits ? options.waits.of(db, ids) : new Map<string, TypicalWait>(),
  ]);
  const stale = staleBefore(new Date());
  return hits.flatMap((h) => {
    const service = oruk.get(h.id) as OrukServiceView | undefined;
    const network = facts.get(h.id);
    if (!service || !network) return [];
    const locations = (service.service_at_locations ?? []).map((sal) => sal.location).filter(Boolean);
    return [
      {
        id: h.id,
        apiPath: serviceApiPath(h.id),
        service,
        organisation: network.organisation,
        eligibility: network.eligibility,
        network: options.staff ? network : null,
        ages: ageRange(network.min_age, network.max_age),
        distance: h.distance === null ? null : describeDistance(h.distance),
        locations,
        needs: (service.attributes ?? [])
          .filter((a) => a.link_type !== 'referral_route')
          .map((a) => a.taxonomy_term?.name)
          .filter(Boolean),
        acceptsSelfReferral: network.accepts_self_referral,
        free: !(service.cost_options ?? []).some((c) => (c.amount ?? 0) > 0),
        typicalWait: options.waits ? describeWait(waits.get(h.id)) : null,
        lastChecked: network.last_checked_at ? writtenDate(network.last_checked_at, options.lang ?? 'en') : null,
        stale: network.last_checked_at === null || network.last_checked_at < stale,
        mayEdit: mayKeepListing(options.user, network.organisation_id),
      },
    ];
  });
}

function needItems(selected: string) {
  const items: Array<{ value: string; text: string; selected: boolean }> = [{ value: '', text: 'Any need', selected: selected === '' }];
  for (const group of NEED_GROUPS) {
    items.push({ value: group.code, text: `${group.name}: all`, selected: selected === group.code });
    for (const term of NEED_TERMS.filter((t) => t.group === group.code))
      items.push({ value: term.code, text: `${group.name}: ${term.name}`, selected: selected === term.code });
  }
  return items;
}

function serviceIdParam(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw new HttpError(404, 'There is no such service in the directory.');
  return id;
}

const isStaff = (user: SignedInUser | undefined): boolean => Boolean(user && user.role !== 'citizen');

/** One search page, public or signed-in: the same filters, the same address conventions. */
async function searchPage(
  request: FastifyRequest,
  reply: FastifyReply,
  db: Kysely<Database>,
  base: '/services' | '/directory',
  staff: boolean,
  minReferrals: number,
) {
  const query = request.query as Query;
  const { form, filters, errors, origin } = await parseSearch(db, query);
  const pageRaw = text(query, 'page', 7);
  const page = /^\d{1,6}$/.test(pageRaw) && Number(pageRaw) >= 1 ? Number(pageRaw) : 1;
  let results: Awaited<ReturnType<typeof serviceCards>> = [];
  let total = 0;
  if (errors.length === 0) {
    const hits = await searchServices(db, filters, { page, perPage: PER_PAGE[base] });
    total = hits.total;
    results = await serviceCards(db, hits.rows, { staff, user: request.user, lang: request.language });
  }
  const href = pageHref(base, { ...form });
  const totalPages = Math.ceil(total / PER_PAGE[base]);
  const errorFor = Object.fromEntries(errors.map((e) => [e.field, { text: e.text }]));
  const stale = base === '/directory' ? await staleListingsFor(db, request.user) : [];
  return reply.view(
    'directory-search.njk',
    viewContext(request, reply, {
      title: errors.length ? 'Error: Find a service' : 'Find a service',
      base,
      staff,
      form,
      errors: errors.map((e) => ({ text: e.text, href: `#${e.field}` })),
      errorFor,
      needItems: needItems(form.need),
      distanceItems: [
        { value: '', text: 'Any distance', selected: form.distance === '' },
        ...DISTANCE_CHOICES_MILES.map((m) => ({
          value: String(m),
          text: `Within ${m} mile${m === 1 ? '' : 's'}`,
          selected: form.distance === String(m),
        })),
      ],
      costItems: [
        { value: '', text: 'Free or paid', selected: form.cost === '' },
        { value: 'free', text: 'Free only', selected: form.cost === 'free' },
        { value: 'paid', text: 'Paid', selected: form.cost === 'paid' },
      ],
      openItems: [
        { value: '', text: 'Any time', selected: form.open === '' },
        ...Object.entries(OPEN_CHOICES).map(([value, label]) => ({ value, text: label, selected: form.open === value })),
      ],
      results,
      total,
      page,
      totalPages,
      pagination: pagination(page, totalPages, href, { numbered: true }),
      shown: showing(page, PER_PAGE[base], total, results.length),
      origin,
      searched: Object.values(form).some(Boolean),
      minReferrals,
      stale,
      staleMonths: STALE_AFTER_MONTHS,
      staleSince: writtenDate(staleBefore(new Date())),
    }),
  );
}

interface EditView {
  name: string;
  form: ListingForm;
  /** The error summary, each line linking to its field. */
  errors: FormError[];
  /** Each field's message, beside the field. */
  fieldErrors: Record<string, string>;
  lastChecked: string | null;
}

/** The edit form as it was typed, to fill it in again when it is refused (days only as the page offers them). */
function typedListing(values: FormBody): ListingForm {
  const typedDays = (field: string) =>
    [values[field]].flat().filter((day): day is string => typeof day === 'string' && (DAY_CODES as readonly string[]).includes(day));
  return {
    description: typedText(values, 'description'),
    phone: typedText(values, 'phone'),
    email: typedText(values, 'email'),
    url: typedText(values, 'url'),
    selfReferral: typedText(values, 'selfReferral'),
    cost: typedText(values, 'cost'),
    costDescription: typedText(values, 'costDescription'),
    openings: Array.from({ length: MAX_OPENING_ROWS }, (_, i) => ({
      days: typedDays(`days${i}`),
      opens: typedText(values, `opens${i}`),
      closes: typedText(values, `closes${i}`),
      notes: typedText(values, `notes${i}`),
    })),
  };
}

function editContext(id: string, view: EditView) {
  const errorFor = Object.fromEntries(Object.entries(view.fieldErrors).map(([field, text]) => [field, { text }]));
  const rows = [...view.form.openings];
  while (rows.length < Math.min(MAX_OPENING_ROWS, Math.max(rows.length, view.form.openings.filter((o) => o.days.length).length) + 2))
    rows.push({ days: [], opens: '', closes: '', notes: '' });
  return {
    title: `${view.errors.length ? 'Error: ' : ''}Edit the listing: ${view.name}`,
    id,
    name: view.name,
    form: view.form,
    errors: view.errors,
    errorFor,
    lastChecked: view.lastChecked,
    openingRows: rows.slice(0, MAX_OPENING_ROWS).map((o, i) => ({
      index: i,
      opens: o.opens,
      closes: o.closes,
      notes: o.notes,
      dayItems: DAY_CODES.map((d) => ({ value: d, text: DAY_NAMES[d], checked: o.days.includes(d), id: `days${i}-${d}` })),
    })),
  };
}

export function registerDirectoryPages(app: FastifyInstance, waits: TypicalWaits): void {
  const db = () => app.joinery.database.db;

  // The public directory: no sign-in, nothing personal, nothing internal.
  app.get('/services', async (request, reply) => searchPage(request, reply, db(), '/services', false, waits.minReferrals));

  app.get('/services/:id', async (request, reply) => {
    const id = serviceIdParam(request);
    const [card] = await serviceCards(db(), [{ id, distance: null }], {
      staff: false,
      user: request.user,
      lang: request.language,
      waits,
    });
    if (!card) throw new HttpError(404, 'There is no such service in the directory.');
    return reply.view(
      'directory-service.njk',
      viewContext(request, reply, {
        title: card.service.name,
        card,
        base: '/services',
        staff: false,
        minReferrals: waits.minReferrals,
      }),
    );
  });

  app.get('/directory', async (request, reply) => {
    const user = requireRole(request, 'citizen', 'practitioner', 'manager', 'admin');
    return searchPage(request, reply, db(), '/directory', isStaff(user), waits.minReferrals);
  });

  app.get('/directory/services/:id', async (request, reply) => {
    const user = requireRole(request, 'citizen', 'practitioner', 'manager', 'admin');
    const id = serviceIdParam(request);
    const [card] = await serviceCards(db(), [{ id, distance: null }], { staff: isStaff(user), user, lang: request.language, waits });
    if (!card) throw new HttpError(404, 'There is no such service in the directory.');
    const query = request.query as Query;
    return reply.view(
      'directory-service.njk',
      viewContext(request, reply, {
        title: card.service.name,
        card,
        base: '/directory',
        staff: isStaff(user),
        minReferrals: waits.minReferrals,
        saved: text(query, 'saved', 10),
      }),
    );
  });

  // An organisation keeps its own listing: edit it, or confirm it is still right.
  app.get('/directory/services/:id/edit', async (request, reply) => {
    const user = requireSignedIn(request);
    const id = serviceIdParam(request);
    const listing = await listingForEdit(db(), user, id);
    return reply.view(
      'directory-edit.njk',
      viewContext(
        request,
        reply,
        editContext(id, {
          name: listing.name,
          form: listing.form,
          errors: [],
          fieldErrors: {},
          lastChecked: listing.lastCheckedAt ? writtenDate(listing.lastCheckedAt) : null,
        }),
      ),
    );
  });

  app.post('/directory/services/:id/edit', async (request, reply) => {
    const user = requireSignedIn(request);
    const id = serviceIdParam(request);
    const form = parseForm(listingForm, formBody(request));
    if (!form.ok) {
      // Only the organisation's own staff see the form again (listingForEdit refuses anyone else).
      const listing = await listingForEdit(db(), user, id);
      return reply.code(400).view(
        'directory-edit.njk',
        viewContext(
          request,
          reply,
          editContext(id, {
            name: listing.name,
            form: typedListing(form.values),
            errors: form.errors,
            fieldErrors: form.fieldErrors,
            lastChecked: listing.lastCheckedAt ? writtenDate(listing.lastCheckedAt) : null,
          }),
        ),
      );
    }
    await updateListing(db(), user, id, form.value);
    return reply.redirect(`/directory/services/${id}?saved=edited`, 303);
  });

  app.post('/directory/services/:id/checked', async (request, reply) => {
    const user = requireSignedIn(request);
    const id = serviceIdParam(request);
    await confirmListing(db(), user, id);
    return reply.redirect(`/directory/services/${id}?saved=checked`, 303);
  });
}
