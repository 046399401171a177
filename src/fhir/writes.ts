// FHIR create and update. Patient create goes through the person index (the record is stored
// as received from the actor's organisation and linked, or a new person is made); Patient update
// changes the spine's demographics; ServiceRequest create sends a referral; Task update moves a
// referral through the closed loop (acknowledge, accept, decline, start, complete, cancel).
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import { decideRecordAccess, openRelationship } from '../consent/index.ts';
import { isCategory, type Category } from '../consent/index.ts';
import { withIndexLock, forgetIndexState, indexState, storeAndLinkBatch } from '../linkage/index.ts';
import {
  isContactMethod,
  prepareReferral,
  prepareReferralAction,
  ReferralInputError,
  ukDate,
  type ReferralAction,
} from '../referrals/index.ts';
import { inTransaction } from '../platform/db.ts';
import { isValidNhsNumber, setPersonDetails } from '../people/index.ts';
import { organisationRecord } from '../network/index.ts';
import { bumpFhirVersion, fieldsFromPatient, stampFhirCreated } from '../interop/index.ts';
import { purposeOf, readRow, type FhirContext } from './engine.ts';
import { FhirError, invalid } from './outcome.ts';
import { NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX } from './resources.ts';
import { referenceId } from './params.ts';
import { noteVersion } from './versions.ts';

export const SHARED_CATEGORY_EXTENSION = 'urn:joinery:extension:shared-category';
/** On a Task moved to in-progress: how the first contact was made (phone, visit, letter, video, other); executionPeriod.start is its day. */
export const CONTACT_METHOD_EXTENSION = 'urn:joinery:extension:first-contact-method';

/** `matched`: a create that found an existing resource (the person index matched someone known) and made none. */
export interface WriteResult {
  type: string;
  id: string;
  created: boolean;
  matched?: boolean;
  /** Kept whole as received: the row is the copy. */ whole?: boolean;
}

export async function bumpVersion(db: Kysely<Database>, type: string, id: string): Promise<number> {
  noteVersion(type, id);
  return bumpFhirVersion(db, type, id);
}

/** A new row's first version, stamped with when it was made (rows made outside FHIR have version 1 without a stamp). */
export async function stampCreated(db: Kysely<Database>, type: string, id: string): Promise<void> {
  noteVersion(type, id);
  await stampFhirCreated(db, type, id);
}

/** W/"3" or "3" → 3; a wrong If-Match is a 412. */
export function checkIfMatch(ifMatch: string | undefined, current: number): void {
  if (!ifMatch) return;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(ifMatch.trim());
  if (!m || Number(m[1]) !== current)
    throw new FhirError(
      412,
      'conflict',
      `the resource has changed since version ${m?.[1] ?? ifMatch}; read it again (it is now version ${current})`,
    );
}

function requirePractitioner(ctx: FhirContext): string {
  if (ctx.actor.role !== 'practitioner' || !ctx.actor.organisationId)
    throw new FhirError(403, 'forbidden', 'only practitioners of a member organisation can write here');
  return ctx.actor.organisationId;
}

function asReferralError(error: unknown): never {
  if (error instanceof ReferralInputError) {
    throw new FhirError(
      error.status,
      error.status === 403 ? 'forbidden' : error.status === 404 ? 'not-found' : error.status === 409 ? 'business-rule' : 'invalid',
      error.message,
    );
  }
  throw error;
}

// ---------------------------------------------------------------------------------------------

/**
 * In the caller's transaction (`db`); `indexDb` is the database whose in-process person index
 * matches (the real one, not a transaction).
 */
