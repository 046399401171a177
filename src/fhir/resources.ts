// Joinery's tables as FHIR R4 resources: for each resource type, the SQL that yields its rows,
// its search parameters (as SQL conditions), how a row becomes a resource, and which person
// and category of information the access decision is asked about.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import { auditEventsTable } from '../audit/index.ts';
import { accountNamesTable, type SignedInUser } from '../auth/index.ts';
import { fhirVersionJoinSql, NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX } from '../interop/index.ts';
import { peopleMergedInto, peopleMergedIntoSql, peopleWithRecordUnder } from '../linkage/index.ts';
import {
  goalsOfPlans,
  goalsTable,
  planLastEventAtSql,
  plansTable,
  plansWithMember,
  questionnaireResponsesTable,
  questionnairesTable,
} from '../plans/index.ts';
import { referralsOnRecordTable } from '../referrals/index.ts';
import {
  householdIdsOfPerson,
  householdsTable,
  liveMembersOfHouseholds,
  personEventsTable,
  personRecordsTable,
  relationshipsWithRelatedTable,
} from '../people/index.ts';
import { organisationsTable, practitionersTable, registeredSourceCodeOr, servicesTable } from '../network/index.ts';
import { locationsWithAddressTable, serviceListingDetailsTable, serviceLocationIdsOf } from '../directory/index.ts';
import {
  careRelationshipsTable,
  categoryOfEvent,
  categoryOfOrganisationKind,
  isCategory,
  sharingChoicesTable,
  type Category,
} from '../consent/index.ts';
import {
  anyOf,
  checkId,
  dateCondition,
  escapeLike,
  parseTokenExact,
  periodCondition,
  referenceId,
  stringCondition,
  stringMatch,
  stringParam,
  tokenCondition,
  conceptTextCondition,
  textMatch,
  uriParam,
  withText,
  type ParamHandler,
  type Cond,
} from './params.ts';
import { invalid } from './outcome.ts';
import {
  CLINICAL_TYPES,
  clinicalBase,
  clinicalDateCondition,
  clinicalDef,
  clinicalParams,
  clinicalSpecs,
  codesCondition,
  identifierParam,
  keptResource,
  NO_ORGANISATION,
  wholeNameCondition,
  wholeReferenceCondition,
  wholeCodingCondition,
  wholeParticipantCondition,
  wholePeriodCondition,
  wholeReferencesCondition,
  withWholeRows,
} from './clinical.ts';

// The NHS number and agencies' own record ids: the systems imports read Patients by (interop's).
export { NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX };
export const PERSON_SYSTEM = 'urn:joinery:person';
export const ORGANISATION_CODE_SYSTEM = 'urn:joinery:organisation-code';
const CODE_SYSTEM = 'urn:joinery:code';
export const ORGANISATION_KIND_SYSTEM = `${CODE_SYSTEM}:organisation-kind`;
export const NEED_SYSTEM = `${CODE_SYSTEM}:need`;
export const PRACTITIONER_ROLE_SYSTEM = `${CODE_SYSTEM}:practitioner-role`;
export const OUTCOME_SYSTEM = `${CODE_SYSTEM}:outcome`;
export const CATEGORY_SYSTEM = `${CODE_SYSTEM}:category`;
export const PURPOSE_SYSTEM = `${CODE_SYSTEM}:purpose`;
export const RELATIONSHIP_KIND_SYSTEM = `${CODE_SYSTEM}:relationship-kind`;
/** Goal: the CarePlan (shared plan) the goal belongs to. */
export const CARE_PLAN_EXTENSION = 'urn:joinery:extension:care-plan';
/** Why someone joined a person's care network (CareTeam participant, EpisodeOfCare). */
export const REASON_EXTENSION = 'urn:joinery:extension:reason';
/** Why someone leaves a person's care network (on the CareTeam, or the EpisodeOfCare being finished). */
export const END_REASON_EXTENSION = 'urn:joinery:extension:end-reason';
/** Practitioner create: the member Organization they work for (their role there is then given as a PractitionerRole). */
export const ORGANIZATION_EXTENSION = 'urn:joinery:extension:organization';
/** EpisodeOfCare: the member's role in the person's care, e.g. "housing support". */
export const ROLE_EXTENSION = 'urn:joinery:extension:role';

export type Row = Record<string, unknown> & { id: string; version_id: number; last_updated: Date | string | null };

export interface AccessSpec {
  /** The person the row is about. */
  personOf(row: Row): string | null;
  /** The category the row falls into. */
  categoryOf(row: Row): Category;
  /** Organisations whose entry this is: an 'own_organisation' decision shows only the actor's. */
  organisationsOf?(row: Row): string[];
  /** A further rule beyond the access decision (e.g. audit trails: the person and privacy officers only). */
  gate?(actor: SignedInUser, row: Row): boolean;
  /** The same rule as a condition on the rows (r.*), so searches read only rows it lets through. */
  gateSql?(actor: SignedInUser): Cond | undefined;
  /** Categories of the row's parts (CareTeam participants), each decided separately. */
  partCategories?(row: Row): Category[];
  /** Persons a row lists (a household's members): each is decided, and only the allowed are shown. */
  membersOf?(row: Row): string[];
  /** Drops parts the decision does not allow; null hides the row. */
  redact?(row: Row, allowed: (category: Category, organisationId: string | null) => boolean): Row | null;
}

