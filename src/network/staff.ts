// The member organisations' staff, one practitioner at a time (the FHIR API's Practitioner and
// PractitionerRole writes, by administrators). A practitioner is one row: who they are (name,
// work email, active) and their role in an organisation and team. A new practitioner has no role
// ('unassigned') until one is given, unless an administrator creating their account names the
// team and role at once. Sign-in accounts are never changed here.
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { RefusedInput } from '../platform/refused.ts';

export const UNASSIGNED_ROLE = 'unassigned';

export class StaffInputError extends RefusedInput {
  override name = 'StaffInputError';
}

export interface PractitionerInput {
  givenName: string;
  familyName: string;
  email: string | null;
  active: boolean;
}
export interface RoleInput {
  organisationId: string;
  role: string;
  active: boolean;
}

function checkPerson(input: PractitionerInput): { given_name: string; family_name: string; email: string; active: boolean } {
  const given = input.givenName.trim();
  const family = input.familyName.trim();
  if (!given || !family) throw new StaffInputError(400, 'a practitioner needs a given and a family name');
  if (given.length > 100 || family.length > 100) throw new StaffInputError(400, 'a name part is at most 100 characters');
  const email = input.email?.trim() ?? '';
  if (email !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    throw new StaffInputError(400, 'the work email address is not an email address');
  return { given_name: given, family_name: family, email, active: input.active };
}

/** "Social Worker" / "social-worker" → "social_worker". */
export function normaliseRole(raw: string): string {
  const role = raw
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
  if (!/^[a-z][a-z0-9_]{1,63}$/.test(role) || role === UNASSIGNED_ROLE)
    throw new StaffInputError(400, 'a role is a short name such as social_worker or housing_officer');
  return role;
}

async function teamIn(db: Kysely<Database>, organisationId: string): Promise<string> {
  const org = await db.selectFrom('organisations').select('id').where('id', '=', organisationId).executeTakeFirst();
  if (!org) throw new StaffInputError(404, 'that organisation is not a member of the network');
  const team = await db.selectFrom('teams').select('id').where('organisation_id', '=', organisationId).orderBy('id').executeTakeFirst();
  if (team) return team.id;
  const id = `${organisationId}-directory`;
  await db
    .insertInto('teams')
    .values({ id, organisation_id: organisationId, name: 'Services' })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}

/** A practitioner of a member organisation, without a role yet, in the caller's transaction. */
export async function createPractitioner(
  db: Transaction<Database>,
  input: PractitionerInput & { organisationId: string },
): Promise<string> {
  const fields = checkPerson(input);
  const id = randomUUID();
  await db
    .insertInto('practitioners')
    .values({
      id,
      ...fields,
      organisation_id: input.organisationId,
      team_id: await teamIn(db, input.organisationId),
      role: UNASSIGNED_ROLE,
    })
    .execute();
  return id;
}

/**
 * A practitioner with their role in a chosen team from the start: how an administrator's new
 * account for someone who joins a team gets the team the access rules read. In the caller's
 * transaction (the account's).
 */
export async function createPractitionerInTeam(
  db: Transaction<Database>,
  input: PractitionerInput & { organisationId: string; teamId: string; role: string },
): Promise<string> {
  const fields = checkPerson(input);
  const team = await db
    .selectFrom('teams')
    .select('id')
    .where('id', '=', input.teamId)
    .where('organisation_id', '=', input.organisationId)
    .executeTakeFirst();
  if (!team) throw new StaffInputError(404, 'that team is not part of that organisation');
  const id = randomUUID();
  await db
    .insertInto('practitioners')
    .values({ id, ...fields, organisation_id: input.organisationId, team_id: team.id, role: normaliseRole(input.role) })
    .execute();
  return id;
}

async function current(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('practitioners').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new StaffInputError(404, 'that practitioner is not known here');
  return row;
}

/** Changes a practitioner's name, work email or whether they are active, in the caller's transaction; false if nothing changed. */
export async function updatePractitioner(db: Transaction<Database>, id: string, input: PractitionerInput): Promise<boolean> {
  const row = await current(db, id);
  const fields = checkPerson(input);
  if (
    fields.given_name === row.given_name &&
    fields.family_name === row.family_name &&
    fields.email === row.email &&
    fields.active === row.active
  )
    return false;
  await db.updateTable('practitioners').set(fields).where('id', '=', id).execute();
  return true;
}

/**
 * Gives a practitioner their role (`first`: they have none yet) or changes it. Someone who signs
 * in stays in the organisation their account names: that changes with the account, not here
 * (`signsIn`: whether they have an account, which the caller asks auth, the accounts' owner).
 * In the caller's transaction.
 */
export async function setRole(
  db: Transaction<Database>,
  id: string,
  input: RoleInput,
  first: boolean,
  signsIn: (practitionerId: string) => Promise<boolean>,
): Promise<boolean> {
  const row = await current(db, id);
  if (first && row.role !== UNASSIGNED_ROLE)
    throw new StaffInputError(409, 'this practitioner already has a role; change it with an update');
  if (!first && row.role === UNASSIGNED_ROLE) throw new StaffInputError(404, 'this practitioner has no role yet; create one');
  const role = normaliseRole(input.role);
  let team = row.team_id;
  if (input.organisationId !== row.organisation_id) {
    if (await signsIn(id))
      throw new StaffInputError(422, 'this practitioner signs in to Joinery: their organisation changes with their account, not here');
    team = await teamIn(db, input.organisationId);
  }
  if (!first && role === row.role && input.organisationId === row.organisation_id && input.active === row.active) return false;
  await db
    .updateTable('practitioners')
    .set({ role, organisation_id: input.organisationId, team_id: team, active: input.active })
    .where('id', '=', id)
    .execute();
  return true;
}
