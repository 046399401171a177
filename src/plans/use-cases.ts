// The plan pages' use cases, one function each, so the routes only parse, call one of these and
// build the view. Each makes its own access decision (lists decide for everyone on them at once)
// and refuses with the HTTP status the page shows; other modules' data comes through their front
// doors. Writes go through plans.ts, which takes the transaction it runs in.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { HttpError } from '../platform/http.ts';
import { decideRecordAccess, decideRecordAccessForMany, type Category, type CategoryDecision } from '../consent/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { allOrganisations, organisationsByIds, practitionersByIds, type OrganisationRef } from '../network/index.ts';
import { otherHouseholdMembers, peopleByIds, personSummary, type PersonRef } from '../people/index.ts';
import { activeFramework, listQuestionnaires, loadOperatingModels, loadQuestionnaire, type StoredFramework } from './store.ts';
import { purposeFor, responsesAbout, tellItOnceForPerson, visibleUnder, type ResponseSummary } from './assessments.ts';
import {
  addGoal,
  completeAction,
  loadPlan,
  planListOf,
  startPlan,
  type NewGoal,
  type PlanDetail,
  type PlanListEntry,
  type StartPlan,
} from './plans.ts';
import { categoryOfQuestionnaire, type Questionnaire } from './questionnaire.ts';
import type { OperatingModel } from './models.ts';

/** What of a plan this reader may see: 'all' of it, or only their own organisation's entries. */
function planVisibility(decision: CategoryDecision | undefined, own: string | null) {
  return {
    item: (organisationId: string | null) => visibleUnder(decision, organisationId, own),
    action: (a: { organisationId: string | null; assignedOrganisationId: string }) =>
      visibleUnder(decision, a.organisationId, own) || visibleUnder(decision, a.assignedOrganisationId, own),
  };
}

export type VisiblePlan = PlanDetail & { hiddenMembers: number };

function filterPlan(plan: PlanDetail, user: SignedInUser, decisions: Map<string, CategoryDecision>): VisiblePlan {
  const own = user.organisationId;
  const lead = planVisibility(decisions.get(plan.personId), own);
  const memberVisible = (personId: string | null) =>
    decisions.get(personId ?? plan.personId)?.scope !== 'none' && decisions.has(personId ?? plan.personId);
  const goalVisible = (g: PlanDetail['goals'][number]) =>
    memberVisible(g.personId) && planVisibility(decisions.get(g.personId ?? plan.personId), own).item(g.organisationId);
  const members = plan.members.filter((m) => memberVisible(m.personId));
  return {
    ...plan,
    members,
    hiddenMembers: plan.members.length - members.length,
    goals: plan.goals.filter(goalVisible),
    actions: plan.actions.filter((a) => lead.action(a)),
    reviews: plan.reviews.filter((r) => lead.item(r.organisationId)),
    events: plan.events.filter(
      (e) => lead.item(e.actorOrganisationId) || (e.actorOrganisationId === null && decisions.get(plan.personId)?.scope === 'all'),
    ),
  };
}

export interface EnrolmentShown {
  modelId: string;
  enrolledAt: Date;
  plannedEnd: string | null;
  consentRecordedAt: Date | null;
  leadRoleLabel: string;
  lead: string | null;
  organisation: string;
}

export type PlanPage =
  | { refused: true; reason: string }
  | {
      refused: false;
      person: NonNullable<Awaited<ReturnType<typeof personSummary>>>;
      framework: StoredFramework;
      planList: PlanListEntry[];
      plan: VisiblePlan | null;
      plansDecision: CategoryDecision;
      /** The assessments this reader may see, oldest first, with their questionnaires. */
      responses: ResponseSummary[];
      questionnairesAnswered: Array<{ questionnaire: Questionnaire; responses: ResponseSummary[] }>;
      enrolments: EnrolmentShown[];
      models: OperatingModel[];
      questionnaires: Awaited<ReturnType<typeof listQuestionnaires>>;
      tellItOnce: Awaited<ReturnType<typeof tellItOnceForPerson>>;
      /** Organisations to choose for an action (practitioners only). */
      organisations: OrganisationRef[];
      /** The rest of the household, to add to a plan (practitioners only). */
      household: PersonRef[];
    };

