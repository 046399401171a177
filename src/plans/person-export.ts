// The person's plans as their own copy of their record (the right of access) shows them: what each
// plan says, and the goals, actions and reviews that are theirs. The consent module's export asks
// this of the plans module, which owns the tables; organisations are named by the network module.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationNameOf } from '../network/index.ts';

/**
 * The person's plans: what the plan says and the goals, actions and reviews about them. In a
 * household's plan, another member's own goals (and actions towards them) are theirs, not this
 * person's, and are left out, as are the other members' names.
 */
export async function plansOfPersonForExport(db: Kysely<Database>, personId: string) {
  const plans = await db
    .selectFrom('plan_members as m')
    .innerJoin('plans as p', 'p.id', 'm.plan_id')
    .select([
      'p.id',
      'p.title',
      'p.subject_kind',
      'p.status',
      'p.strengths',
      'p.created_at',
      'p.next_review_on',
      organisationNameOf('p.organisation_id').as('organisation'),
    ])
    .where('m.person_id', '=', personId)
    .orderBy('p.created_at', 'desc')
    .execute();
  if (plans.length === 0) return [];
  const ids = plans.map((p) => p.id);
  const [goals, actions, reviews] = await Promise.all([
    db
      .selectFrom('plan_goals as g')
      .select(['g.id', 'g.plan_id', 'g.person_id', 'g.text', 'g.set_by', 'g.status', 'g.created_at'])
      .where('g.plan_id', 'in', ids)
      .orderBy('g.created_at')
      .execute(),
    // assigned_organisation_id is a required reference, so every action has its organisation's name.
    db
      .selectFrom('plan_actions as a')
      .select([
        'a.plan_id',
        'a.goal_id',
        'a.description',
        organisationNameOf('a.assigned_organisation_id').$castTo<string>().as('organisation'),
        'a.due_on',
        'a.status',
        'a.completed_at',
      ])
      .where('a.plan_id', 'in', ids)
      .orderBy('a.due_on')
      .execute(),
    db
      .selectFrom('plan_reviews as r')
      .select(['r.plan_id', 'r.reviewed_on', 'r.note', 'r.actions_done', 'r.actions_total', 'r.next_review_on'])
      .where('r.plan_id', 'in', ids)
      .orderBy('r.reviewed_on')
      .execute(),
  ]);
  const ours = goals.filter((g) => g.person_id === null || g.person_id === personId);
  const ourGoalIds = new Set(ours.map((g) => g.id));
  return plans.map((p) => ({
    title: p.title,
    about: p.subject_kind === 'household' ? 'your household' : 'you',
    status: p.status,
    ledBy: p.organisation,
    strengths: p.strengths,
    started: p.created_at,
    nextReview: p.next_review_on,
    goals: ours
      .filter((g) => g.plan_id === p.id)
      .map((g) => ({ goal: g.text, setBy: g.set_by === 'person' ? 'you' : 'a practitioner', status: g.status, set: g.created_at })),
    actions: actions
      .filter((a) => a.plan_id === p.id && (a.goal_id === null || ourGoalIds.has(a.goal_id)))
      .map((a) => ({ action: a.description, by: a.organisation, due: a.due_on, status: a.status, completed: a.completed_at })),
    reviews: reviews
      .filter((r) => r.plan_id === p.id)
      .map((r) => ({
        on: r.reviewed_on,
        note: r.note,
        actionsDone: r.actions_done,
        actionsTotal: r.actions_total,
        nextReview: r.next_review_on,
      })),
  }));
}
