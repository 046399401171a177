// One directory item at a time: an organisation, a location or a service created or changed on
// its own (the FHIR API's Organization, Location and HealthcareService writes), where
// `importDirectory` loads a whole Open Referral UK package. Each item is checked against the same
// ORUK schemas and rules as an import, normalised the same way (postcodes, lower-case UUIDs, need
// terms), and written to the same tables, so the directory pages, the ORUK API and FHIR agree.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { placeName as nameOfPlace } from '../place/index.ts';
import { RefusedInput } from '../platform/refused.ts';
import {
  addOrganisation,
  addService,
  addTeam,
  changeOrganisationContact,
  changeService,
  firstTeams,
  organisationById,
  organisationRecord,
  organisationWithSourceCode,
  serviceRecords,
} from '../network/index.ts';
import { orukId } from './ids.ts';
import { changingDirectory, lookupPostcode, normalisePostcode } from './queries.ts';
import { ensureNeedTaxonomy } from './populate.ts';
import { NEED_TERMS, needTermId } from './taxonomy.ts';
import { orukErrors } from './validator.ts';

/** A refused item: 400 for a malformed value, 404 for an unknown reference, 409 for a clash, 422 for a rule. */
export class DirectoryItemError extends RefusedInput {
  override name = 'DirectoryItemError';
}

/** The kinds of member organisation (they decide which category of information an organisation's records fall in). */
export const ORGANISATION_KINDS = [
  'gp_practice',
  'hospital_trust',
  'mental_health_trust',
  'drug_alcohol_service',
  'council_adult_social_care',
  'council_children_social_care',
  'council_housing',
  'housing_association',
  'probation',
  'school',
  'charity',
  'other',
] as const;

const NEED_CODES = new Set<string>(NEED_TERMS.map((t) => t.code));

function schemaCheck(name: Parameters<typeof orukErrors>[0], value: unknown, root: string): void {
  const problems = orukErrors(name, value, root);
  if (problems.length > 0) throw new DirectoryItemError(400, problems[0]!);
}

const orNull = (value: string | undefined | null): string | null =>
  value === undefined || value === null || value.trim() === '' ? null : value.trim();

async function placeName(db: Kysely<Database>): Promise<string> {
  return (await nameOfPlace(db)) ?? 'the place';
}

function checkPostcode(raw: string | null | undefined, what: string): string | null {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  const postcode = normalisePostcode(raw);
  if (!/^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$/.test(postcode)) throw new DirectoryItemError(400, `${what} is not a UK postcode`);
  return postcode;
}

// ---------------------------------------------------------------------------------------------
// Organisations

export interface OrganisationItem {
  name: string;
  /** The code agency feeds and the FHIR identifier use; made up from the id when not given. Fixed once made. */
  sourceCode?: string | null;
  /** One of ORGANISATION_KINDS; 'other' when not given. Fixed once made. */
  kind?: string | null;
  description?: string | null;
  email?: string | null;
  website?: string | null;
  phone?: string | null;
  postcode?: string | null;
}

async function checkedOrganisation(id: string, item: OrganisationItem, description: string) {
  const name = item.name?.trim() ?? '';
  if (name === '') throw new DirectoryItemError(400, 'an organisation needs a name');
  const oruk = {
    id: orukId('organization', id),
    name,
    description,
    ...(orNull(item.email) ? { email: orNull(item.email) } : {}),
    ...(orNull(item.website) ? { website: orNull(item.website) } : {}),
  };
  schemaCheck('organization', oruk, 'organization');
  return {
    name,
    email: orNull(item.email) ?? '',
    website: orNull(item.website) ?? '',
    phone: orNull(item.phone) ?? '',
    postcode: checkPostcode(item.postcode, "the organisation's postcode") ?? '',
  };
}

