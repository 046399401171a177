// Patient/$everything and compartment search (GET Patient/[id]/[type]), by the R4 Patient
// compartment as far as Joinery's types and search parameters reach: each type with the
// parameters by which its resources belong to a Patient. Every resource passes the access
// decision on its own person, category and organisations, as a search does: a category the
// reader is refused (health another agency recorded, without the person's agreement) gives
// nothing, not even a count. The Patient must be one the reader may see.
import { sql } from 'kysely';
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { authorise, defFor, readResource, search, type Decisions, type FhirContext, type Query } from './engine.ts';
import { withStoredCopies } from './stored.ts';
import { FhirError, invalid, stopIfClientGone } from './outcome.ts';
import { checkId, type Cond } from './params.ts';
import { shapeAll, shapingOf } from './search-features.ts';
import type { Row } from './resources.ts';

/**
 * The R4 Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition-patient.html) for the
 * types Joinery serves: the search parameters by which a resource is in a Patient's compartment.
 * Parameters of the definition that cannot name a Patient here are left out (a ServiceRequest's
 * performer is a HealthcareService; CareTeam participants, Condition asserters and Procedure
 * performers are practitioners and organisations).
 */
export const PATIENT_COMPARTMENT: Record<string, string[]> = {
  RelatedPerson: ['patient'],
  Group: ['member'],
  CareTeam: ['patient'],
  Consent: ['patient'],
  EpisodeOfCare: ['patient'],
  AuditEvent: ['patient'],
  ServiceRequest: ['subject'],
  CarePlan: ['patient'],
  Goal: ['patient'],
  QuestionnaireResponse: ['subject'],
  Observation: ['subject'],
  Encounter: ['patient'],
  Condition: ['patient'],
  MedicationRequest: ['subject'],
  Immunization: ['patient'],
  AllergyIntolerance: ['patient'],
  DiagnosticReport: ['subject'],
  Procedure: ['patient'],
  Claim: ['patient'],
  ExplanationOfBenefit: ['patient'],
  DocumentReference: ['subject'],
  ImagingStudy: ['patient'],
  MedicationAdministration: ['patient'],
  SupplyDelivery: ['patient'],
  Provenance: ['patient'],
};

/**
 * What $everything gives beside the Patient, in this order: the compartment, and the referral's
 * Task, which R4 leaves out of the compartment but which is the person's referral as it moves.
 */
const EVERYTHING_TYPES = [...Object.keys(PATIENT_COMPARTMENT), 'Task'];
const EVERYTHING_PARAMS: Record<string, string[]> = { ...PATIENT_COMPARTMENT, Task: ['patient'] };

function compartmentCondition(type: string, personId: string): Cond {
  const def = defFor(type);
  const conditions = EVERYTHING_PARAMS[type]!.map((p) => def.params[p]!(`Patient/${personId}`));
  return conditions.length === 1 ? conditions[0]! : sql`(${sql.join(conditions, sql` or `)})`;
}

/** GET Patient/[id]/[type]?...: the type's search, within the Patient's compartment. */
export async function compartmentSearch(ctx: FhirContext, personId: string, type: string, query: Query): Promise<Bundle> {
  checkId(personId);
  defFor(type);
  const params = PATIENT_COMPARTMENT[type];
  if (!params)
    throw new FhirError(
      400,
      'not-supported',
      `${type} is not in the R4 Patient compartment; search it with GET /fhir/${type}?... (types in the compartment: ${Object.keys(PATIENT_COMPARTMENT).join(', ')})`,
    );
  // The Patient first: nothing of the compartment of someone the reader may not see.
  await readResource(ctx, 'Patient', personId);
  // In R4 a resource is in the compartment by any of its parameters; every type here has one.
  const [param] = params;
  const existing = query[param!];
  const given = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  return search(ctx, type, { ...query, [param!]: [...given, `Patient/${personId}`] });
}

const EVERYTHING_CONTROL = new Set(['_since', '_type', '_count', '_cursor', '_format', '_pretty', '_summary', '_elements']);
const SCAN_ROWS = 5_000;
const CHUNK_ROWS = 200;

function one(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) {
    if (v.length > 1) throw invalid(`give ${name} once`);
    return v[0];
  }
  return v;
}

/**
 * Patient/[id]/$everything: the Patient, then each type's resources about them in id order,
 * `_count` to a page (default 50), next links carrying a cursor on the last entry given (a type
 * and id the reader saw). `_since` keeps resources changed since then; `_type` some types only.
 */
