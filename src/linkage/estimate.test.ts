import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregatePatterns, expectationMaximisation, initialMixture, mFromIdentitySessions, seededRandom } from './estimate.ts';
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
      levels[pair * m.length + field] = random() < 0.05 ? NULL_LEVEL : draw(random, isMatch ? m[field]! : u[field]!);
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

test('without an identifier, m is learnt per identity field and is not fooled by households', () => {
  // Fields: given name (exact, close, else), family name, birth date, address (exact, else).
  // A tenth of the pairs are one person; a third are two people of one household (same surname
  // and address, different given name and birth date); the rest are strangers.
  const classes = [
    { share: 0.1, given: [0.9, 0.08, 0.02], family: [0.95, 0.05], birth: [0.95, 0.05], address: [0.8, 0.2] },
    { share: 0.3, given: [0.02, 0.03, 0.95], family: [0.9, 0.1], birth: [0.02, 0.98], address: [0.95, 0.05] },
    { share: 0.6, given: [0.03, 0.05, 0.92], family: [0.02, 0.98], birth: [0.001, 0.999], address: [0.001, 0.999] },
  ];
  const random = seededRandom(5);
  const pairs = 60_000;
  const levels = new Uint8Array(pairs * 4);
  for (let pair = 0; pair < pairs; pair++) {
    let r = random();
    const kind = classes.find((c) => (r -= c.share) < 0) ?? classes[2]!;
    [kind.given, kind.family, kind.birth, kind.address].forEach((distribution, field) => {
      levels[pair * 4 + field] = draw(random, distribution);
    });
  }
  const patterns = aggregatePatterns(levels, 4);
  const levelCounts = [3, 2, 2, 2];
  // u from strangers, as random pairs would give it.
  const u = [classes[2]!.given, classes[2]!.family, classes[2]!.birth, classes[2]!.address];
  const learnt = mFromIdentitySessions(patterns, levelCounts, u, [0, 1, 2], (_, level) => level === 0, 50);
  assert.ok(learnt, 'every identity field had a session');
  // The person's own details agree: m of "given name differs" and "birth date differs" stay small.
  assert.ok(learnt.m[0]![2]! < 0.1, `m(given else) ${learnt.m[0]![2]}`);
  assert.ok(learnt.m[2]![0]! > 0.85, `m(birth exact) ${learnt.m[2]![0]}`);
  // EM over every pair instead takes the household as its match class.
  const plain = expectationMaximisation(patterns, levelCounts, initialMixture(levelCounts, u));
  assert.ok(plain.m[0]![2]! > 0.3, `plain EM m(given else) ${plain.m[0]![2]}`);
});
