// What the insight module reads to measure outcomes people feel (issue 22): each goal's score at
// its latest review, and the operating models' names. Person ids leave here only for the insight
// refresh, which turns them into pseudonyms and aggregates before anything is stored or shown.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface GoalScore {
  personId: string;
  goalId: string;
  /** The date of the goal's latest scored review. */
  reviewedOn: string;
  /** Attainment agreed with the person at that review: 0 not started, 10 achieved. */
  score: number;
}

/** Every scored goal's latest attainment; the goal's own person, or the plan's for a goal of the whole plan. */
export async function latestGoalScores(db: Kysely<Database>): Promise<GoalScore[]> {
  const rows = await sql<{ person_id: string; goal_id: string; reviewed_on: string; score: number }>`
    select distinct on (a.goal_id) coalesce(g.person_id, p.person_id) as person_id, a.goal_id, r.reviewed_on::text as reviewed_on, a.score
    from goal_attainment a
      join plan_reviews r on r.id = a.review_id
      join plan_goals g on g.id = a.goal_id
      join plans p on p.id = g.plan_id
    order by a.goal_id, r.reviewed_on desc, r.created_at desc`.execute(db);
  return rows.rows.map((r) => ({
    personId: r.person_id,
    goalId: r.goal_id,
    reviewedOn: String(r.reviewed_on).slice(0, 10),
    score: Number(r.score),
  }));
}

/** Operating models by id, with their names (active or not: past quarters may name an ended model). */
export async function operatingModelNames(db: Kysely<Database>): Promise<Map<string, string>> {
  return new Map((await db.selectFrom('operating_models').select(['id', 'name']).execute()).map((m) => [m.id, m.name]));
}

export interface GoalGas {
  personId: string;
  goalId: string;
  reviewedOn: string;
  /** Goal attainment scaling at the goal's latest rated review: −2 much less than expected … +2 much more. */
  level: number;
}

/** Every rated goal's latest goal attainment scaling level. */
export async function latestGoalGas(db: Kysely<Database>): Promise<GoalGas[]> {
  const rows = await sql<{ person_id: string; goal_id: string; reviewed_on: string; level: number }>`
    select distinct on (a.goal_id) coalesce(g.person_id, p.person_id) as person_id, a.goal_id, r.reviewed_on::text as reviewed_on, a.level
    from goal_gas_ratings a
      join plan_reviews r on r.id = a.review_id
      join plan_goals g on g.id = a.goal_id
      join plans p on p.id = g.plan_id
    order by a.goal_id, r.reviewed_on desc, r.created_at desc`.execute(db);
  return rows.rows.map((r) => ({
    personId: r.person_id,
    goalId: r.goal_id,
    reviewedOn: String(r.reviewed_on).slice(0, 10),
    level: Number(r.level),
  }));
}
