// Shared plans, their goals and assessments as tables and fragments other modules embed in their
// own single statement (the FHIR API's CarePlan, Goal, Questionnaire and QuestionnaireResponse,
// searched, paged and exported with their version stamps in one query), and plans' goal ids by
// plan. Each table lists the columns it offers. Imports nothing of the project at run time: the
// FHIR module's resource definitions embed these as their files load.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Kysely: every shared plan, as a table: id, person_id, household_id, subject_kind, title, status,
 * organisation_id, created_at, ends_on, strengths.
 */
export const plansTable = sql`(select p.id, p.person_id, p.household_id, p.subject_kind, p.title, p.status, p.organisation_id, p.created_at,
    p.ends_on, p.strengths
  from plans p)`;

/** SQL text: when the plan `planExpr` names last had something happen to it (null when nothing has), a scalar subquery. */
export const planLastEventAtSql = (planExpr: string): string => `(select max(e.at) from plan_events e where e.plan_id = ${planExpr})`;

/** Kysely: the plans the person `person` (a parameter or expression) is a member of, as a subquery for `in`. */
export function plansWithMember(person: unknown): RawBuilder<unknown> {
  return sql`(select plan_id from plan_members where person_id = ${person})`;
}

/**
 * Kysely: every goal, as a table: id, person_id (the goal's own person, else its plan's), plan_id,
 * text, outcome_codes, set_by, status, created_at, organisation_id.
 */
export const goalsTable = sql`(select g.id, coalesce(g.person_id, p.person_id) as person_id, g.plan_id, g.text, g.outcome_codes, g.set_by, g.status,
    g.created_at, g.organisation_id
  from plan_goals g join plans p on p.id = g.plan_id)`;

/** Kysely: every questionnaire (assessment form), as a table: id, version, title, status, category, definition, created_at. */
export const questionnairesTable = sql`(select q.id, q.version, q.title, q.status, q.category, q.definition, q.created_at from questionnaires q)`;

/**
 * Kysely: every questionnaire response, with its form's category, as a table: id,
 * questionnaire_id, questionnaire_version, person_id, organisation_id, practitioner_id,
 * authored_at, response, complete, category.
 */
export const questionnaireResponsesTable = sql`(select x.id, x.questionnaire_id, x.questionnaire_version, x.person_id, x.organisation_id, x.practitioner_id,
    x.authored_at, x.response, x.complete, q.category
  from questionnaire_responses x join questionnaires q on q.id = x.questionnaire_id)`;

/** The goals of these plans (id and plan), by goal id. */
export async function goalsOfPlans(db: Kysely<Database>, planIds: readonly string[]): Promise<Array<{ id: string; plan_id: string }>> {
  return db.selectFrom('plan_goals').select(['id', 'plan_id']).where('plan_id', 'in', planIds).orderBy('id').execute();
}
