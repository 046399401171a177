// Duty cover on plan actions: the open, unassigned actions in the shared plans of people a team
// holds (the team's shared worklist), and a colleague picking one up. Picking up assigns the
// action to them (and to their organisation, which now does it), as a plan event and in the
// audit. Who may is who the access decision lets write the person's plan, and who works for the
// organisation the action is assigned to or is a current member of a team holding the person.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { decideRecordAccess, isTeamMember, teamCaseloadIds } from '../consent/index.ts';
import { organisationsByIds } from '../network/index.ts';
import { appendPlanEvent } from './plans.ts';
import { Refusal } from '../platform/refused.ts';

/** A date column as YYYY-MM-DD, whether the driver gives a Date or a string. */
const ymd = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v ?? '').slice(0, 10));

export interface TeamAction {
  id: string;
  planId: string;
  personId: string;
  description: string;
  dueOn: string;
  assignedOrganisationId: string;
  assignedOrganisation: string;
}

/** Open actions nobody has picked up, in the active plans of these people, assigned to these organisations (soonest due first). */
export async function unassignedActionsFor(
  db: Kysely<Database>,
  personIds: readonly string[],
  organisationIds: readonly string[],
  limit = 50,
): Promise<TeamAction[]> {
  if (personIds.length === 0 || organisationIds.length === 0) return [];
  const rows = await db
    .selectFrom('plan_actions as a')
    .innerJoin('plans as p', 'p.id', 'a.plan_id')
    .select(['a.id', 'a.plan_id', 'p.person_id', 'a.description', 'a.due_on', 'a.assigned_organisation_id'])
    .where('p.person_id', 'in', [...personIds])
    .where('a.assigned_organisation_id', 'in', [...organisationIds])
    .where('a.status', '=', 'open')
    .where('a.assigned_practitioner_id', 'is', null)
    .where('p.status', '=', 'active')
    .orderBy('a.due_on')
    .orderBy('a.id')
    .limit(limit)
    .execute();
  const organisations = await organisationsByIds(
    db,
    rows.map((r) => r.assigned_organisation_id),
  );
  return rows.map((r) => ({
    id: r.id,
    planId: r.plan_id,
    personId: r.person_id,
    description: r.description,
    dueOn: ymd(r.due_on),
    assignedOrganisationId: r.assigned_organisation_id,
    assignedOrganisation: organisations.get(r.assigned_organisation_id)?.name ?? r.assigned_organisation_id,
  }));
}

export class PickUpRefused extends Refusal {
  declare readonly status: 403 | 404 | 409;
  constructor(status: 403 | 404 | 409, message: string) {
    super(status, message);
  }
}

/**
 * A colleague picks up an open action (duty cover). `teamId`: the team they pick it up for, whose
 * caseload must hold the person; without it they must work for the organisation it is assigned to.
 * Refused, changing nothing, otherwise or when the access decision (audited) refuses them the plan.
 * The checks and the decision run on `db` first, so a refusal's audited decision stays on the
 * record; the answer picks the action up in the caller's transaction.
 */
export async function preparePickUpAction(
  db: Kysely<Database>,
  user: SignedInUser,
  actionId: string,
  teamId: string | null,
  now: Date = new Date(),
): Promise<(trx: Transaction<Database>) => Promise<{ planId: string; personId: string }>> {
  if (user.role !== 'practitioner' || !user.practitionerId || !user.organisationId)
    throw new PickUpRefused(403, 'Only practitioners pick up actions');
  const action = await db
    .selectFrom('plan_actions as a')
    .innerJoin('plans as p', 'p.id', 'a.plan_id')
    .select([
      'a.id',
      'a.plan_id',
      'a.description',
      'a.status',
      'a.assigned_organisation_id',
      'a.assigned_practitioner_id',
      'p.person_id',
      'p.status as plan_status',
    ])
    .where('a.id', '=', actionId)
    .executeTakeFirst();
  if (!action) throw new PickUpRefused(404, 'There is no such action');
  const viaTeam =
    teamId !== null &&
    (await isTeamMember(db, teamId, user.practitionerId, now)) &&
    (await teamCaseloadIds(db, teamId)).includes(action.person_id);
  if (!viaTeam && action.assigned_organisation_id !== user.organisationId) {
    throw new PickUpRefused(
      403,
      teamId
        ? 'Only a current member of a team holding this person can pick up their actions'
        : 'This action is not assigned to your organisation',
    );
  }
  const access = await decideRecordAccess(
    db,
    { actor: user, personId: action.person_id, categories: ['plans'], purpose: 'direct_care', action: 'write' },
    now,
  );
  if (access.byCategory.plans.scope === 'none') throw new PickUpRefused(403, `You cannot pick up this action: ${access.reason}`);
  const picked = { planId: action.plan_id, personId: action.person_id };
  return async (trx) => {
    const current = await trx
      .selectFrom('plan_actions')
      .select(['status', 'assigned_practitioner_id'])
      .where('id', '=', actionId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (current.status !== 'open' || action.plan_status !== 'active') throw new PickUpRefused(409, 'This action is no longer open');
    if (current.assigned_practitioner_id === user.practitionerId) return picked;
    await trx
      .updateTable('plan_actions')
      .set({ assigned_practitioner_id: user.practitionerId, assigned_organisation_id: user.organisationId! })
      .where('id', '=', actionId)
      .execute();
    await appendPlanEvent(
      trx,
      action.plan_id,
      user,
      'action_picked_up',
      `Action picked up by ${user.displayName}${viaTeam ? ' on duty cover for the team' : ''}: "${action.description}"`,
      { actionId, teamId: viaTeam ? teamId : null },
      now,
    );
    await appendAudit(trx, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'write',
      personId: action.person_id,
      category: 'plans',
      purpose: 'direct_care',
      decision: 'success',
      reason: viaTeam ? 'plan action picked up on duty cover, through the team' : 'plan action picked up',
    });
    return picked;
  };
}
