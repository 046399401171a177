// The Patients of an agency feed (`joinery import`, POST /api/imports, $import), kept as they were
// sent in the same stored copy the FHIR API keeps (stored.ts): once a record is linked, its Patient
// as received is filed beside the person, under the feed's organisation, so a read through the API
// returns every element Joinery does not model, under the same access decision as any copy. What
// a read does not return is named per record, with the paths the API's warnings use, for the
// import's report: nothing is dropped silently.
//
// A copy is filed only where the person has none, or the one they have came from the same
// organisation (its feed sending the record again): like a create through the API that matched
// someone already known, a record matched to a person another sender described does not replace
// that sender's copy, and its elements are reported as not kept instead. A Patient that is not
// valid R4 is not kept either (a read would serve what is not FHIR): its fields Joinery reads were
// taken, and the rest is reported.
import { isDeepStrictEqual } from 'node:util';
import type { Kysely } from 'kysely';
import type { Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import { currentPeopleOfRecords } from '../linkage/index.ts';
import { organisationWithSourceCode } from '../network/index.ts';
import type { PatientNotKept, ReceivedPatient } from '../interop/index.ts';
import { defFor, filedRows } from './engine.ts';
import { keepReceived, loadCopies, notKept, wholeView } from './stored.ts';
import { receivedIssues } from './validate.ts';
import { checkResourceSize } from './limits.ts';
import { bumpVersion } from './writes.ts';
import { keepingHistory } from './history.ts';

/** Patients filed together: one transaction, and one read of rows and copies, each. */
const CHUNK = 500;

const NOT_LINKED =
  'the record is not linked to a person yet, so no Patient shows it (link with joinery index; importing the file again then keeps it)';
const OTHER_SENDER =
  'the person already holds a Patient another organisation sent, which this record does not replace: only the fields Joinery reads were taken';

/** The content a copy of this resource holds (keepReceived leaves out id and meta), to tell whether it changed. */
function contentOf(resource: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, meta: _meta, ...content } = resource;
  return content;
}

/** Why the API would refuse this Patient (the same checks), or null: such a copy is not kept. */
function whyNotValid(resource: Record<string, unknown>): string | null {
  // The sender's id is the record's, not the Patient's: it is not kept, so not checked.
  const patient = { ...resource, id: undefined } as unknown as Resource;
  try {
    checkResourceSize(patient, 'Patient');
  } catch (error) {
    return (error as Error).message;
  }
  const issues = receivedIssues(patient);
  if (issues.length === 0) return null;
  return issues
    .map((i) => `${i.expression?.[0] ? `${i.expression[0]}: ` : ''}${i.diagnostics ?? i.details?.text ?? 'invalid'}`)
    .slice(0, 2)
    .join('; ');
}

async function fileChunk(
  db: Kysely<Database>,
  source: string,
  organisationId: string | null,
  chunk: ReceivedPatient[],
): Promise<PatientNotKept[]> {
  const def = defFor('Patient');
  // The person each record is linked to now (a merged record's survivor), by record id.
  const people = await currentPeopleOfRecords(
    db,
    source,
    chunk.map((p) => p.sourceId),
  );
  const before = await loadCopies(db, 'Patient', [...new Set(people.values())]);
  const reasons = new Map<ReceivedPatient, string | null>();
  const toKeep: Array<{ patient: ReceivedPatient; personId: string; changed: boolean }> = [];
  for (const patient of chunk) {
    const personId = people.get(patient.sourceId);
    if (!personId) {
      reasons.set(patient, NOT_LINKED);
      continue;
    }
    const why = whyNotValid(patient.resource);
    if (why !== null) {
      reasons.set(
        patient,
        `not a valid R4 Patient (${why.slice(0, 300)}), so it was not kept as sent: only the fields Joinery reads were taken`,
      );
      continue;
    }
    const existing = before.get(personId);
    if (existing && (organisationId === null || existing.organisation_id !== organisationId)) {
      reasons.set(patient, OTHER_SENDER);
      continue;
    }
    reasons.set(patient, null);
    toKeep.push({ patient, personId, changed: !existing || !isDeepStrictEqual(existing.content, contentOf(patient.resource)) });
  }
  if (toKeep.length > 0) {
    // As an API write does: the version a changed copy replaces is kept for _history and vread
    // (for a Patient never written through the API, its first), then the version the import makes.
    const replacing = toKeep.filter((k) => k.changed).map((k) => ({ type: 'Patient', id: k.personId }));
    await db.transaction().execute((trx) => keepingHistory({ db: trx }, replacing, () => fileCopies(trx, toKeep, organisationId)));
  }
  const linked = [...new Set(people.values())];
  const rows = new Map((await filedRows(db, 'Patient', linked)).map((row) => [String(row.id), row]));
  const copies = await loadCopies(db, 'Patient', linked);
  const out: PatientNotKept[] = [];
  for (const patient of chunk) {
    const personId = people.get(patient.sourceId);
    const row = personId ? rows.get(personId) : undefined;
    const readBack: Resource = row ? wholeView(def, row, copies.get(personId!)) : { resourceType: 'Patient' };
    const elements = notKept(patient.resource as unknown as Resource, readBack);
    if (elements.length > 0) out.push({ line: patient.line, sourceId: patient.sourceId, elements, reason: reasons.get(patient) ?? null });
  }
  return out;
}

/** Files each Patient as sent, as its person's stored copy under the feed's organisation. */
async function fileCopies(
  trx: Kysely<Database>,
  keep: Array<{ patient: ReceivedPatient; personId: string; changed: boolean }>,
  organisationId: string | null,
): Promise<void> {
  for (const { patient, personId, changed } of keep) {
    await keepReceived(trx, null, 'Patient', personId, patient.resource as unknown as Resource, personId, 'demographics', organisationId);
    // A reader holding an earlier version (If-None-Match, If-Match) learns the Patient changed.
    if (changed) await bumpVersion(trx, 'Patient', personId);
  }
}

/**
 * Keeps each Patient of the feed as sent beside the person its record was linked to, and yields
 * each record of which something sent is not returned by a read of that Patient, saying why.
 */
export async function* keepImportedPatients(
  db: Kysely<Database>,
  source: string,
  patients: AsyncIterable<ReceivedPatient>,
): AsyncGenerator<PatientNotKept> {
  const organisationId = (await organisationWithSourceCode(db, source)) ?? null;
  let chunk: ReceivedPatient[] = [];
  for await (const patient of patients) {
    chunk.push(patient);
    if (chunk.length >= CHUNK) {
      yield* await fileChunk(db, source, organisationId, chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) yield* await fileChunk(db, source, organisationId, chunk);
}
