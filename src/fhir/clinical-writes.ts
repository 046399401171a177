// Writing the clinical resources Joinery keeps whole (clinical.ts): through the API, a
// practitioner files one against a person only when the access decision (audited, allow or deny)
// lets them write that person's health; a refused write changes nothing. Through a bulk import
// (`joinery import` of a Bundle), entries about the Patients the same Bundle brought are filed
// under the feed's organisation, their Patient references resolved to the people the person
// index linked them to.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import type { Category } from '../consent/index.ts';
import { remainingPersonId, remainingPersonIdOf } from '../people/index.ts';
import { currentLinkOfRecord } from '../linkage/index.ts';
import { organisationWithSourceCode } from '../network/index.ts';
import type { ClinicalEntries, ClinicalImport } from '../interop/index.ts';
import type { FhirContext } from './engine.ts';
import { readRow } from './engine.ts';
import { FhirError, invalid, notFound } from './outcome.ts';
import { referenceId } from './params.ts';
import {
  CLINICAL_TYPES,
  clinicalIndex,
  clinicalSpecs,
  isClinicalType,
  keptPeriod,
  patientReferenceIn,
  pointedAtPerson,
} from './clinical.ts';
import { keepReceived } from './stored.ts';
import { keepImportedPatients } from './imported-patients.ts';
import { validateFhir } from './validate.ts';
import { checkIfMatch, bumpVersion, stampCreated, type WriteResult } from './writes.ts';
import { requireRoles, requireWrite, sameId, type Writer } from './care-writes.ts';

type Json = Record<string, unknown>;

/** The person a reference names, following a merge to the record that remains; undefined if unknown. */
async function personOf(db: Kysely<Database>, reference: string): Promise<string | undefined> {
  return remainingPersonId(db, referenceId(reference, 'Patient'));
}

/**
 * Files a resource whole (id and meta are the server's): a clinical one with what its searches
 * need; any other (a RelatedPerson who is not a Patient here, a Practitioner outside the network)
 * as it is. `patientElement` names the element referring to the person, pointed at the person as
 * Joinery knows them (a merged record's survivor), not as the sender named them.
 */
export async function keepWhole(
  db: Kysely<Database>,
  ctx: FhirContext | null,
  type: string,
  id: string,
  resource: Resource,
  about: { personId: string; patientElement: string; category: Category } | null,
  organisationId: string | null,
): Promise<void> {
  const kept = about ? pointedAtPerson(resource, about.patientElement, about.personId) : resource;
  const index = isClinicalType(type) ? clinicalIndex(kept) : { codes: [] as string[], ...keptPeriod(type, kept) };
  await keepReceived(db, ctx, type, id, kept, about?.personId ?? null, about?.category ?? 'demographics');
  await sql`update fhir_resources set whole = true, organisation_id = ${organisationId}, codes = ${index.codes}::text[],
      clinical_start = ${index.start?.toISOString() ?? null}::timestamptz, clinical_end = ${index.end?.toISOString() ?? null}::timestamptz
    where resource_type = ${type} and resource_id = ${id}`.execute(db);
}

async function store(
  db: Kysely<Database>,
  ctx: FhirContext | null,
  type: string,
  id: string,
  resource: Resource,
  personId: string,
  organisationId: string | null,
): Promise<void> {
  await keepWhole(
    db,
    ctx,
    type,
    id,
    resource,
    { personId, patientElement: clinicalSpecs[type]!.patientElement, category: 'health' },
    organisationId,
  );
}

/**
 * Keeps whole a resource of a type Joinery models when this one cannot be taken into its own
 * tables (a RelatedPerson who is not a Patient here, an answer to a form Joinery does not have, a
 * Practitioner outside the network): about the person `patientElement` names, if any, after the
 * access decision for writing that category (audited; refused, nothing changes).
 */