/**
 * A person's plan page: the one decision for their details, plans and assessments, then the plan
 * asked for (or their first) with each member's goals under that member's own decision.
 */
export async function planPage(db: Kysely<Database>, user: SignedInUser, personId: string, requestedPlanId: unknown): Promise<PlanPage> {
  const purpose = purposeFor(user);
  const assessmentCategories: Category[] = ['social_care', 'education', 'about_me'];
  const access = await decideRecordAccess(db, {
    actor: user,
    personId,
    categories: ['demographics', 'plans', ...assessmentCategories],
    purpose,
    action: 'read',
  });
  if (!access.allowed || access.byCategory.demographics.scope === 'none') return { refused: true, reason: access.reason };
  const person = await personSummary(db, personId);
  if (!person) throw new HttpError(404, 'There is no such person record.');
  const framework = await activeFramework(db);
  const planList = await planListOf(db, personId);
  const planIds = planList.map((p) => p.id);
  const planId = typeof requestedPlanId === 'string' && planIds.includes(requestedPlanId) ? requestedPlanId : planIds[0];
  let plan: VisiblePlan | null = null;
  const plansDecision = access.byCategory.plans;
  if (planId && plansDecision.scope !== 'none') {
    const raw = (await loadPlan(db, planId))!;
    const decisions = new Map<string, CategoryDecision>([[personId, plansDecision]]);
    // The plan's lead person and every member, decided at once.
    const others = [raw.personId, ...raw.members.map((m) => m.personId)].filter((id) => id !== personId);
    if (others.length > 0) {
      const many = await decideRecordAccessForMany(db, {
        actor: user,
        personIds: [...new Set(others)],
        categories: ['plans'],
        purpose,
        action: 'read',
      });
      for (const [id, a] of many) decisions.set(id, a.byCategory.plans);
    }
    plan = filterPlan(raw, user, decisions);
  }
  const [all, enrolmentRows, models, questionnaires, tellItOnce, organisations] = await Promise.all([
    responsesAbout(db, personId),
    db
      .selectFrom('model_enrolments')
      .select([
        'id',
        'model_id',
        'enrolled_at',
        'planned_end',
        'consent_recorded_at',
        'lead_role_label',
        'lead_practitioner_id',
        'lead_organisation_id',
      ])
      .where('person_id', '=', personId)
      .where('ended_at', 'is', null)
      .execute(),
    loadOperatingModels(db),
    listQuestionnaires(db),
    tellItOnceForPerson(db, personId),
    user.role === 'practitioner' ? allOrganisations(db) : Promise.resolve([]),
  ]);
  const responses = all.filter((r) => visibleUnder(access.byCategory[r.category as Category], r.organisationId, user.organisationId));
  const questionnairesAnswered: Array<{ questionnaire: Questionnaire; responses: ResponseSummary[] }> = [];
  for (const qid of [...new Set(responses.map((r) => r.questionnaireId))]) {
    const questionnaire = await loadQuestionnaire(db, qid);
    if (questionnaire) questionnairesAnswered.push({ questionnaire, responses: responses.filter((r) => r.questionnaireId === qid) });
  }
  const shown = enrolmentRows.filter((e) => visibleUnder(plansDecision, e.lead_organisation_id, user.organisationId));
  const [leadOrganisations, leads] = await Promise.all([
    organisationsByIds(
      db,
      shown.map((e) => e.lead_organisation_id),
    ),
    practitionersByIds(
      db,
      shown.map((e) => e.lead_practitioner_id),
    ),
  ]);
  const enrolments = shown
    .filter((e) => leadOrganisations.has(e.lead_organisation_id))
    .map((e) => {
      const lead = e.lead_practitioner_id ? leads.get(e.lead_practitioner_id) : undefined;
      return {
        modelId: e.model_id,
        enrolledAt: e.enrolled_at,
        plannedEnd: e.planned_end,
        consentRecordedAt: e.consent_recorded_at,
        leadRoleLabel: e.lead_role_label,
        lead: lead?.givenName ? `${lead.givenName} ${lead.familyName}` : null,
        organisation: leadOrganisations.get(e.lead_organisation_id)!.name,
      };
    });
  const household = user.role === 'practitioner' && person.householdSize > 1 ? await otherHouseholdMembers(db, personId) : [];
  return {
    refused: false,
    person,
    framework,
    planList,
    plan,
    plansDecision,
    responses,
    questionnairesAnswered,
    enrolments,
    models,
    questionnaires,
    tellItOnce,
    organisations,
    household,
  };
}

