// Outcomes people feel (issue 22), as aggregates in the insight cube: how far people's assessment
// scores fell from their first to their latest assessment of the same kind, the attainment agreed
// at each goal's latest review, and each operating model's cohort (the mean score of the people
// on it) by quarter. The refresh reads scores from the plans module's front door, turns person ids
// into pseudonyms at once and stores only sums by group; the pages protect small numbers as they
// do every measure (queries.ts, disclosure.ts). Person-reported measures for each place goal
// ("I can see services working together on what matters to me") come from people's own answers at
// plan reviews and in their feedback on services: the share who agree at their latest answer.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { latestGoalGas, latestGoalScores, latestPlaceGoalAnswers, measurementRows, operatingModelNames } from '../plans/index.ts';
import { isSmall } from '../platform/disclosure.ts';
import { pseudonymOf, type PseudonymKey } from './pseudonym.ts';
import { meanEstimate } from './stats.ts';

/** The quarter a date (YYYY-MM-DD…) falls in, as the cube names quarters: 2026-Q3. */
export const quarterOfDate = (date: string): string => `${date.slice(0, 4)}-Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`;

/** One pseudonymous observation: a measure's value for one person (or goal) in a quarter. */
export interface Observation {
  pkey: string;
  measure: string;
  period: string;
  value: number;
}

/** The assessments whose total score is summed concerns (higher is worse), so a fall is an improvement. */
export const changeInstruments: Record<string, string> = {
  'md-assessment': 'Multiple disadvantage assessment',
  'children-needs-screen': "Children's needs screen",
  'carers-assessment': "Carer's assessment",
};

/**
 * Pure: for each person with two or more scored assessments of the same kind, the fall in total
 * score from the first to the latest (positive = fewer concerns), in the quarter of the latest.
 * Rows of the same person and kind keep their order when dated the same (the caller sorts).
 */
export function scoreChanges(rows: ReadonlyArray<{ pkey: string; instrument: string; at: string; score: number | null }>): Observation[] {
  const series = new Map<string, Array<{ at: string; score: number }>>();
  for (const r of rows) {
    if (r.score === null || !(r.instrument in changeInstruments)) continue;
    const key = `${r.pkey}|${r.instrument}`;
    (series.get(key) ?? series.set(key, []).get(key)!).push({ at: r.at, score: r.score });
  }
  const out: Observation[] = [];
  for (const [key, list] of series) {
    if (list.length < 2) continue;
    const sorted = [...list].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const [pkey, instrument] = key.split('|') as [string, string];
    const first = sorted[0]!;
    const latest = sorted[sorted.length - 1]!;
    out.push({ pkey, measure: `change:${instrument}`, period: quarterOfDate(latest.at), value: first.score - latest.score });
  }
  return out;
}

/** Pure: each goal's latest attainment (0–10), in the quarter of that review. */
export function goalObservations(rows: ReadonlyArray<{ pkey: string; reviewedOn: string; score: number }>): Observation[] {
  return rows.map((r) => ({ pkey: r.pkey, measure: 'goal', period: quarterOfDate(r.reviewedOn), value: r.score }));
}

/** Pure: each rated goal at or above what was expected (goal attainment scaling 0 or more) counts 1, below it 0; in the quarter of its latest rating. */
export function gasObservations(rows: ReadonlyArray<{ pkey: string; reviewedOn: string; level: number }>): Observation[] {
  return rows.map((r) => ({ pkey: r.pkey, measure: 'gas', period: quarterOfDate(r.reviewedOn), value: r.level >= 0 ? 1 : 0 }));
}

/**
 * The cohort measures that are not a total score: personal wellbeing (ONS4) has no total, so a
 * model assessing people with it (local area coordination, Connected Care, locality care
 * organisations) is followed by its headline question, life satisfaction (0–10, higher is better).
 */
export const cohortDomains: Record<string, { domain: string; key: string; label: string }> = {
  'ons4-wellbeing': {
    domain: 'life_satisfaction',
    key: 'ons4-wellbeing:life_satisfaction',
    label: 'Personal wellbeing: life satisfaction (0 to 10)',
  },
};

/** Pure: a response as the cohorts count it: its total score, or for an assessment without one, its headline domain. */
export function cohortScoreOf(r: { instrument: string; score: number | null; domains: Record<string, number | null> }): {
  instrument: string;
  score: number | null;
} {
  const headline = r.score === null ? cohortDomains[r.instrument] : undefined;
  return headline ? { instrument: headline.key, score: r.domains[headline.domain] ?? null } : { instrument: r.instrument, score: r.score };
}

/**
 * Pure: each person's latest answer on a place goal counts 1 when they agree (4 agree or 5 strongly
 * agree on the 1–5 scale) and 0 otherwise, in the quarter of that answer; the measure is the goal's.
 */
