// Fair case-finding: does a rule flag some groups of people far more often than their need would
// explain? For each rule, by deprivation quintile, ethnicity, age band and sex: residents, residents
// with the need the rule is meant to find (its register entry), and residents the rule flagged.
// From those, the flag rate against the population's, and the need-adjusted ratio: the group's
// flagged share of its people in need against everyone's. A group at or above WARN_RATIO gets a
// warning (the Hackney/Thurrock lesson: profiling nobody checks is how unfairness hides) when the
// difference is also more than chance: the 95% interval of the group's flagged share of its need
// against everyone else's lies wholly above 1. A ratio over the threshold on too few people to
// tell is said so, not warned about.
// Aggregates only, from the pseudonymised facts (insight_person_facts, insight_need_facts and the
// worklist's pseudonym); each count column is protected as one table through
// src/platform/disclosure.ts, and a rate or ratio is shown only when every count behind it is.
// This file is the arithmetic (pure, tested by hand); fairness-report.ts reads the counts.
import { protectCells, type Sum } from '../platform/disclosure.ts';

/** A group flagged at least this many times as often as its need explains is warned about. */
export const WARN_RATIO = 1.5;

export const biasDimensions = ['quintile', 'ethnicity', 'age_band', 'sex'] as const;
export type BiasDimension = (typeof biasDimensions)[number];
export const biasDimensionLabels: Record<BiasDimension, string> = {
  quintile: 'Deprivation quintile',
  ethnicity: 'Ethnicity group',
  age_band: 'Age band',
  sex: 'Sex',
};

export interface GroupCounts {
  population: number;
  need: number;
  flagged: number;
}
export interface GroupInput extends GroupCounts {
  value: string;
  label: string;
}
export interface BiasInput {
  total: GroupCounts;
  by: Record<BiasDimension, GroupInput[]>;
}

export interface BiasRow {
  value: string;
  label: string;
  population: number | null;
  need: number | null;
  flagged: number | null;
  /** Flagged per 1,000 residents of the group. */
  flagRatePer1000: number | null;
  /** Residents with the need per 1,000 residents of the group. */
  needRatePer1000: number | null;
  /** Flagged per 100 residents of the group who have the need. */
  flaggedPer100InNeed: number | null;
  /** The group's flag rate over everyone's. */
  rateRatio: number | null;
  /** The group's flagged share of its people in need over everyone's: 1 = flagged as its need explains. */
  needAdjustedRatio: number | null;
  /** Flagged people, and none with the need recorded: no ratio can be taken, and it is worth a look. */
  flaggedWithoutNeed: boolean;
  warning: boolean;
  /** At or over the threshold, but on too few people to tell from chance. */
  tooFewToTell: boolean;
}

export interface BiasTable {
  total: BiasRow;
  dimensions: Array<{ dimension: BiasDimension; label: string; rows: BiasRow[] }>;
  /** Plain-words warnings, one per group at or over the threshold. */
  warnings: string[];
}

const round = (v: number, places: number) => Math.round(v * 10 ** places) / 10 ** places;

/**
 * Whether a group's flagged share of its people in need is above everyone else's by more than
 * chance: the lower end of the 95% interval of the ratio (log method, Katz) is above 1. When no one
 * else with the need is flagged, any flagged group of 5 or more is clear.
 */
export function clearOfChance(group: GroupCounts, total: GroupCounts): boolean {
  const [a, n1, b, n2] = [group.flagged, group.need, total.flagged - group.flagged, total.need - group.need];
  if (a <= 0 || n1 <= 0 || n2 <= 0) return false;
  if (b <= 0) return a >= 5;
  const ratio = a / n1 / (b / n2);
  const se = Math.sqrt(Math.max(0, 1 / a - 1 / n1 + 1 / b - 1 / n2));
  return Math.log(ratio) - 1.959963984540054 * se > 0;
}

