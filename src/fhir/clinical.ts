// Clinical resources Joinery does not model (a hospital's Encounters, a GP's Conditions, an
// immunisation record, ...): kept whole as received in fhir_resources, against the person they
// are about, under the health category, so a partner's record is not thrown away. They are read
// and searched only through the access decision: health is shared beyond the organisation that
// sent it only where the person agreed (or a lawful basis or break-glass applies), so another
// agency's practitioner sees none of it, not even how much there is. Searchable by patient or
// subject, code (system|code), date (an ongoing period reaches past any date) and identifier.
import { sql } from 'kysely';
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceDef, Row } from './resources.ts';
import type { Category } from '../consent/index.ts';
import { fhirVersionJoinSql } from '../interop/index.ts';
import {
  anyOf,
  conceptTextCondition,
  honoursStringModes,
  parseTokenExact,
  periodCondition,
  referenceId,
  stringMatch,
  stringParam,
  withText,
  type Cond,
  type ParamHandler,
  type StringMode,
} from './params.ts';
import { invalid } from './outcome.ts';

type Json = Record<string, unknown>;

interface ClinicalSpec {
  type: string;
  /**
   * The element naming the Patient: subject, or patient (Immunization, AllergyIntolerance, Claim),
   * or a list of which one entry names the Patient (Provenance's target).
   */
  patientElement: 'subject' | 'patient' | 'target';
  /** Elements holding the resource's codes (CodeableConcept or Coding, single or repeated). */
  codeElements: string[];
  /** R4's name for the code parameter, where it is not `code`. */
  codeParam?: string;
  /** Elements giving the clinical date, in order of preference (dateTime, Period or instant). */
  dateElements: string[];
  /** R4's name for the date parameter, where it is not `date`. */
  dateParam?: string;
  /**
   * Only R4's own parameters (false for the types added for Synthea's exports: R4 gives a Claim
   * no `code` nor `date`): then `code` and `date` are declared only through codeParam and
   * dateParam, `encounter` only where the type has an encounter element, `subject` only where
   * R4 has it. The first eight types keep the `code` and `date` partners already use.
   */
  generic?: false;
  /** Whether R4 searches `encounter` on an `encounter` element (for the non-generic types). */
  encounterElement?: true;
  /** False where R4 gives the type no identifier (Provenance). */
  identifier?: false;
  what: string;
}

