// Export and import of the whole directory as an Open Referral UK service package: an array of
// fully nested services (schema compiled/service_package.json). Import checks the file against
// the schema and for consistency first, then loads it in one transaction: all or nothing, and
// importing the same file again changes nothing (everything is keyed on its ORUK id).
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import {
  addOrganisation,
  addService,
  addTeam,
  changeOrganisationContact,
  changeService,
  firstTeams,
  organisationIds,
  serviceRecords,
} from '../network/index.ts';
import { orukId } from './ids.ts';
import { changingDirectory, fullServiceObjects } from './queries.ts';
import { ensureNeedTaxonomy } from './populate.ts';
import { orukErrors } from './validator.ts';
import { SELF_REFERRAL_TERM } from './referral-routes.ts';
import { RefusedInput } from '../platform/refused.ts';

type Json = Record<string, unknown>;

export class DirectoryImportError extends RefusedInput {
  constructor(message: string) {
    super(400, message);
  }
}

/** Every service, fully nested, in ORUK id order (so two exports of the same directory are identical). */
export async function exportDirectory(db: Kysely<Database>): Promise<Json[]> {
  const ids = [...(await serviceRecords(db)).keys()];
  const services = await fullServiceObjects(db, ids);
  return [...services.values()].sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

// --- shapes of the input, after schema validation -------------------------------------------

interface OrgIn {
  id: string;
  name: string;
  description: string;
  email?: string;
  website?: string;
  logo?: string;
  uri?: string;
  parent_organization_id?: string;
}
interface AddressIn {
  id: string;
  attention?: string;
  address_1: string;
  city: string;
  region?: string;
  state_province: string;
  postal_code: string;
  country: string;
  address_type: string;
}
interface LocationIn {
  id: string;
  location_type: string;
  name?: string;
  description?: string;
  latitude?: number;
  longitude?: number;
  external_identifier?: string;
  external_identifier_type?: string;
  addresses?: AddressIn[];
  accessibility?: Json[];
}
interface ScheduleIn {
  id: string;
  valid_from?: string;
  valid_to?: string;
  dtstart?: string;
  freq?: string;
  interval?: number;
  byday?: string;
  bymonthday?: string;
  description?: string;
  opens_at?: string;
  closes_at?: string;
  schedule_link?: string;
  attending_type?: string;
  notes?: string;
}
interface SalIn {
  id: string;
  location_id?: string;
  location?: LocationIn;
  schedules?: ScheduleIn[];
}
interface PhoneIn {
  id: string;
  number: string;
  description?: string;
}
interface ContactIn {
  id: string;
  name?: string;
  title?: string;
  email?: string;
  phones?: PhoneIn[];
}
interface AreaIn {
  id: string;
  name?: string;
  extent?: string;
  extent_type?: string;
  uri?: string;
  service_area?: string;
}
interface CostIn {
  id: string;
  option?: string;
  amount?: number;
  amount_description?: string;
  valid_from?: string;
  valid_to?: string;
}
interface TermIn {
  id: string;
  name: string;
  description: string;
  parent_id?: string;
  taxonomy?: string;
  taxonomy_id?: string;
  term_uri?: string;
  term?: string;
}
interface AttributeIn {
  id: string;
  taxonomy_term_id?: string;
  link_type?: string;
  taxonomy_term?: TermIn;
}
interface ServiceIn {
  id: string;
  organization_id?: string;
  name: string;
  description?: string;
  url?: string;
  email?: string;
  status: string;
  fees?: string;
  accreditations?: string;
  eligibility_description?: string;
  minimum_age?: number;
  maximum_age?: number;
  assured_date?: string;
  assurer_email?: string;
  alert?: string;
  last_modified?: string;
  schedules?: ScheduleIn[];
  service_areas?: AreaIn[];
  service_at_locations?: SalIn[];
  organization?: OrgIn;
  cost_options?: CostIn[];
  contacts?: ContactIn[];
  attributes?: AttributeIn[];
}

export interface ImportSummary {
  organizations: number;
  services: number;
  locations: number;
  taxonomyTerms: number;
}

function label(s: ServiceIn, i: number): string {
  return `services[${i}] ("${String(s.name).slice(0, 60)}")`;
}

/** Checks what the schema cannot: references resolve, ids are not reused, values fit. */
function checkConsistency(services: ServiceIn[]): {
  organizations: Map<string, OrgIn>;
  locations: Map<string, LocationIn>;
  terms: Map<string, TermIn>;
} {
  const organizations = new Map<string, OrgIn>();
  const locations = new Map<string, LocationIn>();
  const terms = new Map<string, TermIn>();
  const owners = new Map<string, string>();
  const claim = (kind: string, id: string, owner: string) => {
    const key = `${kind}:${id.toLowerCase()}`;
    const previous = owners.get(key);
    if (previous !== undefined)
      throw new DirectoryImportError(`${owner}: ${kind} id ${id} is also used by ${previous}; ids must be unique`);
    owners.set(key, owner);
  };
  services.forEach((s, i) => {
    const where = label(s, i);
    claim('service', s.id, where);
    if (s.organization) {
      if (s.organization_id && s.organization_id.toLowerCase() !== s.organization.id.toLowerCase()) {
        throw new DirectoryImportError(
          `${where}: organization_id ${s.organization_id} does not match its organization's id ${s.organization.id}`,
        );
      }
      if (!organizations.has(s.organization.id.toLowerCase())) organizations.set(s.organization.id.toLowerCase(), s.organization);
    }
    for (const [name, value] of [
      ['minimum_age', s.minimum_age],
      ['maximum_age', s.maximum_age],
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 150))
        throw new DirectoryImportError(`${where}.${name} must be a whole number of years from 0 to 150, not ${value}`);
    }
    if (s.minimum_age !== undefined && s.maximum_age !== undefined && s.minimum_age > s.maximum_age) {
      throw new DirectoryImportError(`${where}: minimum_age ${s.minimum_age} is above maximum_age ${s.maximum_age}`);
    }
    if (s.last_modified !== undefined && Number.isNaN(Date.parse(s.last_modified)))
      throw new DirectoryImportError(`${where}.last_modified is not a date and time`);
    (s.schedules ?? []).forEach((x, j) => claim('schedule', x.id, `${where}.schedules[${j}]`));
    (s.service_areas ?? []).forEach((x, j) => claim('service_area', x.id, `${where}.service_areas[${j}]`));
    (s.cost_options ?? []).forEach((x, j) => claim('cost_option', x.id, `${where}.cost_options[${j}]`));
    (s.contacts ?? []).forEach((c, j) => {
      claim('contact', c.id, `${where}.contacts[${j}]`);
      const phones = (c as { phones?: unknown }).phones;
      if (phones !== undefined && !Array.isArray(phones)) throw new DirectoryImportError(`${where}.contacts[${j}].phones must be a list`);
      (c.phones ?? []).forEach((p, k) => {
        const problems = orukErrors('phone', p, `${where}.contacts[${j}].phones[${k}]`);
        if (problems.length) throw new DirectoryImportError(problems[0]!);
        claim('phone', p.id, `${where}.contacts[${j}].phones[${k}]`);
      });
    });
    (s.attributes ?? []).forEach((a, j) => {
      claim('attribute', a.id, `${where}.attributes[${j}]`);
      if (!a.taxonomy_term)
        throw new DirectoryImportError(`${where}.attributes[${j}]: taxonomy_term is required (only taxonomy attributes can be imported)`);
      if (a.taxonomy_term_id && a.taxonomy_term_id.toLowerCase() !== a.taxonomy_term.id.toLowerCase()) {
        throw new DirectoryImportError(`${where}.attributes[${j}]: taxonomy_term_id does not match its taxonomy_term's id`);
      }
      if (isSelfReferral(a)) return;
      if (!terms.has(a.taxonomy_term.id.toLowerCase())) terms.set(a.taxonomy_term.id.toLowerCase(), a.taxonomy_term);
    });
    (s.service_at_locations ?? []).forEach((sal, j) => {
      const at = `${where}.service_at_locations[${j}]`;
      claim('service_at_location', sal.id, at);
      if (!sal.location) throw new DirectoryImportError(`${at}: location is required (the location itself, not only its id)`);
      if (sal.location_id && sal.location_id.toLowerCase() !== sal.location.id.toLowerCase())
        throw new DirectoryImportError(`${at}: location_id does not match its location's id`);
      const l = sal.location;
      if (l.latitude !== undefined && (l.latitude < -90 || l.latitude > 90))
        throw new DirectoryImportError(`${at}.location.latitude must be from -90 to 90, not ${l.latitude}`);
      if (l.longitude !== undefined && (l.longitude < -180 || l.longitude > 180))
        throw new DirectoryImportError(`${at}.location.longitude must be from -180 to 180, not ${l.longitude}`);
      if (!locations.has(l.id.toLowerCase())) {
        locations.set(l.id.toLowerCase(), l);
        (l.addresses ?? []).forEach((a, k) => claim('address', a.id, `${at}.location.addresses[${k}]`));
      }
      (sal.schedules ?? []).forEach((x, k) => claim('schedule', x.id, `${at}.schedules[${k}]`));
    });
  });
  services.forEach((s, i) => {
    const orgId = (s.organization?.id ?? s.organization_id)?.toLowerCase();
    if (!orgId) throw new DirectoryImportError(`${label(s, i)}: organization is required (who provides the service)`);
    if (!organizations.has(orgId))
      throw new DirectoryImportError(`${label(s, i)}: organization_id ${orgId} is not given in full by any service in the file`);
  });
  return { organizations, locations, terms };
}

