import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregatePatterns, expectationMaximisation, initialMixture, seededRandom } from './estimate.ts';
import { NULL_LEVEL } from './types.ts';

function draw(random: () => number, distribution: readonly number[]): number {
  let r = random();
  for (let level = 0; level < distribution.length; level++) {
    r -= distribution[level]!;
    if (r < 0) return level;
  }
  return distribution.length - 1;
}

test('EM recovers known m, u and lambda from simulated comparison vectors', () => {
  const m = [
    [0.85, 0.1, 0.05],
    [0.9, 0.1],
    [0.7, 0.2, 0.1],
    [0.95, 0.05],
    [0.8, 0.15, 0.05],
  ];
  const u = [
    [0.02, 0.08, 0.9],
    [0.05, 0.95],
    [0.01, 0.1, 0.89],
    [0.1, 0.9],
    [0.03, 0.07, 0.9],
  ];
  const lambda = 0.2;
  const pairs = 50_000;
  const random = seededRandom(11);
  const levels = new Uint8Array(pairs * m.length);
  for (let pair = 0; pair < pairs; pair++) {
    const isMatch = random() < lambda;
    for (let field = 0; field < m.length; field++) {
      // 5% missing values, which EM must skip.
      levels[pair * m.length + field] =
        random() < 0.05 ? NULL_LEVEL : draw(random, isMatch ? m[field]! : u[field]!);
    }
  }
  const patterns = aggregatePatterns(levels, m.length);
  assert.ok(patterns.counts.length < pairs / 10, 'identical vectors are aggregated');
  const levelCounts = m.map((levelsOfField) => levelsOfField.length);
  const flatU = levelCounts.map((count) => Array.from({ length: count }, () => 1 / count));
  const fit = expectationMaximisation(patterns, levelCounts, initialMixture(levelCounts, flatU));
  assert.ok(fit.converged);
  assert.ok(Math.abs(fit.lambda - lambda) < 0.02, `lambda ${fit.lambda}`);
  for (let field = 0; field < m.length; field++) {
    for (let level = 0; level < m[field]!.length; level++) {
      assert.ok(Math.abs(fit.m[field]![level]! - m[field]![level]!) < 0.03, `m[${field}][${level}] ${fit.m[field]![level]}`);
      assert.ok(Math.abs(fit.u[field]![level]! - u[field]![level]!) < 0.03, `u[${field}][${level}] ${fit.u[field]![level]}`);
    }
  }
});