const specs: ClinicalSpec[] = [
  {
    type: 'Encounter',
    patientElement: 'subject',
    codeElements: ['type', 'class', 'serviceType'],
    codeParam: 'type',
    dateElements: ['period'],
    what: 'an attendance or admission',
  },
  {
    type: 'Condition',
    patientElement: 'subject',
    codeElements: ['code'],
    dateElements: ['onsetDateTime', 'onsetPeriod', 'recordedDate'],
    dateParam: 'onset-date',
    what: 'a diagnosis or problem',
  },
  {
    type: 'MedicationRequest',
    patientElement: 'subject',
    codeElements: ['medicationCodeableConcept'],
    dateElements: ['authoredOn'],
    dateParam: 'authoredon',
    what: 'a prescription',
  },
  {
    type: 'Immunization',
    patientElement: 'patient',
    codeElements: ['vaccineCode'],
    codeParam: 'vaccine-code',
    dateElements: ['occurrenceDateTime', 'recorded'],
    what: 'a vaccination',
  },
  {
    type: 'AllergyIntolerance',
    patientElement: 'patient',
    codeElements: ['code'],
    dateElements: ['recordedDate', 'onsetDateTime', 'onsetPeriod'],
    what: 'an allergy',
  },
  {
    type: 'DiagnosticReport',
    patientElement: 'subject',
    codeElements: ['code'],
    dateElements: ['effectiveDateTime', 'effectivePeriod', 'issued'],
    what: 'a test report',
  },
  {
    type: 'Procedure',
    patientElement: 'subject',
    codeElements: ['code'],
    dateElements: ['performedDateTime', 'performedPeriod'],
    what: 'a procedure',
  },
  {
    type: 'Observation',
    patientElement: 'subject',
    codeElements: ['code'],
    dateElements: ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant', 'issued'],
    what: 'a measurement or finding',
  },
  // What else a Synthea patient export holds about the person (a real one fails without them):
  // the insurance claims and their outcomes (they carry diagnoses and procedures), clinical notes,
  // imaging, implanted devices, supplies, medicines given, and the Provenance of the export. Each
  // with R4's own search parameters only. (Its CareTeam is Joinery's own type: see care-writes.ts.)
  {
    type: 'Claim',
    patientElement: 'patient',
    codeElements: ['type'],
    dateElements: ['created', 'billablePeriod'],
    dateParam: 'created',
    generic: false,
    what: 'an insurance or funding claim for care',
  },
  {
    type: 'ExplanationOfBenefit',
    patientElement: 'patient',
    codeElements: ['type'],
    dateElements: ['created', 'billablePeriod'],
    dateParam: 'created',
    generic: false,
    what: "a claim's outcome",
  },
  {
    type: 'DocumentReference',
    patientElement: 'subject',
    codeElements: ['type'],
    codeParam: 'type',
    dateElements: ['date'],
    dateParam: 'date',
    generic: false,
    what: 'a clinical document',
  },
  {
    type: 'ImagingStudy',
    patientElement: 'subject',
    codeElements: ['procedureCode'],
    dateElements: ['started'],
    dateParam: 'started',
    generic: false,
    encounterElement: true,
    what: 'an imaging study',
  },
  {
    type: 'MedicationAdministration',
    patientElement: 'subject',
    codeElements: ['medicationCodeableConcept'],
    codeParam: 'code',
    dateElements: ['effectiveDateTime', 'effectivePeriod'],
    dateParam: 'effective-time',
    generic: false,
    what: 'a medicine given',
  },
  {
    type: 'Device',
    patientElement: 'patient',
    codeElements: ['type'],
    codeParam: 'type',
    dateElements: ['manufactureDate'],
    generic: false,
    what: 'a device the person uses or has implanted',
  },
  {
    type: 'SupplyDelivery',
    patientElement: 'patient',
    codeElements: ['type'],
    dateElements: ['occurrenceDateTime', 'occurrencePeriod'],
    generic: false,
    what: 'a supply delivered',
  },
  {
    type: 'Provenance',
    patientElement: 'target',
    codeElements: ['activity'],
    dateElements: ['recorded'],
    dateParam: 'recorded',
    generic: false,
    identifier: false,
    what: 'where a record came from',
  },
];

export const clinicalSpecs: Record<string, ClinicalSpec> = Object.fromEntries(specs.map((s) => [s.type, s]));

/** The clinical types kept whole (Observation also shows the events agencies record, see resources.ts). */
export const CLINICAL_TYPES: readonly string[] = specs.map((s) => s.type);

export function isClinicalType(type: unknown): type is string {
  return typeof type === 'string' && Object.hasOwn(clinicalSpecs, type);
}

// ---------------------------------------------------------------------------------------------
// What a clinical resource's searches need

function codingsOf(value: unknown): Array<{ system?: string; code?: string }> {
  if (Array.isArray(value)) return value.flatMap(codingsOf);
  if (!value || typeof value !== 'object') return [];
  const v = value as Json;
  if (Array.isArray(v.coding)) return v.coding as Array<{ system?: string; code?: string }>;
  return typeof v.code === 'string' ? [v as { system?: string; code?: string }] : [];
}

