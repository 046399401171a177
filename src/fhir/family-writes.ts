// FHIR create and update for a person's family and household: RelatedPerson (family
// relationships, the people module) and Group (households). Both are personal data: a
// practitioner writes them only when the access decision (audited, allow or deny) lets them
// change the details of every person concerned, and history is kept (who and when).
import type { RelatedPerson, Resource } from '@medplum/fhirtypes';
import { endRelationship, isRelationshipType, recordRelationship, RelationshipInputError, type RelationshipKey } from '../people/relationships.ts';
import type { FhirContext } from './engine.ts';
import { FhirError, invalid, notFound } from './outcome.ts';
import { referenceId } from './params.ts';
import { PERSON_SYSTEM, RELATIONSHIP_CODE_SYSTEM, relationshipCodes } from './resources.ts';
import { currentForUpdate, requireRoles, requireWrite, type Writer } from './care-writes.ts';
import { bumpVersion, stampCreated, type WriteResult } from './writes.ts';

const unprocessable = (message: string) => new FhirError(422, 'business-rule', message);

async function guardedFamily<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RelationshipInputError) {
      throw new FhirError(error.status, error.status === 404 ? 'not-found' : error.status === 409 ? 'conflict' : 'business-rule', error.message);
    }
    throw error;
  }
}

/** Both must exist (else a 404 that does not say which), then the actor must be allowed to change each one's details (audited). */
async function requireFamilyWrite(ctx: FhirContext, personIds: string[], what: string): Promise<void> {
  const known = await ctx.db.selectFrom('persons').select('id').where('id', 'in', personIds).execute();
  for (const id of personIds) if (!known.some((k) => k.id === id)) throw notFound('Patient', id);
  for (const id of personIds) await requireWrite(ctx, id, ['demographics'], what);
}

// ---------------------------------------------------------------------------------------------
// RelatedPerson

const typeOfCode = Object.fromEntries(Object.entries(relationshipCodes).map(([type, c]) => [c, type]));

function relationshipKey(related: RelatedPerson): RelationshipKey {
  const patient = related.patient?.reference;
  if (!patient) throw invalid('RelatedPerson.patient must reference the Patient the relationship is of');
  const named = (related.identifier ?? []).filter((i) => i.system === PERSON_SYSTEM);
  if (named.length !== 1 || !named[0]!.value) throw invalid(`RelatedPerson must name the related person: one identifier with system ${PERSON_SYSTEM} and their Patient id as value`);
  const relatedPersonId = referenceId(`Patient/${named[0]!.value}`, 'Patient');
  if ((related.relationship?.length ?? 0) !== 1) throw invalid('RelatedPerson.relationship must give one relationship');
  const concept = related.relationship![0]!;
  const coded = concept.coding?.find((c) => c.system === RELATIONSHIP_CODE_SYSTEM)?.code;
  const type = coded ? typeOfCode[coded] : concept.text?.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (!isRelationshipType(type)) throw unprocessable(`a relationship is one of ${Object.keys(relationshipCodes).join(', ')} (or its v3-RoleCode: ${Object.values(relationshipCodes).join(', ')})`);
  return { personId: referenceId(patient, 'Patient'), relatedPersonId, type };
}

async function createRelatedPerson(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  requireRoles(ctx, ['practitioner'], 'record family relationships');
  const related = resource as RelatedPerson;
  const key = relationshipKey(related);
  if (related.active === false) throw unprocessable('a relationship is recorded active; end it afterwards with an update (active false)');
  await requireFamilyWrite(ctx, [key.personId, key.relatedPersonId], 'record a relationship between these people');
  const id = await guardedFamily(() => recordRelationship(ctx.db, ctx.actor.id, key));
  await stampCreated(ctx.db, 'RelatedPerson', id);
  return { type: 'RelatedPerson', id, created: true };
}

async function updateRelatedPerson(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const related = resource as RelatedPerson;
  const current = await currentForUpdate(ctx, related, id, ifMatch, ['practitioner'], 'change family relationships');
  const key = relationshipKey(related);
  if (key.personId !== current.person_id || key.relatedPersonId !== current.related_person_id || key.type !== current.type) {
    throw unprocessable('a relationship\'s people and type stay as recorded: end it (active false) and record a new one');
  }
  await requireFamilyWrite(ctx, [key.personId, key.relatedPersonId], 'change a relationship between these people');
  const wasActive = current.ended_at === null || current.ended_at === undefined;
  const active = related.active !== false;
  if (active === wasActive) return { type: 'RelatedPerson', id, created: false };
  if (active) throw unprocessable('an ended relationship stays ended on record; it is not restarted');
  const ended = await endRelationship(ctx.db, ctx.actor.id, key);
  for (const endedId of ended) await bumpVersion(ctx.db, 'RelatedPerson', endedId);
  return { type: 'RelatedPerson', id, created: false };
}

export const familyWriters: Record<string, Writer> = {
  RelatedPerson: { create: createRelatedPerson, update: updateRelatedPerson },
};
