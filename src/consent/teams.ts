// Integrated teams and the access their membership grants. A team's relationship of care with a
// person (its caseload) reaches the team's current members only, whichever organisation employs
// them: that is how a colleague covering on duty can open a record. So membership is a fact that
// grants access, and only this module starts and ends it, as it opens and ends the team's
// relationships; each is audited, and the access decision names the team when it is the way in.
// Callers pass the transaction they run in.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { Refusal, type RefusedInput } from '../platform/refused.ts';
import {
  createIntegratedTeam,
  organisationsByIds,
  practitionersByIds,
  practitionerStanding,
  teamById,
  TeamInputError,
  teamsByIds,
  type TeamRef,
} from '../network/index.ts';
import { mayExtendNetwork, openRelationship, endRelationship } from './relationships.ts';

type Trx = Transaction<Database>;

/** A team change refused: 403 when the user may not make it (not a manager, not a member), otherwise as RefusedInput. */
export class TeamRefused extends Refusal {
  declare readonly status: RefusedInput['status'] | 403;
  constructor(status: RefusedInput['status'] | 403, message: string) {
    super(status, message);
  }
}

/** The role label a team's caseload relationship carries (what the person sees on their network page). */
export const TEAM_CASELOAD_ROLE = 'team caseload';

/**
 * Puts a refused team change on the record. Called by the caller once its transaction has rolled
 * back (a refusal written inside it would be rolled back with the change it refused).
 */
export async function recordTeamRefusal(
  db: Kysely<Database>,
  by: SignedInUser,
  refusal: { message: string },
  what: string,
  personId: string | null = null,
): Promise<void> {
  await appendAudit(db, {
    actorUserId: by.id,
    actorRole: by.role,
    actorOrganisationId: by.organisationId,
    action: 'write',
    personId,
    category: null,
    purpose: 'care_coordination',
    decision: 'deny',
    reason: `${what} refused: ${refusal.message}`.slice(0, 300),
  });
}

