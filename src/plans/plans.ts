// Shared plans for a person or a whole household: goals in the person's words mapped to
// outcomes, actions for any agency in the network with due dates, reviews with goal attainment,
// and the full history as append-only plan events. Callers decide access first (routes.ts).
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccessForMany, joinNetworkByAgreement, joinNetworkOnce, RelationshipRefused } from '../consent/index.ts';
import { RefusedInput } from '../platform/refused.ts';
import { organisationById, organisationsByIds, practitionersByIds } from '../network/index.ts';
import { peopleByIds, personById } from '../people/index.ts';
import { checkPlaceGoalAnswers, PlaceGoalAnswerRefused, recordPlaceGoalAnswers } from './place-goal-answers.ts';

type Actor = Pick<SignedInUser, 'id' | 'role' | 'organisationId'>;

/** A plan form refused: `field` is the id of the form field to fix (the error summary links to it). */
export class PlanInputError extends RefusedInput {
  override name = 'PlanInputError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(400, message);
    this.field = field;
  }
}

export async function appendPlanEvent(
  db: Kysely<Database>,
  planId: string,
  actor: Actor | null,
  kind: string,
  summary: string,
  detail: Record<string, unknown> = {},
  at: Date = new Date(),
): Promise<void> {
  await db
    .insertInto('plan_events')
    .values({
      plan_id: planId,
      at,
      actor_user_id: actor?.id ?? null,
      actor_role: actor?.role ?? null,
      actor_organisation_id: actor?.organisationId ?? null,
      kind,
      summary,
      detail: JSON.stringify(detail),
    })
    .execute();
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
function checkDate(field: string, value: string | null | undefined, label: string): string | null {
  if (!value) return null;
  // Date.parse rolls 2027-02-30 over to March: a real date reads back as itself.
  if (!DATE.test(value) || Number.isNaN(Date.parse(value)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value)
    throw new PlanInputError(field, `Enter ${label} as a real date`);
  return value;
}

export interface NewPlan {
  personId: string;
  householdId: string | null;
  memberIds: string[];
  title: string;
  modelId?: string | null;
  enrolmentId?: string | null;
  strengths?: string | null;
  connections?: string | null;
  nextReviewOn?: string | null;
  endsOn?: string | null;
}

interface CheckedPlan {
  title: string;
  nextReviewOn: string | null;
  endsOn: string | null;
}

function checkNewPlan(input: NewPlan): CheckedPlan {
  const title = input.title.trim();
  if (title.length < 3 || title.length > 200) throw new PlanInputError('title', 'Give the plan a name of 3 to 200 characters');
  return {
    title,
    nextReviewOn: checkDate('nextReviewOn', input.nextReviewOn, 'the first review date'),
    endsOn: checkDate('endsOn', input.endsOn, 'the end date'),
  };
}

async function insertPlan(trx: Kysely<Database>, actor: Actor, input: NewPlan, checked: CheckedPlan, now: Date): Promise<string> {
  const { title, nextReviewOn } = checked;
  const members = [...new Set([input.personId, ...input.memberIds])];
  const id = randomUUID();
  await trx
    .insertInto('plans')
    .values({
      id,
      subject_kind: members.length > 1 && input.householdId ? 'household' : 'person',
      person_id: input.personId,
      household_id: input.householdId,
      model_id: input.modelId ?? null,
      enrolment_id: input.enrolmentId ?? null,
      title,
      strengths: input.strengths?.trim() || null,
      connections: input.connections?.trim() || null,
      status: 'active',
      organisation_id: actor.organisationId,
      created_by: actor.id,
      created_at: now,
      next_review_on: nextReviewOn,
      ends_on: checked.endsOn,
    })
    .execute();
  await trx
    .insertInto('plan_members')
    .values(members.map((m) => ({ plan_id: id, person_id: m })))
    .execute();
  await appendPlanEvent(
    trx,
    id,
    actor,
    'created',
    `Plan "${title}" started${members.length > 1 ? ` for a household of ${members.length}` : ''}`,
    { members, nextReviewOn },
    now,
  );
  return id;
}

/** A plan for one person, or for members the caller has already checked (FHIR, the demo, tests), in the caller's transaction. */
export async function createPlan(trx: Transaction<Database>, actor: Actor, input: NewPlan, now: Date = new Date()): Promise<string> {
  return insertPlan(trx, actor, input, checkNewPlan(input), now);
}

export interface StartPlan extends Omit<NewPlan, 'householdId' | 'memberIds'> {
  /** Other members of the person's household to include, as ticked on the form. */
  memberIds: string[];
  /** The practitioner confirmed that each member added agreed to be part of the plan. */
  membersAgreed: boolean;
}

/**
 * Starts a plan from the plan page, for the person alone or with members of their household.
 * The caller has decided the practitioner may write the lead person's plans. Every member added
 * must have agreed: a practitioner not yet in a member's care network joins it by that agreement
 * (consent module), in the same transaction as the plan, so a refused plan joins nobody's network
 * and a member is never silently left out.
 */
export async function startPlan(db: Kysely<Database>, user: SignedInUser, input: StartPlan, now: Date = new Date()): Promise<string> {
  const person = await personById(db, input.personId);
  if (!person) throw new PlanInputError('title', 'There is no such person record');
  const requested = [...new Set(input.memberIds)].filter((m) => m !== input.personId);
  const household =
    requested.length > 0 && person.householdId
      ? (await peopleByIds(db, requested)).filter((p) => p.householdId === person.householdId)
      : [];
  if (household.length !== requested.length) throw new PlanInputError('members', 'Choose people from this household');
  const checked = checkNewPlan({ ...input, householdId: null });
  if (household.length > 0 && !input.membersAgreed) {
    throw new PlanInputError(
      'memberConsent',
      household.length === 1
        ? `Confirm that ${household[0]!.givenName} ${household[0]!.familyName} has agreed to be part of this plan, or untick them`
        : 'Confirm that each person you added has agreed to be part of this plan, or untick those who have not',
    );
  }
  // Who the practitioner must join by the member's agreement: decided (and audited) before any write.
  const decided = await decideRecordAccessForMany(db, {
    actor: user,
    personIds: household.map((m) => m.id),
    categories: ['plans'],
    purpose: 'direct_care',
    action: 'write',
  });
  const toJoin = household.filter((m) => decided.get(m.id)!.byCategory.plans.scope === 'none').map((m) => m.id);
  return db.transaction().execute(async (trx) => {
    for (const m of household.filter((h) => toJoin.includes(h.id))) {
      try {
        await joinNetworkByAgreement(trx, user, {
          personId: m.id,
          viaPersonId: input.personId,
          roleLabel: 'household plan',
          reason: 'agreed to be part of a household plan',
        });
      } catch (error) {
        if (error instanceof RelationshipRefused)
          throw new PlanInputError(
            'members',
            `You cannot add ${m.givenName} ${m.familyName}: ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`,
          );
        throw error;
      }
    }
    return insertPlan(
      trx,
      user,
      { ...input, householdId: household.length > 0 ? person.householdId : null, memberIds: household.map((h) => h.id) },
      checked,
      now,
    );
  });
}

export interface NewGoal {
  personId: string | null;
  text: string;
  outcomeCodes: string[];
  setBy: 'person' | 'practitioner';
}

/** Adds a goal to a plan, in the caller's transaction. */
export async function addGoal(
  trx: Transaction<Database>,
  actor: Actor,
  planId: string,
  input: NewGoal,
  knownOutcomes: ReadonlySet<string>,
  now: Date = new Date(),
): Promise<string> {
  const text = input.text.trim();
  if (text.length < 3 || text.length > 500) throw new PlanInputError('goalText', 'Write the goal in 3 to 500 characters');
  const codes = [...new Set(input.outcomeCodes)];
  if (codes.length === 0) throw new PlanInputError('outcomes', 'Choose at least one outcome this goal works towards');
  for (const c of codes) if (!knownOutcomes.has(c)) throw new PlanInputError('outcomes', 'Choose outcomes from the list');
  const id = randomUUID();
  await trx
    .insertInto('plan_goals')
    .values({
      id,
      plan_id: planId,
      person_id: input.personId,
      text,
      outcome_codes: JSON.stringify(codes),
      set_by: input.setBy,
      organisation_id: actor.role === 'citizen' ? null : actor.organisationId,
      created_by: actor.id,
      created_at: now,
      status: 'open',
    })
    .execute();
  await appendPlanEvent(
    trx,
    planId,
    actor,
    'goal_added',
    `Goal added${input.setBy === 'person' ? ' by the person, in their own words' : ''}: "${text}"`,
    { goalId: id, outcomes: codes },
    now,
  );
  return id;
}

export interface NewAction {
  goalId: string | null;
  description: string;
  assignedOrganisationId: string;
  assignedPractitionerId: string | null;
  dueOn: string;
}

/**
 * Adds an action for any agency, in the caller's transaction; that agency joins the care network of
 * every member of the plan.
 */
export async function addAction(
  trx: Transaction<Database>,
  actor: SignedInUser,
  planId: string,
  input: NewAction,
  now: Date = new Date(),
): Promise<string> {
  const description = input.description.trim();
  if (description.length < 3 || description.length > 500)
    throw new PlanInputError('description', 'Describe the action in 3 to 500 characters');
  const dueOn = checkDate('dueOn', input.dueOn, 'the due date');
  if (!dueOn) throw new PlanInputError('dueOn', 'Enter the date the action is due');
  const org = await organisationById(trx, input.assignedOrganisationId);
  if (!org) throw new PlanInputError('assignedOrganisationId', 'Choose the organisation that will do this');
  if (input.goalId) {
    const goal = await trx
      .selectFrom('plan_goals')
      .select('id')
      .where('id', '=', input.goalId)
      .where('plan_id', '=', planId)
      .executeTakeFirst();
    if (!goal) throw new PlanInputError('goalId', 'Choose a goal from this plan');
  }
  const id = randomUUID();
  const plan = await trx.selectFrom('plans').select('title').where('id', '=', planId).executeTakeFirstOrThrow();
  await trx
    .insertInto('plan_actions')
    .values({
      id,
      plan_id: planId,
      goal_id: input.goalId,
      description,
      assigned_organisation_id: org.id,
      assigned_practitioner_id: input.assignedPractitionerId,
      due_on: dueOn,
      status: 'open',
      organisation_id: actor.organisationId,
      created_by: actor.id,
      created_at: now,
      completed_at: null,
      completed_by: null,
    })
    .execute();
  const members = await trx.selectFrom('plan_members').select('person_id').where('plan_id', '=', planId).execute();
  const team = input.assignedPractitionerId
    ? (await practitionersByIds(trx, [input.assignedPractitionerId])).get(input.assignedPractitionerId)
    : undefined;
  for (const m of members) {
    await joinNetworkOnce(trx, actor, {
      personId: m.person_id,
      organisationId: org.id,
      teamId: team?.teamId ?? null,
      practitionerId: input.assignedPractitionerId,
      roleLabel: 'plan partner',
      reason: `actions in the shared plan "${plan.title}"`,
    });
  }
  await appendPlanEvent(
    trx,
    planId,
    actor,
    'action_added',
    `Action for ${org.name}, due ${dueOn}: "${description}"`,
    { actionId: id, organisationId: org.id, dueOn },
    now,
  );
  return id;
}

/** Marks an action done, in the caller's transaction. */
export async function completeAction(
  trx: Transaction<Database>,
  actor: Actor,
  planId: string,
  actionId: string,
  now: Date = new Date(),
): Promise<void> {
  const action = await trx
    .selectFrom('plan_actions')
    .select(['id', 'description', 'status'])
    .where('id', '=', actionId)
    .where('plan_id', '=', planId)
    .executeTakeFirst();
  if (!action) throw new PlanInputError('action', 'There is no such action in this plan');
  if (action.status !== 'open') return;
  await trx
    .updateTable('plan_actions')
    .set({ status: 'done', completed_at: now, completed_by: actor.id })
    .where('id', '=', actionId)
    .execute();
  await appendPlanEvent(trx, planId, actor, 'action_done', `Action done: "${action.description}"`, { actionId }, now);
}

export interface NewReview {
  reviewedOn: string;
  scores: Record<string, number>;
  /** Goal attainment scaling (−2 to +2) for the goals rated; optional beside the 0–10 score. */
  gas?: Record<string, number>;
  /** What the person says about each place goal asked (1 strongly disagree … 5 strongly agree); optional. */
  said?: Record<string, number>;
  note: string | null;
  nextReviewOn: string | null;
}

/**
 * A review, in the caller's transaction: goal attainment (0–10) for each goal, a snapshot of actions
 * done, and the next review date.
 */
export async function recordReview(
  trx: Transaction<Database>,
  actor: Actor,
  planId: string,
  input: NewReview,
  now: Date = new Date(),
): Promise<string> {
  const reviewedOn = checkDate('reviewedOn', input.reviewedOn, 'the review date');
  if (!reviewedOn) throw new PlanInputError('reviewedOn', 'Enter the review date');
  const nextReviewOn = checkDate('reviewNextOn', input.nextReviewOn, 'the next review date');
  for (const [goalId, score] of Object.entries(input.scores)) {
    if (!Number.isInteger(score) || score < 0 || score > 10)
      throw new PlanInputError(`goal-${goalId}`, 'Score each goal from 0 (not started) to 10 (fully achieved)');
  }
  for (const [goalId, level] of Object.entries(input.gas ?? {})) {
    if (!Number.isInteger(level) || level < -2 || level > 2)
      throw new PlanInputError(`gas-${goalId}`, 'Choose where the goal stands against what was expected, from the list');
  }
  const note = input.note?.trim() || null;
  if (note && note.length > 2000) throw new PlanInputError('note', 'Write what has changed in 2,000 characters or fewer');
  let said: Array<[string, number]>;
  try {
    said = await checkPlaceGoalAnswers(trx, input.said ?? {});
  } catch (error) {
    if (error instanceof PlaceGoalAnswerRefused) throw new PlanInputError(error.field, error.message);
    throw error;
  }
  const id = randomUUID();
  const goals = await trx.selectFrom('plan_goals').select('id').where('plan_id', '=', planId).orderBy('created_at').orderBy('id').execute();
  const known = new Set(goals.map((g) => g.id));
  const scores = Object.entries(input.scores).filter(([g]) => known.has(g));
  const gas = Object.entries(input.gas ?? {}).filter(([g]) => known.has(g));
  // A review says something: a score or rating for at least one goal, what the person says about
  // a place goal, or what has changed.
  if (scores.length === 0 && gas.length === 0 && said.length === 0 && !note) {
    throw goals.length > 0
      ? new PlanInputError(`goal-${goals[0]!.id}`, 'Score at least one goal from 0 to 10, or write what has changed')
      : new PlanInputError('note', 'Write what has changed since the plan started or was last reviewed');
  }
  const counts = await trx
    .selectFrom('plan_actions')
    .select([
      (eb) => eb.fn.countAll<number>().as('total'),
      (eb) => eb.fn.sum<number>(sql`case when status = 'done' then 1 else 0 end`).as('done'),
    ])
    .where('plan_id', '=', planId)
    .where('status', '!=', 'cancelled')
    .executeTakeFirst();
  const done = Number(counts?.done ?? 0);
  const total = Number(counts?.total ?? 0);
  await trx
    .insertInto('plan_reviews')
    .values({
      id,
      plan_id: planId,
      reviewed_on: reviewedOn,
      organisation_id: actor.organisationId,
      note,
      actions_done: done,
      actions_total: total,
      next_review_on: nextReviewOn,
      created_by: actor.id,
      created_at: now,
    })
    .execute();
  if (scores.length > 0)
    await trx
      .insertInto('goal_attainment')
      .values(scores.map(([goalId, score]) => ({ review_id: id, goal_id: goalId, score })))
      .execute();
  if (gas.length > 0)
    await trx
      .insertInto('goal_gas_ratings')
      .values(gas.map(([goalId, level]) => ({ review_id: id, goal_id: goalId, level })))
      .execute();
  if (said.length > 0) {
    const plan = await trx.selectFrom('plans').select('person_id').where('id', '=', planId).executeTakeFirstOrThrow();
    await recordPlaceGoalAnswers(
      trx,
      { id: actor.id, role: actor.role, personId: null },
      { personId: plan.person_id, answers: said, source: 'review', reviewId: id },
      now,
    );
  }
  if (nextReviewOn) await trx.updateTable('plans').set({ next_review_on: nextReviewOn }).where('id', '=', planId).execute();
  const mean = scores.length ? Math.round((scores.reduce((a, [, s]) => a + s, 0) / scores.length) * 10) / 10 : null;
  await appendPlanEvent(
    trx,
    planId,
    actor,
    'reviewed',
    `Plan reviewed: ${done} of ${total} actions done${mean !== null ? `, goals ${mean} out of 10 on average` : ''}${nextReviewOn ? `; next review ${nextReviewOn}` : ''}`,
    {
      reviewId: id,
      done,
      total,
      mean,
      ...(gas.length ? { gas: Object.fromEntries(gas) } : {}),
      ...(said.length ? { said: Object.fromEntries(said) } : {}),
    },
    now,
  );
  return id;
}

/** Marks a goal open, achieved or stopped, in the caller's transaction; returns whether it changed. */
export async function updateGoalStatus(
  trx: Transaction<Database>,
  actor: Actor,
  planId: string,
  goalId: string,
  status: 'open' | 'achieved' | 'stopped',
  now: Date = new Date(),
): Promise<boolean> {
  const goal = await trx
    .selectFrom('plan_goals')
    .select(['text', 'status'])
    .where('id', '=', goalId)
    .where('plan_id', '=', planId)
    .executeTakeFirst();
  if (!goal) throw new PlanInputError('goal', 'There is no such goal in this plan');
  if (goal.status === status) return false;
  await trx.updateTable('plan_goals').set({ status }).where('id', '=', goalId).execute();
  await appendPlanEvent(trx, planId, actor, 'goal_status', `Goal marked ${status}: "${goal.text}"`, { goalId, status }, now);
  return true;
}

export interface PlanChanges {
  title?: string;
  strengths?: string | null;
  endsOn?: string | null;
  status?: 'active' | 'closed';
}

/** Renames a plan, changes its strengths or end date, closes or reopens it, in the caller's transaction; each change is a plan event. */
export async function updatePlan(
  trx: Transaction<Database>,
  actor: Actor,
  planId: string,
  changes: PlanChanges,
  now: Date = new Date(),
): Promise<boolean> {
  const title = changes.title?.trim();
  if (title !== undefined && (title.length < 3 || title.length > 200))
    throw new PlanInputError('title', 'Give the plan a name of 3 to 200 characters');
  const endsOn = changes.endsOn === undefined ? undefined : checkDate('endsOn', changes.endsOn, 'the end date');
  const strengths = changes.strengths === undefined ? undefined : changes.strengths?.trim() || null;
  if (strengths && strengths.length > 2000) throw new PlanInputError('strengths', 'Describe the strengths in 2,000 characters or fewer');
  const plan = await trx
    .selectFrom('plans')
    .select(['title', 'strengths', 'ends_on', 'status'])
    .where('id', '=', planId)
    .executeTakeFirst();
  if (!plan) throw new PlanInputError('plan', 'There is no such plan');
  const currentEnd = plan.ends_on ? String(plan.ends_on).slice(0, 10) : null;
  const set: { title?: string; strengths?: string | null; ends_on?: string | null; status?: 'active' | 'closed' } = {};
  const said: string[] = [];
  if (title !== undefined && title !== plan.title) {
    set.title = title;
    said.push(`renamed "${title}"`);
  }
  if (strengths !== undefined && strengths !== plan.strengths) {
    set.strengths = strengths;
    said.push('strengths updated');
  }
  if (endsOn !== undefined && endsOn !== currentEnd) {
    set.ends_on = endsOn;
    said.push(endsOn ? `ends ${endsOn}` : 'no end date');
  }
  if (changes.status !== undefined && changes.status !== plan.status) {
    set.status = changes.status;
    said.push(changes.status === 'closed' ? 'closed' : 'reopened');
  }
  if (said.length === 0) return false;
  await trx.updateTable('plans').set(set).where('id', '=', planId).execute();
  const kind = set.status === 'closed' ? 'closed' : set.status === 'active' ? 'reopened' : 'updated';
  await appendPlanEvent(trx, planId, actor, kind, `Plan ${said.join(', ')}`, { changes: Object.keys(set) }, now);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface PlanGoal {
  id: string;
  personId: string | null;
  text: string;
  outcomeCodes: string[];
  setBy: string;
  organisationId: string | null;
  organisation: string | null;
  createdAt: Date;
  status: string;
}
export interface PlanAction {
  id: string;
  goalId: string | null;
  description: string;
  assignedOrganisationId: string;
  assignedOrganisation: string;
  assignedPractitioner: string | null;
  dueOn: string;
  status: string;
  organisationId: string | null;
  completedAt: Date | null;
  overdue: boolean;
}
export interface PlanReview {
  id: string;
  reviewedOn: string;
  organisationId: string | null;
  organisation: string | null;
  note: string | null;
  actionsDone: number;
  actionsTotal: number;
  nextReviewOn: string | null;
  scores: Record<string, number>;
  /** Goal attainment scaling (−2 to +2) by goal, for the goals rated at this review. */
  gas: Record<string, number>;
}
export interface PlanEvent {
  id: number;
  at: Date;
  kind: string;
  summary: string;
  actorOrganisationId: string | null;
  organisation: string | null;
  actorRole: string | null;
  reviewId: string | null;
}

export interface PlanDetail {
  id: string;
  subjectKind: 'person' | 'household';
  personId: string;
  householdId: string | null;
  modelId: string | null;
  title: string;
  strengths: string | null;
  connections: string | null;
  status: string;
  organisationId: string | null;
  organisation: string | null;
  createdAt: Date;
  nextReviewOn: string | null;
  endsOn: string | null;
  members: Array<{ personId: string; name: string }>;
  goals: PlanGoal[];
  actions: PlanAction[];
  reviews: PlanReview[];
  events: PlanEvent[];
}

function reviewIdOf(detail: unknown): string | null {
  const parsed = typeof detail === 'string' ? (JSON.parse(detail) as unknown) : detail;
  const id = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>).reviewId : undefined;
  return typeof id === 'string' ? id : null;
}

const ymd = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v ?? '').slice(0, 10));

