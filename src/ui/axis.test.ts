// Round ticks and short money labels for chart axes (issue 21: the gap chart showed only "18.2"
// and "-0.1"; the budget axis had ticks like £3,521,750).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceTicks, shortPounds, stepDecimals, tickLabel } from './axis.ts';

test('ticks are round, cover the data and include zero when it is crossed', () => {
  assert.deepEqual(niceTicks(-0.1, 18.2), [-5, 0, 5, 10, 15, 20]);
  assert.deepEqual(niceTicks(0, 3_521_750), [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000]);
  assert.deepEqual(niceTicks(0, 0.37), [0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(niceTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 23, 4), [0, 10, 20, 30]);
  for (const [lo, hi] of [
    [-3.7, 42.1],
    [0, 7],
    [12, 13.4],
    [-250, -10],
  ] as const) {
    const t = niceTicks(lo, hi);
    assert.ok(t[0]! <= lo && t[t.length - 1]! >= hi, `${t} covers ${lo}..${hi}`);
    assert.ok(t.length >= 3 && t.length <= 12, `${t}`);
  }
});

test('labels carry the decimals the step needs and a true minus sign', () => {
  assert.equal(stepDecimals([0, 2.5, 5]), 1);
  assert.equal(stepDecimals([0, 0.25, 0.5]), 2);
  assert.equal(stepDecimals([0, 5, 10]), 0);
  assert.equal(tickLabel(-5, 0), '−5');
  assert.equal(tickLabel(2500, 0), '2,500');
  assert.equal(tickLabel(2.5, 1), '2.5');
});

test('money in short round form', () => {
  assert.equal(shortPounds(0), '£0');
  assert.equal(shortPounds(3_500_000), '£3.5m');
  assert.equal(shortPounds(4_000_000), '£4m');
  assert.equal(shortPounds(750_000), '£750k');
  assert.equal(shortPounds(1_250), '£1.25k');
  assert.equal(shortPounds(600), '£600');
});