export async function createWhole(
  ctx: FhirContext,
  type: string,
  resource: Resource,
  about: { patientElement: string; category: Category } | null,
  assignedId?: string,
): Promise<WriteResult> {
  let personId: string | null = null;
  if (about) {
    const reference = ((resource as unknown as Json)[about.patientElement] as { reference?: string } | undefined)?.reference;
    if (!reference) throw invalid(`${type}.${about.patientElement} must reference the Patient it is about`);
    if (!reference.includes('/') || reference.split('/').slice(-2)[0] !== 'Patient')
      throw new FhirError(
        422,
        'business-rule',
        `${type}.${about.patientElement} must reference a Patient (Patient/<id>), not ${reference.slice(0, 80)}`,
      );
    personId = (await personOf(ctx.db, reference)) ?? null;
    if (!personId) throw notFound('Patient', referenceId(reference));
    await requireWrite(ctx, personId, [about.category], `record this about this person`);
  }
  const id = assignedId ?? randomUUID();
  await keepWhole(ctx.db, ctx, type, id, resource, personId && about ? { personId, ...about } : null, ctx.actor.organisationId);
  await stampCreated(ctx.db, type, id);
  return { type, id, created: true, whole: true };
}

function patientReference(type: string, resource: Resource): string {
  const spec = clinicalSpecs[type]!;
  const reference = clinicalIndex(resource).patientReference;
  if (!reference) throw invalid(`${type}.${spec.patientElement} must reference the Patient it is about`);
  const kind = reference.split('/').slice(-2)[0];
  if (!reference.includes('/') || kind !== 'Patient')
    throw new FhirError(
      422,
      'business-rule',
      `${type}.${spec.patientElement} must reference a Patient (Patient/<id>), not ${reference.slice(0, 80)}`,
    );
  return reference;
}

function clinicalWriter(type: string): Writer {
  const doing = `record ${clinicalSpecs[type]!.what}s`;
  return {
    async create(ctx, resource, assignedId) {
      requireRoles(ctx, ['practitioner'], doing);
      const personId = await personOf(ctx.db, patientReference(type, resource));
      if (!personId) throw notFound('Patient', referenceId(patientReference(type, resource)));
      // Decided (and audited) before anything is written: refused, nothing changes.
      await requireWrite(ctx, personId, ['health'], 'record health information about this person');
      const id = assignedId ?? randomUUID();
      await store(ctx.db, ctx, type, id, resource, personId, ctx.actor.organisationId);
      await stampCreated(ctx.db, type, id);
      return { type, id, created: true };
    },
    async update(ctx, id, resource, ifMatch) {
      sameId(resource, id);
      requireRoles(ctx, ['practitioner'], doing);
      const current = await readRow(ctx, type, id, 'write');
      if (current.whole !== true)
        throw new FhirError(405, 'not-supported', `${type}/${id} is an event an agency recorded; it is kept as the agency recorded it`);
      checkIfMatch(ifMatch, Number(current.version_id));
      if (current.organisation_id !== ctx.actor.organisationId)
        throw new FhirError(403, 'forbidden', `${type}/${id} was sent by another organisation; only they can change it`);
      const personId = await personOf(ctx.db, patientReference(type, resource));
      if (!personId || personId !== current.person_id)
        throw new FhirError(422, 'business-rule', `${type}/${id} stays about Patient/${String(current.person_id)}`);
      await requireWrite(ctx, personId, ['health'], 'change health information about this person');
      await store(ctx.db, ctx, type, id, resource, personId, ctx.actor.organisationId);
      await bumpVersion(ctx.db, type, id);
      return { type, id, created: false };
    },
  };
}

/**
 * A Medication: a product (a dm+d or RxNorm code, its form and ingredients) that prescriptions and
 * medicines given name in medicationReference, as UK Core and Synthea send them. About no person,
 * so kept whole as sent and readable by anyone who may use the API; recorded by practitioners and
 * administrators. Not changed in place: a different product is a new Medication.
 */
