import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clusterRecords } from './cluster.ts';
import type { WeightedLink } from './cluster.ts';
import { log2Odds, probabilityFromWeight } from './model.ts';

function scoreTable(links: readonly WeightedLink[]): (a: number, b: number) => number {
  const table = new Map(links.map((link) => [`${Math.min(link.a, link.b)}-${Math.max(link.a, link.b)}`, link.weight]));
  return (a, b) => probabilityFromWeight(table.get(`${Math.min(a, b)}-${Math.max(a, b)}`) ?? -20);
}

test('one weak link does not chain two clear people together', () => {
  // Records 0,1,2 are Anna; 3,4,5 are Ben; 2–3 is one just-above-threshold link.
  const links: WeightedLink[] = [
    { a: 0, b: 1, weight: 30 },
    { a: 0, b: 2, weight: 28 },
    { a: 1, b: 2, weight: 25 },
    { a: 3, b: 4, weight: 30 },
    { a: 3, b: 5, weight: 29 },
    { a: 4, b: 5, weight: 26 },
    { a: 2, b: 3, weight: log2Odds(0.96) },
  ];
  const clusters = clusterRecords(6, links, scoreTable(links), { threshold: 0.95 });
  assert.deepEqual(clusters, [0, 0, 0, 1, 1, 1]);
});

test('a cluster of duplicates forms even when some duplicate pairs are weak', () => {
  const links: WeightedLink[] = [
    { a: 0, b: 1, weight: 30 },
    { a: 0, b: 2, weight: 30 },
    { a: 1, b: 2, weight: 2 }, // two typo'd copies of one original
  ];
  assert.deepEqual(clusterRecords(3, links, scoreTable(links), { threshold: 0.95 }), [0, 0, 0]);
});

test('records with different valid NHS numbers never share a cluster', () => {
  const links: WeightedLink[] = [
    { a: 0, b: 1, weight: 30 },
    { a: 1, b: 2, weight: 30 },
    { a: 0, b: 2, weight: 30 },
  ];
  const nhs = ['9434765919', null, '4010232137'];
  const clusters = clusterRecords(3, links, scoreTable(links), { threshold: 0.95, cannotLinkKey: (r) => nhs[r]! });
  assert.notEqual(clusters[0], clusters[2]);
});

test('clusters are a partition consistent with strong links only', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ a: fc.nat(14), b: fc.nat(14), weight: fc.double({ min: -20, max: 40, noNaN: true }) }), { maxLength: 40 }),
      (raw) => {
        const links = raw.filter((link) => link.a !== link.b);
        const clusters = clusterRecords(15, links, scoreTable(links), { threshold: 0.9 });
        assert.equal(clusters.length, 15);
        // Records with no link at or above the threshold stay on their own.
        const strong = new Set(links.filter((l) => probabilityFromWeight(l.weight) >= 0.9).flatMap((l) => [l.a, l.b]));
        for (let r = 0; r < 15; r++) {
          if (!strong.has(r)) assert.equal(clusters.filter((c) => c === clusters[r]).length, 1);
        }
      },
    ),
  );
});