/** The assessment just saved, for the banner on the person's plan page (null if it is not theirs). */
export async function savedAssessment(db: Kysely<Database>, personId: string, responseId: string) {
  const saved = await db
    .selectFrom('questionnaire_responses as r')
    .innerJoin('questionnaires as qq', (j) =>
      j.onRef('qq.id', '=', 'r.questionnaire_id').onRef('qq.version', '=', 'r.questionnaire_version'),
    )
    .select(['qq.title', 'r.total_score', 'r.items_reused', 'r.items_asked', 'r.person_id'])
    .where('r.id', '=', responseId)
    .executeTakeFirst();
  return saved && saved.person_id === personId ? saved : null;
}

/** Refuses unless the reader may read (or write) the person's answers to this questionnaire. */
export async function decideAssessmentAccess(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
  q: Questionnaire,
  action: 'read' | 'write',
): Promise<void> {
  const access = await decideRecordAccess(db, {
    actor: user,
    personId,
    categories: [categoryOfQuestionnaire(q) as Category],
    purpose: purposeFor(user),
    action,
  });
  if (!access.allowed) throw new HttpError(403, `You cannot assess this person: ${access.reason}.`);
}

export interface PlanToChange {
  id: string;
  person_id: string;
  status: string;
}

/** A plan the user may change: the one decision for the plan's lead person, or a refusal. */
export async function planToChange(db: Kysely<Database>, user: SignedInUser, planId: string): Promise<PlanToChange> {
  const plan = await db.selectFrom('plans').select(['id', 'person_id', 'status']).where('id', '=', planId).executeTakeFirst();
  if (!plan) throw new HttpError(404, 'There is no such plan.');
  const access = await decideRecordAccess(db, {
    actor: user,
    personId: plan.person_id,
    categories: ['plans'],
    purpose: purposeFor(user),
    action: 'write',
  });
  if (access.byCategory.plans.scope === 'none')
    throw new HttpError(403, "You cannot change this plan: you are not part of this person's care network.");
  return plan;
}

/** The member of the plan this id names, or null (a page to go back to must be a member's). */
export async function planMember(db: Kysely<Database>, planId: string, personId: string): Promise<string | null> {
  const member = await db
    .selectFrom('plan_members')
    .select('person_id')
    .where('plan_id', '=', planId)
    .where('person_id', '=', personId)
    .executeTakeFirst();
  return member?.person_id ?? null;
}

/** Starts a plan from the person's plan page, under the person's current enrolment if any. */
export async function startPlanFromPage(
  db: Kysely<Database>,
  user: SignedInUser,
  input: Omit<StartPlan, 'modelId' | 'enrolmentId'>,
): Promise<string> {
  const enrolment = await db
    .selectFrom('model_enrolments')
    .select(['id', 'model_id'])
    .where('person_id', '=', input.personId)
    .where('ended_at', 'is', null)
    .orderBy('enrolled_at', 'desc')
    .executeTakeFirst();
  return startPlan(db, user, { ...input, modelId: enrolment?.model_id ?? null, enrolmentId: enrolment?.id ?? null });
}

/** Refuses unless the practitioner may start a plan for the person. */
export async function decideStartPlan(db: Kysely<Database>, user: SignedInUser, personId: string): Promise<void> {
  const access = await decideRecordAccess(db, { actor: user, personId, categories: ['plans'], purpose: 'direct_care', action: 'write' });
  if (access.byCategory.plans.scope === 'none')
    throw new HttpError(403, 'You cannot start a plan for this person: you are not part of their care network.');
}

/**
 * Whose goal a new goal is: the member named (if they are one), else the citizen themselves, else
 * the plan's lead person; a member other than the lead person passes their own decision.
 */