export const medicationWriter: Writer = {
  async create(ctx, resource, assignedId) {
    requireRoles(ctx, ['practitioner', 'admin'], 'record a medicine');
    return createWhole(ctx, 'Medication', resource, null, assignedId);
  },
};

export const clinicalWriters: Record<string, Writer> = {
  ...Object.fromEntries(Object.keys(clinicalSpecs).map((type) => [type, clinicalWriter(type)])),
  Medication: medicationWriter,
};

// ---------------------------------------------------------------------------------------------
// Bulk import

/** Replaces references to the Bundle's own entries with the ids they were given. */
function resolve(value: unknown, ids: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, ids));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === 'reference' && typeof v === 'string' && ids.has(v) ? ids.get(v) : resolve(v, ids)]),
    );
  }
  return value;
}

/**
 * Types a Bundle import keeps whole beside the clinical ones, by the element naming the Patient:
 * another system's care team and care plan (a Synthea export has both). An import makes no one a
 * member of the care network and starts no shared plan: only the pages and the API do that.
 */
const KEPT_BESIDE: Record<string, 'subject'> = { CareTeam: 'subject', CarePlan: 'subject' };
const keptByImport = (type: unknown): type is string =>
  isClinicalType(type) || type === 'Medication' || (typeof type === 'string' && Object.hasOwn(KEPT_BESIDE, type));

/**
 * `Type?identifier=system|value`, the conditional reference Synthea's exports name practitioners
 * and places by. Only the directory's types: an entry is about a Patient of its own Bundle, never
 * someone the feed names by an identifier (that would file health information against a person
 * the import never linked).
 */
const IDENTIFIER_REFERENCE = /^(Practitioner|PractitionerRole|Organization|Location)\?identifier=([^|&]*)\|([^&]+)$/;

/**
 * The one resource of the type with that identifier (kept with what partners sent), for each
 * conditional reference by identifier in the entries; left as sent when none or several have it
 * (an import has no one to ask, and the entry is kept whole either way).
 */
async function identifierReferences(db: Kysely<Database>, entries: Array<{ resource?: Json }>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const reference of referencesIn(entries.map((e) => e.resource))) {
    const [, type, system, value] = IDENTIFIER_REFERENCE.exec(decodedOrAsSent(reference)) ?? [];
    if (!type || value === undefined) continue;
    const rows = await sql<{ resource_id: string }>`select distinct resource_id from fhir_identifiers
      where resource_type = ${type} and system = ${system} and value = ${value} limit 2`.execute(db);
    if (rows.rows.length === 1) found.set(reference, `${type}/${rows.rows[0]!.resource_id}`);
  }
  return found;
}

/** Every `reference` string in a value (a resource, or a list of them). */
function referencesIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.add(v);
      else referencesIn(v, out);
    }
  return out;
}

/** A reference's query with its %-escapes undone; as sent when they are broken (a feed's typo must not stop its import). */
function decodedOrAsSent(reference: string): string {
  try {
    return decodeURIComponent(reference);
  } catch {
    return reference;
  }
}

/**
 * Keeps a Bundle's clinical entries after its Patients were imported: each about a Patient of the
 * same Bundle (by fullUrl, Patient/id or the absolute URL) whom the person index linked to a
 * person, filed under the feed's organisation. Ids are derived from the feed and the entry, so
 * importing the file again replaces rather than duplicates. Entries that are not valid, or about
 * no Patient of the Bundle, are set aside saying why.
 */