export function saidObservations(rows: ReadonlyArray<{ pkey: string; code: string; answeredOn: string; answer: number }>): Observation[] {
  return rows.map((r) => ({ pkey: r.pkey, measure: `said:${r.code}`, period: quarterOfDate(r.answeredOn), value: r.answer >= 4 ? 1 : 0 }));
}

/** Whether a felt measure is a share (n of d, both protected) rather than a mean: goals at or above expected, and people who agree. */
export const isShareMeasure = (code: string): boolean => code === 'gas' || code.startsWith('said:');

/**
 * Pure: an aggregate as the cube holds it. Means keep count, sum and sum of squares (d = count);
 * the share of goals at or above expected is held like referrals accepted: n goals at or above
 * expected out of d goals rated, so both counts are protected.
 */
export function cubeRowOf(section: string, a: Aggregate): Database['insight_cube'] {
  return isShareMeasure(a.measure) ? { section, ...a, n: a.s, d: a.n, s: 0, ss: 0 } : { section, ...a, d: a.n };
}

/** A resident's groups, as insight_person_facts holds them: dimension → value. */
export type PersonGroups = Record<string, string>;

export interface Aggregate {
  measure: string;
  dimension: string;
  value: string;
  period: string;
  n: number;
  s: number;
  ss: number;
}

/**
 * Pure: observations summed by measure, quarter and every group of the person (count, sum, sum of
 * squares: enough for a mean and its variance). Observations of people who are not residents are
 * left out, as every insight measure counts residents only.
 */
export function aggregateObservations(observations: readonly Observation[], people: ReadonlyMap<string, PersonGroups>): Aggregate[] {
  const acc = new Map<string, Aggregate>();
  for (const o of observations) {
    const groups = people.get(o.pkey);
    if (!groups) continue;
    for (const [dimension, value] of Object.entries({ all: 'all', ...groups })) {
      const key = `${o.measure}|${dimension}|${value}|${o.period}`;
      const a = acc.get(key) ?? { measure: o.measure, dimension, value, period: o.period, n: 0, s: 0, ss: 0 };
      a.n += 1;
      a.s += o.value;
      a.ss += o.value * o.value;
      acc.set(key, a);
    }
  }
  return [...acc.values()];
}

/**
 * Pure: each operating model's cohort by quarter: the mean total score of the people assessed on
 * it in the quarter, counting each person once (their latest score of that kind in the quarter).
 */
export function cohortByModel(
  rows: ReadonlyArray<{ pkey: string; modelId: string | null; instrument: string; at: string; score: number | null }>,
): Aggregate[] {
  const latest = new Map<string, { modelId: string; instrument: string; period: string; at: string; score: number }>();
  for (const r of rows) {
    if (r.modelId === null || r.score === null) continue;
    const period = quarterOfDate(r.at);
    const key = `${r.pkey}|${r.modelId}|${r.instrument}|${period}`;
    const seen = latest.get(key);
    if (!seen || r.at >= seen.at) latest.set(key, { modelId: r.modelId, instrument: r.instrument, period, at: r.at, score: r.score });
  }
  const acc = new Map<string, Aggregate>();
  for (const l of latest.values()) {
    const measure = `${l.modelId}|${l.instrument}`;
    const key = `${measure}|${l.period}`;
    const a = acc.get(key) ?? { measure, dimension: 'all', value: 'all', period: l.period, n: 0, s: 0, ss: 0 };
    a.n += 1;
    a.s += l.score;
    a.ss += l.score * l.score;
    acc.set(key, a);
  }
  return [...acc.values()];
}

const isoDate = (d: Date) => d.toISOString();

