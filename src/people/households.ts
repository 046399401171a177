// Moving people between households by hand (the FHIR API's Group writes). Every person stays in
// a household: someone taken out of one gets a household of their own. Each move is kept in
// household_moves with who made it and when, so a household's membership history is never lost.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { ageOn } from './age.ts';
import { RefusedInput } from '../platform/refused.ts';

export class HouseholdInputError extends RefusedInput {
  override name = 'HouseholdInputError';
}

export interface MemberRow {
  id: string;
  household_id: string | null;
  birth_date: string | null;
  merged_into: string | null;
}

export async function membersOf(db: Kysely<Database>, personIds: string[]): Promise<MemberRow[]> {
  if (personIds.length === 0) return [];
  const rows = await db
    .selectFrom('persons')
    .select([
      'id',
      'household_id',
      sql<string | null>`birth_date::text`.as('birth_date'),
      sql<string | null>`merged_into`.as('merged_into'),
    ])
    .where('id', 'in', personIds)
    .execute();
  if (rows.length !== new Set(personIds).size) throw new HouseholdInputError(404, 'every member must be a person known here');
  const merged = rows.find((r) => r.merged_into !== null);
  if (merged) throw new HouseholdInputError(422, `Patient/${merged.id} was merged into another record: name that one instead`);
  return rows;
}

/** The people in a household now (merged records aside). */
export async function householdMembers(db: Kysely<Database>, householdId: string): Promise<string[]> {
  return (
    await db
      .selectFrom('persons')
      .select('id')
      .where('household_id', '=', householdId)
      .where(sql<boolean>`merged_into is null`)
      .orderBy('id')
      .execute()
  ).map((r) => r.id);
}

/**
 * A new household at the address of `addressFrom` (the household someone last lived in: until an
 * agency's record says where they live now, that is the address known for them).
 */
async function newHousehold(db: Kysely<Database>, addressFrom: string, members: MemberRow[]): Promise<string> {
  const source = await db.selectFrom('households').selectAll().where('id', '=', addressFrom).executeTakeFirst();
  if (!source) throw new HouseholdInputError(404, 'the household to take the address from is not known here');
  const today = new Date();
  const older = members.every((m) => (ageOn(m.birth_date, today) ?? 0) >= 65);
  const composition =
    members.length === 1 ? (older ? 'older_single' : 'single_adult') : older && members.length === 2 ? 'older_couple' : 'shared_adults';
  const id = randomUUID();
  await db
    .insertInto('households')
    .values({
      id,
      small_area_id: source.small_area_id,
      postcode: source.postcode,
      address_line: source.address_line,
      composition,
      tenure: source.tenure,
    })
    .execute();
  await db
    .insertInto('household_addresses')
    .values({
      household_id: id,
      address_line: source.address_line,
      postcode: source.postcode,
      from_date: today.toISOString().slice(0, 10),
      to_date: null,
    })
    .execute();
  return id;
}

async function move(db: Kysely<Database>, actorUserId: string, person: MemberRow, to: string): Promise<void> {
  if (person.household_id === to) return;
  await db.updateTable('persons').set({ household_id: to }).where('id', '=', person.id).execute();
  await db
    .insertInto('household_moves')
    .values({ person_id: person.id, from_household_id: person.household_id, to_household_id: to, moved_by: actorUserId })
    .execute();
}

export interface MoveResult {
  householdId: string;
  moved: Array<{ personId: string; from: string | null; to: string }>;
  newHouseholds: string[];
}

/** Makes a household of these people (each leaves their old one), at the first member's address, in the caller's transaction. */
export async function createHousehold(db: Transaction<Database>, actorUserId: string, personIds: string[]): Promise<MoveResult> {
  if (personIds.length === 0) throw new HouseholdInputError(422, 'a household has at least one member');
  const members = await membersOf(db, personIds);
  const ordered = personIds.map((id) => members.find((m) => m.id === id)!);
  const addressFrom = ordered.find((m) => m.household_id !== null)?.household_id;
  if (!addressFrom) throw new HouseholdInputError(422, 'none of these people has a known address to make the household at');
  const householdId = await newHousehold(db, addressFrom, ordered);
  for (const m of ordered) await move(db, actorUserId, m, householdId);
  return {
    householdId,
    moved: ordered.map((m) => ({ personId: m.id, from: m.household_id, to: householdId })),
    newHouseholds: [householdId],
  };
}

/**
 * Sets who lives in a household: people added move in from their old household; people left out
 * (of those `removable`, the ones the writer was shown) each get a household of their own. In
 * the caller's transaction: everyone moves, or no one.
 */
export async function setHouseholdMembers(
  db: Transaction<Database>,
  actorUserId: string,
  householdId: string,
  wanted: string[],
  removable: string[],
): Promise<MoveResult> {
  const household = await db.selectFrom('households').select('id').where('id', '=', householdId).executeTakeFirst();
  if (!household) throw new HouseholdInputError(404, 'that household is not known here');
  const current = await householdMembers(db, householdId);
  const leaving = removable.filter((id) => current.includes(id) && !wanted.includes(id));
  const joining = wanted.filter((id) => !current.includes(id));
  if (current.filter((id) => !leaving.includes(id)).length + joining.length === 0) {
    throw new HouseholdInputError(422, 'a household is not emptied: move its members into other households (or leave one in it)');
  }
  const people = await membersOf(db, [...joining, ...leaving]);
  const result: MoveResult = { householdId, moved: [], newHouseholds: [] };
  for (const id of joining) {
    const person = people.find((p) => p.id === id)!;
    await move(db, actorUserId, person, householdId);
    result.moved.push({ personId: id, from: person.household_id, to: householdId });
  }
  for (const id of leaving) {
    const person = people.find((p) => p.id === id)!;
    const own = await newHousehold(db, householdId, [person]);
    await move(db, actorUserId, person, own);
    result.moved.push({ personId: id, from: householdId, to: own });
    result.newHouseholds.push(own);
  }
  return result;
}