async function createOrganisationItemNow(db: Kysely<Database>, item: OrganisationItem): Promise<string> {
  const id = randomUUID();
  const kind = orNull(item.kind) ?? 'other';
  if (!(ORGANISATION_KINDS as readonly string[]).includes(kind))
    throw new DirectoryItemError(422, `"${kind.slice(0, 40)}" is not a kind of member organisation (${ORGANISATION_KINDS.join(', ')})`);
  const sourceCode = orNull(item.sourceCode) ?? `ORUK-${id}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(sourceCode))
    throw new DirectoryItemError(400, 'an organisation code is 1 to 64 letters, digits, dots, dashes or underscores');
  const description = orNull(item.description) ?? item.name?.trim() ?? '';
  const fields = await checkedOrganisation(id, item, description);
  const clash = await organisationWithSourceCode(db, sourceCode);
  if (clash) throw new DirectoryItemError(409, `another organisation already has the code ${sourceCode}`);
  await addOrganisation(db, { id, ...fields, kind, sourceCode, localityId: null });
  await db
    .insertInto('directory_organisation_details')
    .values({ organisation_id: id, oruk_id: orukId('organization', id), description, logo: null, uri: null, parent_organization_id: null })
    .execute();
  await addTeam(db, { id: `${id}-directory`, organisationId: id, name: 'Services' });
  return id;
}

/** Changes the name, contact details and postcode; the code and kind stay (feeds and the access rules depend on them). */
async function updateOrganisationItemNow(db: Kysely<Database>, id: string, item: OrganisationItem): Promise<boolean> {
  const organisation = await organisationRecord(db, id);
  if (!organisation) throw new DirectoryItemError(404, 'that organisation is not in the directory');
  const details = await db
    .selectFrom('directory_organisation_details')
    .select(['description', 'oruk_id'])
    .where('organisation_id', '=', id)
    .executeTakeFirst();
  const current = { ...organisation, description: details?.description ?? null, oruk_id: details?.oruk_id ?? null };
  if (orNull(item.sourceCode) !== null && item.sourceCode!.trim() !== current.sourceCode)
    throw new DirectoryItemError(422, "an organisation's code is how agency feeds name it; it is not changed here");
  if (orNull(item.kind) !== null && item.kind!.trim() !== current.kind)
    throw new DirectoryItemError(422, "an organisation's kind decides how the access rules treat its records; it is not changed here");
  // A description kept as the old name follows a rename.
  const description =
    orNull(item.description) ??
    (current.description && current.description !== current.name ? current.description : (item.name?.trim() ?? ''));
  const fields = await checkedOrganisation(id, item, description);
  const changed =
    fields.name !== current.name ||
    fields.email !== current.email ||
    fields.website !== current.website ||
    fields.phone !== current.phone ||
    fields.postcode !== current.postcode ||
    description !== current.description;
  if (!changed) return false;
  await changeOrganisationContact(db, id, fields);
  await db
    .insertInto('directory_organisation_details')
    .values({
      organisation_id: id,
      oruk_id: current.oruk_id ?? orukId('organization', id),
      description,
      logo: null,
      uri: null,
      parent_organization_id: null,
    })
    .onConflict((oc) => oc.column('organisation_id').doUpdateSet({ description }))
    .execute();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Locations

export interface LocationItem {
  name?: string | null;
  description?: string | null;
  organisationId?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  /** The street address (the location's first ORUK address); city defaults to the place's name, country to GB. */
  address?: {
    line: string;
    city?: string | null;
    region?: string | null;
    stateProvince?: string | null;
    postalCode: string;
    country?: string | null;
  } | null;
}

async function checkedLocation(db: Kysely<Database>, id: string, item: LocationItem) {
  if (item.organisationId) {
    const org = await organisationById(db, item.organisationId);
    if (!org) throw new DirectoryItemError(404, 'the managing organisation is not in the directory');
  }
  if ((item.latitude === null || item.latitude === undefined) !== (item.longitude === null || item.longitude === undefined)) {
    throw new DirectoryItemError(400, 'a position needs both latitude and longitude');
  }
  let address: {
    address_1: string;
    city: string;
    region: string | null;
    state_province: string;
    postal_code: string;
    country: string;
  } | null = null;
  if (item.address) {
    const postal = checkPostcode(item.address.postalCode, "the address's postcode");
    if (!postal || !orNull(item.address.line)) throw new DirectoryItemError(400, 'an address needs a first line and a postcode');
    address = {
      address_1: item.address.line.trim(),
      city: orNull(item.address.city) ?? (await placeName(db)),
      region: orNull(item.address.region),
      state_province: orNull(item.address.stateProvince) ?? 'England',
      postal_code: postal,
      country: (orNull(item.address.country) ?? 'GB').toUpperCase(),
    };
  }
  let latitude = item.latitude ?? null;
  let longitude = item.longitude ?? null;
  // Without a position, the postcode's centre places it on the map and in distance searches.
  if (latitude === null && address) {
    const known = await lookupPostcode(db, address.postal_code);
    if (known) ({ lat: latitude, lon: longitude } = known);
  }
  const fields = {
    organisation_id: item.organisationId ?? null,
    location_type: address || latitude !== null ? 'physical' : 'virtual',
    name: orNull(item.name),
    description: orNull(item.description),
    latitude,
    longitude,
  };
  if (!fields.name && !address) throw new DirectoryItemError(400, 'a location needs a name or an address');
  const oruk = {
    id,
    location_type: fields.location_type,
    ...(fields.name ? { name: fields.name } : {}),
    ...(fields.description ? { description: fields.description } : {}),
    ...(latitude !== null ? { latitude, longitude } : {}),
    addresses: address
      ? [
          {
            id: orukId('address', id),
            location_id: id,
            address_type: 'physical',
            ...Object.fromEntries(Object.entries(address).filter(([, v]) => v !== null)),
          },
        ]
      : [],
  };
  schemaCheck('location', oruk, 'location');
  return { fields, address };
}

async function writeAddress(
  db: Kysely<Database>,
  locationId: string,
  address: NonNullable<Awaited<ReturnType<typeof checkedLocation>>['address']>,
): Promise<void> {
  // The first address is the street address; any others (postal, imported) are kept.
  const first = await db
    .selectFrom('directory_addresses')
    .select('id')
    .where('location_id', '=', locationId)
    .orderBy('sort')
    .orderBy('id')
    .executeTakeFirst();
  if (first) await db.updateTable('directory_addresses').set(address).where('id', '=', first.id).execute();
  else
    await db
      .insertInto('directory_addresses')
      .values({
        id: orukId('address', locationId),
        location_id: locationId,
        attention: null,
        address_type: 'physical',
        sort: 0,
        ...address,
      })
      .execute();
}

async function createLocationItemNow(db: Kysely<Database>, item: LocationItem): Promise<string> {
  const id = randomUUID();
  const { fields, address } = await checkedLocation(db, id, item);
  await db
    .insertInto('directory_locations')
    .values({ id, ...fields, external_identifier: null, external_identifier_type: null, accessibility: '[]' })
    .execute();
  if (address) await writeAddress(db, id, address);
  return id;
}

async function updateLocationItemNow(db: Kysely<Database>, id: string, item: LocationItem): Promise<boolean> {
  const current = await db.selectFrom('directory_locations').selectAll().where('id', '=', id).executeTakeFirst();
  if (!current) throw new DirectoryItemError(404, 'that location is not in the directory');
  const { fields, address } = await checkedLocation(db, id, item);
  const oldAddress = await db
    .selectFrom('directory_addresses')
    .select(['address_1', 'city', 'region', 'state_province', 'postal_code', 'country'])
    .where('location_id', '=', id)
    .orderBy('sort')
    .orderBy('id')
    .executeTakeFirst();
  if (!address && oldAddress) throw new DirectoryItemError(422, 'a location keeps its street address: give the new one rather than none');
  const same =
    (Object.keys(fields) as Array<keyof typeof fields>).every((k) => fields[k] === current[k]) &&
    JSON.stringify(address) === JSON.stringify(oldAddress ?? null);
  if (same) return false;
  await db.updateTable('directory_locations').set(fields).where('id', '=', id).execute();
  if (address) await writeAddress(db, id, address);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Services

export interface ServiceItem {
  organisationId: string;
  name: string;
  description?: string | null;
  eligibility?: string | null;
  /** Need codes (the directory's need taxonomy): what the service helps with. */
  needs: string[];
  /** The ORUK status: active, inactive, defunct or temporarily closed. */
  status: string;
  email?: string | null;
  url?: string | null;
  locationIds: string[];
}

async function checkedService(db: Kysely<Database>, id: string, item: ServiceItem) {
  const name = item.name?.trim() ?? '';
  if (name === '') throw new DirectoryItemError(400, 'a service needs a name');
  const org = await organisationById(db, item.organisationId);
  if (!org) throw new DirectoryItemError(404, 'the organisation providing the service is not in the directory');
  const needs = [...new Set(item.needs)];
  const unknown = needs.find((n) => !NEED_CODES.has(n));
  if (unknown !== undefined)
    throw new DirectoryItemError(
      422,
      `"${unknown.slice(0, 40)}" is not a need in the directory's taxonomy (${[...NEED_CODES].join(', ')})`,
    );
  const locationIds = [...new Set(item.locationIds.map((l) => l.toLowerCase()))];
  if (locationIds.length > 0) {
    const found = await db.selectFrom('directory_locations').select('id').where('id', 'in', locationIds).execute();
    if (found.length !== locationIds.length)
      throw new DirectoryItemError(404, 'a location the service is offered at is not in the directory');
  }
  const details = { status: item.status, email: orNull(item.email), url: orNull(item.url) };
  schemaCheck(
    'service',
    {
      id: orukId('service', id),
      organization_id: orukId('organization', item.organisationId),
      name,
      status: details.status,
      ...(orNull(item.description) ? { description: orNull(item.description) } : {}),
      ...(details.email ? { email: details.email } : {}),
      ...(details.url ? { url: details.url } : {}),
    },
    'service',
  );
  return { name, description: orNull(item.description) ?? '', eligibility: orNull(item.eligibility) ?? '', needs, locationIds, details };
}