export interface ResourceDef {
  type: string;
  /** SQL yielding the rows; the columns id, version_id, last_updated always; person_id when personal. */
  base: RawBuilder<unknown>;
  params: Record<string, ParamHandler>;
  /** Parameter names and types for the CapabilityStatement. */
  paramTypes: Record<string, 'token' | 'string' | 'date' | 'reference' | 'number' | 'uri'>;
  /** _include targets: parameter name → resource type referenced (rows' column holding the id). */
  includes?: Record<string, { type: string; column: string }>;
  access?: AccessSpec;
  hydrate?(db: Kysely<Database>, rows: Row[]): Promise<void>;
  toFhir(row: Row): Resource;
  interactions: Array<'read' | 'search-type' | 'create' | 'update' | 'vread'>;
  /** The row is the resource as received (clinical types Joinery does not model): no copy is merged in. */
  keptWhole?: boolean;
  /** What a create or update does, and why one that is not offered is not (405 and the CapabilityStatement say so). */
  writes: { create: string; update: string };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function meta(type: string, idExpr: string, natural: string | null) {
  return {
    cols: sql.raw(`coalesce(m.version_id, 1) as version_id, coalesce(m.last_updated, ${natural ?? 'null::timestamptz'}) as last_updated`),
    join: sql.raw(fhirVersionJoinSql('m', `'${type}'`, idExpr)),
  };
}

function instant(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function dateOnly(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  const text = String(value);
  return /^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : undefined;
}

function metaOf(row: Row): Resource['meta'] {
  const lastUpdated = instant(row.last_updated);
  return { versionId: String(row.version_id ?? 1), ...(lastUpdated ? { lastUpdated } : {}) };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const ref = (type: string, id: unknown, display?: unknown) =>
  typeof id === 'string' && id !== '' ? { reference: `${type}/${id}`, ...(str(display) ? { display: String(display) } : {}) } : undefined;
const text = (v: string) => ({ text: v });
const code = (system: string, c: string, display?: string) => ({
  coding: [{ system, code: c, ...(display ? { display } : {}) }],
  text: display ?? c,
});
const compact = <T extends Record<string, unknown>>(o: T): T => {
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) delete o[key];
  }
  return o;
};

const idParam =
  (column = 'r.id') =>
  (v: string) =>
    anyOf(v, (x) => sql`${sql.raw(column)} = ${checkId(x)}`);
const lastUpdatedParam = (v: string) => dateCondition('r.last_updated', v, 'instant');
const personParam =
  (column = 'r.person_id') =>
  (v: string) =>
    anyOf(v, (x) => sql`${sql.raw(column)} = ${referenceId(x, 'Patient')}`);
const refParam = (column: string, type: string) => (v: string) => anyOf(v, (x) => sql`${sql.raw(column)} = ${referenceId(x, type)}`);
/** A token parameter: `systems` are the code systems of the element's codes (none: text only). */
const eqParam =
  (column: string, systems: string[], map: (v: string) => string | string[] = (v) => v) =>
  (v: string) =>
    anyOf(v, (x) => tokenCondition(column, systems, x, map));
const fhirCodes = (name: string) => [`http://hl7.org/fhir/${name}`];
/** :text on a code Joinery shows as its words (underscores as spaces): the words, or the code as written. */
const shownText = (expression: string) => (x: string) =>
  sql`(${textMatch(sql`replace(${sql.raw(expression)}, '_', ' ')`, x)} or ${textMatch(sql.raw(expression), x)})`;
const common = { _id: idParam(), _lastUpdated: lastUpdatedParam };

/**
 * Rows whose stored copy (fhir_identifiers, kept from what a partner sent) has the identifier:
 * `system` undefined for any system, '' for none; `value` '' for any value of the system.
 */
export function storedIdentifierCondition(type: string, system: string | undefined, value: string): Cond {
  return sql`r.id in (select i.resource_id from fhir_identifiers i where i.resource_type = ${type}
    ${system === undefined ? sql`` : sql`and i.system = ${system}`} ${value === '' ? sql`` : sql`and i.value = ${value}`})`;
}
const commonTypes = { _id: 'token', _lastUpdated: 'date' } as const;

function reverse(map: Record<string, string>): (v: string) => string[] {
  return (v) => {
    const out = Object.entries(map)
      .filter(([, f]) => f === v)
      .map(([k]) => k);
    if (out.length === 0) throw invalid(`"${v}" is not a status used here`);
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Patient

// A Patient as shown is Joinery's row with the stored copy of what a partner sent merged in
// (stored.ts): the searches below over contacts, cities, the managing organisation and languages
// read the same two, so a value is found exactly when a read of the Patient shows it.

/** An element of the Patient's stored copy (null when there is none), as SQL over r.*. */
const patientCopy = (element: string) =>
  `(select f.content->'${element}' from fhir_resources f where f.resource_type = 'Patient' and f.resource_id = r.id and not f.whole)`;
/** The items of a JSON array (none when the value is not an array), as a set to select from. */
const jsonItems = (expression: string) =>
  `jsonb_array_elements(case jsonb_typeof(${expression}) when 'array' then ${expression} else '[]'::jsonb end)`;
/** A contact value as the merge compares them (stored.ts): case and spaces aside. */
const contactNorm = (expression: string) => `regexp_replace(lower(${expression}), '\\s', '', 'g')`;
/**
 * The contact points a Patient shows (system, value): Joinery's phone and email, and those of the
 * stored copy (the merge shows the copy's list when it holds Joinery's, else Joinery's and the
 * copy's others: the same set either way).
 */
const shownTelecom = `(select 'phone' as system, r.phone as value where nullif(trim(r.phone), '') is not null
    union all select 'email', r.email where nullif(trim(r.email), '') is not null
    union all select t->>'system', t->>'value' from ${jsonItems(patientCopy('telecom'))} t)`;

/**
 * telecom, phone and email (R4 token searches on ContactPoint): `value`, `system|value` (system
 * being the ContactPoint's: phone, email, ...), `system|` (any contact of that kind) and `|value`
 * (a contact with no system). Values compare as the merge does: case and spaces aside. phone and
 * email look only at contacts of their own kind.
 */
function telecomCondition(kind: 'phone' | 'email' | undefined, value: string): Cond {
  const { system, code: contact } = parseTokenExact(value);
  if (contact === '' && (system === undefined || system === '')) throw invalid('a token search needs a code, a system| or both');
  const conditions: Cond[] = [sql`c.value is not null`];
  if (kind) conditions.push(sql`c.system = ${kind}`);
  if (system === '') conditions.push(sql`c.system is null`);
  else if (system !== undefined) conditions.push(sql`c.system = ${system}`);
  if (contact !== '') conditions.push(sql`${sql.raw(contactNorm('c.value'))} = ${contact.replace(/\s/g, '').toLowerCase()}`);
  return sql`exists (select 1 from ${sql.raw(shownTelecom)} c where ${sql.join(conditions, sql` and `)})`;
}

/**
 * The stored copy's addresses a Patient shows: all of them when Joinery holds no address; else
 * the first only while its postcode agrees with Joinery's (else Joinery's address stands in for
 * it), and every later one. Joinery's own address has a line and a postcode, no city, state or country.
 */
const shownCopyAddresses = `(select a.addr from ${jsonItems(patientCopy('address'))} with ordinality a(addr, n)
    where (nullif(trim(r.address_line), '') is null and nullif(trim(r.postcode), '') is null) or a.n > 1
      or ${contactNorm("(a.addr->>'postalCode')")} is not distinct from ${contactNorm("nullif(trim(r.postcode), '')")})`;

/**
 * Joinery's own address (its line and postcode, use home) is shown unless the copy's first
 * address, agreeing with it on the postcode, stands in its place.
 */
const ownAddressShown = `((nullif(trim(r.address_line), '') is not null or nullif(trim(r.postcode), '') is not null)
    and not exists (select 1 from ${jsonItems(patientCopy('address'))} with ordinality a(addr, n)
      where a.n = 1 and ${contactNorm("(a.addr->>'postalCode')")} is not distinct from ${contactNorm("nullif(trim(r.postcode), '')")}))`;

/** Every string part of the sent addresses shown (lines, city, district, state, postcode, country, text). */
const shownCopyAddressParts = `(select p.part from ${shownCopyAddresses} x, lateral (
      select x.addr->>'city' union all select x.addr->>'district' union all select x.addr->>'state'
      union all select x.addr->>'postalCode' union all select x.addr->>'country' union all select x.addr->>'text'
      union all select l from jsonb_array_elements_text(case jsonb_typeof(x.addr->'line') when 'array' then x.addr->'line' else '[]'::jsonb end) l
    ) p(part))`;

const ADDRESS_USE_SYSTEM = 'http://hl7.org/fhir/address-use';

/** address-use: Joinery's own address is a home; a sent address has the use it was sent with. */
function addressUseCondition(value: string): Cond {
  const { system, code: use } = parseTokenExact(value);
  if (system !== undefined && system !== ADDRESS_USE_SYSTEM) return sql`false`;
  if (use === '' && system === undefined) throw invalid('a token search needs a code, a system| or both');
  const sent =
    use === ''
      ? sql`exists (select 1 from ${sql.raw(shownCopyAddresses)} x where x.addr->>'use' is not null)`
      : sql`exists (select 1 from ${sql.raw(shownCopyAddresses)} x where x.addr->>'use' = ${use})`;
  return use === '' || use === 'home' ? sql`(${sql.raw(ownAddressShown)} or ${sent})` : sent;
}

/** address-city, address-state, address-country: a part of an address shown, as a string search. */
const copyAddressParam = (part: 'city' | 'state' | 'country') =>
  stringParam((v, m) =>
    anyOf(v, (x) => sql`exists (select 1 from ${sql.raw(shownCopyAddresses)} x where ${stringMatch(sql`x.addr->>${part}`, x, m)})`),
  );

/** The Patient's managingOrganization (from the stored copy), as `Organization/id` or a URL ending so. */
const managingOrganization = `(${patientCopy('managingOrganization')}->>'reference')`;

/** The codings of the languages the Patient speaks (communication.language, from the stored copy). */
const languageCodings = `(select c from ${jsonItems(patientCopy('communication'))} m, ${jsonItems("(m->'language'->'coding')")} c)`;

function languageCondition(value: string): Cond {
  const { system, code: language } = parseTokenExact(value);
  if (language === '' && (system === undefined || system === '')) throw invalid('a token search needs a code, a system| or both');
  const conditions: Cond[] = [];
  if (system === '') conditions.push(sql`l.c->>'system' is null`);
  else if (system !== undefined) conditions.push(sql`l.c->>'system' = ${system}`);
  if (language !== '') conditions.push(sql`l.c->>'code' = ${language}`);
  return sql`exists (select 1 from ${sql.raw(languageCodings)} l where ${sql.join(conditions, sql` and `)})`;
}

/** The conditions "has a value" of the Patient parameters read from contacts and the stored copy (search-features.ts). */
export const patientCopyPresence: Record<string, string> = {
  telecom: `exists (select 1 from ${shownTelecom} c where c.value is not null)`,
  phone: `exists (select 1 from ${shownTelecom} c where c.value is not null and c.system = 'phone')`,
  email: `exists (select 1 from ${shownTelecom} c where c.value is not null and c.system = 'email')`,
  'address-postalcode': `(r.postcode is not null or exists (select 1 from ${shownCopyAddresses} x where x.addr->>'postalCode' is not null))`,
  address: `(${ownAddressShown} or exists (select 1 from ${shownCopyAddressParts} a where a.part is not null))`,
  'address-use': `(${ownAddressShown} or exists (select 1 from ${shownCopyAddresses} x where x.addr->>'use' is not null))`,
  'address-city': `exists (select 1 from ${shownCopyAddresses} x where x.addr->>'city' is not null)`,
  'address-state': `exists (select 1 from ${shownCopyAddresses} x where x.addr->>'state' is not null)`,
  'address-country': `exists (select 1 from ${shownCopyAddresses} x where x.addr->>'country' is not null)`,
  organization: `${managingOrganization} is not null`,
  language: `exists (select 1 from ${languageCodings} l where l.c->>'code' is not null)`,
};

const patientMeta = meta('Patient', 'p.id', 'p.created_at');
const patient: ResourceDef = {
  type: 'Patient',
  base: sql`select p.id, p.id as person_id, p.given_name, p.middle_name, p.family_name, p.birth_date, p.sex,
      p.nhs_number, p.phone, p.email, p.merged_into, ${peopleMergedIntoSql('p.id')} as merged_from, p.address_line, p.postcode, ${patientMeta.cols}
    from ${personRecordsTable} p ${patientMeta.join}`,
  params: {
    ...common,
    identifier: (v) =>
      anyOf(v, (x) => {
        const { system, code: value } = parseTokenExact(x);
        const any = value === '';
        if (system === NHS_NUMBER_SYSTEM) return any ? sql`r.nhs_number is not null` : sql`r.nhs_number = ${value.replace(/\s/g, '')}`;
        if (system === PERSON_SYSTEM) return any ? sql`true` : sql`r.id = ${value}`;
        if (system?.startsWith(SOURCE_SYSTEM_PREFIX)) {
          // The feed's code in any case: imports store the organisation's code as registered.
          const source = system.slice(SOURCE_SYSTEM_PREFIX.length);
          return sql`r.id in ${peopleWithRecordUnder(registeredSourceCodeOr(source), any ? undefined : value)}`;
        }
        if (any && system === '') throw invalid('a token search needs a code, a system| or both');
        if (system !== undefined) return storedIdentifierCondition('Patient', system, value);
        return sql`(r.nhs_number = ${value.replace(/\s/g, '')} or r.id = ${value} or ${storedIdentifierCondition('Patient', undefined, value)})`;
      }),
    name: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.given_name', 'r.family_name', 'r.middle_name'], x, m))),
    family: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.family_name'], x, m))),
    given: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.given_name', 'r.middle_name'], x, m))),
    birthdate: (v) => dateCondition('r.birth_date::date', v, 'date'),
    gender: (v) =>
      anyOf(v, (x) => {
        const { system, code: c } = parseTokenExact(x);
        if (system !== undefined && system !== 'http://hl7.org/fhir/administrative-gender') return sql`false`;
        if (c === '') return sql`true`;
        return c === 'unknown' ? sql`(r.sex is null or r.sex not in ('female', 'male'))` : sql`r.sex = ${c}`;
      }),
    // Joinery's postcode, and those of the sent addresses shown beside it.
    'address-postalcode': stringParam((v, m) =>
      anyOf(
        v,
        (x) =>
          sql`(${stringCondition(['r.postcode'], x, m)} or exists (select 1 from ${sql.raw(shownCopyAddresses)} a where ${stringMatch(sql`a.addr->>'postalCode'`, x, m)}))`,
      ),
    ),
    // Any part of any address shown.
    address: stringParam((v, m) =>
      anyOf(
        v,
        (x) =>
          sql`((${sql.raw(ownAddressShown)} and ${stringCondition(['r.address_line', 'r.postcode'], x, m)}) or exists (select 1 from ${sql.raw(shownCopyAddressParts)} a where ${stringMatch(sql`a.part`, x, m)}))`,
      ),
    ),
    'address-use': (v) => anyOf(v, addressUseCondition),
    'address-city': copyAddressParam('city'),
    'address-state': copyAddressParam('state'),
    'address-country': copyAddressParam('country'),
    active: (v) => (v === 'true' ? sql`r.merged_into is null` : sql`r.merged_into is not null`),
    telecom: (v) => anyOf(v, (x) => telecomCondition(undefined, x)),
    phone: (v) => anyOf(v, (x) => telecomCondition('phone', x)),
    email: (v) => anyOf(v, (x) => telecomCondition('email', x)),
    organization: (v) =>
      anyOf(v, (x) => {
        const id = referenceId(x, 'Organization');
        return sql`(${sql.raw(managingOrganization)} = ${`Organization/${id}`} or ${sql.raw(managingOrganization)} like ${`%/Organization/${escapeLike(id)}`})`;
      }),
    language: (v) => anyOf(v, languageCondition),
    // The Patients whose link names this one, as a read shows it: a record merged into this one (its
    // link: replaced-by this one), or the record this one was merged into (its link: replaces this
    // one). Each found by an index. A partner's own Patient.link (kept in the stored copy) is not searched.
    link: (v) =>
      anyOf(v, (x) => {
        const id = referenceId(x, 'Patient');
        return sql`(r.id in ${peopleMergedInto(id)} or r.id = (select q.merged_into from ${personRecordsTable} q where q.id = ${id}))`;
      }),
  },
  paramTypes: {
    ...commonTypes,
    identifier: 'token',
    name: 'string',
    family: 'string',
    given: 'string',
    birthdate: 'date',
    gender: 'token',
    'address-postalcode': 'string',
    address: 'string',
    'address-use': 'token',
    'address-city': 'string',
    'address-state': 'string',
    'address-country': 'string',
    active: 'token',
    telecom: 'token',
    phone: 'token',
    email: 'token',
    organization: 'reference',
    language: 'token',
    link: 'reference',
  },
  access: { personOf: (r) => r.id, categoryOf: () => 'demographics' },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      'Registers the person through the person index (practitioners): an existing person is linked and returned, and the organisation starts a working relationship.',
    update: "Changes the person's name, birth date, sex, NHS number and contact details (practitioners who may see them).",
  },
  toFhir(r) {
    return compact({
      resourceType: 'Patient' as const,
      id: r.id,
      meta: metaOf(r),
      identifier: [
        ...(str(r.nhs_number) ? [{ system: NHS_NUMBER_SYSTEM, value: String(r.nhs_number) }] : []),
        { system: PERSON_SYSTEM, value: r.id },
      ],
      active: r.merged_into === null,
      name: [
        compact({
          use: 'official' as const,
          family: str(r.family_name),
          given: [str(r.given_name), str(r.middle_name)].filter((x): x is string => !!x),
        }),
      ],
      telecom: [
        ...(str(r.phone) ? [{ system: 'phone' as const, value: String(r.phone) }] : []),
        ...(str(r.email) ? [{ system: 'email' as const, value: String(r.email) }] : []),
      ],
      gender: r.sex === 'female' ? ('female' as const) : r.sex === 'male' ? ('male' as const) : ('unknown' as const),
      birthDate: dateOnly(r.birth_date),
      address:
        str(r.address_line) || str(r.postcode)
          ? [
              compact({
                use: 'home' as const,
                line: str(r.address_line) ? [String(r.address_line)] : undefined,
                postalCode: str(r.postcode),
              }),
            ]
          : undefined,
      // A merge keeps both records, linked both ways: the one merged away is replaced-by the one
      // that remains, which replaces it.
      link: [
        ...(str(r.merged_into) ? [{ other: { reference: `Patient/${String(r.merged_into)}` }, type: 'replaced-by' as const }] : []),
        ...(Array.isArray(r.merged_from) ? (r.merged_from as string[]) : []).map((id) => ({
          other: { reference: `Patient/${id}` },
          type: 'replaces' as const,
        })),
      ],
    });
  },
};

// ---------------------------------------------------------------------------------------------
// RelatedPerson: a person's family and household relationships. Id: person.related.type-index.

const relatedMeta = meta('RelatedPerson', 'x.id', 'coalesce(x.ended_at, x.recorded_at)');
export const RELATIONSHIP_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
export const relationshipCodes: Record<string, string> = {
  parent: 'PRN',
  child: 'CHILD',
  partner: 'SIGOTHR',
  spouse: 'SPS',
  sibling: 'SIB',
  carer: 'CAREGIVER',
  cared_for: 'DEPEN',
};
/** A relationship code (SIGOTHR) or Joinery's own word for it (partner) → the types it names. */
function relationshipTypeOf(code: string): string[] {
  const types = Object.entries(relationshipCodes)
    .filter(([, c]) => c === code)
    .map(([type]) => type);
  return types.length > 0 ? types : [code];
}
const related: ResourceDef = {
  type: 'RelatedPerson',
  base: sql`select x.*, ${relatedMeta.cols} from (
      select md5(rel.person_id || '|' || rel.related_person_id || '|' || rel.type) as id, rel.person_id, rel.related_person_id, rel.type,
        rel.recorded_at, rel.ended_at, rel.given_name, rel.family_name, rel.sex, rel.birth_date
      from ${relationshipsWithRelatedTable} rel) x ${relatedMeta.join}`,
  params: {
    ...common,
    patient: personParam(),
    relationship: withText(
      eqParam('r.type', [RELATIONSHIP_CODE_SYSTEM], (c) => relationshipTypeOf(c)),
      shownText('r.type'),
    ),
    name: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.given_name', 'r.family_name'], x, m))),
    active: (v) => (v === 'true' ? sql`r.ended_at is null` : sql`r.ended_at is not null`),
  },
  paramTypes: { ...commonTypes, patient: 'reference', relationship: 'token', name: 'string', active: 'token' },
  includes: { patient: { type: 'Patient', column: 'person_id' } },
  access: { personOf: (r) => String(r.person_id), categoryOf: () => 'demographics' },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "Records that another known person is the Patient's parent, child, partner, spouse, sibling, carer or cared_for (practitioners who may change both people's details): patient the Patient, identifier (system urn:joinery:person) the related person's Patient id, relationship one code (v3-RoleCode PRN, CHILD, SIGOTHR, SPS, SIB, CAREGIVER, DEPEN, or the type as text). The inverse (a parent's child) is recorded too. Name, gender and birth date are the related Patient's own.",
    update:
      'Ends the relationship with active false (and its inverse); it stays on record with when it ended and who ended it. Its people and type stay; an ended relationship is not restarted.',
  },
  toFhir(r) {
    const c = relationshipCodes[String(r.type)];
    const start = instant(r.recorded_at);
    const end = instant(r.ended_at);
    return compact({
      resourceType: 'RelatedPerson' as const,
      id: r.id,
      meta: metaOf(r),
      identifier: [{ system: PERSON_SYSTEM, value: String(r.related_person_id) }],
      active: r.ended_at === null || r.ended_at === undefined,
      patient: ref('Patient', r.person_id)!,
      relationship: [c ? { coding: [{ system: RELATIONSHIP_CODE_SYSTEM, code: c }], text: String(r.type) } : text(String(r.type))],
      name: [compact({ family: str(r.family_name), given: str(r.given_name) ? [String(r.given_name)] : undefined })],
      gender: r.sex === 'female' ? ('female' as const) : r.sex === 'male' ? ('male' as const) : undefined,
      birthDate: dateOnly(r.birth_date),
      period: start || end ? compact({ start, end }) : undefined,
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Group: a household. Members are shown only where the actor may see their demographics.

const groupMeta = meta('Group', 'h.id', null);
const group: ResourceDef = {
  type: 'Group',
  base: sql`select h.id, h.composition, h.tenure, ${groupMeta.cols} from ${householdsTable} h ${groupMeta.join}`,
  params: {
    ...common,
    member: (v) => anyOf(v, (x) => sql`r.id in ${householdIdsOfPerson(referenceId(x, 'Patient'))}`),
  },
  paramTypes: { ...commonTypes, member: 'reference' },
  async hydrate(db, rows) {
    if (rows.length === 0) return;
    const members = await liveMembersOfHouseholds(
      db,
      rows.map((r) => r.id),
    );
    for (const row of rows) row.members = members.filter((m) => m.household_id === row.id).map((m) => m.id);
  },
  access: {
    personOf: () => null,
    categoryOf: () => 'demographics',
    membersOf: (r) => (r.members as string[] | undefined) ?? [],
  },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "Makes a household of the Patients in member (type person, actual true), each moving from their old household, at the first member's address (practitioners who may change every member's details). Each move is kept with who made it and when.",
    update:
      'Sets who lives in the household (practitioners who may change the details of everyone who moves and of someone already in it): a Patient added to member moves in from their old household; a member left out (or inactive) gets a household of their own at this address, never none. Members the writer is not shown stay. Each move is kept with who made it and when.',
  },
  toFhir(r) {
    const members = (r.members as string[] | undefined) ?? [];
    return compact({
      resourceType: 'Group' as const,
      id: r.id,
      meta: metaOf(r),
      identifier: [{ system: 'urn:joinery:household', value: r.id }],
      type: 'person' as const,
      actual: true,
      code: text('household'),
      name: `Household (${String(r.composition).replace(/_/g, ' ')})`,
      quantity: members.length,
      member: members.map((id) => ({ entity: { reference: `Patient/${id}` } })),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Organization, Practitioner, PractitionerRole, HealthcareService, Location: the network.

const orgMeta = meta('Organization', 'o.id', null);
const organization: ResourceDef = {
  type: 'Organization',
  base: sql`select o.*, ${orgMeta.cols} from ${organisationsTable} o ${orgMeta.join}`,
  params: {
    ...common,
    name: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.name'], x, m))),
    // Its code here, or an identifier its sender gave it (kept with the stored copy: Synthea's hospital bundles find theirs so).
    identifier: (v) => sql`(${eqParam('r.source_code', [ORGANISATION_CODE_SYSTEM])(v)} or ${identifierParam('Organization')(v)})`,
    type: withText(eqParam('r.kind', [ORGANISATION_KIND_SYSTEM]), shownText('r.kind')),
  },
  paramTypes: { ...commonTypes, name: 'string', identifier: 'token', type: 'token' },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      'Adds a member organisation to the service directory (administrators): name, identifier (urn:joinery:organisation-code; made up when not given), type (urn:joinery:code:organisation-kind; other when not given), telecom phone, email and url, address postalCode. It shows in the directory pages and the Open Referral UK API.',
    update:
      "Changes an organisation's name, telecom and postcode (administrators). Its code and kind stay, as agency feeds and the access rules depend on them; organisations are not closed here (make their services inactive).",
  },
  toFhir(r) {
    return compact({
      resourceType: 'Organization' as const,
      id: r.id,
      meta: metaOf(r),
      identifier: [{ system: ORGANISATION_CODE_SYSTEM, value: String(r.source_code) }],
      active: true,
      type: [code(ORGANISATION_KIND_SYSTEM, String(r.kind), String(r.kind).replace(/_/g, ' '))],
      name: String(r.name),
      telecom: [
        ...(str(r.phone) ? [{ system: 'phone' as const, value: String(r.phone) }] : []),
        ...(str(r.email) ? [{ system: 'email' as const, value: String(r.email) }] : []),
        ...(str(r.website) ? [{ system: 'url' as const, value: String(r.website) }] : []),
      ],
      address: str(r.postcode) ? [{ postalCode: String(r.postcode) }] : undefined,
    });
  },
};

const practitionerMeta = meta('Practitioner', 'x.id', null);
const practitioner: ResourceDef = {
  type: 'Practitioner',
  base: sql`select x.*, ${practitionerMeta.cols} from ${practitionersTable} x ${practitionerMeta.join}`,
  params: {
    ...common,
    name: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.given_name', 'r.family_name'], x, m))),
    family: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.family_name'], x, m))),
    given: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.given_name'], x, m))),
    // A token on the work email's ContactPoint: system|value (system email), email| any, |value none (it has a system).
    email: (v) =>
      anyOf(v, (x) => {
        const { system, code: address } = parseTokenExact(x);
        if (system !== undefined && system !== 'email') return sql`false`;
        if (address === '') return system === 'email' ? sql`r.email is not null` : sql`false`;
        return sql`lower(r.email) = lower(${address})`;
      }),
  },
  paramTypes: { ...commonTypes, name: 'string', family: 'string', given: 'string', email: 'token' },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "Adds a member organisation's staff member (administrators): name (family, given), telecom email (work), active, and the Organization they work for in extension urn:joinery:extension:organization. Give their role with POST PractitionerRole (practitioner Practitioner/<id>).",
    update:
      "Changes a practitioner's name, work email and active (administrators); active false also ends their PractitionerRole, and the sessions and tokens of their sign-in account at once. Their organisation changes through PractitionerRole; a sign-in account is otherwise never changed here.",
  },
  toFhir(r) {
    return compact({
      resourceType: 'Practitioner' as const,
      id: r.id,
      meta: metaOf(r),
      active: r.active !== false,
      name: [{ family: String(r.family_name), given: [String(r.given_name)] }],
      telecom: str(r.email) ? [{ system: 'email' as const, value: String(r.email), use: 'work' as const }] : undefined,
    });
  },
};

const roleMeta = meta('PractitionerRole', 'x.id', null);
const practitionerRole: ResourceDef = {
  type: 'PractitionerRole',
  base: sql`select x.*, ${roleMeta.cols} from ${practitionersTable} x ${roleMeta.join} where x.role <> 'unassigned'`,
  params: {
    ...common,
    practitioner: refParam('r.id', 'Practitioner'),
    organization: refParam('r.organisation_id', 'Organization'),
    role: withText(eqParam('r.role', [PRACTITIONER_ROLE_SYSTEM]), shownText('r.role')),
  },
  paramTypes: { ...commonTypes, practitioner: 'reference', organization: 'reference', role: 'token' },
  includes: { practitioner: { type: 'Practitioner', column: 'id' }, organization: { type: 'Organization', column: 'organisation_id' } },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "Gives a new practitioner (one without a role yet) their role (administrators): practitioner, organization, code (urn:joinery:code:practitioner-role code, or text), active. Each practitioner has one role here, with the Practitioner's id.",
    update:
      'Changes the role, organisation (not for someone who signs in: that follows their account) and active (administrators; active false also ends the sessions and tokens of their sign-in account at once). The practitioner stays the same.',
  },
  toFhir(r) {
    return compact({
      resourceType: 'PractitionerRole' as const,
      id: r.id,
      meta: metaOf(r),
      active: r.active !== false,
      practitioner: ref('Practitioner', r.id),
      organization: ref('Organization', r.organisation_id),
      code: [code(PRACTITIONER_ROLE_SYSTEM, String(r.role), String(r.role).replace(/_/g, ' '))],
      telecom: str(r.email) ? [{ system: 'email' as const, value: String(r.email), use: 'work' as const }] : undefined,
    });
  },
};

const serviceMeta = meta('HealthcareService', 'x.id', null);
const healthcareService: ResourceDef = {
  type: 'HealthcareService',
  base: sql`select x.id, x.organisation_id, x.name, x.description, x.needs, x.eligibility, x.min_age, x.max_age, x.postcode,
      d.status as directory_status, d.email as directory_email, d.url as directory_url,
      ${serviceLocationIdsOf('x.id')} as location_ids, ${serviceMeta.cols}
    from ${servicesTable} x left join ${serviceListingDetailsTable} d on d.service_id = x.id ${serviceMeta.join}`,
  params: {
    ...common,
    name: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.name'], x, m))),
    organization: refParam('r.organisation_id', 'Organization'),
    'service-category': withText(
      (v) =>
        anyOf(v, (x) => {
          const { system, code: c } = parseTokenExact(x);
          if (system !== undefined && system !== NEED_SYSTEM) return sql`false`;
          return c === '' ? sql`cardinality(r.needs) > 0` : sql`${c} = any(r.needs)`;
        }),
      (x) => sql`exists (select 1 from unnest(r.needs) n(need) where ${shownText('n.need')(x)})`,
    ),
    location: (v) => anyOf(v, (x) => sql`${referenceId(x, 'Location')} = any(r.location_ids)`),
  },
  paramTypes: { ...commonTypes, name: 'string', organization: 'reference', 'service-category': 'token', location: 'reference' },
  includes: { organization: { type: 'Organization', column: 'organisation_id' } },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      'Adds a service to the directory (administrators): providedBy the Organization, name, comment (description), category the needs it meets (urn:joinery:code:need), location the Locations it is offered at, eligibility comment, telecom email and url, active. It can then be referred to.',
    update:
      'Changes what the directory says about a service (administrators): the same fields; active false marks it inactive. It stays with the organisation that provides it.',
  },
  toFhir(r) {
    const needs = (r.needs as string[] | null) ?? [];
    return compact({
      resourceType: 'HealthcareService' as const,
      id: r.id,
      meta: metaOf(r),
      active: r.directory_status === null || r.directory_status === undefined || r.directory_status === 'active',
      providedBy: ref('Organization', r.organisation_id),
      category: needs.map((n) => code(NEED_SYSTEM, n, n.replace(/_/g, ' '))),
      name: String(r.name),
      comment: str(r.description),
      location: ((r.location_ids as string[] | null) ?? []).map((id) => ({ reference: `Location/${id}` })),
      eligibility: str(r.eligibility) ? [{ code: text('eligibility'), comment: String(r.eligibility) }] : undefined,
      telecom: [
        ...(str(r.directory_email) ? [{ system: 'email' as const, value: String(r.directory_email) }] : []),
        ...(str(r.directory_url) ? [{ system: 'url' as const, value: String(r.directory_url) }] : []),
      ],
    });
  },
};

const locationMeta = meta('Location', 'x.id', null);
const location: ResourceDef = {
  type: 'Location',
  base: sql`select x.*, ${locationMeta.cols} from ${locationsWithAddressTable} x ${locationMeta.join}`,
  params: {
    ...common,
    name: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.name'], x, m))),
    organization: refParam('r.organisation_id', 'Organization'),
    'address-postalcode': stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.postal_code'], x, m))),
  },
  paramTypes: { ...commonTypes, name: 'string', organization: 'reference', 'address-postalcode': 'string' },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "Adds a place where services are offered (administrators): name, description, address (line, city, district, state, postalCode, country), position (else the postcode's centre), managingOrganization. Services name it in HealthcareService.location.",
    update:
      "Changes a location's name, description, street address, position and managing organisation (administrators). Locations stay active; a service stops being offered there through HealthcareService.location.",
  },
  toFhir(r) {
    return compact({
      resourceType: 'Location' as const,
      id: r.id,
      meta: metaOf(r),
      status: 'active' as const,
      name: str(r.name),
      description: str(r.description),
      address:
        str(r.address_1) || str(r.postal_code)
          ? compact({
              line: str(r.address_1) ? [String(r.address_1)] : undefined,
              city: str(r.city),
              district: str(r.region),
              postalCode: str(r.postal_code),
            })
          : undefined,
      position:
        typeof r.latitude === 'number' && typeof r.longitude === 'number' ? { latitude: r.latitude, longitude: r.longitude } : undefined,
      managingOrganization: ref('Organization', r.organisation_id),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// CareTeam: the person's care network (active working relationships), one team per person.

const careTeamMeta = meta('CareTeam', 'x.id', 'x.started');
const careTeam: ResourceDef = {
  type: 'CareTeam',
  base: sql`select x.*, ${careTeamMeta.cols} from (
      select c.person_id as id, c.person_id, max(c.started_at) as started
      from ${careRelationshipsTable} c where c.ended_at is null group by c.person_id) x ${careTeamMeta.join}`,
  params: { ...common, patient: personParam(), subject: personParam(), status: (v) => (v === 'active' ? sql`true` : sql`false`) },
  paramTypes: { ...commonTypes, patient: 'reference', subject: 'reference', status: 'token' },
  includes: { patient: { type: 'Patient', column: 'person_id' }, subject: { type: 'Patient', column: 'person_id' } },
  async hydrate(db, rows) {
    if (rows.length === 0) return;
    const parts = (
      await sql<{ person_id: string }>`select c.id, c.person_id, c.organisation_id, c.practitioner_id, c.kind, c.role_label, c.started_at,
          o.kind as org_kind, o.name as org_name
        from ${careRelationshipsTable} c join ${organisationsTable} o on o.id = c.organisation_id
        where c.person_id in (${sql.join(rows.map((r) => r.id))}) and c.ended_at is null
        order by c.id`.execute(db)
    ).rows;
    for (const row of rows) row.participants = parts.filter((p) => p.person_id === row.id);
  },
  access: {
    personOf: (r) => r.id,
    categoryOf: () => 'demographics',
    partCategories: (r) => ((r.participants as Array<{ org_kind: string }>) ?? []).map((p) => categoryOfOrganisationKind(p.org_kind)),
    redact(r, allowed) {
      const participants = ((r.participants as Array<{ org_kind: string; organisation_id: string }>) ?? []).filter((p) =>
        allowed(categoryOfOrganisationKind(p.org_kind), p.organisation_id),
      );
      return participants.length === 0 ? null : { ...r, participants };
    },
  },
  interactions: ['read', 'vread', 'search-type', 'update'],
  writes: {
    create:
      'Each person has one care network, CareTeam/<patient id>, which exists while anyone works with them: add or remove members with PUT CareTeam/<patient id>.',
    update:
      "Adds a named practitioner to the person's care network (participant.member Practitioner/<id>, role text, and the reason in extension urn:joinery:extension:reason), or ends a network membership by leaving its member out (the reason in the CareTeam's extension urn:joinery:extension:end-reason). Practitioners who may see the person.",
  },
  toFhir(r) {
    const participants =
      (r.participants as Array<{
        organisation_id: string;
        practitioner_id: string | null;
        role_label: string | null;
        kind: string;
        started_at: Date;
        org_name: string;
      }>) ?? [];
    return compact({
      resourceType: 'CareTeam' as const,
      id: r.id,
      meta: metaOf(r),
      status: 'active' as const,
      name: 'Care network',
      subject: ref('Patient', r.person_id),
      participant: participants.map((p) =>
        compact({
          role: [text(p.role_label ?? p.kind)],
          member: p.practitioner_id ? ref('Practitioner', p.practitioner_id) : ref('Organization', p.organisation_id, p.org_name),
          onBehalfOf: p.practitioner_id ? ref('Organization', p.organisation_id, p.org_name) : undefined,
          period: { start: instant(p.started_at) },
        }),
      ),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// EpisodeOfCare: each working relationship (network membership, referral, case).

const episodeMeta = meta('EpisodeOfCare', 'x.id::text', 'coalesce(x.ended_at, x.started_at)');
const episodeOfCare: ResourceDef = {
  type: 'EpisodeOfCare',
  base: sql`select x.id::text as id, x.person_id, x.organisation_id, x.practitioner_id, x.kind, x.role_label, x.reason, x.started_at, x.ended_at,
      o.kind as org_kind, case when x.ended_at is null then 'active' else 'finished' end as status, ${episodeMeta.cols}
    from ${careRelationshipsTable} x join ${organisationsTable} o on o.id = x.organisation_id ${episodeMeta.join}`,
  params: {
    ...common,
    patient: personParam(),
    status: eqParam('r.status', fhirCodes('episode-of-care-status')),
    organization: refParam('r.organisation_id', 'Organization'),
    type: withText(eqParam('r.kind', [RELATIONSHIP_KIND_SYSTEM]), shownText('r.kind')),
    // The episode's period: an ongoing one (no end yet) reaches past any date.
    date: (v) => periodCondition('r.started_at', 'r.ended_at', v),
  },
  paramTypes: { ...commonTypes, patient: 'reference', status: 'token', organization: 'reference', type: 'token', date: 'date' },
  includes: { patient: { type: 'Patient', column: 'person_id' }, organization: { type: 'Organization', column: 'organisation_id' } },
  access: {
    personOf: (r) => String(r.person_id),
    categoryOf: (r) => categoryOfOrganisationKind(String(r.org_kind)),
    organisationsOf: (r) => [String(r.organisation_id)],
  },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "A named practitioner joins the person's care network (careManager Practitioner/<id>, extensions urn:joinery:extension:role and urn:joinery:extension:reason). Practitioners who may see the person.",
    update:
      'status finished ends a care network membership (the reason in extension urn:joinery:extension:end-reason); referrals and cases end when they close.',
  },
  toFhir(r) {
    return compact({
      resourceType: 'EpisodeOfCare' as const,
      extension: [
        ...(str(r.role_label) ? [{ url: ROLE_EXTENSION, valueString: String(r.role_label) }] : []),
        ...(str(r.reason) ? [{ url: REASON_EXTENSION, valueString: String(r.reason) }] : []),
      ],
      id: r.id,
      meta: metaOf(r),
      status: r.status as 'active' | 'finished',
      type: [code(RELATIONSHIP_KIND_SYSTEM, String(r.kind))],
      patient: ref('Patient', r.person_id)!,
      managingOrganization: ref('Organization', r.organisation_id),
      period: compact({ start: instant(r.started_at), end: instant(r.ended_at) }),
      careManager: ref('Practitioner', r.practitioner_id),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Consent: the person's sharing choices. Seen by the person and privacy officers.

const consentMeta = meta('Consent', 'x.id::text', 'coalesce(x.withdrawn_at, x.recorded_at)');
const selfOrPrivacyOfficer = (actor: SignedInUser, row: Row) =>
  actor.role === 'privacy_officer' || (actor.personId !== null && actor.personId === row.person_id);
// Sharing choices: the person, whoever acts for them as a registered proxy (the access decision
// for a citizen allows only those two), and privacy officers; never practitioners.
const personProxyOrPrivacyOfficer = (actor: SignedInUser) => actor.role === 'privacy_officer' || actor.role === 'citizen';
const consent: ResourceDef = {
  type: 'Consent',
  base: sql`select x.id::text as id, x.person_id, x.category, x.recipient_kind, x.recipient_id, x.purposes, x.decision, x.valid_from, x.valid_until,
      x.recorded_at, x.withdrawn_at, case when x.withdrawn_at is not null then 'inactive' else 'active' end as status, ${consentMeta.cols}
    from ${sharingChoicesTable} x ${consentMeta.join}`,
  params: {
    ...common,
    patient: personParam(),
    status: eqParam('r.status', fhirCodes('consent-state-codes')),
    date: (v) => dateCondition('r.recorded_at', v, 'instant'),
  },
  paramTypes: { ...commonTypes, patient: 'reference', status: 'token', date: 'date' },
  includes: { patient: { type: 'Patient', column: 'person_id' } },
  access: {
    personOf: (r) => String(r.person_id),
    categoryOf: () => 'demographics',
    gate: personProxyOrPrivacyOfficer,
    gateSql: (actor) => (personProxyOrPrivacyOfficer(actor) ? undefined : sql`false`),
  },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      'Records a sharing choice (the person, or their registered proxy): provision.type permit or deny, provision.class the category (none: all information), provision.actor an Organization (none: the whole care network), provision.purpose direct_care and/or care_coordination, optionally provision.period.end.',
    update: 'status inactive withdraws the sharing choice, at once; a choice is never edited: withdraw it and record a new one.',
  },
  toFhir(r) {
    const recipient =
      r.recipient_kind === 'organisation'
        ? ref('Organization', r.recipient_id)
        : r.recipient_kind === 'team'
          ? { display: `Team ${String(r.recipient_id)}` }
          : { display: 'The whole care network' };
    return compact({
      resourceType: 'Consent' as const,
      id: r.id,
      meta: metaOf(r),
      status: r.status as 'active' | 'inactive',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
      patient: ref('Patient', r.person_id),
      dateTime: instant(r.recorded_at),
      policyRule: { text: 'Joinery sharing choice' },
      provision: compact({
        type: r.decision === 'permit' ? ('permit' as const) : ('deny' as const),
        period: compact({ start: instant(r.valid_from), end: instant(r.valid_until) }),
        actor: [
          {
            role: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' },
              ],
            },
            reference: recipient!,
          },
        ],
        purpose: ((r.purposes as string[]) ?? []).map((p) => ({ system: PURPOSE_SYSTEM, code: p })),
        class: [{ system: CATEGORY_SYSTEM, code: String(r.category) }],
      }),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// AuditEvent: who looked at a person's record. Seen by the person and privacy officers.

const auditMeta = meta('AuditEvent', 'x.seq::text', 'x.at');
const auditActions: Record<string, 'C' | 'R' | 'U' | 'D' | 'E'> = { read: 'R', search: 'E', list: 'R', write: 'U', export: 'R' };
const audit: ResourceDef = {
  type: 'AuditEvent',
  base: sql`select x.seq::text as id, x.seq, x.at, x.actor_user_id, x.actor_role, x.actor_organisation_id, x.action, x.person_id, x.category, x.purpose,
      x.decision, x.reason, u.display_name, ${auditMeta.cols}
    from ${auditEventsTable} x left join ${accountNamesTable} u on u.id = x.actor_user_id ${auditMeta.join}`,
  params: {
    ...common,
    patient: personParam(),
    entity: personParam(),
    date: (v) => dateCondition('r.at', v, 'instant'),
    // As shown: 0 (success) an access allowed or a write done, 4 (minor failure) one refused or failed; 8 and 12 are not used.
    outcome: eqParam('r.decision', fhirCodes('audit-event-outcome'), (c) =>
      c === '0' ? ['allow', 'success'] : c === '4' ? ['deny', 'failure'] : [],
    ),
  },
  paramTypes: { ...commonTypes, patient: 'reference', entity: 'reference', date: 'date', outcome: 'token' },
  access: {
    personOf: (r) => String(r.person_id),
    categoryOf: () => 'demographics',
    gate: selfOrPrivacyOfficer,
    gateSql: (actor) => (actor.role === 'privacy_officer' ? undefined : actor.personId ? sql`r.person_id = ${actor.personId}` : sql`false`),
  },
  interactions: ['read', 'search-type'],
  writes: {
    create:
      'AuditEvent is the audit trail of who looked at a record and why: only Joinery itself writes it, as each access is decided, so that it can be trusted.',
    update:
      'AuditEvent is the audit trail of who looked at a record and why: it is append-only and hash-chained (joinery audit verify), so it is never changed.',
  },
  toFhir(r) {
    return compact({
      resourceType: 'AuditEvent' as const,
      id: r.id,
      meta: metaOf(r),
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110', display: 'Patient Record' },
      subtype: [{ system: `${CODE_SYSTEM}:audit-action`, code: String(r.action) }],
      action: auditActions[String(r.action)] ?? 'E',
      recorded: instant(r.at)!,
      outcome: r.decision === 'allow' || r.decision === 'success' ? ('0' as const) : ('4' as const),
      outcomeDesc: str(r.reason),
      purposeOfEvent: str(r.purpose) ? [{ coding: [{ system: `${CODE_SYSTEM}:purpose`, code: String(r.purpose) }] }] : undefined,
      agent: [
        compact({
          type: str(r.actor_role) ? text(String(r.actor_role)) : undefined,
          who: compact({
            display: str(r.display_name) ?? 'Joinery',
            identifier: str(r.actor_user_id) ? { system: 'urn:joinery:user', value: String(r.actor_user_id) } : undefined,
          }),
          requestor: true,
        }),
      ],
      source: { observer: { display: 'Joinery' } },
      entity: [
        compact({
          what: ref('Patient', r.person_id),
          securityLabel: str(r.category) ? [{ system: `${CODE_SYSTEM}:category`, code: String(r.category) }] : undefined,
        }),
      ],
    });
  },
};

// ---------------------------------------------------------------------------------------------
// ServiceRequest and Task: a closed-loop referral (HL7 social care referral pattern).

const referralStatusToRequest: Record<string, 'active' | 'completed' | 'revoked'> = {
  sent: 'active',
  received: 'active',
  accepted: 'active',
  in_progress: 'active',
  completed: 'completed',
  declined: 'revoked',
  cancelled: 'revoked',
};
const referralStatusToTask: Record<string, 'requested' | 'received' | 'accepted' | 'rejected' | 'in-progress' | 'completed' | 'cancelled'> =
  {
    sent: 'requested',
    received: 'received',
    accepted: 'accepted',
    declined: 'rejected',
    in_progress: 'in-progress',
    completed: 'completed',
    cancelled: 'cancelled',
  };
const urgencyToPriority: Record<string, 'routine' | 'urgent' | 'asap'> = { routine: 'routine', soon: 'urgent', urgent: 'asap' };

function referralBase(type: string) {
  const m = meta(type, 'x.id', 'greatest(x.sent_at, x.acknowledged_at, x.accepted_at, x.first_contact_at, x.closed_at)');
  return sql`select x.id, x.person_id, x.from_organisation_id, x.from_practitioner_id, x.service_id, x.organisation_id, x.assigned_practitioner_id,
      x.reason, x.urgency, x.status as referral_status, x.sent_at, x.closed_at, x.decline_reason, x.onward_from_id, o.kind as org_kind, s.name as service_name,
      greatest(x.sent_at, x.acknowledged_at, x.accepted_at, x.first_contact_at, x.closed_at) as modified_at, ${m.cols}
    from ${referralsOnRecordTable} x join ${organisationsTable} o on o.id = x.organisation_id join ${servicesTable} s on s.id = x.service_id ${m.join}`;
}
const referralAccess: AccessSpec = {
  personOf: (r) => String(r.person_id),
  categoryOf: (r) => categoryOfOrganisationKind(String(r.org_kind)),
  organisationsOf: (r) => [String(r.organisation_id), String(r.from_organisation_id)],
};
const referralParams = {
  ...common,
  patient: personParam(),
  subject: personParam(),
  requester: (v: string) =>
    anyOf(v, (x) => sql`(r.from_organisation_id = ${referenceId(x)} or r.from_practitioner_id = ${referenceId(x)})`),
  performer: (v: string) =>
    anyOf(
      v,
      (x) =>
        sql`(r.organisation_id = ${referenceId(x)} or r.service_id = ${referenceId(x)} or r.assigned_practitioner_id = ${referenceId(x)})`,
    ),
  authored: (v: string) => dateCondition('r.sent_at', v, 'instant'),
};
const referralParamTypes = {
  ...commonTypes,
  patient: 'reference',
  subject: 'reference',
  requester: 'reference',
  performer: 'reference',
  authored: 'date',
  status: 'token',
} as const;

const serviceRequest: ResourceDef = {
  type: 'ServiceRequest',
  base: referralBase('ServiceRequest'),
  params: { ...referralParams, status: eqParam('r.referral_status', fhirCodes('request-status'), reverse(referralStatusToRequest)) },
  paramTypes: referralParamTypes,
  includes: { patient: { type: 'Patient', column: 'person_id' }, subject: { type: 'Patient', column: 'person_id' } },
  access: referralAccess,
  interactions: ['read', 'vread', 'search-type', 'create'],
  writes: {
    create:
      "Sends a referral (practitioners): subject the Patient, performer the HealthcareService, reasonCode, priority, and the categories shared with the person's agreement (extension urn:joinery:extension:shared-category).",
    update: 'A referral is moved on through its Task (PUT Task/<id>); the request as sent is not edited.',
  },
  toFhir(r) {
    return compact({
      resourceType: 'ServiceRequest' as const,
      id: r.id,
      meta: metaOf(r),
      status: referralStatusToRequest[String(r.referral_status)] ?? 'unknown',
      intent: 'order' as const,
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005', display: 'Patient referral' }] }],
      priority: urgencyToPriority[String(r.urgency)],
      code: text(String(r.service_name)),
      subject: ref('Patient', r.person_id)!,
      authoredOn: instant(r.sent_at),
      // A resident's own request has no sending organisation: they asked themselves.
      requester: r.from_organisation_id ? ref('Organization', r.from_organisation_id) : ref('Patient', r.person_id),
      performer: [ref('HealthcareService', r.service_id, r.service_name)!],
      reasonCode: [text(String(r.reason))],
      replaces: str(r.onward_from_id) ? [{ reference: `ServiceRequest/${String(r.onward_from_id)}` }] : undefined,
    });
  },
};

const task: ResourceDef = {
  type: 'Task',
  base: referralBase('Task'),
  params: {
    ...referralParams,
    status: eqParam('r.referral_status', fhirCodes('task-status'), reverse(referralStatusToTask)),
    // The owner as the Task shows it: the assigned practitioner, else the receiving organisation.
    owner: (v) =>
      anyOf(v, (x) => {
        const [kind] = x.split('/').slice(-2);
        if (kind === 'Practitioner') return sql`r.assigned_practitioner_id = ${referenceId(x, 'Practitioner')}`;
        if (kind === 'Organization')
          return sql`(r.organisation_id = ${referenceId(x, 'Organization')} and r.assigned_practitioner_id is null)`;
        const id = referenceId(x);
        return sql`(r.assigned_practitioner_id = ${id} or (r.organisation_id = ${id} and r.assigned_practitioner_id is null))`;
      }),
    focus: refParam('r.id', 'ServiceRequest'),
    // R4's Task performer is a token on performerType: the kind of organisation the referral went to
    // (as its Organization.type says it); who performs it is the owner (ServiceRequest's performer is the reference).
    performer: withText(eqParam('r.org_kind', [ORGANISATION_KIND_SYSTEM]), shownText('r.org_kind')),
    'business-status': eqParam('r.referral_status', []),
    // R4's name for Task.authoredOn (authored, as ServiceRequest names it, is kept for clients using it).
    'authored-on': referralParams.authored,
  },
  paramTypes: {
    ...referralParamTypes,
    owner: 'reference',
    focus: 'reference',
    performer: 'token',
    'business-status': 'token',
    'authored-on': 'date',
  },
  includes: { patient: { type: 'Patient', column: 'person_id' }, focus: { type: 'ServiceRequest', column: 'id' } },
  access: referralAccess,
  interactions: ['read', 'vread', 'search-type', 'update'],
  writes: {
    create: 'A Task is made when a referral is sent (POST ServiceRequest).',
    update:
      'Moves the referral through the closed loop: status received, accepted, rejected (declined with statusReason.text, not handed on), in-progress (first contact: executionPeriod.start its day, extension urn:joinery:extension:first-contact-method how: phone, visit, letter, video or other), completed or cancelled (statusReason.text says why), and owner assigns a Practitioner.',
  },
  toFhir(r) {
    return compact({
      resourceType: 'Task' as const,
      id: r.id,
      meta: metaOf(r),
      basedOn: [{ reference: `ServiceRequest/${r.id}` }],
      status: referralStatusToTask[String(r.referral_status)] ?? 'requested',
      statusReason: str(r.decline_reason) ? text(String(r.decline_reason)) : undefined,
      businessStatus: text(String(r.referral_status)),
      intent: 'order' as const,
      priority: urgencyToPriority[String(r.urgency)],
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      focus: { reference: `ServiceRequest/${r.id}` },
      performerType: [code(ORGANISATION_KIND_SYSTEM, String(r.org_kind), String(r.org_kind).replace(/_/g, ' '))],
      for: ref('Patient', r.person_id),
      authoredOn: instant(r.sent_at),
      lastModified: instant(r.modified_at),
      // A resident's own request has no sending organisation: they asked themselves.
      requester: r.from_organisation_id ? ref('Organization', r.from_organisation_id) : ref('Patient', r.person_id),
      owner: r.assigned_practitioner_id ? ref('Practitioner', r.assigned_practitioner_id) : ref('Organization', r.organisation_id),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// CarePlan and Goal: shared plans.

const planMeta = meta('CarePlan', 'x.id', `coalesce(${planLastEventAtSql('x.id')}, x.created_at)`);
/** When a plan's period starts: when it was made, unless that is after its end date (then no start is shown). */
const PLAN_START = "(case when r.ends_on is null or (r.created_at at time zone 'UTC')::date <= r.ends_on::date then r.created_at end)";
const PLAN_END = "((r.ends_on::date + 1)::timestamp at time zone 'UTC')";
function planPeriod(r: Row): { start?: string; end?: string } | undefined {
  const end = dateOnly(r.ends_on);
  const created = instant(r.created_at);
  const start = created && (!end || created.slice(0, 10) <= end) ? created : undefined;
  return start || end ? compact({ start, end }) : undefined;
}
const carePlan: ResourceDef = {
  type: 'CarePlan',
  base: sql`select x.id, x.person_id, x.household_id, x.subject_kind, x.title, x.status as plan_status, x.organisation_id, x.created_at, x.ends_on, x.strengths,
      case when x.status = 'active' then 'active' else 'completed' end as status, ${planMeta.cols}
    from ${plansTable} x ${planMeta.join}`,
  params: {
    ...common,
    patient: (v) =>
      anyOf(v, (x) => sql`(r.person_id = ${referenceId(x, 'Patient')} or r.id in ${plansWithMember(referenceId(x, 'Patient'))})`),
    subject: (v) =>
      anyOf(v, (x) =>
        x.startsWith('Group/') ? sql`r.household_id = ${referenceId(x, 'Group')}` : sql`r.person_id = ${referenceId(x, 'Patient')}`,
      ),
    status: eqParam('r.status', fhirCodes('request-status')),
    // R4's date is the period the plan covers: from when it was made to its end date (to the end of that day), or still going on.
    date: (v) => periodCondition(PLAN_START, PLAN_END, v),
  },
  paramTypes: { ...commonTypes, patient: 'reference', subject: 'reference', status: 'token', date: 'date' },
  includes: { patient: { type: 'Patient', column: 'person_id' } },
  async hydrate(db, rows) {
    if (rows.length === 0) return;
    const goals = await goalsOfPlans(
      db,
      rows.map((r) => r.id),
    );
    for (const row of rows) row.goal_ids = goals.filter((g) => g.plan_id === row.id).map((g) => g.id);
  },
  access: { personOf: (r) => String(r.person_id), categoryOf: () => 'plans' },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      'Starts a shared plan for a person (practitioners in their care network): title, description (strengths), period.end. Goals are then added as Goal resources.',
    update:
      'Renames the plan, changes its strengths or end date, and closes (status completed) or reopens (active) it. Goals change through Goal.',
  },
  toFhir(r) {
    return compact({
      resourceType: 'CarePlan' as const,
      id: r.id,
      meta: metaOf(r),
      status: r.status as 'active' | 'completed',
      intent: 'plan' as const,
      title: str(r.title),
      description: str(r.strengths) ? `Strengths: ${String(r.strengths)}` : undefined,
      subject: r.subject_kind === 'household' && r.household_id ? ref('Group', r.household_id)! : ref('Patient', r.person_id)!,
      created: instant(r.created_at),
      period: planPeriod(r),
      author: ref('Organization', r.organisation_id),
      goal: ((r.goal_ids as string[]) ?? []).map((id) => ({ reference: `Goal/${id}` })),
    });
  },
};

const goalStatus: Record<string, 'active' | 'completed' | 'cancelled'> = { open: 'active', achieved: 'completed', stopped: 'cancelled' };
const goalMeta = meta('Goal', 'x.id', 'x.created_at');
const goal: ResourceDef = {
  type: 'Goal',
  base: sql`select x.id, x.person_id, x.plan_id, x.text, x.outcome_codes, x.set_by, x.status as goal_status, x.created_at, x.organisation_id,
      ${goalMeta.cols}
    from ${goalsTable} x ${goalMeta.join}`,
  params: {
    ...common,
    patient: personParam(),
    subject: personParam(),
    'lifecycle-status': eqParam('r.goal_status', fhirCodes('goal-status'), reverse(goalStatus)),
  },
  paramTypes: { ...commonTypes, patient: 'reference', subject: 'reference', 'lifecycle-status': 'token' },
  includes: { patient: { type: 'Patient', column: 'person_id' } },
  access: { personOf: (r) => String(r.person_id), categoryOf: () => 'plans' },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "Adds a goal to the person's shared plan (practitioners in their care network, or the person): description.text in the person's words, category the outcomes it works towards (urn:joinery:code:outcome), and the plan in extension urn:joinery:extension:care-plan (default: the person's active plan).",
    update: "lifecycleStatus active, completed (achieved) or cancelled (stopped); a goal's words and outcomes stay as agreed.",
  },
  toFhir(r) {
    const outcomes = Array.isArray(r.outcome_codes) ? (r.outcome_codes as string[]) : [];
    return compact({
      resourceType: 'Goal' as const,
      id: r.id,
      meta: metaOf(r),
      extension: [{ url: CARE_PLAN_EXTENSION, valueReference: { reference: `CarePlan/${String(r.plan_id)}` } }],
      lifecycleStatus: goalStatus[String(r.goal_status)] ?? 'active',
      achievementStatus:
        r.goal_status === 'achieved'
          ? { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: 'achieved' }] }
          : undefined,
      category: outcomes.map((c) => ({ coding: [{ system: OUTCOME_SYSTEM, code: String(c) }] })),
      description: text(String(r.text)),
      subject: ref('Patient', r.person_id)!,
      startDate: dateOnly(r.created_at),
      expressedBy: r.set_by === 'person' ? ref('Patient', r.person_id) : ref('Organization', r.organisation_id),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Questionnaire and QuestionnaireResponse: the plans module stores them in FHIR shape.

const questionnaireMeta = meta('Questionnaire', 'x.id', 'x.created_at');
const questionnaire: ResourceDef = {
  type: 'Questionnaire',
  base: sql`select x.id, x.version, x.title, x.status, x.category, x.definition, x.created_at, ${questionnaireMeta.cols} from ${questionnairesTable} x ${questionnaireMeta.join}`,
  params: {
    ...common,
    title: stringParam((v, m) => anyOf(v, (x) => stringCondition(['r.title'], x, m))),
    status: eqParam('r.status', fhirCodes('publication-status')),
    version: eqParam('r.version', []),
    // The form's canonical url: whole, or :below / :above.
    url: uriParam("(r.definition::jsonb)->>'url'"),
  },
  paramTypes: { ...commonTypes, title: 'string', status: 'token', version: 'token', url: 'uri' },
  interactions: ['read', 'vread', 'search-type'],
  writes: {
    create:
      "Assessment forms are part of the place's outcomes framework, installed with a version and their scoring; they are not made through this API.",
    update: 'Assessment forms are versioned with their scoring: changing one here would change what past responses mean.',
  },
  toFhir(r) {
    const definition = (typeof r.definition === 'string' ? JSON.parse(r.definition) : r.definition) as Record<string, unknown>;
    return { ...definition, resourceType: 'Questionnaire', id: r.id, meta: metaOf(r) } as Resource;
  },
};

const responseMeta = meta('QuestionnaireResponse', 'x.id', 'x.authored_at');
const questionnaireResponse: ResourceDef = {
  type: 'QuestionnaireResponse',
  base: sql`select x.id, x.questionnaire_id, x.questionnaire_version, x.person_id, x.organisation_id, x.practitioner_id, x.authored_at, x.response, x.complete,
      x.category, case when x.complete then 'completed' else 'in-progress' end as status, ${responseMeta.cols}
    from ${questionnaireResponsesTable} x ${responseMeta.join}`,
  params: {
    ...common,
    patient: personParam(),
    subject: personParam(),
    status: eqParam('r.status', fhirCodes('questionnaire-answers-status')),
    questionnaire: (v) => anyOf(v, (x) => sql`r.questionnaire_id = ${referenceId(x.split('|')[0]!)}`),
    authored: (v) => dateCondition('r.authored_at', v, 'instant'),
  },
  paramTypes: { ...commonTypes, patient: 'reference', subject: 'reference', status: 'token', questionnaire: 'reference', authored: 'date' },
  includes: { patient: { type: 'Patient', column: 'person_id' }, questionnaire: { type: 'Questionnaire', column: 'questionnaire_id' } },
  access: {
    personOf: (r) => String(r.person_id),
    categoryOf: (r) => (isCategory(r.category) ? r.category : 'social_care'),
    organisationsOf: (r) => (r.organisation_id ? [String(r.organisation_id)] : []),
  },
  interactions: ['read', 'vread', 'search-type', 'create'],
  writes: {
    create:
      "Records a completed assessment (practitioners who may write the form's category): checked, scored and stored as in the web form, linked to the person's active plans.",
    update: 'A completed assessment is a record of what was said at the time; record a new QuestionnaireResponse instead of changing one.',
  },
  toFhir(r) {
    const stored = (typeof r.response === 'string' ? JSON.parse(r.response) : r.response) as Record<string, unknown>;
    return compact({
      ...stored,
      resourceType: 'QuestionnaireResponse' as const,
      id: r.id,
      meta: metaOf(r),
      questionnaire: `Questionnaire/${String(r.questionnaire_id)}`,
      status: r.status as 'completed' | 'in-progress',
      subject: ref('Patient', r.person_id),
      authored: instant(r.authored_at),
      author: r.practitioner_id ? ref('Practitioner', r.practitioner_id) : ref('Organization', r.organisation_id),
    }) as Resource;
  },
};

// ---------------------------------------------------------------------------------------------
// Observation: events recorded by agencies about a person (attendances, sessions, scores), and
// clinical Observations partners send (vital signs, results), kept whole as received (clinical.ts).

const observationMeta = meta('Observation', 'x.id::text', 'x.at');
const eventCodes = [`${CODE_SYSTEM}:event-type`];
const keptObservation = clinicalParams(clinicalSpecs.Observation!);
/** An event (not r.whole) or a kept Observation (r.whole): each condition on its own columns. */
const eventOrKept = (event: Cond, kept: Cond) => sql`((not r.whole and ${event}) or (r.whole and ${kept}))`;
/** The kinds of performer R4 allows an Observation: a bare id may name any of them. */
const OBSERVATION_PERFORMERS = ['Practitioner', 'PractitionerRole', 'Organization', 'CareTeam', 'Patient', 'RelatedPerson'];
const keptPerformers = `${jsonItems("(r.content->'performer')")}`;
function observationPerformerCondition(value: string): Cond {
  const parts = value.split('/');
  const type = parts.length >= 2 ? parts.at(-2)! : undefined;
  if (type !== undefined && !OBSERVATION_PERFORMERS.includes(type)) throw invalid(`an Observation's performer is not a ${type}`);
  const id = referenceId(value);
  const references = (type ? [type] : OBSERVATION_PERFORMERS).map((t) => `${t}/${id}`);
  return eventOrKept(
    type === undefined || type === 'Organization' ? sql`r.organisation_id = ${id}` : sql`false`,
    sql`exists (select 1 from ${sql.raw(keptPerformers)} p where p->>'reference' = any(${references}::text[]))`,
  );
}
/** Whether an Observation names a performer, as presenceOf reads it (search-features.ts). */
export const observationPerformerPresence = `((not r.whole and r.organisation_id is not null) or (r.whole and exists (select 1 from ${keptPerformers} p)))`;
const observation: ResourceDef = {
  type: 'Observation',
  base: sql`select x.id::text as id, x.person_id, x.organisation_id, x.type, x.at, x.value, null::jsonb as content, null::text[] as codes,
      x.at as clinical_start, x.at as clinical_end, false as whole, ${observationMeta.cols}
    from ${personEventsTable} x ${observationMeta.join}
    union all
    select f.resource_id, f.person_id, f.organisation_id, null, f.clinical_start, null, f.content, f.codes, f.clinical_start, f.clinical_end, true,
      coalesce(fm.version_id, 1), coalesce(fm.last_updated, f.received_at)
    from fhir_resources f ${sql.raw(fhirVersionJoinSql('fm', 'f.resource_type', 'f.resource_id'))}
    where f.resource_type = 'Observation' and f.whole`,
  params: {
    ...common,
    patient: personParam(),
    subject: personParam(),
    // :text: an event's name as shown (its code with spaces), or a kept Observation's code text and displays.
    code: withText(
      (v) => anyOf(v, (x) => eventOrKept(tokenCondition('r.type', eventCodes, x), codesCondition('r.codes', x))),
      (x) => eventOrKept(textMatch(sql`replace(r.type, '_', ' ')`, x), conceptTextCondition('r.content', ['code'], x)),
    ),
    date: (v) => eventOrKept(dateCondition('r.at', v, 'instant'), clinicalDateCondition(v)),
    // An event's performer is the agency that recorded it; a kept Observation's are those it names.
    performer: (v) => anyOf(v, observationPerformerCondition),
    status: (v) =>
      eventOrKept(v.split(',').includes('final') ? sql`true` : sql`false`, sql`r.content->>'status' = any(${v.split(',')}::text[])`),
    identifier: keptObservation.params.identifier!,
    encounter: keptObservation.params.encounter!,
  },
  paramTypes: {
    ...commonTypes,
    patient: 'reference',
    subject: 'reference',
    code: 'token',
    date: 'date',
    performer: 'reference',
    status: 'token',
    identifier: 'token',
    encounter: 'reference',
  },
  includes: {
    patient: { type: 'Patient', column: 'person_id' },
    subject: { type: 'Patient', column: 'person_id' },
    performer: { type: 'Organization', column: 'organisation_id' },
  },
  access: {
    personOf: (r) => String(r.person_id),
    categoryOf: (r) => (r.whole === true ? 'health' : categoryOfEvent(String(r.type))),
    organisationsOf: (r) => [typeof r.organisation_id === 'string' ? r.organisation_id : NO_ORGANISATION],
  },
  interactions: ['read', 'vread', 'search-type', 'create', 'update'],
  writes: {
    create:
      "Keeps a clinical Observation (a measurement or finding) as received, against the Patient named in subject (practitioners who may write the person's health): it is health information, shown beyond the sending organisation only where the person agreed. The events agencies record in their own systems (attendances, sessions) arrive through agency feeds (POST /api/imports); assessments are recorded as QuestionnaireResponse.",
    update:
      "Replaces a clinical Observation the writer's own organisation sent. The events agencies record are kept as the agency recorded them; a correction is asked of that agency (the person's right to rectification), not made here.",
  },
  toFhir(r) {
    if (r.whole === true) return keptResource(r, 'Observation', metaOf(r));
    return compact({
      resourceType: 'Observation' as const,
      id: r.id,
      meta: metaOf(r),
      status: 'final' as const,
      category: [{ coding: [{ system: CATEGORY_SYSTEM, code: categoryOfEvent(String(r.type)) }] }],
      code: code(`${CODE_SYSTEM}:event-type`, String(r.type), String(r.type).replace(/_/g, ' ')),
      subject: ref('Patient', r.person_id),
      effectiveDateTime: instant(r.at),
      performer: [ref('Organization', r.organisation_id)!],
      valueQuantity: typeof r.value === 'number' ? { value: r.value } : undefined,
    });
  },
};

// Resources of the types above that Joinery's tables could not take, kept whole beside them
// (clinical.ts): a RelatedPerson who is not a Patient here, an answer to a form Joinery does not
// have, a Practitioner outside the network and their role, a place or organisation outside this
// place's directory.
const names = (element: string) => ({
  name: stringParam((v, m) => anyOf(v, (x) => wholeNameCondition(element, x, 'any', m))),
  family: stringParam((v, m) => anyOf(v, (x) => wholeNameCondition(element, x, 'family', m))),
  given: stringParam((v, m) => anyOf(v, (x) => wholeNameCondition(element, x, 'given', m))),
});
const textName = stringParam((v, m) => anyOf(v, (x) => stringMatch(sql`r.whole_content->>'name'`, x, m)));
const withKept = {
  RelatedPerson: withWholeRows(related, { shared: ['person_id'], metaOf, wholeParams: { name: names('name').name } }),
  QuestionnaireResponse: withWholeRows(questionnaireResponse, { shared: ['person_id'], metaOf, wholeCategory: 'health' }),
  // Another system's care plan for the person (Synthea's, with intent "order"): kept whole as
  // health information beside the shared plans, which are Joinery's own (intent "plan").
  CarePlan: withWholeRows(
    {
      ...carePlan,
      writes: {
        ...carePlan.writes,
        create: `${carePlan.writes!.create} A CarePlan with another intent (order, proposal, option: another system's plan, as Synthea sends them) is kept whole as received, as health information against the Patient in subject.`,
      },
    },
    {
      shared: ['person_id'],
      metaOf,
      wholeCategory: 'health',
      // R4's parameters on what the other system sent; a shared plan is always intent plan, and
      // has no category, encounter, activities or care team of its own to match.
      wholeParams: {
        status: (v) => anyOf(v, (x) => tokenCondition("(r.whole_content->>'status')", fhirCodes('request-status'), x)),
        intent: (v) => anyOf(v, (x) => tokenCondition("(r.whole_content->>'intent')", fhirCodes('request-intent'), x)),
        date: (v) => wholePeriodCondition(v),
        category: (v) => anyOf(v, (x) => wholeCodingCondition('$.category[*].coding[*]', x)),
        'activity-code': (v) => anyOf(v, (x) => wholeCodingCondition('$.activity[*].detail.code.coding[*]', x)),
        'care-team': (v) => anyOf(v, (x) => wholeReferencesCondition('$.careTeam[*]', 'CareTeam', x)),
        goal: (v) => anyOf(v, (x) => wholeReferencesCondition('$.goal[*]', 'Goal', x)),
        encounter: (v) => anyOf(v, (x) => wholeReferencesCondition('$.encounter', 'Encounter', x)),
      },
      domainParams: {
        intent: eqParam("'plan'", fhirCodes('request-intent')),
        goal: (v) => anyOf(v, (x) => sql`r.id in (select g.plan_id from ${goalsTable} g where g.id = ${referenceId(x, 'Goal')})`),
      },
      wholeParamTypes: {
        intent: 'token',
        category: 'token',
        'activity-code': 'token',
        'care-team': 'reference',
        goal: 'reference',
        encounter: 'reference',
      },
    },
  ),
  // Another system's care team for the person (Synthea's, a hospital's): kept whole as health
  // information beside the person's care network. It names people, but grants no one anything:
  // only the consent module makes a member of the care network (PUT CareTeam/<patient id>).
  CareTeam: withWholeRows(
    {
      ...careTeam,
      access: {
        ...careTeam.access!,
        personOf: (r) => (r.whole === true ? String(r.person_id) : careTeam.access!.personOf(r)),
        partCategories: (r) => (r.whole === true ? [] : careTeam.access!.partCategories!(r)),
        redact: (r, allowed) => (r.whole === true ? r : careTeam.access!.redact!(r, allowed)),
      },
      interactions: ['read', 'vread', 'search-type', 'create', 'update'],
      writes: {
        ...careTeam.writes,
        create:
          "Keeps another system's care team for the person (as Synthea and hospital systems send them) whole, as health information against the Patient in subject (practitioners who may write the person's health): it adds no one to the person's care network, which changes only through PUT CareTeam/<patient id>.",
      },
    },
    {
      shared: ['person_id'],
      metaOf,
      wholeCategory: 'health',
      // R4's parameters on what the other system sent. The care network is always active and has
      // no category, period or encounter; its members are searched as EpisodeOfCare (each
      // membership through the access decision), not by participant here: a network found by a
      // member the reader may not see would tell them that member is there.
      wholeParams: {
        status: (v) => anyOf(v, (x) => tokenCondition("(r.whole_content->>'status')", fhirCodes('care-team-status'), x)),
        date: (v) => wholePeriodCondition(v),
        category: (v) => anyOf(v, (x) => wholeCodingCondition('$.category[*].coding[*]', x)),
        participant: (v) => anyOf(v, (x) => wholeParticipantCondition(x)),
        encounter: (v) => anyOf(v, (x) => wholeReferencesCondition('$.encounter', 'Encounter', x)),
      },
      wholeParamTypes: { category: 'token', date: 'date', participant: 'reference', encounter: 'reference' },
    },
  ),
  Practitioner: withWholeRows(practitioner, {
    metaOf,
    // A staff member's identifiers are those a partner sent (the stored copy's, for one Joinery holds too).
    wholeParams: { ...names('name'), identifier: identifierParam('Practitioner') },
    domainParams: { identifier: identifierParam('Practitioner') },
    wholeParamTypes: { identifier: 'token' },
  }),
  PractitionerRole: withWholeRows(practitionerRole, {
    metaOf,
    wholeParams: {
      practitioner: (v) => anyOf(v, (x) => wholeReferenceCondition('practitioner', 'Practitioner', x)),
      organization: (v) => anyOf(v, (x) => wholeReferenceCondition('organization', 'Organization', x)),
    },
  }),
  Organization: withWholeRows(organization, {
    metaOf,
    wholeParams: { name: textName, identifier: identifierParam('Organization') },
  }),
  // Found by the identifiers a partner sent (Synthea's hospital bundles create each place only if none has its identifier).
  Location: withWholeRows(location, {
    metaOf,
    wholeParams: { name: textName, identifier: identifierParam('Location') },
    domainParams: { identifier: identifierParam('Location') },
    wholeParamTypes: { identifier: 'token' },
  }),
};

// Medication: a product that prescriptions and medicines given name (medicationReference), about
// no person: kept whole as sent (clinical-writes.ts), with no access decision to pass, as the
// directory's organisations and places have none.
const medicationCode = (v: string) =>
  anyOf(v, (x) => {
    const { system, code } = parseTokenExact(x);
    if (code === '' && (system === undefined || system === '')) throw invalid('a token search needs a code, a system| or both');
    return sql`exists (select 1 from jsonb_array_elements(coalesce(r.content->'code'->'coding', '[]'::jsonb)) c
      where ${system === undefined ? sql`true` : sql`coalesce(c->>'system', '') = ${system}`} and ${code === '' ? sql`true` : sql`c->>'code' = ${code}`})`;
  });
const medication: ResourceDef = {
  type: 'Medication',
  base: clinicalBase('Medication'),
  params: { ...common, code: medicationCode, identifier: identifierParam('Medication') },
  paramTypes: { ...commonTypes, code: 'token', identifier: 'token' },
  keptWhole: true,
  interactions: ['read', 'vread', 'search-type', 'create'],
  writes: {
    create:
      'Keeps a medicinal product (its code, form and ingredients) as sent, for MedicationRequest and MedicationAdministration to name in medicationReference (practitioners and administrators). It is about no person: anyone who may use the API may read it.',
    update: 'A Medication is not changed in place: a different product is a new Medication.',
  },
  toFhir: (r) => keptResource(r, 'Medication', metaOf(r)),
};

// Clinical types Joinery does not model, kept whole as received (clinical.ts).
const clinical = CLINICAL_TYPES.filter((type) => type !== 'Observation').map((type) => clinicalDef(type, metaOf, common, commonTypes));

export const resourceDefs: Record<string, ResourceDef> = Object.fromEntries(
  [
    patient,
    withKept.RelatedPerson,
    group,
    withKept.Organization,
    withKept.Practitioner,
    withKept.PractitionerRole,
    withKept.CareTeam,
    healthcareService,
    withKept.Location,
    consent,
    episodeOfCare,
    audit,
    serviceRequest,
    task,
    withKept.CarePlan,
    goal,
    questionnaire,
    withKept.QuestionnaireResponse,
    observation,
    ...clinical,
    medication,
  ].map((d) => [d.type, d]),
);
