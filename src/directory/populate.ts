// Fills the directory tables from the care network of a loaded place: a location at each
// organisation's postcode, realistic opening hours, a public referral contact, service areas,
// costs and the need taxonomy. Never names a practitioner: contacts are roles and shared lines.
import { createHash } from 'node:crypto';
import type { Insertable, Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { changeService, organisationRecords, SELF_REFERRAL_SERVICE_NAMES, serviceRecords, teamsByIds } from '../network/index.ts';
import { localityNamesById, placeName as nameOfPlace, postcodePoints } from '../place/index.ts';
import { orukId } from './ids.ts';
import { changingDirectory } from './queries.ts';
import { describeOpening } from './format.ts';
import { NEED_GROUPS, NEED_TAXONOMY, NEED_TERMS, needTermId } from './taxonomy.ts';
import { REFERRAL_ROUTE_TAXONOMY, SELF_REFERRAL_TERM } from './referral-routes.ts';

interface Opening {
  byday: string;
  opens: string;
  closes: string;
  notes?: string;
  attending?: string;
}

const WEEKDAYS = 'MO,TU,WE,TH,FR';
const EVERY_DAY = 'MO,TU,WE,TH,FR,SA,SU';

/** Opening hours by kind of organisation, with a few services that keep their own hours. */
function openingsFor(kind: string, serviceName: string): Opening[] {
  const name = serviceName.toLowerCase();
  if (name.includes('crisis and home treatment'))
    return [{ byday: EVERY_DAY, opens: '00:00:00', closes: '23:59:59', notes: 'Answered 24 hours a day, including bank holidays.' }];
  if (name.includes('crisis café'))
    return [
      { byday: 'TH,FR,SA,SU', opens: '18:00:00', closes: '23:00:00', notes: 'Drop in: no appointment needed.', attending: 'In person' },
    ];
  if (name.includes('refuge'))
    return [
      {
        byday: EVERY_DAY,
        opens: '00:00:00',
        closes: '23:59:59',
        notes: 'Refuge places are arranged by phone; the address is never published.',
      },
    ];
  if (name.includes('discharge hub')) return [{ byday: EVERY_DAY, opens: '08:00:00', closes: '20:00:00' }];
  if (name.includes('emergency food'))
    return [
      { byday: 'TU,TH', opens: '10:00:00', closes: '14:00:00' },
      { byday: 'SA', opens: '10:00:00', closes: '12:00:00' },
    ];
  if (name.includes('day centre'))
    return [
      { byday: WEEKDAYS, opens: '08:00:00', closes: '16:00:00', attending: 'Drop in' },
      { byday: 'SA,SU', opens: '09:00:00', closes: '13:00:00', attending: 'Drop in' },
    ];
  if (name.includes('recovery community'))
    return [
      { byday: WEEKDAYS, opens: '10:00:00', closes: '16:00:00' },
      { byday: 'SA', opens: '10:00:00', closes: '13:00:00' },
    ];
  if (name.includes('youth'))
    return [
      { byday: 'MO,TU,WE,TH', opens: '15:30:00', closes: '20:00:00' },
      { byday: 'SA', opens: '10:00:00', closes: '14:00:00' },
    ];
  switch (kind) {
    case 'gp_practice':
      return [{ byday: WEEKDAYS, opens: '08:00:00', closes: '18:30:00' }];
    case 'school':
      return [{ byday: WEEKDAYS, opens: '08:30:00', closes: '15:30:00', notes: 'Term time only.' }];
    case 'council_adult_social_care':
    case 'council_children_social_care':
    case 'council_housing':
      return [
        { byday: 'MO,TU,WE,TH', opens: '09:00:00', closes: '17:00:00' },
        { byday: 'FR', opens: '09:00:00', closes: '16:30:00', notes: 'Out of hours, call the emergency duty team.' },
      ];
    case 'charity':
      return [{ byday: WEEKDAYS, opens: '09:30:00', closes: '16:30:00' }];
    default:
      return [{ byday: WEEKDAYS, opens: '09:00:00', closes: '17:00:00' }];
  }
}

const ORG_DESCRIPTIONS: Record<string, string> = {
  gp_practice: 'An NHS GP practice offering general medical care, care coordination and social prescribing to its registered patients.',
  hospital_trust: 'The NHS foundation trust running the place’s acute hospital, frailty and community therapy services.',
  mental_health_trust: 'The NHS trust providing crisis, community and specialist mental health services.',
  council_adult_social_care: 'The council’s adult social care service: assessments, reablement, equipment and support for carers.',
  council_children_social_care: 'The council’s children’s services: early help for families and protection for children at risk.',
  council_housing: 'The council’s housing service: homelessness prevention, temporary accommodation and council tenancies.',
  housing_association: 'A not-for-profit housing association providing affordable homes and tenancy support.',
  probation: 'The Probation Service supervises people on community orders and licence and supports resettlement.',
  drug_alcohol_service: 'The commissioned drug and alcohol treatment and recovery service.',
  school: 'A state-funded school with pastoral and attendance support for pupils and their families.',
  charity: 'A local charity and member of the care network.',
};

const STREETS = [
  'High Street',
  'Station Road',
  'Church Lane',
  'Market Place',
  'Victoria Road',
  'Mill Lane',
  'Bridge Street',
  'Park Road',
  'Queen Street',
  'Chapel Street',
  'King Street',
  'London Road',
];

function pickBy(id: string, list: string[]): string {
  const n = createHash('sha1').update(id).digest().readUInt32BE(0);
  return list[n % list.length]!;
}

/** A plausible street address for an organisation, the same for the same id. */
function streetFor(orgId: string): string {
  const n = createHash('sha1').update(`no:${orgId}`).digest().readUInt32BE(0);
  return `${(n % 180) + 1} ${pickBy(orgId, STREETS)}`;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function chunks<T>(rows: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** Adds the need taxonomy (idempotent). */
export async function ensureNeedTaxonomy(db: Kysely<Database>): Promise<void> {
  await db
    .insertInto('directory_taxonomies')
    .values({
      id: NEED_TAXONOMY.id,
      name: NEED_TAXONOMY.name,
      description: NEED_TAXONOMY.description,
      uri: null,
      version: NEED_TAXONOMY.version,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const terms = [
    ...NEED_GROUPS.map((g, i) => ({
      id: needTermId(g.code),
      code: g.code,
      name: g.name,
      description: g.description,
      parent_id: null,
      sort: i,
    })),
    ...NEED_TERMS.map((t, i) => ({
      id: needTermId(t.code),
      code: t.code,
      name: t.name,
      description: t.description,
      parent_id: needTermId(t.group),
      sort: 100 + i,
    })),
  ].map((t) => ({ ...t, taxonomy_id: NEED_TAXONOMY.id, taxonomy: NEED_TAXONOMY.name, term_uri: null }));
  await db
    .insertInto('directory_taxonomy_terms')
    .values(terms)
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await db
    .insertInto('directory_taxonomies')
    .values({
      id: REFERRAL_ROUTE_TAXONOMY.id,
      name: REFERRAL_ROUTE_TAXONOMY.name,
      description: REFERRAL_ROUTE_TAXONOMY.description,
      uri: null,
      version: REFERRAL_ROUTE_TAXONOMY.version,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await db
    .insertInto('directory_taxonomy_terms')
    .values({
      id: SELF_REFERRAL_TERM.id,
      taxonomy_id: REFERRAL_ROUTE_TAXONOMY.id,
      code: SELF_REFERRAL_TERM.code,
      name: SELF_REFERRAL_TERM.name,
      description: SELF_REFERRAL_TERM.description,
      parent_id: null,
      taxonomy: REFERRAL_ROUTE_TAXONOMY.name,
      term_uri: null,
      sort: 1000,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** Services that charge something, with what a resident is told (the rest are free). */
const CHARGES: Record<string, { option: string; amount: number; description: string }> = {
  'Day centre and outreach': {
    option: 'Hot meal',
    amount: 1.5,
    description: 'Hot meals £1.50; showers, laundry and advice are free. Nobody is turned away for not being able to pay.',
  },
  'Young carers club': {
    option: 'Day trips',
    amount: 3,
    description: 'Day trips £3; weekly sessions are free, and help with costs is available.',
  },
  'Home adaptations': {
    option: 'Larger adaptations',
    amount: 0,
    description: 'Equipment and minor adaptations under £1,000 are free; larger adaptations may be means-tested.',
  },
  'Temporary accommodation': {
    option: 'Rent and service charge',
    amount: 120,
    description: 'A weekly rent and service charge, which Housing Benefit or Universal Credit may cover.',
  },
  'Supported housing': {
    option: 'Rent and service charge',
    amount: 95,
    description: 'A weekly rent and service charge, usually covered by Housing Benefit.',
  },
};

/** A plausible day the organisation last confirmed a listing: spread over the last nine months. */
function lastCheckedFor(serviceId: string, now: Date): Date {
  const n = createHash('sha1').update(`checked:${serviceId}`).digest().readUInt32BE(0);
  return new Date(now.getTime() - (n % 270) * 86_400_000);
}

/**
 * Builds the directory from the network's organisations and services. Safe to run again:
 * services already in the directory are left as they are.
 */
async function populateDirectoryFromPlaceNow(db: Kysely<Database>): Promise<{ organisations: number; services: number }> {
  await ensureNeedTaxonomy(db);
  const placeName = (await nameOfPlace(db)) ?? 'the place';
  const localities = await localityNamesById(db);
  // The network's organisations and services not yet in the directory (network's front door).
  const allOrganisations = await organisationRecords(db);
  const organisationOf = new Map(allOrganisations.map((o) => [o.id, o]));
  const listedOrganisations = new Set(
    (await db.selectFrom('directory_organisation_details').select('organisation_id').execute()).map((d) => d.organisation_id),
  );
  const unlisted = allOrganisations.filter((o) => !listedOrganisations.has(o.id));
  const positions: Map<string, { lat: number; lon: number }> = await postcodePoints(
    db,
    unlisted.map((o) => o.postcode),
  );
  const organisations = unlisted.map((o) => ({
    id: o.id,
    name: o.name,
    kind: o.kind,
    postcode: o.postcode,
    phone: o.phone,
    email: o.email,
    website: o.website,
    lat: positions.get(o.postcode)?.lat ?? null,
    lon: positions.get(o.postcode)?.lon ?? null,
    locality: o.localityId === null ? null : (localities.get(o.localityId) ?? null),
  }));
  const listedServices = new Set(
    (await db.selectFrom('directory_service_details').select('service_id').execute()).map((d) => d.service_id),
  );
  const unlistedServices = [...(await serviceRecords(db)).values()].filter((s) => !listedServices.has(s.id));
  const teams = await teamsByIds(
    db,
    unlistedServices.map((s) => s.teamId),
  );
  const services = unlistedServices
    .filter((s) => organisationOf.has(s.organisationId) && teams.has(s.teamId))
    .map((s) => {
      const o = organisationOf.get(s.organisationId)!;
      return {
        id: s.id,
        name: s.name,
        needs: s.needs,
        locality_ids: s.localityIds,
        organisation_id: s.organisationId,
        kind: o.kind,
        website: o.website,
        email: o.email,
        phone: o.phone,
        team: teams.get(s.teamId)!.name,
      };
    });
  const orgLocation = new Map<string, string>();
  for (const o of await db
    .selectFrom('directory_locations')
    .select(['id', 'organisation_id'])
    .where('organisation_id', 'is not', null)
    .execute()) {
    if (!orgLocation.has(o.organisation_id!)) orgLocation.set(o.organisation_id!, o.id);
  }

  const orgDetails = organisations.map((o) => ({
    organisation_id: o.id,
    oruk_id: orukId('organization', o.id),
    description:
      o.kind === 'charity'
        ? `${o.name} is a local charity and member of the ${placeName} care network.`
        : (ORG_DESCRIPTIONS[o.kind] ?? `A member of the ${placeName} care network.`),
    logo: null,
    uri: null,
    parent_organization_id: null,
  }));
  const locations = organisations.map((o) => {
    const id = orukId('location', o.id);
    orgLocation.set(o.id, id);
    return {
      id,
      organisation_id: o.id,
      location_type: 'physical',
      name: o.name,
      description: o.locality ? `${o.name}, ${o.locality}` : o.name,
      latitude: o.lat,
      longitude: o.lon,
      external_identifier: null,
      external_identifier_type: null,
      accessibility: JSON.stringify([
        {
          id: orukId('accessibility', o.id),
          description: 'Step-free access from the street, an accessible toilet and a hearing loop at reception.',
        },
      ]),
    };
  });
  const addresses = organisations.map((o) => ({
    id: orukId('address', o.id),
    location_id: orukId('location', o.id),
    attention: null,
    address_1: streetFor(o.id),
    city: placeName,
    region: o.locality,
    state_province: 'England',
    postal_code: o.postcode,
    country: 'GB',
    address_type: 'physical',
    sort: 0,
  }));

  const now = new Date();
  type Row<T extends keyof Database> = Insertable<Database[T]>;
  const details: Row<'directory_service_details'>[] = [];
  const sals: Row<'directory_service_at_locations'>[] = [];
  const schedules: Row<'directory_schedules'>[] = [];
  const contacts: Row<'directory_contacts'>[] = [];
  const phones: Row<'directory_phones'>[] = [];
  const areas: Row<'directory_service_areas'>[] = [];
  const costs: Row<'directory_cost_options'>[] = [];
  const terms: Row<'directory_service_terms'>[] = [];
  for (const s of services) {
    details.push({
      service_id: s.id,
      oruk_id: orukId('service', s.id),
      status: 'active',
      url: `${s.website}/services/${slug(s.name)}`,
      email: s.email,
      fees: CHARGES[s.name] ? CHARGES[s.name]!.description : 'Free',
      accreditations: null,
      assured_date: null,
      assurer_email: null,
      alert: null,
      last_modified: now,
    });
    const locationId = orgLocation.get(s.organisation_id);
    if (locationId) sals.push({ id: orukId('service_at_location', s.id), service_id: s.id, location_id: locationId });
    openingsFor(s.kind, s.name).forEach((o, i) =>
      schedules.push({
        id: orukId('schedule', `${s.id}#${i}`),
        service_id: s.id,
        service_at_location_id: null,
        valid_from: null,
        valid_to: null,
        dtstart: null,
        freq: 'WEEKLY',
        interval: 1,
        byday: o.byday,
        bymonthday: null,
        description: describeOpening(o.byday, o.opens, o.closes),
        opens_at: o.opens,
        closes_at: o.closes,
        schedule_link: null,
        attending_type: o.attending ?? null,
        notes: o.notes ?? null,
        sort: i,
      }),
    );
    const contactId = orukId('contact', s.id);
    contacts.push({ id: contactId, service_id: s.id, name: 'Referrals and enquiries', title: s.team, email: s.email, sort: 0 });
    phones.push({ id: orukId('phone', s.id), contact_id: contactId, number: s.phone, description: 'Referrals and enquiries', sort: 0 });
    const served = s.locality_ids.length === 0 ? [null] : s.locality_ids;
    served.forEach((localityId, i) => {
      const name = localityId === null ? `The whole of ${placeName}` : `${localities.get(localityId) ?? localityId}, ${placeName}`;
      areas.push({
        id: orukId('service_area', `${s.id}#${localityId ?? 'all'}`),
        service_id: s.id,
        name,
        extent: null,
        extent_type: null,
        uri: null,
        service_area: name,
        locality_id: localityId,
        sort: i,
      });
    });
    const charge = CHARGES[s.name];
    costs.push(
      charge
        ? {
            id: orukId('cost_option', s.id),
            service_id: s.id,
            option: charge.option,
            amount: charge.amount,
            amount_description: charge.description,
            valid_from: null,
            valid_to: null,
            sort: 0,
          }
        : {
            id: orukId('cost_option', s.id),
            service_id: s.id,
            option: 'Free',
            amount: 0,
            amount_description: 'No charge to the person using the service',
            valid_from: null,
            valid_to: null,
            sort: 0,
          },
    );
    s.needs.forEach((need, i) =>
      terms.push({
        service_id: s.id,
        term_id: needTermId(need),
        attribute_id: orukId('attribute', `${s.id}#${need}`),
        link_type: 'need',
        sort: i,
      }),
    );
  }

  const knownTerms = new Set(NEED_TERMS.map((t) => needTermId(t.code)));
  const insertAll = async <T extends keyof Database>(table: T, rows: object[]) => {
    for (const batch of chunks(rows))
      await db
        .insertInto(table)
        .values(batch as never)
        .execute();
  };
  await insertAll('directory_organisation_details', orgDetails);
  await insertAll('directory_locations', locations);
  await insertAll('directory_addresses', addresses);
  await insertAll('directory_service_details', details);
  await insertAll('directory_service_at_locations', sals);
  await insertAll('directory_schedules', schedules);
  await insertAll('directory_contacts', contacts);
  await insertAll('directory_phones', phones);
  await insertAll('directory_service_areas', areas);
  await insertAll('directory_cost_options', costs);
  await insertAll(
    'directory_service_terms',
    terms.filter((t) => knownTerms.has(t.term_id)),
  );
  // Who may refer themselves, and when each organisation last confirmed its listing.
  const selfReferral = new Set(SELF_REFERRAL_SERVICE_NAMES);
  for (const s of services) {
    await changeService(db, s.id, { acceptsSelfReferral: selfReferral.has(s.name), lastCheckedAt: lastCheckedFor(s.id, now) });
  }
  return { organisations: organisations.length, services: services.length };
}

/** Builds the directory from the place (see populateDirectoryFromPlaceNow); the pages' cache is forgotten. */
export const populateDirectoryFromPlace = changingDirectory(populateDirectoryFromPlaceNow);
