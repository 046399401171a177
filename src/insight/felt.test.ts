// Outcomes people feel, against hand-computed cases: a tiny hand-made population's score changes,
// goal attainment and model cohorts, then the same quintile means through the gap and slope index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregateObservations,
  cohortByModel,
  cohortCells,
  cohortScoreOf,
  cubeRowOf,
  gasObservations,
  isShareMeasure,
  saidObservations,
  goalObservations,
  lastFourQuarters,
  quarterOfDate,
  scoreChanges,
  type PersonGroups,
} from './felt.ts';
import { gapBetween, meanEstimate, slopeIndex } from './stats.ts';

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

const person = (quintile: number): PersonGroups => ({
  quintile: String(quintile),
  decile: String(quintile * 2),
  locality: 'north',
  sex: 'female',
  ethnicity: 'white',
  age_band: '25-44',
  disability: 'no',
});

test('quarters are named as the cube names them', () => {
  assert.equal(quarterOfDate('2026-01-01'), '2026-Q1');
  assert.equal(quarterOfDate('2026-06-30T23:00:00.000Z'), '2026-Q2');
  assert.equal(quarterOfDate('2026-12-31'), '2026-Q4');
  // The latest year: the four complete quarters before the one holding the latest data.
  assert.deepEqual(lastFourQuarters('2026-12-06', []), ['2025-Q4', '2026-Q1', '2026-Q2', '2026-Q3']);
  assert.deepEqual(lastFourQuarters(null, ['2025-Q2', '2026-Q1']), ['2025-Q2', '2025-Q3', '2025-Q4', '2026-Q1']);
});

test('score change is first minus latest for people assessed twice or more of the same kind, in the quarter of the latest', () => {
  const changes = scoreChanges([
    // a: 20 → 18 → 12 on the multiple disadvantage assessment: fell by 8 (given out of order).
    { pkey: 'a', instrument: 'md-assessment', at: '2026-05-01', score: 12 },
    { pkey: 'a', instrument: 'md-assessment', at: '2026-01-10', score: 20 },
    { pkey: 'a', instrument: 'md-assessment', at: '2026-03-01', score: 18 },
    // b: assessed once: no change to count. Its carer's assessment 6 → 9 rose by 3 (worse).
    { pkey: 'b', instrument: 'md-assessment', at: '2026-02-01', score: 30 },
    { pkey: 'b', instrument: 'carers-assessment', at: '2026-02-01', score: 6 },
    { pkey: 'b', instrument: 'carers-assessment', at: '2026-08-01', score: 9 },
    // c: an unscored response is not an assessment to compare; wellbeing has no total.
    { pkey: 'c', instrument: 'md-assessment', at: '2026-02-01', score: null },
    { pkey: 'c', instrument: 'md-assessment', at: '2026-04-01', score: 10 },
    { pkey: 'c', instrument: 'ons4-wellbeing', at: '2026-02-01', score: 3 },
    { pkey: 'c', instrument: 'ons4-wellbeing', at: '2026-04-01', score: 5 },
  ]);
  assert.deepEqual(
    changes.sort((x, y) => x.pkey.localeCompare(y.pkey)),
    [
      { pkey: 'a', measure: 'change:md-assessment', period: '2026-Q2', value: 8 },
      { pkey: 'b', measure: 'change:carers-assessment', period: '2026-Q3', value: -3 },
    ],
  );
});

