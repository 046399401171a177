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

test('a record with no birth date does not chain two people whose birth dates differ, however strong its links', () => {
  // 0 is a father (1931), 1 his namesake son (1962), 2 an undated record matching both; 3 and 4
  // are copies of one person whose dates each carry their own slips, linked through dated records.
  const links: WeightedLink[] = [
    { a: 0, b: 2, weight: 20 },
    { a: 1, b: 2, weight: 19 },
    { a: 0, b: 1, weight: 0 }, // capped by the person check: the birth dates say two people
    { a: 3, b: 4, weight: 20 },
  ];
  const dates = ['1931-05-02', '1962-09-17', null, '1975-01-30', '1957-10-03'];
  const birthDates = {
    missing: (record: number) => dates[record] === null,
    contradict: (a: number, b: number) => dates[a] !== null && dates[b] !== null && dates[a]!.slice(0, 4) !== dates[b]!.slice(0, 4),
  };
  const without = clusterRecords(5, links, scoreTable(links), { threshold: 0.95 });
  assert.equal(without[0], without[1], 'average linkage alone chains them (the case this guards against)');
  const clusters = clusterRecords(5, links, scoreTable(links), { threshold: 0.95, birthDates });
  assert.notEqual(clusters[0], clusters[1], 'father and son stay two people');
  assert.ok(clusters[2] === clusters[0] || clusters[2] === clusters[1], 'the undated record joins one of them');
  assert.equal(clusters[3], clusters[4], 'a link that sees both dates is judged by its weight, not the dates alone');
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
