// FHIR create and update for a person's family and household: RelatedPerson (family
// relationships, the people module) and Group (households). Both are personal data: a
// practitioner writes them only when the access decision (audited, allow or deny) lets them
// change the details of every person concerned, and history is kept (who and when).
import type { Group, RelatedPerson, Resource } from '@medplum/fhirtypes';
import { createHousehold, setHouseholdMembers, type MoveResult } from '../people/index.ts';
import { endProxiesWithRelationship } from '../consent/index.ts';
import { endRelationship, isRelationshipType, peopleByIds, recordRelationship, type RelationshipKey } from '../people/index.ts';
import { inTransaction } from '../platform/db.ts';
import type { FhirContext } from './engine.ts';
import { FhirError, invalid, notFound, refusalsAsOutcomes } from './outcome.ts';
import { referenceId } from './params.ts';
import { PERSON_SYSTEM, RELATIONSHIP_CODE_SYSTEM, relationshipCodes } from './resources.ts';
import { currentForUpdate, requireRoles, requireWrite, type Writer } from './care-writes.ts';
import { bumpVersion, stampCreated, type WriteResult } from './writes.ts';
import { createWhole } from './clinical-writes.ts';

const unprocessable = (message: string) => new FhirError(422, 'business-rule', message);

/** Both must exist (else a 404 that does not say which), then the actor must be allowed to change each one's details (audited). */
async function requireFamilyWrite(ctx: FhirContext, personIds: string[], what: string): Promise<void> {
  const known = await peopleByIds(ctx.db, personIds);
  for (const id of personIds) if (!known.some((k) => k.id === id)) throw notFound('Patient', id);
  for (const id of personIds) await requireWrite(ctx, id, ['demographics'], what);
}

// ---------------------------------------------------------------------------------------------
// RelatedPerson

/** A v3-RoleCode's relationship type (made on use: resources.ts may still be loading when this file is). */
const typeOfCode = (code: string): string | undefined => Object.entries(relationshipCodes).find(([, c]) => c === code)?.[0];

function relationshipKey(related: RelatedPerson): RelationshipKey {
  const patient = related.patient?.reference;
  if (!patient) throw invalid('RelatedPerson.patient must reference the Patient the relationship is of');
  const named = (related.identifier ?? []).filter((i) => i.system === PERSON_SYSTEM);
  if (named.length !== 1 || !named[0]!.value)
    throw invalid(`RelatedPerson must name the related person: one identifier with system ${PERSON_SYSTEM} and their Patient id as value`);
  const relatedPersonId = referenceId(`Patient/${named[0]!.value}`, 'Patient');
  if ((related.relationship?.length ?? 0) !== 1) throw invalid('RelatedPerson.relationship must give one relationship');
  const concept = related.relationship![0]!;
  const coded = concept.coding?.find((c) => c.system === RELATIONSHIP_CODE_SYSTEM)?.code;
  const type = coded
    ? typeOfCode(coded)
    : concept.text
        ?.trim()
        .toLowerCase()
        .replace(/[\s-]+/g, '_');
  if (!isRelationshipType(type))
    throw unprocessable(
      `a relationship is one of ${Object.keys(relationshipCodes).join(', ')} (or its v3-RoleCode: ${Object.values(relationshipCodes).join(', ')})`,
    );
  return { personId: referenceId(patient, 'Patient'), relatedPersonId, type };
}

async function createRelatedPerson(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  requireRoles(ctx, ['practitioner'], 'record family relationships');
  const related = resource as RelatedPerson;
  // Someone who is not a Patient here (a neighbour, a parent known only by name): kept as
  // received, about the Patient, as part of who they are.
  if (!(related.identifier ?? []).some((i) => i.system === PERSON_SYSTEM)) {
    return createWhole(ctx, 'RelatedPerson', related, { patientElement: 'patient', category: 'demographics' });
  }
  const key = relationshipKey(related);
  if (related.active === false) throw unprocessable('a relationship is recorded active; end it afterwards with an update (active false)');
  await requireFamilyWrite(ctx, [key.personId, key.relatedPersonId], 'record a relationship between these people');
  // Decided (and audited) above; the relationship and its version are one unit of work.
  return inTransaction(ctx.db, async (trx) => {
    const id = await refusalsAsOutcomes(() => recordRelationship(trx, ctx.actor.id, key));
    await stampCreated(trx, 'RelatedPerson', id);
    return { type: 'RelatedPerson', id, created: true };
  });
}