function instantOf(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export interface ClinicalIndex {
  /** The reference to the person, as sent. */
  patientReference: string | undefined;
  codes: string[];
  start: Date | null;
  /** null with a start: a period still going on. */
  end: Date | null;
}

/**
 * Types Joinery models whose resources kept whole beside its own (another system's CareTeam or
 * CarePlan) have a period R4's `date` searches: kept as clinical_start and clinical_end, as a
 * clinical resource's date is, so a search compares instants, not the text sent.
 */
const KEPT_PERIOD_TYPES = new Set(['CarePlan', 'CareTeam']);

/** The period of a resource of a modelled type kept whole (none for types without one). */
export function keptPeriod(type: string, resource: Resource): { start: Date | null; end: Date | null } {
  if (!KEPT_PERIOD_TYPES.has(type)) return { start: null, end: null };
  const period = (resource as unknown as Json).period as { start?: string; end?: string } | undefined;
  return { start: instantOf(period?.start) ?? instantOf(period?.end), end: instantOf(period?.end) };
}

/** The person, codes (system|code) and clinical date of a clinical resource. */
export function clinicalIndex(resource: Resource): ClinicalIndex {
  const spec = clinicalSpecs[resource.resourceType]!;
  const r = resource as unknown as Json;
  const codes = [
    ...new Set(
      spec.codeElements
        .flatMap((e) => codingsOf(r[e]))
        .filter((c) => typeof c.code === 'string' && c.code !== '')
        .map((c) => `${c.system ?? ''}|${c.code}`),
    ),
  ];
  let start: Date | null = null;
  let end: Date | null = null;
  for (const element of spec.dateElements) {
    const value = r[element];
    if (value === undefined) continue;
    if (element === 'period' || element.endsWith('Period')) {
      const period = value as { start?: string; end?: string };
      start = instantOf(period.start) ?? instantOf(period.end);
      end = instantOf(period.end);
    } else {
      start = instantOf(value);
      end = start;
    }
    if (start) break;
  }
  return { patientReference: patientReferenceIn(resource, spec.patientElement), codes, start, end };
}

/** A reference's type (Patient in Patient/1 or https://example.org/fhir/Patient/1). */
const referencedType = (reference: string | undefined): string | undefined => reference?.split('/').slice(-2)[0];

/**
 * The reference naming the Patient in `element`: the element's own, or in a list (Provenance's
 * target) the first naming a Patient (or, when none does, the first, so a refusal can say what it names).
 */
export function patientReferenceIn(resource: Resource, element: string): string | undefined {
  const value = (resource as unknown as Json)[element];
  if (!Array.isArray(value)) return (value as { reference?: string } | undefined)?.reference;
  const references = value.map((v) => (v as { reference?: string } | undefined)?.reference).filter((v) => typeof v === 'string');
  return references.find((v) => referencedType(v) === 'Patient') ?? references[0];
}

/** The resource with the reference naming its Patient pointed at the person as Joinery knows them. */
export function pointedAtPerson(resource: Resource, element: string, personId: string): Resource {
  const value = (resource as unknown as Json)[element];
  const reference = `Patient/${personId}`;
  if (!Array.isArray(value)) return { ...resource, [element]: { ...(value as Json | undefined), reference } } as Resource;
  const at = patientReferenceIn(resource, element);
  const index = value.findIndex((v) => (v as { reference?: string } | undefined)?.reference === at);
  return { ...resource, [element]: value.map((v, i) => (i === index ? { ...(v as Json), reference } : v)) } as Resource;
}

// ---------------------------------------------------------------------------------------------
// Search parameters

/** A token over the kept codes: code (any system), system|code, system| and |code. */
export function codesCondition(column: string, value: string): Cond {
  const { system, code } = parseTokenExact(value);
  const col = sql.raw(column);
  if (system === undefined) {
    if (code === '') throw invalid('a token search needs a code, a system| or both');
    return sql`exists (select 1 from unnest(${col}) c where right(c, ${code.length + 1}::int) = ${`|${code}`})`;
  }
  if (code === '') {
    if (system === '') throw invalid('a token search needs a code, a system| or both');
    return sql`exists (select 1 from unnest(${col}) c where left(c, ${system.length + 1}::int) = ${`${system}|`})`;
  }
  return sql`${`${system}|${code}`} = any(${col})`;
}

/** A date over the kept clinical date or period; a resource without one matches no date. */
export function clinicalDateCondition(value: string): Cond {
  return sql`(r.clinical_start is not null and ${periodCondition('r.clinical_start', 'r.clinical_end', value)})`;
}

const personParam = (v: string) => anyOf(v, (x) => sql`r.person_id = ${referenceId(x, 'Patient')}`);
export const identifierParam = (type: string) => (v: string) =>
  anyOf(v, (x) => {
    const { system, code: value } = parseTokenExact(x);
    if (value === '' && (system === undefined || system === '')) throw invalid('a token search needs a code, a system| or both');
    return sql`r.id in (select i.resource_id from fhir_identifiers i where i.resource_type = ${type}
    ${system === undefined ? sql`` : sql`and i.system = ${system}`} ${value === '' ? sql`` : sql`and i.value = ${value}`})`;
  });

export function clinicalParams(spec: ClinicalSpec): { params: Record<string, ParamHandler>; types: ResourceDef['paramTypes'] } {
  const code = withText(
    (v: string) => anyOf(v, (x) => codesCondition('r.codes', x)),
    (x) => conceptTextCondition('r.content', spec.codeElements, x),
  );
  const date = (v: string) => clinicalDateCondition(v);
  const generic = spec.generic !== false;
  const encounter = (v: string) =>
    anyOf(v, (x) => sql`r.content->'encounter'->>'reference' = ${`Encounter/${referenceId(x, 'Encounter')}`}`);
  const params: Record<string, ParamHandler> = {
    patient: personParam,
    ...(generic ? { code, date } : {}),
    ...(spec.identifier === false ? {} : { identifier: identifierParam(spec.type) }),
    ...(spec.patientElement === 'subject' ? { subject: personParam } : {}),
    ...(spec.codeParam ? { [spec.codeParam]: code } : {}),
    ...(spec.dateParam ? { [spec.dateParam]: date } : {}),
    ...((generic && spec.type !== 'Encounter') || spec.encounterElement ? { encounter } : {}),
  };
  const types: ResourceDef['paramTypes'] = Object.fromEntries(
    Object.keys(params).map((name) => [
      name,
      name === 'patient' || name === 'subject' || name === 'encounter'
        ? 'reference'
        : name === 'date' || name === spec.dateParam
          ? 'date'
          : 'token',
    ]),
  ) as ResourceDef['paramTypes'];
  return { params, types };
}

// ---------------------------------------------------------------------------------------------
// The definitions (Observation's is in resources.ts: it also shows agency events)

/** The resource as kept: what was sent, with Joinery's id and meta. */
export function keptResource(row: Row, type: string, meta: Resource['meta']): Resource {
  const content = (typeof row.content === 'string' ? JSON.parse(row.content) : row.content) as Json;
  return { ...content, resourceType: type, id: row.id, meta } as Resource;
}

/** A kept resource's (f) version stamp, as m: interop keeps the stamps. */
const keptVersionJoin = sql.raw(fhirVersionJoinSql('m', 'f.resource_type', 'f.resource_id'));

/** The rows of one clinical type: fhir_resources kept whole, with their versions. */
export function clinicalBase(type: string): ReturnType<typeof sql> {
  return sql`select f.resource_id as id, f.person_id, f.organisation_id, f.content, f.codes, f.clinical_start, f.clinical_end, true as whole,
      coalesce(m.version_id, 1) as version_id, coalesce(m.last_updated, f.received_at) as last_updated
    from fhir_resources f ${keptVersionJoin}
    where f.resource_type = ${type} and f.whole`;
}

/** An organisation no one works for: a kept resource whose sender is not known is shown only where all health is allowed. */
export const NO_ORGANISATION = '-';

export function clinicalDef(
  type: string,
  metaOf: (row: Row) => Resource['meta'],
  commonParams: ResourceDef['params'],
  commonTypes: ResourceDef['paramTypes'],
): ResourceDef {
  const spec = clinicalSpecs[type]!;
  const { params, types } = clinicalParams(spec);
  return {
    type,
    base: clinicalBase(type),
    params: { ...commonParams, ...params },
    paramTypes: { ...commonTypes, ...types },
    includes: {
      patient: { type: 'Patient', column: 'person_id' },
      ...(spec.patientElement === 'subject' ? { subject: { type: 'Patient', column: 'person_id' } } : {}),
    },
    access: {
      personOf: (r) => String(r.person_id),
      categoryOf: () => 'health',
      organisationsOf: (r) => [typeof r.organisation_id === 'string' ? r.organisation_id : NO_ORGANISATION],
    },
    keptWhole: true,
    interactions: ['read', 'vread', 'search-type', 'create', 'update'],
    writes: {
      create: `Keeps ${spec.what} as received, against the Patient named in ${spec.patientElement} (practitioners who may write the person's health, audited): every element comes back as sent. It is health information: shown beyond the sending organisation only where the person agreed to share their health.`,
      update: `Replaces ${spec.what} the writer's own organisation sent (practitioners who may write the person's health); the Patient stays the same.`,
    },
    toFhir: (r) => keptResource(r, type, metaOf(r)),
  };
}

// ---------------------------------------------------------------------------------------------
// Types Joinery models, with the resources its tables could not take kept whole beside them

/**
 * A definition whose rows are its own tables' and, beside them, the resources of its type kept
 * whole (a RelatedPerson who is not a Patient here, a Practitioner outside the network): joined
 * on id, version and last update (and `shared` columns both have, such as person_id), so a kept
 * row has the domain's columns empty and `whole` true. Searches on domain columns pass such rows
 * over; `wholeParams` add conditions on the kept resource for the parameters that should find them.
 */
export function withWholeRows(
  def: ResourceDef,
  options: {
    shared?: Array<'person_id' | 'organisation_id'>;
    metaOf: (row: Row) => Resource['meta'];
    wholeParams?: Record<string, ParamHandler>;
    /** Conditions for the domain's rows of parameters only kept resources would otherwise answer. */
    domainParams?: Record<string, ParamHandler>;
    wholeParamTypes?: ResourceDef['paramTypes'];
    /** The access decision's category for a kept row (the type's own rule for the rest). */
    wholeCategory?: Category;
  },
): ResourceDef {
  const shared = options.shared ?? [];
  const using = sql.raw(['id', 'version_id', 'last_updated', ...shared].join(', '));
  const sharedCols = sql.raw(shared.map((c) => `, f.${c}`).join(''));
  const params: ResourceDef['params'] = { ...def.params };
  for (const [name, whole] of Object.entries(options.wholeParams ?? {})) {
    const domain = def.params[name] ?? options.domainParams?.[name];
    const both: ParamHandler = domain
      ? (v, m) => sql`((r.whole is null and ${domain(v, m)}) or (r.whole and ${whole(v, m)}))`
      : (v, m) => sql`(r.whole and ${whole(v, m)})`;
    // :exact and :contains only where both halves honour them.
    params[name] = honoursStringModes(whole) && (!domain || honoursStringModes(domain)) ? stringParam(both) : both;
  }
  const access = def.access;
  const kept = sql`select f.resource_id as id, coalesce(m.version_id, 1) as version_id, coalesce(m.last_updated, f.received_at) as last_updated ${sharedCols},
          f.content as whole_content, true as whole, f.organisation_id as whole_organisation_id,
          f.clinical_start as whole_start, f.clinical_end as whole_end
        from fhir_resources f ${keptVersionJoin}
        where f.resource_type = ${def.type} and f.whole`;
  return {
    ...def,
    // Both kinds of row, each with the other's columns empty: a join on nothing, once each way.
    // (A full join of the two did the same, but no condition on its merged columns could reach
    // either side, so reading one person's rows computed every row of the type first.)
    base: sql`select * from (${def.base}) x left join (${kept} and false) w using (${using})
      union all
      select * from (select * from (${def.base}) x0 where false) x right join (${kept}) w using (${using})`,
    params,
    paramTypes: { ...def.paramTypes, ...options.wholeParamTypes },
    access: access
      ? {
          ...access,
          categoryOf: (r) => (r.whole === true ? (options.wholeCategory ?? access.categoryOf(r)) : access.categoryOf(r)),
          organisationsOf: (r) =>
            r.whole === true
              ? [typeof r.whole_organisation_id === 'string' ? r.whole_organisation_id : NO_ORGANISATION]
              : (access.organisationsOf?.(r) ?? []),
        }
      : undefined,
    async hydrate(db, rows) {
      await def.hydrate?.(
        db,
        rows.filter((r) => r.whole !== true),
      );
    },
    toFhir: (r) => (r.whole === true ? keptResource({ ...r, content: r.whole_content }, def.type, options.metaOf(r)) : def.toFhir(r)),
  };
}

/** A string parameter over a kept resource's HumanName(s): any part starts with the value. */
export function wholeNameCondition(element: string, value: string, part: 'family' | 'given' | 'any' = 'any', mode?: StringMode): Cond {
  const nameList = sql`case jsonb_typeof(r.whole_content->${element}) when 'array' then r.whole_content->${element} when 'object' then jsonb_build_array(r.whole_content->${element}) else '[]'::jsonb end`;
  const match = (e: Cond) => stringMatch(e, value, mode);
  const where =
    part === 'family'
      ? match(sql`n->>'family'`)
      : part === 'given'
        ? match(sql`g`)
        : sql`(${match(sql`n->>'family'`)} or ${match(sql`g`)} or ${match(sql`n->>'text'`)})`;
  return sql`exists (select 1 from jsonb_array_elements(${nameList}) n left join lateral jsonb_array_elements_text(coalesce(n->'given', '[]'::jsonb)) g on true where ${where})`;
}

/** A reference parameter over a kept resource's element: Type/id, or an id. */
export function wholeReferenceCondition(element: string, type: string, value: string): Cond {
  return sql`r.whole_content->${element}->>'reference' = ${`${type}/${referenceId(value, type)}`}`;
}

/**
 * A token over Codings in a kept resource (`path` a jsonpath to them, such as
 * `$.category[*].coding[*]`, single elements taken as lists): code (any system), system|code,
 * system| and |code (a Coding with no system).
 */
export function wholeCodingCondition(path: string, value: string): Cond {
  const { system, code } = parseTokenExact(value);
  if (code === '' && !system) throw invalid('a token search needs a code, a system| or both');
  const filter =
    system === undefined
      ? '@.code == $code'
      : system === ''
        ? '@.code == $code && !(exists(@.system))'
        : code === ''
          ? '@.system == $system'
          : '@.system == $system && @.code == $code';
  return sql`jsonb_path_exists(r.whole_content, ${`${path} ? (${filter})`}::jsonpath, ${JSON.stringify({ system: system ?? '', code })}::jsonb)`;
}

/** A reference parameter over references in a kept resource (`path` a jsonpath to them, such as `$.careTeam[*]`): Type/id, or an id. */
export function wholeReferencesCondition(path: string, type: string, value: string): Cond {
  const reference = `${type}/${referenceId(value, type)}`;
  return sql`jsonb_path_exists(r.whole_content, ${`${path} ? (@.reference == $reference)`}::jsonpath, ${JSON.stringify({ reference })}::jsonb)`;
}

/** The period a kept resource covers (whole_start and whole_end, see keptPeriod) against a date; none matches no date. */
export function wholePeriodCondition(value: string): Cond {
  return sql`(r.whole_start is not null and ${periodCondition('r.whole_start', 'r.whole_end', value)})`;
}

/** R4's CareTeam participant over a kept care team's members: Type/id (Practitioner/1, Organization/2, ...), or an id of any type. */
export function wholeParticipantCondition(value: string): Cond {
  const parts = value.split('/');
  const references = sql`jsonb_path_query(r.whole_content, '$.participant[*].member.reference') m`;
  if (parts.length >= 2) {
    const [type, id] = parts.slice(-2) as [string, string];
    return sql`exists (select 1 from ${references} where m #>> '{}' = ${`${type}/${referenceId(id)}`})`;
  }
  return sql`exists (select 1 from ${references} where split_part(m #>> '{}', '/', -1) = ${referenceId(value)} and m #>> '{}' like '%/%')`;
}