export async function createPatient(
  ctx: FhirContext,
  db: Transaction<Database>,
  indexDb: Kysely<Database>,
  resource: Resource,
): Promise<WriteResult> {
  const organisationId = requirePractitioner(ctx);
  const org = await organisationRecord(db, organisationId);
  if (!org) throw new Error(`the writer's organisation ${organisationId} is not in the network`);
  const source = `fhir-${org.sourceCode.toLowerCase()}`;
  // An NHS number failing its check digit is refused, not dropped: the sender learns it was mistyped.
  for (const identifier of (resource as { identifier?: Array<{ system?: string; value?: string }> }).identifier ?? []) {
    if (identifier.system === NHS_NUMBER_SYSTEM && identifier.value && !isValidNhsNumber(identifier.value.replace(/\s/g, ''))) {
      throw new FhirError(422, 'value', `the NHS number ${identifier.value} fails its check digit; it was not stored`, [
        'Patient.identifier',
      ]);
    }
  }
  const withId = { ...resource, id: undefined } as Record<string, unknown>;
  const identifiers = Array.isArray(withId.identifier) ? (withId.identifier as Array<{ system?: string; value?: string }>) : [];
  if (!identifiers.some((i) => i.system === SOURCE_SYSTEM_PREFIX + source)) {
    withId.identifier = [...identifiers, { system: SOURCE_SYSTEM_PREFIX + source, value: randomUUID() }];
  }
  const cleaned = fieldsFromPatient(source, withId);
  if (typeof cleaned === 'string') throw invalid(cleaned);
  const result = await storeAndLinkBatch(indexDb, db, source, [cleaned]);
  const outcome = result.bySourceId.get(cleaned.sourceId)!;
  const personId = outcome.personId!;
  const isNew = outcome.createdPerson;
  // Registering someone new opens a case for the registering organisation, which now holds their
  // record. Matching someone already known opens nothing: access to an existing person's record
  // follows a referral, a case their own agency opened, or joining their network, never a match.
  if (isNew) {
    await openRelationship(db, {
      personId,
      organisationId,
      teamId: ctx.actor.teamId,
      practitionerId: ctx.actor.practitionerId,
      ground: { kind: 'case', reason: 'registered the person through the FHIR API' },
      recordedBy: ctx.actor,
    });
  }
  await decideRecordAccess(db, {
    actor: ctx.actor,
    personId,
    categories: ['demographics'],
    purpose: purposeOf(ctx.actor),
    action: 'write',
  });
  return { type: 'Patient', id: personId, created: isNew, matched: !isNew };
}

export async function createPatientStandalone(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  return withIndexLock(ctx.db, async () => {
    // Load the person index before the transaction: on PGlite the transaction holds the only connection.
    await indexState(ctx.db);
    try {
      return await ctx.db.transaction().execute((trx) => createPatient(ctx, trx, ctx.db, resource));
    } catch (error) {
      forgetIndexState(ctx.db);
      throw error;
    }
  });
}

/** In the caller's transaction. */
export async function updatePatient(
  ctx: FhirContext,
  db: Transaction<Database>,
  id: string,
  resource: Resource,
  ifMatch?: string,
): Promise<WriteResult> {
  requirePractitioner(ctx);
  if (resource.resourceType !== 'Patient') throw invalid('the body must be a Patient');
  if (resource.id !== id) throw invalid('the Patient in the body must carry the id in the URL');
  const current = await readRow({ ...ctx, db }, 'Patient', id, 'write');
  if (current.merged_into)
    throw new FhirError(409, 'conflict', `Patient/${id} was merged into Patient/${String(current.merged_into)}; update that one`);
  checkIfMatch(ifMatch, Number(current.version_id));
  const access = await decideRecordAccess(db, {
    actor: ctx.actor,
    personId: id,
    categories: ['demographics'],
    purpose: purposeOf(ctx.actor),
    action: 'write',
  });
  if (access.byCategory.demographics.scope === 'none') throw new FhirError(403, 'forbidden', access.reason);
  const name = resource.name?.[0];
  const given = name?.given?.[0]?.trim();
  const family = name?.family?.trim();
  if (!given || !family) throw invalid('a Patient needs a given and a family name');
  const nhs = resource.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value?.replace(/\s/g, '') ?? null;
  if (nhs !== null && !isValidNhsNumber(nhs)) throw invalid('the NHS number fails its check digit');
  const birthDate = resource.birthDate ?? null;
  if (birthDate !== null && (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate) || birthDate > new Date().toISOString().slice(0, 10)))
    throw invalid('birthDate must be a full date, not in the future');
  const sex = resource.gender === 'female' || resource.gender === 'male' ? resource.gender : null;
  await setPersonDetails(db, id, {
    givenName: given,
    middleName: name?.given?.slice(1).join(' ') || null,
    familyName: family,
    birthDate,
    sex,
    nhsNumber: nhs,
    phone: resource.telecom?.find((t) => t.system === 'phone')?.value ?? null,
    email: resource.telecom?.find((t) => t.system === 'email')?.value ?? null,
  });
  await bumpVersion(db, 'Patient', id);
  return { type: 'Patient', id, created: false };
}

// ---------------------------------------------------------------------------------------------

