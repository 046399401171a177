// Measurements over time: assessment scores and goal attainment per review. The person's page
// draws them as charts; the insight module uses the query functions below (aggregate figures
// there must still be suppressed for small numbers and split on pseudonymous ids).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { parseJson } from './store.ts';

export interface ScorePoint {
  responseId: string;
  authoredAt: Date;
  organisationId: string | null;
  total: number | null;
  domains: Record<string, number | null>;
}

/** One person's scores on one assessment, oldest first. Callers filter by the access decision. */
export async function assessmentSeries(db: Kysely<Database>, personId: string, questionnaireId: string): Promise<ScorePoint[]> {
  const rows = await db
    .selectFrom('questionnaire_responses')
    .select(['id', 'authored_at', 'organisation_id', 'total_score', 'domain_scores'])
    .where('person_id', '=', personId)
    .where('questionnaire_id', '=', questionnaireId)
    .orderBy('authored_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    responseId: r.id,
    authoredAt: new Date(r.authored_at),
    organisationId: r.organisation_id,
    total: r.total_score,
    domains: parseJson(r.domain_scores),
  }));
}

export interface MeasurementRow {
  personId: string;
  questionnaireId: string;
  modelId: string | null;
  authoredAt: Date;
  /** 1 for the person's first response to this assessment, 2 for the second, ... */
  sequence: number;
  total: number | null;
  domains: Record<string, number | null>;
  rules: Record<string, boolean>;
}

export interface MeasurementFilter {
  questionnaireId?: string;
  modelId?: string;
  from?: Date;
  to?: Date;
}

/** Every scored response, for the insight module (which pseudonymises and aggregates). */
export async function measurementRows(db: Kysely<Database>, filter: MeasurementFilter = {}): Promise<MeasurementRow[]> {
  const rows = await sql<{
    person_id: string;
    questionnaire_id: string;
    model_id: string | null;
    authored_at: Date;
    seq: number;
    total_score: number | null;
    domain_scores: unknown;
    rules_met: unknown;
  }>`
    select r.person_id, r.questionnaire_id, e.model_id, r.authored_at,
           row_number() over (partition by r.person_id, r.questionnaire_id order by r.authored_at, r.id)::int as seq,
           r.total_score, r.domain_scores, r.rules_met
    from questionnaire_responses r left join model_enrolments e on e.id = r.enrolment_id
    where (${filter.questionnaireId ?? null}::text is null or r.questionnaire_id = ${filter.questionnaireId ?? null})
      and (${filter.modelId ?? null}::text is null or e.model_id = ${filter.modelId ?? null})
      and (${filter.from ?? null}::timestamptz is null or r.authored_at >= ${filter.from ?? null})
      and (${filter.to ?? null}::timestamptz is null or r.authored_at < ${filter.to ?? null})
    order by r.person_id, r.questionnaire_id, r.authored_at`.execute(db);
  return rows.rows.map((r) => ({
    personId: r.person_id,
    questionnaireId: r.questionnaire_id,
    modelId: r.model_id,
    authoredAt: new Date(r.authored_at),
    sequence: Number(r.seq),
    total: r.total_score === null ? null : Number(r.total_score),
    domains: parseJson(r.domain_scores),
    rules: parseJson(r.rules_met),
  }));
}

export interface DomainChange {
  domain: string;
  people: number;
  firstMean: number;
  latestMean: number;
  improved: number;
  worsened: number;
}

/** First versus latest score per domain for people with two or more responses (unsuppressed: the caller suppresses). */
export function changeFromFirstToLatest(rows: MeasurementRow[]): DomainChange[] {
  const byPerson = new Map<string, MeasurementRow[]>();
  for (const r of rows)
    (
      byPerson.get(`${r.personId}|${r.questionnaireId}`) ??
      byPerson.set(`${r.personId}|${r.questionnaireId}`, []).get(`${r.personId}|${r.questionnaireId}`)!
    ).push(r);
  const acc = new Map<string, { people: number; first: number; latest: number; improved: number; worsened: number }>();
  for (const list of byPerson.values()) {
    if (list.length < 2) continue;
    const first = list[0]!;
    const latest = list[list.length - 1]!;
    for (const [domain, v0] of Object.entries(first.domains)) {
      const v1 = latest.domains[domain];
      if (v0 === null || v1 === null || v1 === undefined) continue;
      const a = acc.get(domain) ?? { people: 0, first: 0, latest: 0, improved: 0, worsened: 0 };
      a.people += 1;
      a.first += v0;
      a.latest += v1;
      if (v1 < v0) a.improved += 1;
      else if (v1 > v0) a.worsened += 1;
      acc.set(domain, a);
    }
  }
  return [...acc.entries()].map(([domain, a]) => ({
    domain,
    people: a.people,
    firstMean: Math.round((a.first / a.people) * 100) / 100,
    latestMean: Math.round((a.latest / a.people) * 100) / 100,
    improved: a.improved,
    worsened: a.worsened,
  }));
}

export interface AttainmentRow {
  planId: string;
  modelId: string | null;
  reviewedOn: string;
  goals: number;
  meanAttainment: number | null;
  actionsDone: number;
  actionsTotal: number;
}

/** Goal attainment (0–10) and actions done at every review of every plan, for the insight module. */
export async function goalAttainmentRows(db: Kysely<Database>, filter: { modelId?: string } = {}): Promise<AttainmentRow[]> {
  const rows = await sql<{
    plan_id: string;
    model_id: string | null;
    reviewed_on: string;
    goals: number;
    mean: number | null;
    actions_done: number;
    actions_total: number;
  }>`
    select r.plan_id, p.model_id, r.reviewed_on::text as reviewed_on, count(a.goal_id)::int as goals, avg(a.score)::float8 as mean, r.actions_done, r.actions_total
    from plan_reviews r join plans p on p.id = r.plan_id left join goal_attainment a on a.review_id = r.id
    where (${filter.modelId ?? null}::text is null or p.model_id = ${filter.modelId ?? null})
    group by r.id, r.plan_id, p.model_id, r.reviewed_on, r.actions_done, r.actions_total
    order by r.plan_id, r.reviewed_on`.execute(db);
  return rows.rows.map((r) => ({
    planId: r.plan_id,
    modelId: r.model_id,
    reviewedOn: r.reviewed_on.slice(0, 10),
    goals: Number(r.goals),
    meanAttainment: r.mean === null ? null : Math.round(Number(r.mean) * 10) / 10,
    actionsDone: Number(r.actions_done),
    actionsTotal: Number(r.actions_total),
  }));
}

/** People on each operating model now (for dashboards). */
export async function enrolmentCounts(db: Kysely<Database>): Promise<Array<{ modelId: string; name: string; active: number }>> {
  const rows = await sql<{ model_id: string; name: string; active: number }>`
    select m.id as model_id, m.name, count(e.id) filter (where e.ended_at is null)::int as active
    from operating_models m left join model_enrolments e on e.model_id = m.id
    group by m.id, m.name order by m.name`.execute(db);
  return rows.rows.map((r) => ({ modelId: r.model_id, name: r.name, active: Number(r.active) }));
}