async function writeServiceLinks(db: Kysely<Database>, serviceId: string, needs: string[], locationIds: string[]): Promise<void> {
  await ensureNeedTaxonomy(db);
  await db.deleteFrom('directory_service_terms').where('service_id', '=', serviceId).where('link_type', '=', 'need').execute();
  if (needs.length > 0) {
    await db
      .insertInto('directory_service_terms')
      .values(
        needs.map((need, i) => ({
          service_id: serviceId,
          term_id: needTermId(need),
          attribute_id: orukId('attribute', `${serviceId}#${need}`),
          link_type: 'need',
          sort: i,
        })),
      )
      .onConflict((oc) => oc.columns(['service_id', 'term_id']).doNothing())
      .execute();
  }
  const existing = (
    await db.selectFrom('directory_service_at_locations').select('location_id').where('service_id', '=', serviceId).execute()
  ).map((r) => r.location_id);
  const gone = existing.filter((l) => !locationIds.includes(l));
  if (gone.length > 0)
    await db.deleteFrom('directory_service_at_locations').where('service_id', '=', serviceId).where('location_id', 'in', gone).execute();
  const added = locationIds.filter((l) => !existing.includes(l));
  if (added.length > 0)
    await db
      .insertInto('directory_service_at_locations')
      .values(added.map((l) => ({ id: randomUUID(), service_id: serviceId, location_id: l })))
      .execute();
}