async function updateRelatedPerson(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const related = resource as RelatedPerson;
  const current = await currentForUpdate(ctx, related, id, ifMatch, ['practitioner'], 'change family relationships');
  const key = relationshipKey(related);
  if (key.personId !== current.person_id || key.relatedPersonId !== current.related_person_id || key.type !== current.type) {
    throw unprocessable("a relationship's people and type stay as recorded: end it (active false) and record a new one");
  }
  await requireFamilyWrite(ctx, [key.personId, key.relatedPersonId], 'change a relationship between these people');
  const wasActive = current.ended_at === null || current.ended_at === undefined;
  const active = related.active !== false;
  if (active === wasActive) return { type: 'RelatedPerson', id, created: false };
  if (active) throw unprocessable('an ended relationship stays ended on record; it is not restarted');
  await inTransaction(ctx.db, async (trx) => {
    const ended = await endRelationship(trx, ctx.actor.id, key);
    for (const endedId of ended) await bumpVersion(trx, 'RelatedPerson', endedId);
    // A parent's or carer's proxy rests on the relationship: it ends with it, at once.
    if (['parent', 'child', 'carer', 'cared_for'].includes(key.type))
      await endProxiesWithRelationship(trx, ctx.actor, key.personId, key.relatedPersonId);
  });
  return { type: 'RelatedPerson', id, created: false };
}

// ---------------------------------------------------------------------------------------------
// Group: a household. Members are Patients; the writer must be allowed to change the details of
// everyone who moves, and of someone already in the household they move into.

function memberIds(group: Group): string[] {
  if (group.type !== 'person' || group.actual !== true) throw unprocessable('a household is a Group of type person with actual true');
  const ids = (group.member ?? [])
    .filter((m) => m.inactive !== true)
    .map((m) => {
      const reference = m.entity?.reference;
      if (!reference) throw invalid('each Group.member needs entity, a reference to the Patient');
      return referenceId(reference, 'Patient');
    });
  if (new Set(ids).size !== ids.length) throw invalid('a person is listed more than once in Group.member');
  return ids;
}

/** Versions of everything a move changed: the households, and the people (their address comes from the household). */
async function bumpMoved(ctx: FhirContext, result: MoveResult): Promise<void> {
  const households = new Set<string>();
  for (const m of result.moved) {
    if (m.from && !result.newHouseholds.includes(m.from)) households.add(m.from);
    if (!result.newHouseholds.includes(m.to)) households.add(m.to);
    await bumpVersion(ctx.db, 'Patient', m.personId);
  }
  for (const h of households) await bumpVersion(ctx.db, 'Group', h);
  for (const h of result.newHouseholds) await stampCreated(ctx.db, 'Group', h);
}

async function createGroup(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  requireRoles(ctx, ['practitioner'], 'change who lives in a household');
  const members = memberIds(resource as Group);
  if (members.length === 0) throw unprocessable('a household has at least one member');
  await requireFamilyWrite(ctx, members, 'move these people into a new household');
  // Decided (and audited) above; everyone moves, with their versions, or no one.
  return inTransaction(ctx.db, async (trx) => {
    const result = await refusalsAsOutcomes(() => createHousehold(trx, ctx.actor.id, members));
    await bumpMoved({ ...ctx, db: trx }, result);
    return { type: 'Group', id: result.householdId, created: true };
  });
}

async function updateGroup(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  // The current household as this writer may see it: only members shown to them can be left out.
  const current = await currentForUpdate(ctx, resource, id, ifMatch, ['practitioner'], 'change who lives in a household');
  const shown = (current.members as string[] | undefined) ?? [];
  const wanted = memberIds(resource as Group);
  const joining = wanted.filter((m) => !shown.includes(m));
  const leaving = shown.filter((m) => !wanted.includes(m));
  if (joining.length === 0 && leaving.length === 0) return { type: 'Group', id, created: false };
  const staying = shown.find((m) => wanted.includes(m));
  await requireFamilyWrite(
    ctx,
    [...new Set([...joining, ...leaving, ...(staying ? [staying] : [])])],
    'move people into or out of this household',
  );
  return inTransaction(ctx.db, async (trx) => {
    const result = await refusalsAsOutcomes(() => setHouseholdMembers(trx, ctx.actor.id, id, wanted, shown));
    await bumpMoved({ ...ctx, db: trx }, result);
    return { type: 'Group', id, created: false };
  });
}

export const familyWriters: Record<string, Writer> = {
  RelatedPerson: { create: createRelatedPerson, update: updateRelatedPerson },
  Group: { create: createGroup, update: updateGroup },
};
