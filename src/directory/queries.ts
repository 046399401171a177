// Directory search and the Open Referral UK (HSDS 3 UK profile) objects built from our tables.
// One search serves the public API and the directory pages: free text, need (taxonomy term,
// including its child terms), age, organisation, opening day and hours, and distance from a
// postcode (haversine over location latitude and longitude).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationIds, organisationRecordsByIds, serviceRecords, servicesWithOrganisation } from '../network/index.ts';
import { localityIdOfPostcode, postcodePoint } from '../place/index.ts';
import { orukId } from './ids.ts';
import { REFERRAL_ROUTE_LINK_TYPE, REFERRAL_ROUTE_TAXONOMY, SELF_REFERRAL_TERM, selfReferralAttributeId } from './referral-routes.ts';

type Json = Record<string, unknown>;

export interface Origin {
  postcode: string;
  lat: number;
  lon: number;
}

export interface ServiceFilters {
  /** Free text: every word must appear in the service's name, description, eligibility, organisation or needs. */
  search?: string;
  /** ORUK taxonomy term ids: a service matches if it carries any of them or any of their child terms. */
  taxonomyTermIds?: string[];
  taxonomyId?: string;
  /** ORUK `minimum_age`: services whose minimum age is at least this. */
  minimumAge?: number;
  /** ORUK `maximum_age`: services whose maximum age is at most this. */
  maximumAge?: number;
  /** A person's age: services whose age range includes it. */
  age?: number;
  /** Network organisation id. */
  organisationId?: string;
  /** Two-letter day code (MO..SU): services with opening hours on that day. */
  day?: string;
  /** "HH:MM:SS": services opening at or after this time. */
  startTime?: string;
  /** "HH:MM:SS": services closing at or before this time. */
  endTime?: string;
  origin?: Origin;
  /** A postcode: only services whose service area covers it (the whole place, or its locality). */
  coversPostcode?: string;
  /** With origin: only services with a location within this many metres. */
  withinMetres?: number;
  /** Only services anyone may refer themselves to. */
  acceptsSelfReferral?: boolean;
  /** 'free': no cost option with a charge; 'paid': at least one. */
  cost?: 'free' | 'paid';
  /** Opening hours on a Saturday or Sunday. */
  weekends?: boolean;
  /** Opening hours that run past 6pm. */
  evenings?: boolean;
}

export interface Paging {
  page: number;
  perPage: number;
}

export interface ServiceHit {
  id: string;
  distance: number | null;
}
export interface SalHit {
  id: string;
  serviceId: string;
  locationId: string;
  distance: number | null;
}

export interface PageOf<T> {
  total: number;
  rows: T[];
}

/** "rv3 2ab" / "RV32AB" → "RV3 2AB". */
export function normalisePostcode(raw: string): string {
  const compact = raw.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return compact.length > 3 ? `${compact.slice(0, -3)} ${compact.slice(-3)}` : compact;
}

export async function lookupPostcode(db: Kysely<Database>, raw: string): Promise<Origin | null> {
  const postcode = normalisePostcode(raw);
  if (!/^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$/.test(postcode)) return null;
  const row = await postcodePoint(db, postcode);
  return row ? { postcode: row.postcode, lat: row.lat, lon: row.lon } : null;
}

const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance in metres from the origin to the location aliased `l`. */
function distanceFrom(origin: Origin): RawBuilder<number> {
  const lat = sql`${origin.lat}::float8`;
  const lon = sql`${origin.lon}::float8`;
  return sql<number>`(2 * ${EARTH_RADIUS_M}::float8 * asin(least(1::float8, sqrt(
    power(sin(radians(l.latitude - ${lat}) / 2), 2)
    + cos(radians(${lat})) * cos(radians(l.latitude)) * power(sin(radians(l.longitude - ${lon}) / 2), 2)))))`;
}

/** A latitude/longitude box around the origin that contains the circle (lets an index help). */
function boundingBox(origin: Origin, metres: number): RawBuilder<unknown> {
  const dLat = (metres / EARTH_RADIUS_M) * (180 / Math.PI);
  const dLon = dLat / Math.max(0.01, Math.cos((origin.lat * Math.PI) / 180));
  return sql`l.latitude between ${origin.lat - dLat}::float8 and ${origin.lat + dLat}::float8
    and l.longitude between ${origin.lon - dLon}::float8 and ${origin.lon + dLon}::float8`;
}

