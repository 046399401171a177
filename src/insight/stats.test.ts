import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gapBetween, gapTrend, meanEstimate, proportionEstimate, rateEstimate, ridits, slopeIndex, wilson, Z95 } from './stats.ts';

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

test('ridits are the midpoints of cumulative population shares', () => {
  assert.deepEqual(ridits([100, 100]), [0.25, 0.75]);
  const r = ridits([10, 30, 60]);
  close(r[0]!, 0.05);
  close(r[1]!, 0.25);
  close(r[2]!, 0.7);
});

test('slope index of two equal groups is the line through their ridits (hand-checked)', () => {
  // 3 of 100 = 30 per 1,000 (most deprived); 1 of 100 = 10 per 1,000. Line through (0.25, 30) and (0.75, 10): slope -40.
  const sii = slopeIndex([rateEstimate('most', 3, 100), rateEstimate('least', 1, 100)])!;
  close(sii.estimate, 40);
  // Poisson variances 300 and 100; coefficients ∓2, so Var = 4·300 + 4·100 = 1600, SE 40.
  close(sii.se, 40);
  close(sii.lower, 40 - Z95 * 40);
  close(sii.upper, 40 + Z95 * 40);
});

test('slope index of five equal quintiles on a straight line 50..10 is 50', () => {
  const groups = [50, 40, 30, 20, 10].map((v, i) => ({
    label: `Q${i + 1}`,
    population: 200,
    value: v,
    variance: 1,
    count: 100,
    denominator: 200,
  }));
  const sii = slopeIndex(groups)!;
  close(sii.estimate, 50);
  // Ridits .1,.3,.5,.7,.9, weights .2: Sxx = .2·(.16+.04+0+.04+.16) = .08; c = .2(x-.5)/.08 = ∓1, ∓.5, 0; Var = 1+.25+0+.25+1 = 2.5.
  close(sii.se, Math.sqrt(2.5));
});

test('slope index weights groups by population (unequal groups)', () => {
  // Populations 100 and 300: ridits .125 and .625; values 20 and 10 → slope -20, SII 20.
  const sii = slopeIndex([
    { label: 'a', population: 100, value: 20, variance: 0, count: 10, denominator: 100 },
    { label: 'b', population: 300, value: 10, variance: 0, count: 10, denominator: 300 },
  ])!;
  close(sii.estimate, 20);
  assert.equal(
    slopeIndex([{ label: 'a', population: 100, value: null, variance: null, count: 0, denominator: 0 }, rateEstimate('b', 1, 10)]),
    null,
  );
});

test('absolute and relative gaps between most and least deprived (hand-checked)', () => {
  const gap = gapBetween(rateEstimate('most', 3, 100), rateEstimate('least', 1, 100))!;
  close(gap.absolute.estimate, 20);
  close(gap.absolute.se, 20);
  close(gap.relative!.estimate, 3);
  const se = Math.sqrt(300 / 900 + 100 / 100);
  close(gap.relative!.lower, Math.exp(Math.log(3) - Z95 * se));
  close(gap.relative!.upper, Math.exp(Math.log(3) + Z95 * se));
  assert.equal(gapBetween(rateEstimate('most', 3, 100), rateEstimate('least', 0, 100))!.relative, null);
});

test('proportion, mean and Wilson interval estimates', () => {
  const p = proportionEstimate('x', 30, 120);
  close(p.value!, 25);
  close(p.variance!, ((0.25 * 0.75) / 120) * 10_000);
  const m = meanEstimate('x', 4, 2 + 4 + 4 + 6, 4 + 16 + 16 + 36);
  close(m.value!, 4);
  close(m.variance!, 8 / 3 / 4);
  // Wilson for 0 of 10 has lower bound 0 and upper about 0.2775.
  const w = wilson(0, 10);
  close(w.lower, 0);
  close(w.upper, 0.27753279986288, 1e-6);
});

test('gap trend: a steadily falling gap is narrowing; flat noise is no clear change; a rising one widening', () => {
  const narrowing = gapTrend([10, 8, 6, 4].map((g, i) => ({ period: i, estimate: g, se: 1 })));
  close(narrowing.slope.estimate, -2);
  close(narrowing.slope.se, Math.sqrt(1 / 5));
  assert.equal(narrowing.verdict, 'narrowing');
  assert.equal(gapTrend([10, 10.5, 9.5, 10].map((g, i) => ({ period: i, estimate: g, se: 2 }))).verdict, 'no clear change');
  assert.equal(gapTrend([4, 6, 8, 10].map((g, i) => ({ period: i, estimate: g, se: 1 }))).verdict, 'widening');
  // A negative gap (least deprived fare worse) moving towards zero is also narrowing.
  assert.equal(gapTrend([-10, -8, -6, -4].map((g, i) => ({ period: i, estimate: g, se: 1 }))).verdict, 'narrowing');
  assert.equal(gapTrend([{ period: 0, estimate: 1, se: 1 }]).verdict, 'not enough data');
});
