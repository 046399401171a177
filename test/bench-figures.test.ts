// The benchmark runner reports the median and the worst of several runs, never the best, and
// compares with the baseline so that a figure getting worse reads as worse whichever way is better.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { at, jsonObjects, summarise, worseBy } from '../bench/support/figures.ts';

test('median and worst: the slowest time, the lowest rate', () => {
  assert.deepEqual(summarise('lower', [12, 30, 9]), { median: 12, worst: 30 });
  assert.deepEqual(summarise('higher', [21_000, 19_500, 23_000]), { median: 21_000, worst: 19_500 });
  assert.deepEqual(summarise('lower', [4, 1, 3, 2]), { median: 2.5, worst: 4 });
  assert.throws(() => summarise('lower', []), /no runs/);
});

test('against the baseline, above 1 is worse for times and for rates', () => {
  assert.equal(worseBy('lower', 60, 50), 1.2);
  assert.equal(worseBy('higher', 20_000, 25_000), 1.25);
  assert.equal(worseBy('higher', 25_000, 20_000), 0.8);
  assert.equal(worseBy('lower', 60, undefined), undefined);
});

test('figures are read from one JSON document or one object per line', () => {
  const lines = jsonObjects('progress text\n{"shape":"A","pairs":{"f1":0.97}}\n{"shape":"B","pairs":{"f1":0.99}}\n');
  assert.equal(at('pairs.f1', (o) => o.shape === 'B')(lines), 0.99);
  assert.equal(at('personPage.serverMs.p99')(jsonObjects('{"personPage":{"serverMs":{"p99":17.5}}}')), 17.5);
  assert.equal(at('missing.value')(lines), undefined);
});

test("a progress line followed by a pretty-printed report: the report's figures are found (the import benchmark prints both)", () => {
  const output = jsonObjects(
    [
      'Loading the place { 20,000 people }',
      '{"records":20214,"recordsPerSecond":4723}',
      '{',
      '  "benchmark": "import-rate",',
      '  "note": "a brace } in a string",',
      '  "results": [',
      '    { "kind": "postgres", "withLinking": { "recordsPerSecond": 4723 } }',
      '  ]',
      '}',
    ].join('\n'),
  );
  assert.equal(output.length, 2, 'both objects, and not the progress text');
  assert.equal(at('results.0.withLinking.recordsPerSecond')(output), 4723);
  assert.equal(at('note')(output), undefined, 'a string is not a number');
});