function likePattern(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Conditions on the service aliased `s` (network's servicesWithOrganisation: its organisation's name is s.organisation_name). */
function serviceConditions(f: ServiceFilters): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = [];
  for (const word of (f.search ?? '').split(/\s+/).filter(Boolean).slice(0, 10)) {
    const p = likePattern(word);
    where.push(sql`(s.name ilike ${p} or s.description ilike ${p} or s.eligibility ilike ${p} or s.organisation_name ilike ${p}
      or exists (select 1 from directory_service_terms st join directory_taxonomy_terms t on t.id = st.term_id
                 where st.service_id = s.id and t.name ilike ${p}))`);
  }
  if (f.taxonomyTermIds && f.taxonomyTermIds.length > 0) {
    where.push(sql`exists (select 1 from directory_service_terms st join directory_taxonomy_terms t on t.id = st.term_id
      where st.service_id = s.id and (t.id in (${sql.join(f.taxonomyTermIds)}) or t.parent_id in (${sql.join(f.taxonomyTermIds)})))`);
  }
  if (f.taxonomyId) {
    where.push(sql`exists (select 1 from directory_service_terms st join directory_taxonomy_terms t on t.id = st.term_id
      where st.service_id = s.id and t.taxonomy_id = ${f.taxonomyId})`);
  }
  if (f.minimumAge !== undefined) where.push(sql`s.min_age >= ${f.minimumAge}`);
  if (f.maximumAge !== undefined) where.push(sql`s.max_age <= ${f.maximumAge}`);
  if (f.age !== undefined) where.push(sql`(s.min_age is null or s.min_age <= ${f.age}) and (s.max_age is null or s.max_age >= ${f.age})`);
  if (f.coversPostcode) {
    where.push(sql`(cardinality(s.locality_ids) = 0 or ${localityIdOfPostcode(f.coversPostcode)} = any(s.locality_ids))`);
  }
  if (f.organisationId) where.push(sql`s.organisation_id = ${f.organisationId}`);
  if (f.day || f.startTime || f.endTime) {
    const parts: RawBuilder<unknown>[] = [sql`sc.service_id = s.id`];
    if (f.day) parts.push(sql`(',' || coalesce(sc.byday, '') || ',') like ${`%,${f.day},%`}`);
    if (f.startTime) parts.push(sql`sc.opens_at >= ${f.startTime}`);
    if (f.endTime) parts.push(sql`sc.closes_at <= ${f.endTime}`);
    where.push(sql`exists (select 1 from directory_schedules sc where ${sql.join(parts, sql` and `)})`);
  }
  if (f.acceptsSelfReferral) where.push(sql`s.accepts_self_referral`);
  if (f.cost) {
    const charged = sql`exists (select 1 from directory_cost_options co where co.service_id = s.id and co.amount > 0)`;
    where.push(f.cost === 'paid' ? charged : sql`not ${charged}`);
  }
  if (f.weekends) {
    where.push(sql`exists (select 1 from directory_schedules sc where sc.service_id = s.id
      and ((',' || coalesce(sc.byday, '') || ',') like '%,SA,%' or (',' || coalesce(sc.byday, '') || ',') like '%,SU,%'))`);
  }
  if (f.evenings) where.push(sql`exists (select 1 from directory_schedules sc where sc.service_id = s.id and sc.closes_at > '18:00:00')`);
  return where;
}

function whereClause(conditions: RawBuilder<unknown>[]): RawBuilder<unknown> {
  return conditions.length === 0 ? sql`true` : sql.join(conditions, sql` and `);
}