async function firstPostcode(db: Kysely<Database>, locationIds: string[]): Promise<string> {
  if (locationIds.length === 0) return '';
  const row = await db
    .selectFrom('directory_addresses')
    .select('postal_code')
    .where('location_id', 'in', locationIds)
    .orderBy('sort')
    .orderBy('id')
    .executeTakeFirst();
  return row?.postal_code ?? '';
}

async function createServiceItemNow(db: Kysely<Database>, item: ServiceItem): Promise<string> {
  const id = randomUUID();
  const s = await checkedService(db, id, item);
  let teamId = (await firstTeams(db, [item.organisationId])).get(item.organisationId);
  if (!teamId) {
    teamId = `${item.organisationId}-directory`;
    await addTeam(db, { id: teamId, organisationId: item.organisationId, name: 'Services' });
  }
  // Referral clocks and capacity are not part of the directory: new services start with the import's defaults.
  await addService(db, id, {
    organisationId: item.organisationId,
    teamId,
    name: s.name,
    description: s.description,
    needs: s.needs,
    eligibility: s.eligibility,
    minAge: null,
    maxAge: null,
    postcode: await firstPostcode(db, s.locationIds),
  });
  await db
    .insertInto('directory_service_details')
    .values({
      service_id: id,
      oruk_id: orukId('service', id),
      ...s.details,
      fees: null,
      accreditations: null,
      assured_date: null,
      assurer_email: null,
      alert: null,
      last_modified: new Date(),
    })
    .execute();
  await writeServiceLinks(db, id, s.needs, s.locationIds);
  return id;
}

