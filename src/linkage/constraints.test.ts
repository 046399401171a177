// Reviewers' decisions and registered persons as clustering constraints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterRecords } from './cluster.ts';
import type { WeightedLink } from './cluster.ts';
import { probabilityFromWeight } from './model.ts';

const strong: WeightedLink[] = [
  { a: 0, b: 1, weight: 30 },
  { a: 1, b: 2, weight: 30 },
  { a: 0, b: 2, weight: 30 },
];
const score = (a: number, b: number) =>
  probabilityFromWeight(strong.find((l) => (l.a === a && l.b === b) || (l.a === b && l.b === a))?.weight ?? -20);

test('a cannot-link decision splits records the scores would join', () => {
  assert.deepEqual(clusterRecords(3, strong, score, { threshold: 0.95 }), [0, 0, 0]);
  const clusters = clusterRecords(3, strong, score, { threshold: 0.95, cannotLink: [[0, 2]] });
  assert.notEqual(clusters[0], clusters[2]);
});

test('a must-link decision joins records the scores would keep apart', () => {
  const clusters = clusterRecords(4, strong, score, { threshold: 0.95, mustLink: [[2, 3]] });
  assert.equal(clusters[3], clusters[2]);
});

test('two registered persons never share a cluster, however strong the link', () => {
  const spine = ['p1', null, 'p2'];
  const clusters = clusterRecords(3, strong, score, { threshold: 0.95, exclusiveKey: (r) => spine[r] ?? null });
  assert.notEqual(clusters[0], clusters[2]);
  assert.ok(clusters[1] === clusters[0] || clusters[1] === clusters[2], 'the unregistered record joins one of them');
});