export async function createServiceRequest(ctx: FhirContext, db: Kysely<Database>, resource: Resource): Promise<WriteResult> {
  if (resource.resourceType !== 'ServiceRequest') throw invalid('the body must be a ServiceRequest');
  if (!resource.subject?.reference) throw invalid('ServiceRequest.subject must reference the Patient');
  const personId = referenceId(resource.subject.reference, 'Patient');
  const performer = resource.performer?.[0]?.reference;
  if (!performer) throw invalid('ServiceRequest.performer must reference the HealthcareService referred to');
  const serviceId = referenceId(performer, 'HealthcareService');
  const reason = resource.reasonCode?.[0]?.text ?? resource.note?.[0]?.text ?? '';
  const categories: Category[] = [];
  for (const ext of resource.extension ?? []) {
    if (ext.url !== SHARED_CATEGORY_EXTENSION) continue;
    if (!isCategory(ext.valueCode)) throw invalid(`${String(ext.valueCode)} is not a category of information`);
    categories.push(ext.valueCode);
  }
  const urgency =
    resource.priority === 'asap' || resource.priority === 'stat' ? 'urgent' : resource.priority === 'urgent' ? 'soon' : 'routine';
  try {
    // Checked on `db` first (a refusal's audited decision stays on the record), then sent in the write's transaction.
    const send = await prepareReferral(db, ctx.actor, {
      personId,
      serviceId,
      reason: reason.trim().slice(0, 2000),
      personWords: null,
      urgency,
      consent: categories.length > 0 ? 'given' : 'not_given',
      categories,
      onwardConsent: false,
      journeyStep: null,
    });
    const id = await inTransaction(db, send);
    return { type: 'ServiceRequest', id, created: true };
  } catch (error) {
    return asReferralError(error);
  }
}

const taskActions: Record<string, ReferralAction['kind']> = {
  received: 'acknowledge',
  accepted: 'accept',
  rejected: 'decline',
  'in-progress': 'start',
  completed: 'complete',
  cancelled: 'cancel',
};

export async function updateTask(
  ctx: FhirContext,
  db: Kysely<Database>,
  id: string,
  resource: Resource,
  ifMatch?: string,
): Promise<WriteResult> {
  if (resource.resourceType !== 'Task') throw invalid('the body must be a Task');
  if (resource.id !== id) throw invalid('the Task in the body must carry the id in the URL');
  const current = await readRow({ ...ctx, db }, 'Task', id, 'write');
  checkIfMatch(ifMatch, Number(current.version_id));
  const currentTask = (await import('./resources.ts')).resourceDefs.Task!.toFhir(current) as {
    status: string;
    owner?: { reference?: string };
  };
  const actions: ReferralAction[] = [];
  const ownerRef = resource.owner?.reference;
  if (ownerRef?.startsWith('Practitioner/') && ownerRef !== currentTask.owner?.reference) {
    actions.push({ kind: 'assign', practitionerId: referenceId(ownerRef, 'Practitioner') });
  }
  if (resource.status !== currentTask.status) {
    const kind = taskActions[resource.status];
    if (!kind) throw new FhirError(422, 'business-rule', `a referral cannot be moved to ${resource.status}`);
    const why = resource.statusReason?.text?.trim() ?? '';
    if (kind === 'start') {
      // First contact, as on the page: its day (executionPeriod.start) and how it was made.
      const start = resource.executionPeriod?.start ?? '';
      if (!/^\d{4}-\d{2}-\d{2}/.test(start)) throw invalid('Task.executionPeriod.start must give the day of first contact');
      const method = resource.extension?.find((e) => e.url === CONTACT_METHOD_EXTENSION)?.valueCode;
      if (!isContactMethod(method))
        throw invalid(
          `a Task moved to in-progress needs the extension ${CONTACT_METHOD_EXTENSION} saying how the first contact was made: phone, visit, letter, video or other`,
        );
      actions.push({ kind, contact: { on: start.length > 10 ? ukDate(new Date(start)) : start.slice(0, 10), method } });
    } else {
      // A rejected Task is declined with its reason and not handed on: FHIR names no onward service.
      actions.push(
        kind === 'decline'
          ? { kind, reason: why, onwardServiceId: null, notHandedOn: true }
          : kind === 'cancel'
            ? { kind, reason: why || 'cancelled by the requester' }
            : kind === 'complete'
              ? { kind, note: why || undefined }
              : // Accepting someone outside the service's criteria: statusReason.text says why.
                kind === 'accept'
                ? { kind, eligibilityNote: why || undefined }
                : ({ kind } as ReferralAction),
      );
    }
  }
  if (actions.length === 0) return { type: 'Task', id, created: false };
  try {
    // Each action as the web applies it: its access decision first, then the change in the write's transaction.
    for (const action of actions) await inTransaction(db, await prepareReferralAction(db, ctx.actor, id, action));
  } catch (error) {
    return asReferralError(error);
  }
  await bumpVersion(db, 'Task', id);
  await bumpVersion(db, 'ServiceRequest', id);
  return { type: 'Task', id, created: false };
}