/** Services matching the filters: nearest first when there is an origin, else by name. */
export async function searchServices(db: Kysely<Database>, f: ServiceFilters, paging: Paging): Promise<PageOf<ServiceHit>> {
  const conditions = serviceConditions(f);
  // Distances are worked out once per location, then the nearest location of each service wins.
  let near = sql`select null::text as service_id, null::float8 as distance where false`;
  let order = sql`s.name, s.organisation_name, s.id`;
  if (f.origin) {
    const box = f.withinMetres !== undefined ? sql` and ${boundingBox(f.origin, f.withinMetres)}` : sql``;
    near = sql`select sal.service_id, min(loc.distance) as distance
      from (select l.id, ${distanceFrom(f.origin)} as distance from directory_locations l
            where l.latitude is not null and l.longitude is not null${box}) loc
      join directory_service_at_locations sal on sal.location_id = loc.id
      group by sal.service_id`;
    order = sql`d.distance nulls last, s.name, s.organisation_name, s.id`;
    if (f.withinMetres !== undefined) conditions.push(sql`d.distance <= ${f.withinMetres}::float8`);
  }
  const result = await sql<{ id: string; distance: number | null; total: number }>`
    with d as (${near})
    select s.id, d.distance, count(*) over () as total
    from ${servicesWithOrganisation} s
    left join d on d.service_id = s.id
    where ${whereClause(conditions)}
    order by ${order}
    limit ${paging.perPage} offset ${(paging.page - 1) * paging.perPage}`.execute(db);
  const total = result.rows[0]?.total ?? (paging.page > 1 ? await countServices(db, f) : 0);
  return { total: Number(total), rows: result.rows.map((r) => ({ id: r.id, distance: r.distance === null ? null : Number(r.distance) })) };
}

async function countServices(db: Kysely<Database>, f: ServiceFilters): Promise<number> {
  return (await searchServices(db, f, { page: 1, perPage: 1 })).total;
}