/** The referral-route attribute that says anyone may refer themselves (not a need). */
function isSelfReferral(a: AttributeIn): boolean {
  return (a.taxonomy_term_id ?? a.taxonomy_term?.id ?? '').toLowerCase() === SELF_REFERRAL_TERM.id;
}

/** Accepts an ORUK service package (array of full services) or a page of them ({ contents: [...] }). */
function servicesIn(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (input && typeof input === 'object' && Array.isArray((input as { contents?: unknown }).contents))
    return (input as { contents: unknown[] }).contents;
  throw new DirectoryImportError('expected an Open Referral UK service package: a JSON list of fully nested services');
}

const lower = (id: string) => id.toLowerCase();
const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

function chunks<T>(rows: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** Loads a directory in the ORUK service package format. Throws DirectoryImportError on the first problem; nothing is written then. */
async function importDirectoryNow(db: Kysely<Database>, input: unknown): Promise<ImportSummary> {
  const raw = servicesIn(input);
  const problems = orukErrors('compiled/service_package', raw, 'services');
  if (problems.length > 0) throw new DirectoryImportError(problems[0]!);
  const services = raw as ServiceIn[];
  const { organizations, locations, terms } = checkConsistency(services);

  await db
    .transaction()
    .execute(async (trx) => {
      await ensureNeedTaxonomy(trx);
      // Existing records by ORUK id: ours have readable ids, imported ones keep their UUID.
      const existingOrgs = new Map((await organisationIds(trx)).map((id) => [orukId('organization', id), id]));
      const existingServices = new Map(
        [...(await serviceRecords(trx)).values()].map((s) => [
          orukId('service', s.id),
          { id: s.id, team_id: s.teamId, organisation_id: s.organisationId },
        ]),
      );
      const firstTeam = await firstTeams(trx);

      const orgNetworkId = new Map<string, string>();
      // What each organisation's first service says about where and how to reach it.
      const orgPostcode = new Map<string, string>();
      const orgPhone = new Map<string, string>();
      for (const s of services) {
        const orgId = lower(s.organization?.id ?? s.organization_id!);
        const postcode = s.service_at_locations?.flatMap((sal) => sal.location?.addresses ?? [])[0]?.postal_code;
        if (postcode && !orgPostcode.has(orgId)) orgPostcode.set(orgId, postcode);
        const phone = s.contacts?.flatMap((c) => c.phones ?? [])[0]?.number;
        if (phone && !orgPhone.has(orgId)) orgPhone.set(orgId, phone);
      }
      for (const [id, o] of organizations) {
        const existing = existingOrgs.get(id);
        const networkId = existing ?? id;
        orgNetworkId.set(id, networkId);
        if (existing) {
          await changeOrganisationContact(trx, existing, { name: o.name, email: o.email ?? '', website: o.website ?? '' });
        } else {
          await addOrganisation(trx, {
            id: networkId,
            name: o.name,
            kind: 'other',
            sourceCode: `ORUK-${id}`,
            localityId: null,
            postcode: orgPostcode.get(id) ?? '',
            phone: orgPhone.get(id) ?? '',
            email: o.email ?? '',
            website: o.website ?? '',
          });
        }
        await trx
          .insertInto('directory_organisation_details')
          .values({
            organisation_id: networkId,
            oruk_id: id,
            description: o.description,
            logo: orNull(o.logo),
            uri: orNull(o.uri),
            parent_organization_id: orNull(o.parent_organization_id),
          })
          .onConflict((oc) =>
            oc.column('organisation_id').doUpdateSet((eb) => ({
              oruk_id: eb.ref('excluded.oruk_id'),
              description: eb.ref('excluded.description'),
              logo: eb.ref('excluded.logo'),
              uri: eb.ref('excluded.uri'),
              parent_organization_id: eb.ref('excluded.parent_organization_id'),
            })),
          )
          .execute();
      }

      // Taxonomies and terms named by the attributes.
      for (const t of terms.values()) {
        if (t.taxonomy_id) {
          const name = t.taxonomy ?? 'Imported taxonomy';
          await trx
            .insertInto('directory_taxonomies')
            .values({ id: lower(t.taxonomy_id), name, description: name, uri: null, version: null })
            .onConflict((oc) => oc.column('id').doNothing())
            .execute();
        }
        await trx
          .insertInto('directory_taxonomy_terms')
          .values({
            id: lower(t.id),
            taxonomy_id: t.taxonomy_id ? lower(t.taxonomy_id) : null,
            code: orNull(t.term),
            name: t.name,
            description: t.description,
            parent_id: t.parent_id ? lower(t.parent_id) : null,
            taxonomy: orNull(t.taxonomy),
            term_uri: orNull(t.term_uri),
          })
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              taxonomy_id: eb.ref('excluded.taxonomy_id'),
              code: eb.ref('excluded.code'),
              name: eb.ref('excluded.name'),
              description: eb.ref('excluded.description'),
              parent_id: eb.ref('excluded.parent_id'),
              taxonomy: eb.ref('excluded.taxonomy'),
              term_uri: eb.ref('excluded.term_uri'),
            })),
          )
          .execute();
      }

      // Services: the network row, then everything hanging off it is replaced.
      const serviceNetworkId = new Map<string, string>();
      for (const s of services) {
        const id = lower(s.id);
        const orgId = orgNetworkId.get(lower(s.organization?.id ?? s.organization_id!))!;
        const existing = existingServices.get(id);
        const networkId = existing?.id ?? id;
        serviceNetworkId.set(id, networkId);
        const needs = (s.attributes ?? [])
          .filter((a) => !isSelfReferral(a))
          .map((a) => a.taxonomy_term?.term)
          .filter((t): t is string => typeof t === 'string');
        const postcode = s.service_at_locations?.flatMap((sal) => sal.location?.addresses ?? [])[0]?.postal_code ?? '';
        const fields = {
          organisationId: orgId,
          name: s.name,
          description: s.description ?? '',
          needs,
          eligibility: s.eligibility_description ?? '',
          minAge: orNull(s.minimum_age),
          maxAge: orNull(s.maximum_age),
          postcode,
          acceptsSelfReferral: (s.attributes ?? []).some(isSelfReferral),
        };
        if (existing) {
          const team = existing.organisation_id === orgId ? existing.team_id : await teamFor(trx, orgId, firstTeam);
          await changeService(trx, networkId, { ...fields, teamId: team });
        } else {
          // Referral clocks and capacity are not part of ORUK: imported services start with defaults.
          await addService(trx, networkId, { ...fields, teamId: await teamFor(trx, orgId, firstTeam) });
        }
        await trx
          .insertInto('directory_service_details')
          .values({
            service_id: networkId,
            oruk_id: id,
            status: s.status,
            url: orNull(s.url),
            email: orNull(s.email),
            fees: orNull(s.fees),
            accreditations: orNull(s.accreditations),
            assured_date: orNull(s.assured_date),
            assurer_email: orNull(s.assurer_email),
            alert: orNull(s.alert),
            last_modified: s.last_modified ? new Date(s.last_modified).toISOString() : null,
          })
          .onConflict((oc) =>
            oc.column('service_id').doUpdateSet((eb) => ({
              oruk_id: eb.ref('excluded.oruk_id'),
              status: eb.ref('excluded.status'),
              url: eb.ref('excluded.url'),
              email: eb.ref('excluded.email'),
              fees: eb.ref('excluded.fees'),
              accreditations: eb.ref('excluded.accreditations'),
              assured_date: eb.ref('excluded.assured_date'),
              assurer_email: eb.ref('excluded.assurer_email'),
              alert: eb.ref('excluded.alert'),
              last_modified: eb.ref('excluded.last_modified'),
            })),
          )
          .execute();
      }
      const networkIds = [...serviceNetworkId.values()];
      for (const batch of chunks(networkIds)) {
        await trx.deleteFrom('directory_schedules').where('service_id', 'in', batch).execute();
        await trx.deleteFrom('directory_service_areas').where('service_id', 'in', batch).execute();
        await trx.deleteFrom('directory_contacts').where('service_id', 'in', batch).execute();
        await trx.deleteFrom('directory_cost_options').where('service_id', 'in', batch).execute();
        await trx.deleteFrom('directory_service_terms').where('service_id', 'in', batch).execute();
        await trx.deleteFrom('directory_service_at_locations').where('service_id', 'in', batch).execute();
      }

      // Locations (shared between services) and their addresses.
      const locationOwner = new Map<string, string>();
      for (const s of services)
        for (const sal of s.service_at_locations ?? []) {
          const lid = lower(sal.location!.id);
          if (!locationOwner.has(lid)) locationOwner.set(lid, orgNetworkId.get(lower(s.organization?.id ?? s.organization_id!))!);
        }
      for (const [id, l] of locations) {
        await trx
          .insertInto('directory_locations')
          .values({
            id,
            organisation_id: locationOwner.get(id) ?? null,
            location_type: l.location_type,
            name: orNull(l.name),
            description: orNull(l.description),
            latitude: orNull(l.latitude),
            longitude: orNull(l.longitude),
            external_identifier: orNull(l.external_identifier),
            external_identifier_type: orNull(l.external_identifier_type),
            accessibility: JSON.stringify(l.accessibility ?? []),
          })
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              location_type: eb.ref('excluded.location_type'),
              name: eb.ref('excluded.name'),
              description: eb.ref('excluded.description'),
              latitude: eb.ref('excluded.latitude'),
              longitude: eb.ref('excluded.longitude'),
              external_identifier: eb.ref('excluded.external_identifier'),
              external_identifier_type: eb.ref('excluded.external_identifier_type'),
              accessibility: eb.ref('excluded.accessibility'),
            })),
          )
          .execute();
        await trx.deleteFrom('directory_addresses').where('location_id', '=', id).execute();
      }
      const addresses: Insertable<Database['directory_addresses']>[] = [];
      for (const [id, l] of locations)
        (l.addresses ?? []).forEach((a, i) =>
          addresses.push({
            id: lower(a.id),
            location_id: id,
            attention: orNull(a.attention),
            address_1: a.address_1,
            city: a.city,
            region: orNull(a.region),
            state_province: a.state_province,
            postal_code: a.postal_code,
            country: a.country,
            address_type: a.address_type,
            sort: i,
          }),
        );

      const sals: Insertable<Database['directory_service_at_locations']>[] = [];
      const schedules: Insertable<Database['directory_schedules']>[] = [];
      const areas: Insertable<Database['directory_service_areas']>[] = [];
      const contacts: Insertable<Database['directory_contacts']>[] = [];
      const phones: Insertable<Database['directory_phones']>[] = [];
      const costs: Insertable<Database['directory_cost_options']>[] = [];
      const links: Insertable<Database['directory_service_terms']>[] = [];
      const schedule = (x: ScheduleIn, i: number, serviceId: string | null, salId: string | null) => ({
        id: lower(x.id),
        service_id: serviceId,
        service_at_location_id: salId,
        valid_from: orNull(x.valid_from),
        valid_to: orNull(x.valid_to),
        dtstart: orNull(x.dtstart),
        freq: orNull(x.freq),
        interval: x.interval === undefined ? null : Math.round(x.interval),
        byday: orNull(x.byday),
        bymonthday: orNull(x.bymonthday),
        description: orNull(x.description),
        opens_at: orNull(x.opens_at),
        closes_at: orNull(x.closes_at),
        schedule_link: orNull(x.schedule_link),
        attending_type: orNull(x.attending_type),
        notes: orNull(x.notes),
        sort: i,
      });
      for (const s of services) {
        const sid = serviceNetworkId.get(lower(s.id))!;
        (s.service_at_locations ?? []).forEach((sal) => {
          sals.push({ id: lower(sal.id), service_id: sid, location_id: lower(sal.location!.id) });
          (sal.schedules ?? []).forEach((x, i) => schedules.push(schedule(x, i, null, lower(sal.id))));
        });
        (s.schedules ?? []).forEach((x, i) => schedules.push(schedule(x, i, sid, null)));
        (s.service_areas ?? []).forEach((a, i) =>
          areas.push({
            id: lower(a.id),
            service_id: sid,
            name: orNull(a.name),
            extent: orNull(a.extent),
            extent_type: orNull(a.extent_type),
            uri: orNull(a.uri),
            service_area: orNull(a.service_area),
            locality_id: null,
            sort: i,
          }),
        );
        (s.contacts ?? []).forEach((c, i) => {
          contacts.push({
            id: lower(c.id),
            service_id: sid,
            name: orNull(c.name),
            title: orNull(c.title),
            email: orNull(c.email),
            sort: i,
          });
          (c.phones ?? []).forEach((p, j) =>
            phones.push({ id: lower(p.id), contact_id: lower(c.id), number: p.number, description: orNull(p.description), sort: j }),
          );
        });
        (s.cost_options ?? []).forEach((c, i) =>
          costs.push({
            id: lower(c.id),
            service_id: sid,
            option: orNull(c.option),
            amount: orNull(c.amount),
            amount_description: orNull(c.amount_description),
            valid_from: orNull(c.valid_from),
            valid_to: orNull(c.valid_to),
            sort: i,
          }),
        );
        (s.attributes ?? [])
          .filter((a) => !isSelfReferral(a))
          .forEach((a, i) =>
            links.push({
              service_id: sid,
              term_id: lower(a.taxonomy_term!.id),
              attribute_id: lower(a.id),
              link_type: orNull(a.link_type),
              sort: i,
            }),
          );
      }
      const insertAll = async <T extends keyof Database>(table: T, rows: object[]) => {
        for (const batch of chunks(rows))
          await trx
            .insertInto(table)
            .values(batch as never)
            .execute();
      };
      await insertAll('directory_addresses', addresses);
      await insertAll('directory_service_at_locations', sals);
      await insertAll('directory_schedules', schedules);
      await insertAll('directory_service_areas', areas);
      await insertAll('directory_contacts', contacts);
      await insertAll('directory_phones', phones);
      await insertAll('directory_cost_options', costs);
      await insertAll('directory_service_terms', links);
    })
    .catch((error: unknown) => {
      if (error instanceof DirectoryImportError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new DirectoryImportError(`the directory could not be saved, and nothing was imported: ${message}`);
    });
  return { organizations: organizations.size, services: services.length, locations: locations.size, taxonomyTerms: terms.size };
}

/** Loads a directory in the ORUK service package format (see importDirectoryNow); the pages' cache is forgotten. */
export const importDirectory = changingDirectory(importDirectoryNow);

async function teamFor(trx: Transaction<Database>, organisationId: string, firstTeam: Map<string, string>): Promise<string> {
  const existing = firstTeam.get(organisationId);
  if (existing) return existing;
  const id = `${organisationId}-directory`;
  await addTeam(trx, { id, organisationId, name: 'Services' });
  firstTeam.set(organisationId, id);
  return id;
}
