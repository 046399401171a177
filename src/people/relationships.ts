// Family relationships recorded by hand (the FHIR API's RelatedPerson writes): that one known
// person is another's parent, child, partner, spouse, sibling, carer or the person they care for.
// Each is recorded both ways (a parent's child), as the agencies' data is. Nothing is deleted:
// ending a relationship keeps its row with when it ended and who ended it.
import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { RefusedInput } from '../platform/refused.ts';

export const RELATIONSHIP_TYPES = ['parent', 'child', 'partner', 'spouse', 'sibling', 'carer', 'cared_for'] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];

/** What the person is to the related person, when the related person is `type` to them. */
export const INVERSE: Record<RelationshipType, RelationshipType> = {
  parent: 'child',
  child: 'parent',
  partner: 'partner',
  spouse: 'spouse',
  sibling: 'sibling',
  carer: 'cared_for',
  cared_for: 'carer',
};

export function isRelationshipType(value: unknown): value is RelationshipType {
  return typeof value === 'string' && (RELATIONSHIP_TYPES as readonly string[]).includes(value);
}

/** A relationship's stable id (the FHIR RelatedPerson id): md5 of person|related|type, as the read side computes it. */
export function relationshipId(personId: string, relatedPersonId: string, type: string): string {
  return createHash('md5').update(`${personId}|${relatedPersonId}|${type}`, 'utf8').digest('hex');
}

export class RelationshipInputError extends RefusedInput {
  override name = 'RelationshipInputError';
}

export interface RelationshipKey {
  personId: string;
  relatedPersonId: string;
  type: RelationshipType;
}

/** Records the relationship and its inverse, in the caller's transaction. Returns the relationship's id. */
export async function recordRelationship(db: Transaction<Database>, actorUserId: string, key: RelationshipKey): Promise<string> {
  if (key.personId === key.relatedPersonId) throw new RelationshipInputError(422, 'a person is not related to themselves');
  const people = await db
    .selectFrom('persons')
    .select(['id', sql<string | null>`merged_into`.as('merged_into')])
    .where('id', 'in', [key.personId, key.relatedPersonId])
    .execute();
  if (people.length !== 2) throw new RelationshipInputError(404, 'both people must be known here');
  if (people.some((p) => p.merged_into !== null))
    throw new RelationshipInputError(
      422,
      'one of these records was merged into another: record the relationship on the record it was merged into',
    );
  const existing = await db
    .selectFrom('relationships')
    .select(['ended_at'])
    .where('person_id', '=', key.personId)
    .where('related_person_id', '=', key.relatedPersonId)
    .where('type', '=', key.type)
    .executeTakeFirst();
  if (existing && existing.ended_at === null) throw new RelationshipInputError(409, 'this relationship is already recorded');
  if (existing)
    throw new RelationshipInputError(
      422,
      'this relationship was recorded and has ended; an ended relationship stays on record as it was and is not restarted',
    );
  const now = new Date();
  await db
    .insertInto('relationships')
    .values([
      { person_id: key.personId, related_person_id: key.relatedPersonId, type: key.type, recorded_at: now, recorded_by: actorUserId },
      {
        person_id: key.relatedPersonId,
        related_person_id: key.personId,
        type: INVERSE[key.type],
        recorded_at: now,
        recorded_by: actorUserId,
      },
    ])
    .onConflict((oc) => oc.columns(['person_id', 'related_person_id', 'type']).doNothing())
    .execute();
  return relationshipId(key.personId, key.relatedPersonId, key.type);
}

/** Ends the relationship and its inverse (when still open), in the caller's transaction. Returns the ids of the rows ended. */
export async function endRelationship(db: Transaction<Database>, actorUserId: string, key: RelationshipKey): Promise<string[]> {
  const now = new Date();
  const ended: string[] = [];
  for (const [person, related, type] of [
    [key.personId, key.relatedPersonId, key.type],
    [key.relatedPersonId, key.personId, INVERSE[key.type]],
  ] as const) {
    const rows = await db
      .updateTable('relationships')
      .set({ ended_at: now, ended_by: actorUserId })
      .where('person_id', '=', person)
      .where('related_person_id', '=', related)
      .where('type', '=', type)
      .where('ended_at', 'is', null)
      .returning('person_id')
      .execute();
    if (rows.length > 0) ended.push(relationshipId(person, related, type));
  }
  return ended;
}