export async function everything(ctx: FhirContext, personId: string, query: Query): Promise<Bundle> {
  checkId(personId);
  for (const key of Object.keys(query))
    if (!EVERYTHING_CONTROL.has(key))
      throw new FhirError(400, 'not-supported', `$everything takes _since, _type, _count, _summary and _elements, not ${key}`);
  const sinceRaw = one(query, '_since');
  const since = sinceRaw === undefined ? undefined : new Date(sinceRaw);
  if (sinceRaw !== undefined && (!/^\d{4}-\d{2}-\d{2}/.test(sinceRaw) || Number.isNaN(since!.getTime())))
    throw invalid('_since must be an instant, e.g. 2026-01-31T09:00:00Z');
  const typeRaw = query._type === undefined ? undefined : (Array.isArray(query._type) ? query._type : [query._type]).join(',');
  const types = typeRaw === undefined ? ['Patient', ...EVERYTHING_TYPES] : [...new Set(typeRaw.split(',').map((t) => t.trim()))];
  for (const t of types)
    if (t !== 'Patient' && !EVERYTHING_PARAMS[t])
      throw invalid(`_type=${t}: $everything gives ${['Patient', ...EVERYTHING_TYPES].join(', ')}`);
  const order = ['Patient', ...EVERYTHING_TYPES].filter((t) => types.includes(t));
  const countRaw = one(query, '_count');
  const pageSize = countRaw === undefined ? 50 : Number(countRaw);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) throw invalid('_count must be a whole number from 1 to 500');
  // _summary=count asks for the total only: as many as the bound on work reaches are counted, none given.
  const shaping = shapingOf(query, { count: true, what: '$everything' });
  const counting = shaping.summary === 'count';
  const count = counting ? SCAN_ROWS : pageSize;
  const cursorRaw = one(query, '_cursor');
  const cursor = cursorRaw === undefined ? undefined : /^([A-Za-z]{1,64})\/([A-Za-z0-9\-.]{1,64})$/.exec(cursorRaw);
  if (cursorRaw !== undefined && (!cursor || !order.includes(cursor[1]!))) throw invalid('_cursor is not one this server gave');

  // The Patient themself, as a read (404 if the reader may not see them), whatever page this is.
  const patient = await readResource(ctx, 'Patient', personId);
  const entries: Array<{ type: string; resource: Resource }> = [];
  let more = false;
  let scanned = 0;
  const start = cursor ? order.indexOf(cursor[1]!) : 0;
  const decided: Decisions = new Map();
  outer: for (const type of order.slice(start)) {
    let after = cursor && type === cursor[1] ? cursor[2] : undefined;
    if (type === 'Patient') {
      if (after === undefined && (!since || new Date(patient.meta?.lastUpdated ?? 0) >= since)) {
        if (entries.length === count) {
          more = true;
          break;
        }
        entries.push({ type, resource: patient });
      }
      continue;
    }
    const def = defFor(type);
    const gate = def.access?.gateSql?.(ctx.actor);
    const base = [
      compartmentCondition(type, personId),
      ...(gate ? [gate] : []),
      ...(since ? [sql`r.last_updated >= ${since.toISOString()}::timestamptz`] : []),
    ];
    for (;;) {
      await stopIfClientGone(ctx.signal);
      if (scanned >= SCAN_ROWS) break outer;
      const want = Math.min(CHUNK_ROWS, SCAN_ROWS - scanned);
      const conditions = after === undefined ? base : [...base, sql`r.id > ${after}`];
      const rows = (
        await sql<Row>`select * from (${def.base}) r where ${sql.join(conditions, sql` and `)} order by r.id limit ${want}`.execute(ctx.db)
      ).rows;
      scanned += rows.length;
      await def.hydrate?.(ctx.db, rows);
      const visible = await authorise(ctx, def, rows, 'read', decided);
      for (const resource of await withStoredCopies(ctx, def, visible)) {
        if (entries.length === count) {
          more = true;
          break outer;
        }
        entries.push({ type, resource });
      }
      if (rows.length < want) break;
      after = rows.at(-1)!.id;
    }
  }
  const path = `${ctx.base}/Patient/${personId}/$everything`;
  const url = (extra: Record<string, string | undefined>) => {
    const params = new URLSearchParams();
    const shapedBy = { _summary: one(query, '_summary'), _elements: one(query, '_elements') };
    for (const [k, v] of Object.entries({ _since: sinceRaw, _type: typeRaw, _count: String(pageSize), ...shapedBy, ...extra }))
      if (v !== undefined) params.set(k, v);
    return `${path}?${params.toString()}`;
  };
  const link: BundleLink[] = [{ relation: 'self', url: url({ _cursor: cursorRaw }) }];
  if (more && !counting) {
    const last = entries.at(-1)!;
    link.push({ relation: 'next', url: url({ _cursor: `${last.type}/${last.resource.id}` }) });
  }
  const complete = !more && scanned < SCAN_ROWS;
  const bundleEntries: BundleEntry[] = counting
    ? []
    : entries.map(({ type, resource }) => ({
        fullUrl: `${ctx.base}/${type}/${resource.id}`,
        resource: shapeAll([resource], shaping)[0]!,
        search: { mode: 'match' },
      }));
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date().toISOString(),
    // Known without counting only when everything is on this one page.
    ...(complete && cursorRaw === undefined ? { total: entries.length } : {}),
    link,
    ...(bundleEntries.length > 0 ? { entry: bundleEntries } : {}),
  };
}