export async function plansOf(db: Kysely<Database>, personId: string): Promise<string[]> {
  return (await planListOf(db, personId)).map((p) => p.id);
}

export interface PlanListEntry {
  id: string;
  title: string;
  status: string;
  createdAt: Date;
  subjectKind: 'person' | 'household';
}

/** The plans a person is a member of, active first then newest first, with the names people gave them. */
export async function planListOf(db: Kysely<Database>, personId: string): Promise<PlanListEntry[]> {
  const rows = await db
    .selectFrom('plan_members as m')
    .innerJoin('plans as p', 'p.id', 'm.plan_id')
    .select(['p.id', 'p.title', 'p.status', 'p.created_at', 'p.subject_kind'])
    .where('m.person_id', '=', personId)
    .orderBy(sql`p.status = 'active'`, 'desc')
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id')
    .execute();
  return rows.map((r) => ({ id: r.id, title: r.title, status: r.status, createdAt: new Date(r.created_at), subjectKind: r.subject_kind }));
}

export async function loadPlan(
  db: Kysely<Database>,
  planId: string,
  today: string = new Date().toISOString().slice(0, 10),
): Promise<PlanDetail | undefined> {
  const plan = await db.selectFrom('plans as p').selectAll('p').where('p.id', '=', planId).executeTakeFirst();
  if (!plan) return undefined;
  const [members, goals, actions, reviews, attainment, events, gasRatings] = await Promise.all([
    db
      .selectFrom('plan_members')
      .select('person_id')
      .where('plan_id', '=', planId)
      .execute()
      .then((rows) =>
        peopleByIds(
          db,
          rows.map((r) => r.person_id),
        ),
      ),
    db.selectFrom('plan_goals as g').selectAll('g').where('g.plan_id', '=', planId).orderBy('g.created_at').orderBy('g.id').execute(),
    db.selectFrom('plan_actions as a').selectAll('a').where('a.plan_id', '=', planId).orderBy('a.due_on').orderBy('a.id').execute(),
    db
      .selectFrom('plan_reviews as r')
      .selectAll('r')
      .where('r.plan_id', '=', planId)
      .orderBy('r.reviewed_on')
      .orderBy('r.created_at')
      .execute(),
    db
      .selectFrom('goal_attainment as a')
      .innerJoin('plan_reviews as r', 'r.id', 'a.review_id')
      .select(['a.review_id', 'a.goal_id', 'a.score'])
      .where('r.plan_id', '=', planId)
      .execute(),
    db
      .selectFrom('plan_events as e')
      .select(['e.id', 'e.at', 'e.kind', 'e.summary', 'e.actor_organisation_id', 'e.actor_role', 'e.detail'])
      .where('e.plan_id', '=', planId)
      .orderBy('e.id', 'desc')
      .execute(),
    db
      .selectFrom('goal_gas_ratings as a')
      .innerJoin('plan_reviews as r', 'r.id', 'a.review_id')
      .select(['a.review_id', 'a.goal_id', 'a.level'])
      .where('r.plan_id', '=', planId)
      .execute(),
  ]);
  // The names of every organisation and practitioner the plan mentions, in one look-up each.
  const [organisations, practitioners] = await Promise.all([
    organisationsByIds(db, [
      plan.organisation_id,
      ...goals.map((g) => g.organisation_id),
      ...actions.map((a) => a.assigned_organisation_id),
      ...reviews.map((r) => r.organisation_id),
      ...events.map((e) => e.actor_organisation_id),
    ]),
    practitionersByIds(
      db,
      actions.map((a) => a.assigned_practitioner_id),
    ),
  ]);
  const orgName = (id: string | null) => (id === null ? null : (organisations.get(id)?.name ?? null));
  const scores = new Map<string, Record<string, number>>();
  for (const a of attainment) (scores.get(a.review_id) ?? scores.set(a.review_id, {}).get(a.review_id)!)[a.goal_id] = Number(a.score);
  const gas = new Map<string, Record<string, number>>();
  for (const a of gasRatings) (gas.get(a.review_id) ?? gas.set(a.review_id, {}).get(a.review_id)!)[a.goal_id] = Number(a.level);
  return {
    id: plan.id,
    subjectKind: plan.subject_kind,
    personId: plan.person_id,
    householdId: plan.household_id,
    modelId: plan.model_id,
    title: plan.title,
    strengths: plan.strengths,
    connections: plan.connections,
    status: plan.status,
    organisationId: plan.organisation_id,
    organisation: orgName(plan.organisation_id),
    createdAt: new Date(plan.created_at),
    nextReviewOn: plan.next_review_on ? ymd(plan.next_review_on) : null,
    endsOn: plan.ends_on ? ymd(plan.ends_on) : null,
    members: members.map((m) => ({ personId: m.id, name: `${m.givenName} ${m.familyName}` })),
    goals: goals.map((g) => ({
      id: g.id,
      personId: g.person_id,
      text: g.text,
      outcomeCodes: typeof g.outcome_codes === 'string' ? (JSON.parse(g.outcome_codes) as string[]) : (g.outcome_codes as string[]),
      setBy: g.set_by,
      organisationId: g.organisation_id,
      organisation: orgName(g.organisation_id),
      createdAt: new Date(g.created_at),
      status: g.status,
    })),
    // An action's organisation is one the network knows (as the join it replaces required).
    actions: actions
      .filter((a) => organisations.has(a.assigned_organisation_id))
      .map((a) => ({ a, pr: a.assigned_practitioner_id ? practitioners.get(a.assigned_practitioner_id) : undefined }))
      .map(({ a, pr }) => ({
        id: a.id,
        goalId: a.goal_id,
        description: a.description,
        assignedOrganisationId: a.assigned_organisation_id,
        assignedOrganisation: orgName(a.assigned_organisation_id)!,
        assignedPractitioner: pr?.givenName ? `${pr.givenName} ${pr.familyName}` : null,
        dueOn: ymd(a.due_on),
        status: a.status,
        organisationId: a.organisation_id,
        completedAt: a.completed_at ? new Date(a.completed_at) : null,
        overdue: a.status === 'open' && ymd(a.due_on) < today,
      })),
    reviews: reviews.map((r) => ({
      id: r.id,
      reviewedOn: ymd(r.reviewed_on),
      organisationId: r.organisation_id,
      organisation: orgName(r.organisation_id),
      note: r.note,
      actionsDone: r.actions_done,
      actionsTotal: r.actions_total,
      nextReviewOn: r.next_review_on ? ymd(r.next_review_on) : null,
      scores: scores.get(r.id) ?? {},
      gas: gas.get(r.id) ?? {},
    })),
    events: events.map((e) => ({
      id: Number(e.id),
      at: new Date(e.at),
      kind: e.kind,
      summary: e.summary,
      actorOrganisationId: e.actor_organisation_id,
      organisation: orgName(e.actor_organisation_id),
      actorRole: e.actor_role,
      reviewId: reviewIdOf(e.detail),
    })),
  };
}