export async function keepClinicalEntries(
  db: Kysely<Database>,
  file: string,
  source: string,
  /** The record id the import gave a Patient entry (the importer's own rule). */
  patientSourceId: (entry: { fullUrl?: string; resource?: unknown }) => string | undefined,
): Promise<ClinicalImport> {
  const bundle = JSON.parse((await fs.promises.readFile(file, 'utf8')).replace(/^\uFEFF/, '')) as {
    entry?: Array<{ fullUrl?: string; resource?: Json }>;
  };
  const entries = bundle.entry ?? [];
  const out: ClinicalImport = { kept: {}, setAside: [] };
  if (!entries.some((e) => keptByImport(e.resource?.resourceType))) return out;
  const organisationId = (await organisationWithSourceCode(db, source)) ?? null;
  const ids = await identifierReferences(db, entries);
  const names = (entry: { fullUrl?: string; resource?: Json }, type: string): string[] => {
    const id = typeof entry.resource?.id === 'string' ? entry.resource.id : undefined;
    return [...(entry.fullUrl ? [entry.fullUrl] : []), ...(id ? [`${type}/${id}`] : [])];
  };
  for (const entry of entries) {
    if (entry.resource?.resourceType !== 'Patient') continue;
    const sourceId = patientSourceId(entry);
    if (!sourceId) continue;
    const linked = await sql<{ person_id: string | null }>`select ${remainingPersonIdOf('l.person_id')} as person_id
      from ${currentLinkOfRecord(source, sourceId)} l`.execute(db);
    const personId = linked.rows[0]?.person_id;
    if (personId) for (const name of names(entry, 'Patient')) ids.set(name, `Patient/${personId}`);
  }
  const planned: Array<{ line: number; type: string; id: string; entry: { fullUrl?: string; resource?: Json } }> = [];
  for (const [i, entry] of entries.entries()) {
    const type = entry.resource?.resourceType;
    if (!keptByImport(type)) continue;
    const id = createHash('sha256')
      .update(`${source}\n${entry.fullUrl ?? `${type}/${String(entry.resource?.id ?? i)}`}`)
      .digest('hex')
      .slice(0, 40);
    for (const name of names(entry, type)) ids.set(name, `${type}/${id}`);
    planned.push({ line: i + 1, type, id, entry });
  }
  for (const { line, type, id, entry } of planned) {
    const row = JSON.stringify(entry.resource).slice(0, 2000);
    const resource = resolve(entry.resource, ids) as Resource;
    const issues = validateFhir(resource);
    if (issues.length > 0) {
      out.setAside.push({
        line,
        reason: `not a valid ${type}: ${issues
          .map((i) => i.diagnostics ?? i.details?.text ?? 'invalid')
          .slice(0, 3)
          .join('; ')}`,
        row,
      });
      continue;
    }
    if (type === 'Medication') {
      // A product, about no person: kept as sent for the prescriptions that name it.
      await db.transaction().execute(async (trx) => {
        await keepWhole(trx, null, type, id, resource, null, organisationId);
        await stampCreated(trx, type, id);
      });
      out.kept[type] = (out.kept[type] ?? 0) + 1;
      continue;
    }
    const beside = KEPT_BESIDE[type];
    const element = beside ?? clinicalSpecs[type]!.patientElement;
    const reference = beside ? patientReferenceIn(resource, beside) : clinicalIndex(resource).patientReference;
    const personId = reference?.startsWith('Patient/') ? await personOf(db, reference) : undefined;
    if (!personId) {
      out.setAside.push({
        line,
        reason: `a ${type} about no Patient of this Bundle that was linked to a person (${element}: ${String(reference ?? 'none').slice(0, 80)})`,
        row,
      });
      continue;
    }
    await db.transaction().execute(async (trx) => {
      if (beside) await keepWhole(trx, null, type, id, resource, { personId, patientElement: beside, category: 'health' }, organisationId);
      else await store(trx, null, type, id, resource, personId, organisationId);
      await stampCreated(trx, type, id);
    });
    out.kept[type] = (out.kept[type] ?? 0) + 1;
  }
  return out;
}

/** This module's part of an import (each Patient as sent, a Bundle's clinical entries), handed to the importer (interop) by whoever starts one. */
export const clinicalEntries: ClinicalEntries = {
  types: [...CLINICAL_TYPES, 'Medication', ...Object.keys(KEPT_BESIDE)],
  keep: keepClinicalEntries,
  keepPatients: keepImportedPatients,
};