/** Changes what the directory says about a service; it stays with the organisation that provides it. */
async function updateServiceItemNow(db: Kysely<Database>, id: string, item: ServiceItem): Promise<boolean> {
  const service = (await serviceRecords(db, [id])).get(id);
  if (!service) throw new DirectoryItemError(404, 'that service is not in the directory');
  const details = await db
    .selectFrom('directory_service_details')
    .select(['status', 'email', 'url', 'oruk_id'])
    .where('service_id', '=', id)
    .executeTakeFirst();
  const current = {
    ...service,
    status: details?.status ?? null,
    email: details?.email ?? null,
    url: details?.url ?? null,
    oruk_id: details?.oruk_id ?? null,
  };
  if (item.organisationId !== current.organisationId)
    throw new DirectoryItemError(
      422,
      'a service stays with the organisation that provides it (its referrals and staff are theirs); make a new service instead',
    );
  const s = await checkedService(db, id, item);
  const locations = (
    await db.selectFrom('directory_service_at_locations').select('location_id').where('service_id', '=', id).execute()
  ).map((r) => r.location_id);
  const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
  const same =
    s.name === current.name &&
    s.description === current.description &&
    s.eligibility === current.eligibility &&
    sameSet(s.needs, current.needs) &&
    s.details.status === (current.status ?? 'active') &&
    s.details.email === (current.email ?? null) &&
    s.details.url === (current.url ?? null) &&
    sameSet(s.locationIds, locations);
  if (same) return false;
  await changeService(db, id, {
    name: s.name,
    description: s.description,
    eligibility: s.eligibility,
    needs: s.needs,
    postcode: (await firstPostcode(db, s.locationIds)) || current.postcode,
  });
  await db
    .insertInto('directory_service_details')
    .values({
      service_id: id,
      oruk_id: current.oruk_id ?? orukId('service', id),
      ...s.details,
      fees: null,
      accreditations: null,
      assured_date: null,
      assurer_email: null,
      alert: null,
      last_modified: new Date(),
    })
    .onConflict((oc) => oc.column('service_id').doUpdateSet({ ...s.details, last_modified: new Date() }))
    .execute();
  await writeServiceLinks(db, id, s.needs, s.locationIds);
  return true;
}

// Each write tells the directory pages their cached services may be out of date.
export const createOrganisationItem = changingDirectory(createOrganisationItemNow);
export const updateOrganisationItem = changingDirectory(updateOrganisationItemNow);
export const createLocationItem = changingDirectory(createLocationItemNow);
export const updateLocationItem = changingDirectory(updateLocationItemNow);
export const createServiceItem = changingDirectory(createServiceItemNow);
export const updateServiceItem = changingDirectory(updateServiceItemNow);