/** Whether the practitioner is a member of the team now (started, not ended). */
export async function isTeamMember(
  db: Kysely<Database>,
  teamId: string,
  practitionerId: string | null,
  now: Date = new Date(),
): Promise<boolean> {
  if (!practitionerId) return false;
  const row = await db
    .selectFrom('team_memberships')
    .select('id')
    .where('team_id', '=', teamId)
    .where('practitioner_id', '=', practitionerId)
    .where('started_at', '<=', now)
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', now)]))
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether the user manages the team now: a current member marked as managing it. */
export async function managesTeam(db: Kysely<Database>, user: SignedInUser, teamId: string, now: Date = new Date()): Promise<boolean> {
  if (user.role !== 'practitioner' || !user.practitionerId) return false;
  const row = await db
    .selectFrom('team_memberships')
    .select('id')
    .where('team_id', '=', teamId)
    .where('practitioner_id', '=', user.practitionerId)
    .where('manages_team', '=', true)
    .where('started_at', '<=', now)
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', now)]))
    .executeTakeFirst();
  return row !== undefined;
}

export interface NewTeamMember {
  teamId: string;
  practitionerId: string;
  roleInTeam: string;
  coLocation: string | null;
  lineManagerId: string | null;
  managesTeam?: boolean;
  startedAt?: Date;
}

async function checkedMember(trx: Trx, input: NewTeamMember) {
  const team = await teamById(trx, input.teamId);
  if (!team) throw new TeamRefused(404, 'There is no such team');
  if (!team.integrated) throw new TeamRefused(422, 'Members from other organisations join integrated teams only');
  const practitioner = await practitionerStanding(trx, input.practitionerId);
  if (!practitioner || !practitioner.active) throw new TeamRefused(400, 'Choose a practitioner from the list');
  const role = input.roleInTeam.trim();
  if (role.length < 2 || role.length > 100) throw new TeamRefused(400, 'Enter their role in the team in 2 to 100 characters');
  const coLocation = input.coLocation?.trim() || null;
  if (coLocation && coLocation.length > 200) throw new TeamRefused(400, 'Enter where they are co-located in 200 characters or fewer');
  if (input.lineManagerId) {
    if (input.lineManagerId === input.practitionerId) throw new TeamRefused(400, 'Someone cannot be their own line manager');
    const manager = await practitionerStanding(trx, input.lineManagerId);
    if (!manager || !manager.active) throw new TeamRefused(400, 'Choose their line manager from the list');
  }
  if (await isTeamMember(trx, input.teamId, input.practitionerId, input.startedAt ?? new Date()))
    throw new TeamRefused(409, 'They are already a member of this team');
  return { team, practitioner, role, coLocation };
}

async function insertMember(trx: Trx, by: SignedInUser | null, input: NewTeamMember): Promise<number> {
  const { team, practitioner, role, coLocation } = await checkedMember(trx, input);
  const row = await trx
    .insertInto('team_memberships')
    .values({
      team_id: team.id,
      practitioner_id: practitioner.id,
      home_organisation_id: practitioner.organisationId,
      role_in_team: role,
      co_location: coLocation,
      line_manager_id: input.lineManagerId,
      manages_team: input.managesTeam ?? false,
      started_at: input.startedAt ?? new Date(),
      ended_at: null,
      added_by: by?.id ?? null,
      ended_by: null,
      end_reason: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actorUserId: by?.id ?? null,
    actorRole: by?.role ?? null,
    actorOrganisationId: by?.organisationId ?? practitioner.organisationId,
    action: 'write',
    personId: null,
    category: null,
    purpose: 'care_coordination',
    decision: 'success',
    reason: `team membership started: a practitioner of ${practitioner.organisationId} joined ${team.name}`.slice(0, 300),
  });
  return Number(row.id);
}

/**
 * A manager of the team adds a member, from any organisation in the network. Anyone else is
 * refused (and the refusal audited): nobody adds themselves, or anyone, to a team they do not manage.
 */
export async function addTeamMember(trx: Trx, by: SignedInUser, input: NewTeamMember): Promise<number> {
  if (!(await managesTeam(trx, by, input.teamId))) throw new TeamRefused(403, 'Only a manager of this team can add members to it');
  return insertMember(trx, by, input);
}

/** A team's first members when it is set up (the demo and loading only: no user acted). */
export async function seedTeamMember(trx: Trx, input: NewTeamMember): Promise<number> {
  return insertMember(trx, null, input);
}

/** Whether the user may set up a new integrated team: a practitioner who manages a team now. */
export async function maySetUpTeams(db: Kysely<Database>, user: SignedInUser, now: Date = new Date()): Promise<boolean> {
  if (user.role !== 'practitioner' || !user.practitionerId || !user.organisationId) return false;
  const row = await db
    .selectFrom('team_memberships')
    .select('id')
    .where('practitioner_id', '=', user.practitionerId)
    .where('manages_team', '=', true)
    .where('started_at', '<=', now)
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', now)]))
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * A manager sets up a new integrated team, hosted by their own organisation, and becomes its first
 * member and manager (so they can add members from any organisation). Only a practitioner who
 * manages a team now may; anyone else is refused (403) and nothing is created. Audited.
 */
export async function setUpIntegratedTeam(
  trx: Trx,
  by: SignedInUser,
  input: { name: string; base: string | null; roleInTeam: string },
): Promise<string> {
  if (!(await maySetUpTeams(trx, by))) throw new TeamRefused(403, 'Only a manager of a team can set up an integrated team');
  const role = input.roleInTeam.trim();
  if (role.length < 2 || role.length > 100) throw new TeamRefused(400, 'Enter your role in the team in 2 to 100 characters');
  let teamId: string;
  try {
    teamId = await createIntegratedTeam(trx, { hostOrganisationId: by.organisationId!, name: input.name, base: input.base });
  } catch (error) {
    if (error instanceof TeamInputError) throw new TeamRefused(error.status === 404 ? 404 : 400, error.message);
    throw error;
  }
  await insertMember(trx, by, {
    teamId,
    practitionerId: by.practitionerId!,
    roleInTeam: role,
    coLocation: input.base?.trim() || null,
    lineManagerId: null,
    managesTeam: true,
  });
  return teamId;
}

/**
 * Ends a membership, at once: from this moment the team's relationships no longer reach the
 * person. A manager of the team ends anyone's; a member may end their own (leaving the team).
 */
export async function endTeamMembership(
  trx: Trx,
  by: SignedInUser,
  input: { teamId: string; membershipId: number; reason: string; at?: Date },
): Promise<boolean> {
  const membership = await trx
    .selectFrom('team_memberships')
    .select(['id', 'practitioner_id', 'home_organisation_id', 'ended_at'])
    .where('id', '=', input.membershipId)
    .where('team_id', '=', input.teamId)
    .executeTakeFirst();
  if (!membership) throw new TeamRefused(404, 'There is no such member of this team');
  const own = by.role === 'practitioner' && by.practitionerId === membership.practitioner_id;
  if (!own && !(await managesTeam(trx, by, input.teamId))) throw new TeamRefused(403, 'Only a manager of this team can end a membership');
  if (membership.ended_at) return false;
  const reason = input.reason.trim();
  if (reason.length < 3 || reason.length > 200) throw new TeamRefused(400, 'Say why the membership ends, in 3 to 200 characters');
  const ended = await trx
    .updateTable('team_memberships')
    .set({ ended_at: input.at ?? new Date(), ended_by: by.id, end_reason: reason })
    .where('id', '=', membership.id)
    .where('ended_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!ended) return false;
  await appendAudit(trx, {
    actorUserId: by.id,
    actorRole: by.role,
    actorOrganisationId: by.organisationId,
    action: 'write',
    personId: null,
    category: null,
    purpose: 'care_coordination',
    decision: 'success',
    reason: `team membership ended (access through the team ends with it): ${reason}`.slice(0, 300),
  });
  return true;
}

/**
 * The team takes a person onto its caseload: a relationship of care held by the team (its host
 * organisation's, reaching the team's current members). The user must be a member of the team
 * and already involved in the person's care, as for bringing anyone into the network.
 */
export async function openTeamRelationship(
  trx: Trx,
  by: SignedInUser,
  input: { personId: string; teamId: string; reason: string },
): Promise<number | null> {
  const team = await teamById(trx, input.teamId);
  if (!team) throw new TeamRefused(404, 'There is no such team');
  if (!(await isTeamMember(trx, team.id, by.practitionerId)) || !(await mayExtendNetwork(trx, by, input.personId))) {
    throw new TeamRefused(403, "Only a member of the team already involved in this person's care can add them to the team's caseload");
  }
  return openTeamRelationshipUnchecked(trx, by, team, input);
}

async function openTeamRelationshipUnchecked(
  trx: Trx,
  by: SignedInUser | null,
  team: TeamRef,
  input: { personId: string; reason: string; startedAt?: Date },
): Promise<number | null> {
  const existing = await trx
    .selectFrom('care_relationships')
    .select('id')
    .where('person_id', '=', input.personId)
    .where('team_id', '=', team.id)
    .where('practitioner_id', 'is', null)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (existing) return null;
  return openRelationship(trx, {
    personId: input.personId,
    organisationId: team.organisationId,
    teamId: team.id,
    practitionerId: null,
    ground: { kind: 'network', roleLabel: TEAM_CASELOAD_ROLE, reason: `on the caseload of ${team.name}: ${input.reason}`.slice(0, 250) },
    recordedBy: by,
    startedAt: input.startedAt,
  });
}

/**
 * A referral to a service an integrated team runs puts the person on the team's caseload, so the
 * team's members (whichever organisation employs them) can pick it up and work with the person.
 * Opened by the referral's sender as the referral is sent, in its transaction. Returns the
 * relationship opened, or null when the service's team is not integrated or the person is on its
 * caseload already (that place is not the referral's to end).
 */
export async function openReferralTeamCaseload(
  trx: Trx,
  by: SignedInUser | null,
  input: { personId: string; teamId: string | null; serviceName: string; startedAt?: Date },
): Promise<number | null> {
  if (!input.teamId) return null;
  const team = await teamById(trx, input.teamId);
  if (!team?.integrated) return null;
  return openTeamRelationshipUnchecked(trx, by, team, {
    personId: input.personId,
    reason: `referred to ${input.serviceName}`,
    startedAt: input.startedAt,
  });
}

/** A team's caseload when it is set up (the demo only). */
export async function seedTeamRelationship(
  trx: Trx,
  input: { personId: string; teamId: string; reason: string; startedAt?: Date },
): Promise<number | null> {
  const team = await teamById(trx, input.teamId);
  if (!team) throw new TeamRefused(404, 'There is no such team');
  return openTeamRelationshipUnchecked(trx, null, team, input);
}

/** The team takes the person off its caseload: its members' access through it ends at once. */
export async function endTeamRelationship(
  trx: Trx,
  by: SignedInUser,
  input: { personId: string; teamId: string; reason: string },
): Promise<boolean> {
  if (!(await isTeamMember(trx, input.teamId, by.practitionerId)))
    throw new TeamRefused(403, 'Only a member of the team can change its caseload');
  const row = await trx
    .selectFrom('care_relationships')
    .select('id')
    .where('person_id', '=', input.personId)
    .where('team_id', '=', input.teamId)
    .where('practitioner_id', 'is', null)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (!row) return false;
  return endRelationship(trx, by, {
    relationshipId: Number(row.id),
    personId: input.personId,
    reason: `left the team's caseload: ${input.reason}`,
  });
}

export interface TeamMember {
  membershipId: number;
  practitionerId: string;
  name: string;
  organisationId: string;
  organisation: string;
  roleInTeam: string;
  coLocation: string | null;
  lineManager: string | null;
  managesTeam: boolean;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
}

/** The team's members, current first then former, with their home organisations and line managers (no personal data of residents). */
export async function teamMembers(db: Kysely<Database>, teamId: string): Promise<TeamMember[]> {
  const rows = await db
    .selectFrom('team_memberships')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('started_at')
    .orderBy('id')
    .execute();
  const [people, organisations] = await Promise.all([
    practitionersByIds(
      db as Kysely<Database>,
      rows.flatMap((r) => [r.practitioner_id, r.line_manager_id]),
    ),
    organisationsByIds(
      db as Kysely<Database>,
      rows.map((r) => r.home_organisation_id),
    ),
  ]);
  const nameOf = (id: string | null) => {
    const p = id ? people.get(id) : undefined;
    return p ? `${p.givenName} ${p.familyName}` : null;
  };
  const members = rows.map((r) => ({
    membershipId: Number(r.id),
    practitionerId: r.practitioner_id,
    name: nameOf(r.practitioner_id) ?? 'Unknown practitioner',
    organisationId: r.home_organisation_id,
    organisation: organisations.get(r.home_organisation_id)?.name ?? r.home_organisation_id,
    roleInTeam: r.role_in_team,
    coLocation: r.co_location,
    lineManager: nameOf(r.line_manager_id),
    managesTeam: r.manages_team,
    startedAt: new Date(r.started_at),
    endedAt: r.ended_at ? new Date(r.ended_at) : null,
    endReason: r.end_reason,
  }));
  const byName = (a: TeamMember, b: TeamMember) => a.name.localeCompare(b.name) || a.membershipId - b.membershipId;
  return [...members.filter((m) => !m.endedAt).sort(byName), ...members.filter((m) => m.endedAt).sort(byName)];
}

export interface TeamOf {
  teamId: string;
  name: string;
  managesTeam: boolean;
}

/** The teams a practitioner is a member of now (for their home page and the team pages). */
export async function teamsOfPractitioner(db: Kysely<Database>, practitionerId: string | null, now: Date = new Date()): Promise<TeamOf[]> {
  if (!practitionerId) return [];
  const rows = await db
    .selectFrom('team_memberships')
    .select(['team_id', 'manages_team'])
    .where('practitioner_id', '=', practitionerId)
    .where('started_at', '<=', now)
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', now)]))
    .execute();
  const teams = await teamsByIds(
    db,
    rows.map((r) => r.team_id),
  );
  return rows
    .map((r) => ({ teamId: r.team_id, name: teams.get(r.team_id)?.name ?? r.team_id, managesTeam: r.manages_team }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The people on the team's caseload (an open relationship held by the team): ids only, for the caller's access decision. */
export async function teamCaseloadIds(db: Kysely<Database>, teamId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('care_relationships')
    .select('person_id')
    .distinct()
    .where('team_id', '=', teamId)
    .where('practitioner_id', 'is', null)
    .where('ended_at', 'is', null)
    .orderBy('person_id')
    .execute();
  return rows.map((r) => r.person_id);
}
