// The weight histogram counted while scoring: every candidate pair in it once, the pairs at or
// above the link threshold exactly the links, the same from worker threads as inline.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkRecords } from './link.ts';
import { log2Odds } from './model.ts';
import { syntheticPeople } from './test-data.ts';
import { addWeight, atOrAbove, binOf, createWeightHistogram, lowerEdge, originBin } from './weight-histogram.ts';

test('bins have an edge at the origin; the first and last bins are open-ended', () => {
  const histogram = createWeightHistogram(4.25);
  assert.equal(lowerEdge(histogram, originBin()), 4.25);
  assert.equal(binOf(histogram, 4.25), originBin());
  assert.equal(binOf(histogram, 4.2), originBin() - 1);
  assert.equal(binOf(histogram, -1000), 0);
  assert.equal(binOf(histogram, 1000), histogram.counts.length - 1);
  addWeight(histogram, 5);
  addWeight(histogram, 0);
  assert.deepEqual(atOrAbove(histogram, 0).pairs, 1);
  assert.deepEqual(atOrAbove(histogram, -5).pairs, 2);
  assert.ok(Math.abs(atOrAbove(histogram, -5).expectedMatches - (1 / (1 + 2 ** -5) + 0.5)) < 1e-12);
  // A pair the person check held down is counted, but not as a likely match.
  addWeight(histogram, 0, true);
  assert.deepEqual(atOrAbove(histogram, -5).pairs, 3);
  assert.deepEqual(atOrAbove(histogram, -5).heldDown, 1);
  assert.ok(Math.abs(atOrAbove(histogram, -5).expectedMatches - (1 / (1 + 2 ** -5) + 0.5)) < 1e-12);
});

test('linking with a histogram: every candidate pair counted once, the links are the pairs at or above the threshold', async () => {
  const records = syntheticPeople(400, 3).flatMap((person) => person.records);
  const plain = await linkRecords(records, { workers: 1 });
  const counted = await linkRecords(records, { workers: 1, weightHistogram: true, collectUncertain: true });
  assert.equal(plain.weightHistogram, null);
  const histogram = counted.weightHistogram!;
  assert.equal(histogram.origin, log2Odds(counted.model.linkThreshold));
  assert.equal(
    histogram.counts.reduce((sum, count) => sum + count, 0),
    counted.candidatePairCount,
  );
  assert.equal(atOrAbove(histogram, 0).pairs, counted.linkCount);
  // Counting changes nothing about the result.
  assert.deepEqual(counted.clusterOf, plain.clusterOf);
  assert.equal(counted.linkCount, plain.linkCount);
  // Every kept pair is in its own bin.
  const kept = new Float64Array(histogram.counts.length);
  for (const pair of [...counted.links, ...counted.uncertainPairs]) kept[binOf(histogram, pair.weight)]! += 1;
  const reviewBin = binOf(histogram, log2Odds(counted.model.reviewThreshold));
  for (let bin = reviewBin + 1; bin < kept.length; bin++) assert.equal(kept[bin], histogram.counts[bin], `bin ${bin}`);
});
