// Statistics for the inequality dashboard, as small pure functions tested on hand-made data:
// group estimates with their sampling variance, the absolute and relative gap between the most
// and least deprived, the slope index of inequality (weighted regression on the ridit of the
// deprivation rank) with a 95% confidence interval, and the trend of a gap over time. Disclosure
// control is not here: every module's aggregates share src/platform/disclosure.ts.

export const Z95 = 1.959963984540054;

/** One group's estimate: a rate, proportion or mean, with the variance of that estimate. */
export interface GroupEstimate {
  /** Label of the group, e.g. "Quintile 1 (most deprived)". */
  label: string;
  /** People in the group (the weight of the group in the SII). */
  population: number;
  /** The estimate; null when there is nothing to estimate (no denominator). */
  value: number | null;
  /** Sampling variance of the estimate. */
  variance: number | null;
  /** The count behind the estimate (numerator or number of observations), for suppression. */
  count: number;
  /** The estimate's denominator (people at risk, referrals decided, contacts timed). */
  denominator: number;
}

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  se: number;
}

function interval(estimate: number, variance: number): Interval {
  const se = Math.sqrt(Math.max(0, variance));
  return { estimate, lower: estimate - Z95 * se, upper: estimate + Z95 * se, se };
}

/** A rate per `per` people: count/population, Poisson variance count/population² (× per²). */
export function rateEstimate(label: string, count: number, population: number, per = 1000): GroupEstimate {
  if (population <= 0) return { label, population, value: null, variance: null, count, denominator: population };
  return {
    label,
    population,
    value: (count / population) * per,
    variance: (count / (population * population)) * per * per,
    count,
    denominator: population,
  };
}

/** A percentage: successes/trials × 100, binomial variance p(1-p)/n (× 100²). */
export function proportionEstimate(label: string, successes: number, trials: number, population = trials): GroupEstimate {
  if (trials <= 0) return { label, population, value: null, variance: null, count: successes, denominator: trials };
  const p = successes / trials;
  return { label, population, value: p * 100, variance: ((p * (1 - p)) / trials) * 10_000, count: successes, denominator: trials };
}

/** A mean from n observations with their sum and sum of squares; variance s²/n. */
export function meanEstimate(label: string, n: number, sum: number, sumSquares: number, population = n): GroupEstimate {
  if (n <= 0) return { label, population, value: null, variance: null, count: n, denominator: n };
  const mean = sum / n;
  const s2 = n > 1 ? Math.max(0, (sumSquares - n * mean * mean) / (n - 1)) : 0;
  return { label, population, value: mean, variance: s2 / n, count: n, denominator: n };
}