test('a tiny population: quintile means of score change and goal attainment, with the gap and slope index by hand', () => {
  // Quintile 1 (most deprived): p1 fell 2, p2 fell 4. Quintile 5 (least deprived): p3 fell 6, p4 fell 8.
  // Quintile 3: p5 fell 5. p9 is not a resident (no facts): left out.
  const people = new Map<string, PersonGroups>([
    ['p1', person(1)],
    ['p2', person(1)],
    ['p3', person(5)],
    ['p4', person(5)],
    ['p5', person(3)],
  ]);
  const obs = scoreChanges(
    (
      [
        ['p1', 10, 8],
        ['p2', 12, 8],
        ['p3', 16, 10],
        ['p4', 20, 12],
        ['p5', 9, 4],
        ['p9', 30, 0],
      ] as const
    ).flatMap(([pkey, first, latest]) => [
      { pkey, instrument: 'md-assessment', at: '2026-01-15', score: first },
      { pkey, instrument: 'md-assessment', at: '2026-02-15', score: latest },
    ]),
  );
  const cells = aggregateObservations(obs, people);
  const at = (dimension: string, value: string) => cells.find((c) => c.dimension === dimension && c.value === value)!;
  // Everyone: 5 people, falls 2+4+6+8+5 = 25, squares 4+16+36+64+25 = 145: mean 5.
  assert.deepEqual(at('all', 'all'), {
    measure: 'change:md-assessment',
    dimension: 'all',
    value: 'all',
    period: '2026-Q1',
    n: 5,
    s: 25,
    ss: 145,
  });
  assert.deepEqual([at('quintile', '1').n, at('quintile', '1').s, at('quintile', '1').ss], [2, 6, 20]);
  assert.deepEqual([at('quintile', '5').n, at('quintile', '5').s, at('quintile', '5').ss], [2, 14, 100]);
  assert.equal(at('decile', '2').s, 6);
  // Means: quintile 1 (2+4)/2 = 3, quintile 5 (6+8)/2 = 7. Sample variances 2 and 2; variance of each mean 2/2 = 1.
  const q1 = meanEstimate('Q1', 2, 6, 20);
  const q5 = meanEstimate('Q5', 2, 14, 100);
  assert.equal(q1.value, 3);
  assert.equal(q5.value, 7);
  assert.equal(q1.variance, 1);
  assert.equal(q5.variance, 1);
  // The gap: most minus least deprived = 3 − 7 = −4 points (the most deprived improve less), SE √(1+1).
  const gap = gapBetween(q1, q5)!;
  close(gap.absolute.estimate, -4);
  close(gap.absolute.se, Math.SQRT2);
  // Two equal groups at ridits 0.25 and 0.75: the line through (0.25, 3) and (0.75, 7) has slope 8;
  // the slope index (most minus least deprived) is −8, SE 2·√(1+1).
  const sii = slopeIndex([
    { ...q1, population: 2 },
    { ...q5, population: 2 },
  ])!;
  close(sii.estimate, -8);
  close(sii.se, 2 * Math.SQRT2);

  // Goal attainment: each goal's latest score, counted in the quarter of its review.
  const goals = aggregateObservations(
    goalObservations([
      { pkey: 'p1', reviewedOn: '2026-04-02', score: 3 },
      { pkey: 'p1', reviewedOn: '2026-04-02', score: 5 },
      { pkey: 'p3', reviewedOn: '2026-05-20', score: 9 },
    ]),
    people,
  );
  const g = (value: string) => goals.find((c) => c.dimension === 'quintile' && c.value === value)!;
  assert.deepEqual([g('1').n, g('1').s / g('1').n, g('1').period], [2, 4, '2026-Q2']);
  assert.deepEqual([g('5').n, g('5').s], [1, 9]);
  assert.equal(goals.find((c) => c.dimension === 'all')!.s, 17);
});

test("a model's cohort counts each person once a quarter, at their latest score, and hides means of fewer than 5", () => {
  const rows = [
    { pkey: 'a', modelId: 'md', instrument: 'md-assessment', at: '2026-01-10', score: 20 },
    { pkey: 'a', modelId: 'md', instrument: 'md-assessment', at: '2026-03-10', score: 14 },
    { pkey: 'b', modelId: 'md', instrument: 'md-assessment', at: '2026-02-01', score: 10 },
    { pkey: 'c', modelId: 'md', instrument: 'md-assessment', at: '2026-04-01', score: 8 },
    { pkey: 'd', modelId: null, instrument: 'md-assessment', at: '2026-02-01', score: 30 },
  ];
  const cohort = cohortByModel(rows).sort((x, y) => x.period.localeCompare(y.period));
  // Q1: a (latest 14) and b (10): n 2, sum 24, squares 196 + 100. Q2: c alone. d is on no model.
  assert.deepEqual(cohort, [
    { measure: 'md|md-assessment', dimension: 'all', value: 'all', period: '2026-Q1', n: 2, s: 24, ss: 296 },
    { measure: 'md|md-assessment', dimension: 'all', value: 'all', period: '2026-Q2', n: 1, s: 8, ss: 64 },
  ]);
  // Five people scoring 2, 4, 6, 8, 10: mean 6, sample variance 10, SE √2.
  const shown = cohortCells([{ period: '2026-Q3', n: 5, s: 30, ss: 220 }, ...cohort], ['2026-Q1', '2026-Q2', '2026-Q3', '2026-Q4']);
  assert.deepEqual(
    shown.map((c) => [c.period, c.people, c.mean]),
    [
      ['2026-Q1', null, null],
      ['2026-Q2', null, null],
      ['2026-Q3', 5, 6],
      ['2026-Q4', 0, null],
    ],
  );
  close(shown[2]!.upper! - shown[2]!.mean!, 1.96 * Math.SQRT2);
});

