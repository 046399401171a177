// The fairness check's arithmetic and disclosure control against counts worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { biasTable, type BiasInput, type GroupInput } from './fairness.ts';

const g = (value: string, population: number, need: number, flagged: number): GroupInput => ({
  value,
  label: value,
  population,
  need,
  flagged,
});

// 1,000 residents, 100 with the need, 20 flagged.
// Quintile 1: 200 people, 40 in need, 12 flagged. Quintile 5: 800 people, 60 in need, 8 flagged.
//   flag rate q1 = 12/200 = 60 per 1,000; everyone 20/1000 = 20 per 1,000 → rate ratio 3.00
//   flagged per 100 in need q1 = 12/40 = 30; everyone 20/100 = 20 → need-adjusted 1.50 (warning)
//   q5: 8/800 = 10 per 1,000 → 0.50; 8/60 = 13.3 per 100 → 0.67
// Sex: female 500/50/10, male 500/50/10 → both 1.00.
// Ethnicity: white 900/90/12 → 13.3 per 1,000, 0.67; 12/90 = 13.3 → 0.67
//            black 100/10/8 → 80 per 1,000, 4.00; 8/10 = 80 per 100 → 4.00 (warning)
// Age band: 25-44 has all 1,000.
const input: BiasInput = {
  total: { population: 1000, need: 100, flagged: 20 },
  by: {
    quintile: [g('1', 200, 40, 12), g('5', 800, 60, 8)],
    sex: [g('female', 500, 50, 10), g('male', 500, 50, 10)],
    ethnicity: [g('white', 900, 90, 12), g('black', 100, 10, 8)],
    age_band: [g('25-44', 1000, 100, 20)],
  },
};

test('rates, rate ratios and need-adjusted ratios match the hand-worked figures', () => {
  const t = biasTable(input);
  assert.deepEqual(
    [t.total.flagRatePer1000, t.total.needRatePer1000, t.total.flaggedPer100InNeed, t.total.rateRatio, t.total.needAdjustedRatio],
    [20, 100, 20, 1, 1],
  );
  const rows = Object.fromEntries(t.dimensions.flatMap((d) => d.rows.map((r) => [`${d.dimension}:${r.value}`, r])));
  const pick = (k: string) => {
    const r = rows[k]!;
    return [r.flagRatePer1000, r.needRatePer1000, r.flaggedPer100InNeed, r.rateRatio, r.needAdjustedRatio, r.warning];
  };
  assert.deepEqual(pick('quintile:1'), [60, 200, 30, 3, 1.5, true]);
  assert.deepEqual(pick('quintile:5'), [10, 75, 13.3, 0.5, 0.67, false]);
  assert.deepEqual(pick('sex:female'), [20, 100, 20, 1, 1, false]);
  assert.deepEqual(pick('ethnicity:white'), [13.3, 100, 13.3, 0.67, 0.67, false]);
  assert.deepEqual(pick('ethnicity:black'), [80, 100, 80, 4, 4, true]);
  assert.deepEqual(t.warnings, [
    'Deprivation quintile: 1 is flagged 1.50 times as often as its need would explain (warning at 1.5 or more).',
    'Ethnicity group: black is flagged 4.00 times as often as its need would explain (warning at 1.5 or more).',
  ]);
  // A stricter threshold is the caller's to state.
  assert.deepEqual(biasTable(input, 2).warnings.length, 1);
});

test('a group flagged far more often than the population but no more than its need gets no warning', () => {
  // Quintile 1 has three times the flag rate, and three times the need: the rule follows need.
  const t = biasTable({
    total: { population: 1000, need: 100, flagged: 20 },
    by: { quintile: [g('1', 200, 40, 8), g('5', 800, 60, 12)], sex: [], ethnicity: [], age_band: [] },
  });
  const q1 = t.dimensions[0]!.rows[0]!;
  assert.equal(q1.rateRatio, 2);
  assert.equal(q1.needAdjustedRatio, 1);
  assert.equal(q1.warning, false);
  assert.deepEqual(t.warnings, []);
});

test('small numbers are suppressed, with a complement, and no rate or ratio gives them away', () => {
  // Flagged: 3 in one group of three, so it and the next smallest are hidden (the total is shown).
  const t = biasTable({
    total: { population: 300, need: 60, flagged: 23 },
    by: { quintile: [g('1', 100, 20, 3), g('2', 100, 20, 8), g('3', 100, 20, 12)], sex: [], ethnicity: [], age_band: [] },
  });
  const [q1, q2, q3] = t.dimensions[0]!.rows;
  assert.equal(q1!.flagged, null);
  assert.equal(q1!.flagRatePer1000, null);
  assert.equal(q1!.needAdjustedRatio, null);
  assert.equal(q2!.flagged, null, 'the complement: otherwise 23 - 8 - 12 gives the 3 away');
  assert.equal(q2!.rateRatio, null);
  assert.equal(q3!.flagged, 12);
  assert.equal(t.total.flagged, 23);
});

test('people flagged in a group where no one has the need recorded are warned about', () => {
  const t = biasTable({
    total: { population: 200, need: 10, flagged: 10 },
    by: { quintile: [g('1', 100, 10, 5), g('2', 100, 0, 5)], sex: [], ethnicity: [], age_band: [] },
  });
  const q2 = t.dimensions[0]!.rows[1]!;
  assert.equal(q2.flaggedWithoutNeed, true);
  assert.equal(q2.needAdjustedRatio, null);
  assert.equal(q2.warning, true);
  assert.match(t.warnings[0]!, /flagged but none has the need recorded/);
});

test('a ratio over the threshold on too few people to tell from chance is said so, not warned about', () => {
  // Quintile 1: 5 flagged of 25 in need (20 per 100) against everyone's 12 of 100 (12): 1.67.
  // Against everyone else (7 of 75), the 95% interval of the ratio is about 0.75 to 6.1: it includes 1.
  const t = biasTable({
    total: { population: 1000, need: 100, flagged: 12 },
    by: { quintile: [g('1', 500, 25, 5), g('5', 500, 75, 7)], sex: [], ethnicity: [], age_band: [] },
  });
  const q1 = t.dimensions[0]!.rows[0]!;
  assert.equal(q1.needAdjustedRatio, 1.67);
  assert.equal(q1.warning, false);
  assert.equal(q1.tooFewToTell, true);
  assert.deepEqual(t.warnings, []);
});