/** Rebuilds the 'felt' and 'felt_model' sections of the cube, inside the refresh's transaction (after the person facts). */
export async function refreshFelt(trx: Transaction<Database>, key: PseudonymKey): Promise<number> {
  const [responses, goals, gas, said, facts] = await Promise.all([
    measurementRows(trx),
    latestGoalScores(trx),
    latestGoalGas(trx),
    latestPlaceGoalAnswers(trx),
    trx
      .selectFrom('insight_person_facts')
      .select(['pkey', 'quintile', 'decile', 'locality_id', 'sex', 'ethnicity_group', 'age_band', 'disability'])
      .execute(),
  ]);
  const people = new Map<string, PersonGroups>(
    facts.map((f) => [
      f.pkey,
      {
        quintile: String(f.quintile),
        decile: String(f.decile),
        locality: f.locality_id,
        sex: f.sex,
        ethnicity: f.ethnicity_group,
        age_band: f.age_band,
        disability: f.disability ? 'yes' : 'no',
      },
    ]),
  );
  // Pseudonyms at once: nothing below holds a person id.
  const scored = responses.map((r) => ({
    pkey: pseudonymOf(key, r.personId),
    instrument: r.questionnaireId,
    modelId: r.modelId,
    at: isoDate(r.authoredAt),
    score: r.total,
    domains: r.domains,
  }));
  const observations = [
    ...scoreChanges(scored),
    ...goalObservations(goals.map((g) => ({ pkey: pseudonymOf(key, g.personId), reviewedOn: g.reviewedOn, score: g.score }))),
    ...gasObservations(gas.map((g) => ({ pkey: pseudonymOf(key, g.personId), reviewedOn: g.reviewedOn, level: g.level }))),
    ...saidObservations(
      said.map((a) => ({ pkey: pseudonymOf(key, a.personId), code: a.code, answeredOn: a.answeredOn, answer: a.answer })),
    ),
  ];
  // Cohorts count residents only, like every other measure.
  const cohorts = cohortByModel(scored.filter((r) => people.has(r.pkey)).map((r) => ({ ...r, ...cohortScoreOf(r) })));
  const rows: Array<Database['insight_cube']> = [
    ...aggregateObservations(observations, people).map((a) => cubeRowOf('felt', a)),
    ...cohorts.map((a) => cubeRowOf('felt_model', a)),
  ];
  await trx.deleteFrom('insight_cube').where('section', 'in', ['felt', 'felt_model']).execute();
  for (let i = 0; i < rows.length; i += 2000)
    await trx
      .insertInto('insight_cube')
      .values(rows.slice(i, i + 2000))
      .execute();
  return rows.length;
}

export interface CohortCell {
  period: string;
  /** People assessed in the quarter; null when 1 to 4 (suppressed). */
  people: number | null;
  mean: number | null;
  lower: number | null;
  upper: number | null;
}
export interface CohortSeries {
  modelId: string;
  modelName: string;
  instrument: string;
  instrumentLabel: string;
  cells: CohortCell[];
}

/** Pure: one cohort's quarters, a mean shown only where at least 5 people were assessed. */
export function cohortCells(rows: ReadonlyArray<Pick<Aggregate, 'period' | 'n' | 's' | 'ss'>>, periods: readonly string[]): CohortCell[] {
  return periods.map((period) => {
    const r = rows.find((x) => x.period === period);
    if (!r || r.n === 0) return { period, people: 0, mean: null, lower: null, upper: null };
    if (isSmall(r.n)) return { period, people: null, mean: null, lower: null, upper: null };
    const e = meanEstimate(period, r.n, r.s, r.ss);
    const se = Math.sqrt(e.variance ?? 0);
    return { period, people: r.n, mean: e.value, lower: e.value! - 1.96 * se, upper: e.value! + 1.96 * se };
  });
}

/** The four complete quarters before the quarter holding the latest data (the same year the inequality pages use). */
export function lastFourQuarters(latestDate: string | null, periods: readonly string[]): string[] {
  const index = (q: string) => Number(q.slice(0, 4)) * 4 + Number(q.slice(6)) - 1;
  const end = latestDate ? index(quarterOfDate(latestDate)) - 1 : periods.length ? Math.max(...periods.map(index)) : undefined;
  if (end === undefined) return [];
  return [3, 2, 1, 0].map((k) => end - k).map((i) => `${Math.floor(i / 4)}-Q${(i % 4) + 1}`);
}

/** Every operating model's cohort by quarter over the latest year, from the cube. */
export async function cohortsByModel(db: Kysely<Database>): Promise<{ periods: string[]; series: CohortSeries[] }> {
  const [rows, refresh, names] = await Promise.all([
    db.selectFrom('insight_cube').select(['measure', 'period', 'n', 's', 'ss']).where('section', '=', 'felt_model').execute(),
    db.selectFrom('insight_refreshes').select('latest_date').orderBy('id', 'desc').limit(1).executeTakeFirst(),
    operatingModelNames(db),
  ]);
  const all = rows.map((r) => ({ measure: r.measure, period: r.period, n: Number(r.n), s: Number(r.s), ss: Number(r.ss) }));
  const periods = lastFourQuarters(
    refresh?.latest_date ? String(refresh.latest_date).slice(0, 10) : null,
    all.map((r) => r.period),
  );
  const series = [...new Set(all.map((r) => r.measure))]
    .map((measure) => {
      const [modelId, instrument] = measure.split('|') as [string, string];
      return {
        modelId,
        modelName: names.get(modelId) ?? modelId,
        instrument,
        instrumentLabel:
          changeInstruments[instrument] ?? Object.values(cohortDomains).find((d) => d.key === instrument)?.label ?? instrument,
        cells: cohortCells(
          all.filter((r) => r.measure === measure),
          periods,
        ),
      };
    })
    .filter((s) => s.cells.some((c) => c.people !== 0))
    .sort((a, b) => a.modelName.localeCompare(b.modelName) || a.instrumentLabel.localeCompare(b.instrumentLabel));
  return { periods, series };
}