/** Service-at-location rows matching the filters: nearest first when there is an origin. */
export async function searchServiceAtLocations(db: Kysely<Database>, f: ServiceFilters, paging: Paging): Promise<PageOf<SalHit>> {
  const conditions = serviceConditions(f);
  let distance: RawBuilder<unknown> = sql`null::float8`;
  let order = sql`s.name, s.organisation_name, l.name, sal.id`;
  if (f.origin) {
    distance = sql`case when l.latitude is null or l.longitude is null then null else ${distanceFrom(f.origin)} end`;
    order = sql`distance nulls last, s.name, s.organisation_name, sal.id`;
    if (f.withinMetres !== undefined) {
      conditions.push(boundingBox(f.origin, f.withinMetres));
      conditions.push(sql`${distanceFrom(f.origin)} <= ${f.withinMetres}::float8`);
    }
  }
  const result = await sql<{ id: string; service_id: string; location_id: string; distance: number | null; total: number }>`
    select sal.id, sal.service_id, sal.location_id, ${distance} as distance, count(*) over () as total
    from directory_service_at_locations sal
    join ${servicesWithOrganisation} s on s.id = sal.service_id
    join directory_locations l on l.id = sal.location_id
    where ${whereClause(conditions)}
    order by ${order}
    limit ${paging.perPage} offset ${(paging.page - 1) * paging.perPage}`.execute(db);
  let total = result.rows[0]?.total;
  if (total === undefined) total = paging.page > 1 ? (await searchServiceAtLocations(db, f, { page: 1, perPage: 1 })).total : 0;
  return {
    total: Number(total),
    rows: result.rows.map((r) => ({
      id: r.id,
      serviceId: r.service_id,
      locationId: r.location_id,
      distance: r.distance === null ? null : Number(r.distance),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Building ORUK objects. Absent values are left out (the schemas type them as strings, not null).

function compact<T extends Json>(object: T): T {
  for (const key of Object.keys(object)) if (object[key] === null || object[key] === undefined) delete object[key];
  return object;
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

const iso = (value: Date | string | null): string | null =>
  value === null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString();

export async function organisationObjects(db: Kysely<Database>, organisationIds: string[]): Promise<Map<string, Json>> {
  if (organisationIds.length === 0) return new Map();
  const ids = [...new Set(organisationIds)];
  const [organisations, details] = await Promise.all([
    organisationRecordsByIds(db, ids),
    db
      .selectFrom('directory_organisation_details')
      .select(['organisation_id', 'description', 'logo', 'uri', 'parent_organization_id'])
      .where('organisation_id', 'in', ids)
      .execute(),
  ]);
  const detailsOf = new Map(details.map((d) => [d.organisation_id, d]));
  return new Map(
    [...organisations.values()].map((o) => {
      const d = detailsOf.get(o.id);
      return [
        o.id,
        compact({
          id: orukId('organization', o.id),
          name: o.name,
          description: d?.description ?? o.name,
          email: o.email || null,
          website: o.website || null,
          logo: d?.logo ?? null,
          uri: d?.uri ?? null,
          parent_organization_id: d?.parent_organization_id ?? null,
        }),
      ];
    }),
  );
}

/** ORUK service_list objects (one-to-one fields and the organisation), keyed by network id. */
export async function serviceListObjects(db: Kysely<Database>, serviceIds: string[]): Promise<Map<string, Json>> {
  if (serviceIds.length === 0) return new Map();
  const ids = [...new Set(serviceIds)];
  const [services, details] = await Promise.all([
    serviceRecords(db, ids),
    db
      .selectFrom('directory_service_details')
      .select(['service_id', 'status', 'url', 'email', 'fees', 'accreditations', 'assured_date', 'assurer_email', 'alert', 'last_modified'])
      .where('service_id', 'in', ids)
      .execute(),
  ]);
  const detailsOf = new Map(details.map((d) => [d.service_id, d]));
  const organisations = await organisationObjects(
    db,
    [...services.values()].map((r) => r.organisationId),
  );
  return new Map(
    [...services.values()].map((s) => {
      const d = detailsOf.get(s.id);
      return [
        s.id,
        compact({
          id: orukId('service', s.id),
          organization_id: orukId('organization', s.organisationId),
          name: s.name,
          description: s.description || null,
          url: d?.url ?? null,
          email: d?.email ?? null,
          status: d?.status ?? 'active',
          fees: d?.fees ?? null,
          accreditations: d?.accreditations ?? null,
          eligibility_description: s.eligibility || null,
          minimum_age: s.minAge,
          maximum_age: s.maxAge,
          assured_date: d?.assured_date ?? null,
          assurer_email: d?.assurer_email ?? null,
          alert: d?.alert ?? null,
          last_modified: iso(d?.last_modified ?? null),
          organization: organisations.get(s.organisationId),
        }),
      ];
    }),
  );
}

/** ORUK location objects with their addresses and accessibility, keyed by location id. */
export async function locationObjects(db: Kysely<Database>, locationIds: string[]): Promise<Map<string, Json>> {
  if (locationIds.length === 0) return new Map();
  const ids = [...new Set(locationIds)];
  const [locations, addresses] = await Promise.all([
    db.selectFrom('directory_locations').selectAll().where('id', 'in', ids).execute(),
    db
      .selectFrom('directory_addresses')
      .selectAll()
      .where('location_id', 'in', ids)
      .orderBy('location_id')
      .orderBy('sort')
      .orderBy('id')
      .execute(),
  ]);
  const byLocation = groupBy(addresses, (a) => a.location_id);
  return new Map(
    locations.map((l) => [
      l.id,
      compact({
        id: l.id,
        location_type: l.location_type,
        name: l.name,
        description: l.description,
        latitude: l.latitude,
        longitude: l.longitude,
        external_identifier: l.external_identifier,
        external_identifier_type: l.external_identifier_type,
        addresses: (byLocation.get(l.id) ?? []).map((a) =>
          compact({
            id: a.id,
            location_id: a.location_id,
            attention: a.attention,
            address_1: a.address_1,
            city: a.city,
            region: a.region,
            state_province: a.state_province,
            postal_code: a.postal_code,
            country: a.country,
            address_type: a.address_type,
          }),
        ),
        accessibility: JSON.parse(l.accessibility) as Json[],
      }),
    ]),
  );
}

export function termObject(t: {
  id: string;
  name: string;
  description: string;
  parent_id: string | null;
  taxonomy: string | null;
  taxonomy_id: string | null;
  term_uri: string | null;
  code: string | null;
}): Json {
  return compact({
    id: t.id,
    name: t.name,
    description: t.description,
    parent_id: t.parent_id,
    taxonomy: t.taxonomy,
    taxonomy_id: t.taxonomy_id,
    term_uri: t.term_uri,
    term: t.code,
  });
}

/** Fully nested ORUK service objects (the `service` schema), keyed by network id. */
export async function fullServiceObjects(db: Kysely<Database>, serviceIds: string[]): Promise<Map<string, Json>> {
  const ids = [...new Set(serviceIds)];
  if (ids.length === 0) return new Map();
  const [base, schedules, areas, sals, contacts, phones, costs, terms, selfReferral] = await Promise.all([
    serviceListObjects(db, ids),
    db
      .selectFrom('directory_schedules')
      .selectAll()
      .where('service_id', 'in', ids)
      .orderBy('service_id')
      .orderBy('sort')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('directory_service_areas')
      .selectAll()
      .where('service_id', 'in', ids)
      .orderBy('service_id')
      .orderBy('sort')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('directory_service_at_locations')
      .selectAll()
      .where('service_id', 'in', ids)
      .orderBy('service_id')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('directory_contacts')
      .selectAll()
      .where('service_id', 'in', ids)
      .orderBy('service_id')
      .orderBy('sort')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('directory_phones')
      .innerJoin('directory_contacts as c', 'c.id', 'directory_phones.contact_id')
      .selectAll('directory_phones')
      .where('c.service_id', 'in', ids)
      .orderBy('directory_phones.contact_id')
      .orderBy('directory_phones.sort')
      .orderBy('directory_phones.id')
      .execute(),
    db
      .selectFrom('directory_cost_options')
      .selectAll()
      .where('service_id', 'in', ids)
      .orderBy('service_id')
      .orderBy('sort')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('directory_service_terms as st')
      .innerJoin('directory_taxonomy_terms as t', 't.id', 'st.term_id')
      .select([
        'st.service_id',
        'st.attribute_id',
        'st.link_type',
        'st.sort',
        't.id',
        't.name',
        't.description',
        't.parent_id',
        't.taxonomy',
        't.taxonomy_id',
        't.term_uri',
        't.code',
      ])
      .where('st.service_id', 'in', ids)
      .orderBy('st.service_id')
      .orderBy('st.sort')
      .orderBy('t.id')
      .execute(),
    serviceRecords(db, ids),
  ]);
  const acceptsSelfReferral = new Set([...selfReferral.values()].filter((r) => r.acceptsSelfReferral).map((r) => r.id));
  const locations = await locationObjects(
    db,
    sals.map((s) => s.location_id),
  );
  const salSchedules = await db
    .selectFrom('directory_schedules')
    .selectAll()
    .where('service_at_location_id', 'in', sals.length ? sals.map((s) => s.id) : [''])
    .orderBy('sort')
    .orderBy('id')
    .execute();
  const bySchedule = groupBy(schedules, (r) => r.service_id!);
  const bySalSchedule = groupBy(salSchedules, (r) => r.service_at_location_id!);
  const byArea = groupBy(areas, (r) => r.service_id);
  const bySal = groupBy(sals, (r) => r.service_id);
  const byContact = groupBy(contacts, (r) => r.service_id);
  const byPhone = groupBy(phones, (r) => r.contact_id);
  const byCost = groupBy(costs, (r) => r.service_id);
  const byTerm = groupBy(terms, (r) => r.service_id);
  const scheduleObject = (r: (typeof schedules)[number]) =>
    compact({
      id: r.id,
      service_id: r.service_id === null ? null : orukId('service', r.service_id),
      service_at_location_id: r.service_at_location_id,
      valid_from: r.valid_from,
      valid_to: r.valid_to,
      dtstart: r.dtstart,
      freq: r.freq,
      interval: r.interval,
      byday: r.byday,
      bymonthday: r.bymonthday,
      description: r.description,
      opens_at: r.opens_at,
      closes_at: r.closes_at,
      schedule_link: r.schedule_link,
      attending_type: r.attending_type,
      notes: r.notes,
    });
  const out = new Map<string, Json>();
  for (const id of ids) {
    const service = base.get(id);
    if (!service) continue;
    const sid = service.id as string;
    out.set(id, {
      ...service,
      schedules: (bySchedule.get(id) ?? []).map(scheduleObject),
      service_areas: (byArea.get(id) ?? []).map((a) =>
        compact({
          id: a.id,
          service_id: sid,
          name: a.name,
          extent: a.extent,
          extent_type: a.extent_type,
          uri: a.uri,
          service_area: a.service_area,
        }),
      ),
      service_at_locations: (bySal.get(id) ?? []).map((s) =>
        compact({
          id: s.id,
          service_id: sid,
          location_id: s.location_id,
          location: locations.get(s.location_id),
          schedules: bySalSchedule.has(s.id) ? bySalSchedule.get(s.id)!.map(scheduleObject) : undefined,
        }),
      ),
      contacts: (byContact.get(id) ?? []).map((c) =>
        compact({
          id: c.id,
          service_id: sid,
          name: c.name,
          title: c.title,
          email: c.email,
          phones: (byPhone.get(c.id) ?? []).map((p) =>
            compact({ id: p.id, contact_id: c.id, number: p.number, description: p.description }),
          ),
        }),
      ),
      cost_options: (byCost.get(id) ?? []).map((c) =>
        compact({
          id: c.id,
          service_id: sid,
          valid_from: c.valid_from,
          valid_to: c.valid_to,
          option: c.option,
          amount: c.amount,
          amount_description: c.amount_description,
        }),
      ),
      attributes: [
        ...(byTerm.get(id) ?? []).map((t) =>
          compact({
            id: t.attribute_id,
            link_id: sid,
            taxonomy_term_id: t.id,
            link_type: t.link_type,
            taxonomy_term: termObject(t),
          }),
        ),
        // ORUK has no field for self-referral: it travels as a referral-route attribute.
        ...(acceptsSelfReferral.has(id)
          ? [
              {
                id: selfReferralAttributeId(sid),
                link_id: sid,
                taxonomy_term_id: SELF_REFERRAL_TERM.id,
                link_type: REFERRAL_ROUTE_LINK_TYPE,
                taxonomy_term: termObject({
                  ...SELF_REFERRAL_TERM,
                  parent_id: null,
                  taxonomy: REFERRAL_ROUTE_TAXONOMY.name,
                  taxonomy_id: REFERRAL_ROUTE_TAXONOMY.id,
                  term_uri: null,
                }),
              },
            ]
          : []),
      ],
    });
  }
  return out;
}

// The directory's pages read the same few hundred services over and over, and building a full
// ORUK service takes a dozen queries: the pages keep what they built, per database, until the
// directory changes. Writes in this process (listing edits, imports, the FHIR admin API, filling
// from the place) say so through directoryChanged(), before and after they write; another
// process's writes are seen within CACHE_SECONDS.
const CACHE_SECONDS = 60;
let directoryVersion = 0;
const pageCache = new WeakMap<object, { version: number; until: number; kinds: Map<string, Map<string, unknown>> }>();

/** Forget what the pages kept: the directory has changed (or is about to). */
export function directoryChanged(): void {
  directoryVersion += 1;
}

/** Wraps a write so the pages' cache is forgotten before it starts and after it ends. */
export function changingDirectory<A extends unknown[], R>(write: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    directoryChanged();
    try {
      return await write(...args);
    } finally {
      directoryChanged();
    }
  };
}

/** Something the pages show about each service, from the cache where it is still current, else loaded (and kept). */
export async function cachedForPages<T>(
  db: Kysely<Database>,
  kind: string,
  serviceIds: string[],
  load: (ids: string[]) => Promise<Map<string, T>>,
): Promise<Map<string, T>> {
  const now = Date.now();
  let cache = pageCache.get(db);
  if (!cache || cache.version !== directoryVersion || cache.until < now) {
    cache = { version: directoryVersion, until: now + CACHE_SECONDS * 1000, kinds: new Map() };
    pageCache.set(db, cache);
  }
  const version = cache.version;
  let kept = cache.kinds.get(kind) as Map<string, T> | undefined;
  if (!kept) {
    kept = new Map();
    cache.kinds.set(kind, kept);
  }
  const missing = [...new Set(serviceIds)].filter((id) => !kept.has(id));
  const built = missing.length > 0 ? await load(missing) : new Map<string, T>();
  // Kept only if nothing changed while it was loaded.
  if (version === directoryVersion) for (const [id, value] of built) kept.set(id, value);
  return new Map(
    serviceIds.flatMap((id) => {
      const value = kept.get(id) ?? built.get(id);
      return value === undefined ? [] : [[id, value] as const];
    }),
  );
}

/** fullServiceObjects for the pages, from the cache where it is still current. */
export function serviceObjectsForPages(db: Kysely<Database>, serviceIds: string[]): Promise<Map<string, Json>> {
  return cachedForPages(db, 'oruk', serviceIds, (ids) => fullServiceObjects(db, ids));
}

/** ORUK service_at_location list objects: the link, its location, and the service's one-to-one fields. */
export async function serviceAtLocationObjects(db: Kysely<Database>, hits: SalHit[], full = false): Promise<Map<string, Json>> {
  const [services, locations] = await Promise.all([
    full
      ? fullServiceObjects(
          db,
          hits.map((h) => h.serviceId),
        )
      : serviceListObjects(
          db,
          hits.map((h) => h.serviceId),
        ),
    locationObjects(
      db,
      hits.map((h) => h.locationId),
    ),
  ]);
  return new Map(
    hits.map((h) => [
      h.id,
      compact({
        id: h.id,
        service_id: orukId('service', h.serviceId),
        location_id: h.locationId,
        location: locations.get(h.locationId),
        service: services.get(h.serviceId),
        distance: h.distance === null ? null : Math.round(h.distance),
      }),
    ]),
  );
}

/** Finds our network id for an ORUK service id (ours are derived, imported ones are the UUID itself). */
export async function serviceIdForOruk(db: Kysely<Database>, uuid: string): Promise<string | null> {
  const id = uuid.toLowerCase();
  const indexed = await db.selectFrom('directory_service_details').select('service_id').where('oruk_id', '=', id).executeTakeFirst();
  if (indexed) return indexed.service_id;
  // Services added to the network after the directory was built: derive and compare.
  const rows = [...(await serviceRecords(db)).values()];
  return rows.find((r) => orukId('service', r.id) === id)?.id ?? null;
}

export async function organisationIdForOruk(db: Kysely<Database>, uuid: string): Promise<string | null> {
  const id = uuid.toLowerCase();
  const indexed = await db
    .selectFrom('directory_organisation_details')
    .select('organisation_id')
    .where('oruk_id', '=', id)
    .executeTakeFirst();
  if (indexed) return indexed.organisation_id;
  return (await organisationIds(db)).find((organisationId) => orukId('organization', organisationId) === id) ?? null;
}

/** Taxonomy terms of one taxonomy or by id, in the taxonomy's order, with their count (a page of them when paged). */
export async function taxonomyTerms(db: Kysely<Database>, where: { taxonomyId?: string; ids?: string[] }, paging?: Paging) {
  let query = db.selectFrom('directory_taxonomy_terms').selectAll();
  if (where.taxonomyId) query = query.where('taxonomy_id', '=', where.taxonomyId);
  if (where.ids) query = query.where('id', 'in', where.ids.length ? where.ids : ['']);
  const total = Number(
    (
      await query
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  let ordered = query.orderBy('sort').orderBy('name').orderBy('id');
  if (paging) ordered = ordered.limit(paging.perPage).offset((paging.page - 1) * paging.perPage);
  return { total, rows: (await ordered.execute()).map(termObject) };
}

/** A taxonomy as ORUK writes it (uri and version only when known). */
export function taxonomyObject(t: { id: string; name: string; description: string; uri: string | null; version: string | null }): Json {
  const out: Json = { id: t.id, name: t.name, description: t.description };
  if (t.uri) out.uri = t.uri;
  if (t.version) out.version = t.version;
  return out;
}

/** A page of taxonomies by name, with how many there are. */
export async function taxonomiesPage(db: Kysely<Database>, paging: Paging) {
  const total = Number(
    (
      await db
        .selectFrom('directory_taxonomies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const rows = await db
    .selectFrom('directory_taxonomies')
    .selectAll()
    .orderBy('name')
    .orderBy('id')
    .limit(paging.perPage)
    .offset((paging.page - 1) * paging.perPage)
    .execute();
  return { total, rows };
}

/** One taxonomy by id, or undefined. */
export async function taxonomyById(db: Kysely<Database>, id: string) {
  return db.selectFrom('directory_taxonomies').selectAll().where('id', '=', id).executeTakeFirst();
}

/** One service at a location by id: which service, where; undefined when there is none. */
export async function serviceAtLocationById(db: Kysely<Database>, id: string) {
  const row = await db
    .selectFrom('directory_service_at_locations')
    .select(['id', 'service_id', 'location_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row && { id: row.id, serviceId: row.service_id, locationId: row.location_id };
}