test('goals at or above expected: each rated goal counts once, held like referrals accepted (n out of d)', () => {
  const people = new Map<string, PersonGroups>([
    ['p1', person(1)],
    ['p3', person(5)],
  ]);
  // Quintile 1: levels −2, −1, 0 → 1 of 3 at or above expected; quintile 5: 0, +2 → 2 of 2.
  const cells = aggregateObservations(
    gasObservations([
      { pkey: 'p1', reviewedOn: '2026-07-01', level: -2 },
      { pkey: 'p1', reviewedOn: '2026-07-01', level: -1 },
      { pkey: 'p1', reviewedOn: '2026-08-01', level: 0 },
      { pkey: 'p3', reviewedOn: '2026-09-30', level: 0 },
      { pkey: 'p3', reviewedOn: '2026-09-30', level: 2 },
    ]),
    people,
  ).map((a) => cubeRowOf('felt', a));
  const at = (dimension: string, value: string) => cells.find((c) => c.dimension === dimension && c.value === value)!;
  assert.deepEqual([at('quintile', '1').n, at('quintile', '1').d, at('quintile', '1').period], [1, 3, '2026-Q3']);
  assert.deepEqual([at('quintile', '5').n, at('quintile', '5').d], [2, 2]);
  assert.deepEqual([at('all', 'all').n, at('all', 'all').d, at('all', 'all').s], [3, 5, 0]);
  // A mean keeps its sums, out of its own count.
  assert.deepEqual(cubeRowOf('felt', { measure: 'goal', dimension: 'all', value: 'all', period: '2026-Q3', n: 2, s: 9, ss: 41 }), {
    section: 'felt',
    measure: 'goal',
    dimension: 'all',
    value: 'all',
    period: '2026-Q3',
    n: 2,
    d: 2,
    s: 9,
    ss: 41,
  });
});

test('place goals: a latest answer of 4 or 5 agrees (1), 1 to 3 does not (0), in its quarter; held as a share like goals at or above expected', () => {
  assert.deepEqual(
    saidObservations([
      { pkey: 'a', code: 'TOGETHER', answeredOn: '2026-05-10', answer: 5 },
      { pkey: 'b', code: 'TOGETHER', answeredOn: '2026-05-10', answer: 4 },
      { pkey: 'c', code: 'TOGETHER', answeredOn: '2026-06-30', answer: 3 },
      { pkey: 'd', code: 'SAFE', answeredOn: '2026-07-01', answer: 1 },
    ]),
    [
      { pkey: 'a', measure: 'said:TOGETHER', period: '2026-Q2', value: 1 },
      { pkey: 'b', measure: 'said:TOGETHER', period: '2026-Q2', value: 1 },
      { pkey: 'c', measure: 'said:TOGETHER', period: '2026-Q2', value: 0 },
      { pkey: 'd', measure: 'said:SAFE', period: '2026-Q3', value: 0 },
    ],
  );
  assert.ok(isShareMeasure('said:TOGETHER') && isShareMeasure('gas') && !isShareMeasure('goal'));
  // 2 of 3 agree: n 2 out of d 3, no sums kept.
  assert.deepEqual(cubeRowOf('felt', { measure: 'said:TOGETHER', dimension: 'all', value: 'all', period: '2026-Q2', n: 3, s: 2, ss: 2 }), {
    section: 'felt',
    measure: 'said:TOGETHER',
    dimension: 'all',
    value: 'all',
    period: '2026-Q2',
    n: 2,
    d: 3,
    s: 0,
    ss: 0,
  });
});

test('cohorts follow an assessment without a total (personal wellbeing) by its headline question, life satisfaction', () => {
  assert.deepEqual(cohortScoreOf({ instrument: 'ons4-wellbeing', score: null, domains: { life_satisfaction: 6, anxiety: 3 } }), {
    instrument: 'ons4-wellbeing:life_satisfaction',
    score: 6,
  });
  assert.deepEqual(cohortScoreOf({ instrument: 'md-assessment', score: 14, domains: {} }), { instrument: 'md-assessment', score: 14 });
});