/**
 * The bias table from counts. Each column (population, need, flagged) is one protected table: its
 * total and every dimension's split of it, as each split adds up to the same total. Rates and
 * ratios use the unrounded counts and are shown only when the counts behind them are.
 */
export function biasTable(input: BiasInput, threshold = WARN_RATIO): BiasTable {
  const protect = (pick: (g: GroupCounts) => number) => {
    const values = [pick(input.total)];
    const sums: Sum[] = [];
    const at: Record<string, number[]> = {};
    for (const d of biasDimensions) {
      at[d] = input.by[d].map((g) => {
        values.push(pick(g));
        return values.length - 1;
      });
      // A split adds up to the total when every group of the dimension is listed (they are: the query lists every value found).
      if (at[d]!.length > 0 && at[d]!.reduce((s, i) => s + values[i]!, 0) === values[0]) sums.push({ total: 0, parts: at[d]! });
    }
    const p = protectCells(values, sums);
    return { total: p.cells[0]!, cell: (d: BiasDimension, i: number) => p.cells[at[d]![i]!]! };
  };
  const population = protect((g) => g.population);
  const need = protect((g) => g.need);
  const flagged = protect((g) => g.flagged);
  const overallRate = input.total.population > 0 ? input.total.flagged / input.total.population : 0;
  const overallInNeed = input.total.need > 0 ? input.total.flagged / input.total.need : 0;
  const totalsShown = population.total !== null && need.total !== null && flagged.total !== null;

  const row = (
    g: GroupInput,
    shown: { population: number | null; need: number | null; flagged: number | null },
    isTotal: boolean,
  ): BiasRow => {
    const all = shown.population !== null && shown.need !== null && shown.flagged !== null;
    const rate = all && g.population > 0 ? g.flagged / g.population : null;
    const inNeed = all && g.need > 0 ? g.flagged / g.need : null;
    const rateRatio = rate !== null && totalsShown && overallRate > 0 ? round(rate / overallRate, 2) : null;
    const needAdjustedRatio =
      !isTotal && inNeed !== null && totalsShown && overallInNeed > 0
        ? round(inNeed / overallInNeed, 2)
        : isTotal && inNeed !== null
          ? 1
          : null;
    const flaggedWithoutNeed = all && g.need === 0 && g.flagged > 0;
    const over = needAdjustedRatio !== null && needAdjustedRatio >= threshold;
    return {
      value: g.value,
      label: g.label,
      ...shown,
      flagRatePer1000: rate === null ? null : round(rate * 1000, 1),
      needRatePer1000: all && g.population > 0 ? round((g.need / g.population) * 1000, 1) : null,
      flaggedPer100InNeed: inNeed === null ? null : round(inNeed * 100, 1),
      rateRatio: isTotal && rate !== null ? 1 : rateRatio,
      needAdjustedRatio,
      flaggedWithoutNeed,
      warning: !isTotal && ((over && clearOfChance(g, input.total)) || flaggedWithoutNeed),
      tooFewToTell: !isTotal && over && !clearOfChance(g, input.total),
    };
  };

  const total = row(
    { value: 'all', label: 'Everyone', ...input.total },
    { population: population.total, need: need.total, flagged: flagged.total },
    true,
  );
  const dims = biasDimensions.map((d) => ({
    dimension: d,
    label: biasDimensionLabels[d],
    rows: input.by[d].map((g, i) =>
      row(g, { population: population.cell(d, i), need: need.cell(d, i), flagged: flagged.cell(d, i) }, false),
    ),
  }));
  const warnings = dims.flatMap((d) =>
    d.rows
      .filter((r) => r.warning)
      .map((r) =>
        r.flaggedWithoutNeed
          ? `${d.label}: ${r.label}: people are flagged but none has the need recorded.`
          : `${d.label}: ${r.label} is flagged ${r.needAdjustedRatio!.toFixed(2)} times as often as its need would explain (warning at ${threshold.toFixed(1)} or more).`,
      ),
  );
  return { total, dimensions: dims, warnings };
}