export async function goalPersonFor(
  db: Kysely<Database>,
  user: SignedInUser,
  plan: PlanToChange,
  named: string | null,
): Promise<string | null> {
  const member = named ? await planMember(db, plan.id, named) : null;
  const goalPerson = member ?? (user.role === 'citizen' ? user.personId : plan.person_id);
  if (goalPerson && goalPerson !== plan.person_id) {
    const d = await decideRecordAccess(db, {
      actor: user,
      personId: goalPerson,
      categories: ['plans'],
      purpose: purposeFor(user),
      action: 'write',
    });
    if (d.byCategory.plans.scope === 'none') throw new HttpError(403, 'You cannot set goals for this person.');
  }
  return goalPerson;
}

/** Adds a goal against the active framework's outcomes, in the caller's transaction. */
export async function addGoalFromPage(trx: Transaction<Database>, user: SignedInUser, planId: string, input: NewGoal): Promise<string> {
  const framework = await activeFramework(trx);
  return addGoal(trx, user, planId, input, new Set(framework.outcomes.map((o) => o.code)));
}

/** Marks an action done, in the caller's transaction: only the organisation doing it, or the one that set it, may. */
export async function completeActionFromPage(
  trx: Transaction<Database>,
  user: SignedInUser,
  plan: PlanToChange,
  actionId: string,
): Promise<void> {
  const action = await trx
    .selectFrom('plan_actions')
    .select(['assigned_organisation_id', 'organisation_id'])
    .where('id', '=', actionId)
    .where('plan_id', '=', plan.id)
    .executeTakeFirst();
  if (!action) throw new HttpError(404, 'There is no such action.');
  if (action.assigned_organisation_id !== user.organisationId && action.organisation_id !== user.organisationId) {
    throw new HttpError(403, 'Only the organisation doing this action, or the one that set it, can mark it done.');
  }
  await completeAction(trx, user, plan.id, actionId);
}

export interface OrganisationAction {
  id: string;
  description: string;
  due_on: string;
  plan_id: string;
  title: string;
  person_id: string;
  name: string;
}

/**
 * A partner's worklist: open actions of active plans assigned to the user's organisation (the 50
 * due first). Everyone on it passes the one decision at once (listing their plans for direct
 * care); only those it allows are listed, and every decision is on the audit record.
 */
export async function actionsForOrganisation(db: Kysely<Database>, user: SignedInUser): Promise<OrganisationAction[]> {
  if (!user.organisationId) throw new HttpError(403, 'This account is not linked to an organisation.');
  const rows = await db
    .selectFrom('plan_actions as a')
    .innerJoin('plans as p', 'p.id', 'a.plan_id')
    .select(['a.id', 'a.description', 'a.due_on', 'p.id as plan_id', 'p.title', 'p.person_id'])
    .where('a.assigned_organisation_id', '=', user.organisationId)
    .where('a.status', '=', 'open')
    .where('p.status', '=', 'active')
    .orderBy('a.due_on')
    .orderBy('a.id')
    .limit(50)
    .execute();
  if (rows.length === 0) return [];
  const personIds = [...new Set(rows.map((r) => r.person_id))];
  const [people, access] = await Promise.all([
    peopleByIds(db, personIds),
    decideRecordAccessForMany(db, { actor: user, personIds, categories: ['plans'], purpose: 'direct_care', action: 'list' }),
  ]);
  const names = new Map(people.map((p) => [p.id, `${p.givenName} ${p.familyName}`]));
  return rows
    .filter((r) => names.has(r.person_id) && (access.get(r.person_id)?.byCategory.plans.scope ?? 'none') !== 'none')
    .map((r) => ({ ...r, due_on: String(r.due_on), name: names.get(r.person_id)! }));
}

/** How many people are enrolled in each operating model now (the caller suppresses small counts). */
export async function enrolmentsByModel(db: Kysely<Database>): Promise<Map<string, number>> {
  const enrolled = await db
    .selectFrom('model_enrolments')
    .select(['model_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('ended_at', 'is', null)
    .groupBy('model_id')
    .execute();
  return new Map(enrolled.map((e) => [e.model_id, Number(e.n)]));
}