/** Wilson score interval for a proportion (0–1), for single proportions shown with a CI. */
export function wilson(successes: number, trials: number): { lower: number; upper: number } {
  if (trials <= 0) return { lower: 0, upper: 1 };
  const p = successes / trials;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / (1 + z2 / trials);
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

export interface Gap {
  /** Most deprived minus least deprived, with a 95% CI (variances add). */
  absolute: Interval;
  /** Most deprived ÷ least deprived, with a 95% CI on the log scale. Null when the least deprived value is 0. */
  relative: Interval | null;
}

/** The gap between the first group (most deprived) and the last (least deprived). */
export function gapBetween(mostDeprived: GroupEstimate, leastDeprived: GroupEstimate): Gap | null {
  const a = mostDeprived;
  const b = leastDeprived;
  if (a.value === null || b.value === null || a.variance === null || b.variance === null) return null;
  const absolute = interval(a.value - b.value, a.variance + b.variance);
  let relative: Interval | null = null;
  if (a.value > 0 && b.value > 0) {
    const logRatio = Math.log(a.value / b.value);
    const v = a.variance / (a.value * a.value) + b.variance / (b.value * b.value);
    const se = Math.sqrt(v);
    relative = { estimate: a.value / b.value, lower: Math.exp(logRatio - Z95 * se), upper: Math.exp(logRatio + Z95 * se), se };
  }
  return { absolute, relative };
}

/** Ridits: the midpoint of each group's share of the population, in rank order (0 = most deprived end). */
export function ridits(populations: number[]): number[] {
  const total = populations.reduce((s, n) => s + n, 0);
  let cumulative = 0;
  return populations.map((n) => {
    const mid = (cumulative + n / 2) / total;
    cumulative += n;
    return mid;
  });
}

export interface SlopeIndex extends Interval {
  /** Groups the index was computed from. */
  groups: number;
}

/**
 * Slope index of inequality. Groups are given in rank order from most to least deprived. Each
 * group's value is regressed on its ridit (the midpoint of its cumulative population share),
 * weighted by its population share. The SII is reported as the modelled value at the most
 * deprived end minus the value at the least deprived end (= minus the slope), so a positive SII
 * means the measure is higher among the more deprived. The slope is a linear combination of the
 * group values, so its variance is Σ cᵢ² Var(yᵢ) and the 95% CI is exact for that model.
 */
export function slopeIndex(groups: GroupEstimate[]): SlopeIndex | null {
  const usable = groups.filter((g) => g.population > 0);
  if (usable.length < 2 || usable.some((g) => g.value === null || g.variance === null)) return null;
  const total = usable.reduce((s, g) => s + g.population, 0);
  const w = usable.map((g) => g.population / total);
  const x = ridits(usable.map((g) => g.population));
  const xBar = x.reduce((s, xi, i) => s + w[i]! * xi, 0);
  const sxx = x.reduce((s, xi, i) => s + w[i]! * (xi - xBar) ** 2, 0);
  if (sxx <= 0) return null;
  const c = x.map((xi, i) => (w[i]! * (xi - xBar)) / sxx);
  const slope = usable.reduce((s, g, i) => s + c[i]! * g.value!, 0);
  const variance = usable.reduce((s, g, i) => s + c[i]! ** 2 * g.variance!, 0);
  return { ...interval(-slope, variance), groups: usable.length };
}

export interface Trend {
  /** Change in the gap per period, with a 95% CI (weighted by the precision of each period's gap). */
  slope: Interval;
  periods: number;
  /** The plain statement shown in the headline panel. */
  verdict: 'narrowing' | 'widening' | 'no clear change' | 'not enough data';
  /** The direction of the gap: positive means the most deprived fare worse on a "higher is worse" measure. */
  meanGap: number;
}

/** Trend of a gap over equally spaced periods: weighted least squares of gap on period index with known variances. */
export function gapTrend(points: Array<{ period: number; estimate: number; se: number }>): Trend {
  const usable = points.filter((p) => Number.isFinite(p.estimate) && p.se > 0);
  if (usable.length < 3)
    return { slope: { estimate: 0, lower: 0, upper: 0, se: 0 }, periods: usable.length, verdict: 'not enough data', meanGap: 0 };
  const w = usable.map((p) => 1 / (p.se * p.se));
  const sw = w.reduce((s, v) => s + v, 0);
  const tBar = usable.reduce((s, p, i) => s + w[i]! * p.period, 0) / sw;
  const yBar = usable.reduce((s, p, i) => s + w[i]! * p.estimate, 0) / sw;
  const stt = usable.reduce((s, p, i) => s + w[i]! * (p.period - tBar) ** 2, 0);
  if (stt <= 0)
    return { slope: { estimate: 0, lower: 0, upper: 0, se: 0 }, periods: usable.length, verdict: 'not enough data', meanGap: yBar };
  const b = usable.reduce((s, p, i) => s + w[i]! * (p.period - tBar) * (p.estimate - yBar), 0) / stt;
  const slope = interval(b, 1 / stt);
  // Narrowing means moving towards zero: a falling positive gap or a rising negative one.
  const towardsZero = yBar >= 0 ? slope.upper < 0 : slope.lower > 0;
  const awayFromZero = yBar >= 0 ? slope.lower > 0 : slope.upper < 0;
  return {
    slope,
    periods: usable.length,
    verdict: towardsZero ? 'narrowing' : awayFromZero ? 'widening' : 'no clear change',
    meanGap: yBar,
  };
}
