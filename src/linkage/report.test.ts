// The model report page: it states the thresholds and every comparison level in plain words,
// its threshold table moves the way precision and recall must, measured figures sit beside the
// estimates when labels are given, and nothing from the data can inject markup.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WeightedLink } from './cluster.ts';
import { DATE_LEVELS, GIVEN_NAME_LEVELS, TEXT_LEVELS } from './comparisons.ts';
import { evaluateClusters } from './evaluate.ts';
import { linkRecords } from './link.ts';
import { log2Odds } from './model.ts';
import { measureAtThresholds, renderLinkReport, thresholdRows } from './report.ts';
import type { LinkReportInput } from './report.ts';
import { syntheticPeople } from './test-data.ts';
import type { FieldModel, LinkageModel } from './types.ts';
import { addWeight, createWeightHistogram } from './weight-histogram.ts';

const HOSTILE_TEXT = 'text:<script>alert("x")</script>';
const HOSTILE_COLUMN = '<img src=x onerror=alert(1)>';

function field(
  key: string,
  kind: FieldModel['spec']['kind'],
  labels: readonly string[],
  m: readonly number[],
  u: readonly number[],
): FieldModel {
  return { spec: { key, kind }, termFrequency: false, levels: labels.map((label, level) => ({ label, m: m[level]!, u: u[level]! })) };
}

/** Six records: three people, two records each; a model written by hand; pair weights chosen around the threshold. */
function handMadeInput(withLabels: boolean): LinkReportInput {
  const model: LinkageModel = {
    fields: [
      field(
        'given_name',
        'given_name',
        GIVEN_NAME_LEVELS,
        [0.8, 0.02, 0.05, 0.02, 0.02, 0.02, 0.02, 0.01, 0.02, 0.02],
        [0.01, 0.001, 0.005, 0.002, 0.01, 0.01, 0.01, 0.001, 0.05, 0.9],
      ),
      field('birth_date', 'birth_date', DATE_LEVELS, [0.9, 0.03, 0.03, 0.02, 0.02], [0.0001, 0.00001, 0.0005, 0.01, 0.9894]),
      field(HOSTILE_TEXT, 'text', TEXT_LEVELS, [0.7, 0.1, 0.05, 0.05, 0.05, 0.05], [0.05, 0.01, 0.01, 0.02, 0.05, 0.86]),
    ],
    priorMatchProbability: 0.001,
    blockingRules: [],
    termFrequencies: {},
    maxBlockSize: 60,
    linkThreshold: 0.95,
    reviewThreshold: 0.5,
  };
  const linkWeight = log2Odds(0.95);
  // Pair weights relative to the link threshold: some well above, some near it either side, many far below.
  const pairs: WeightedLink[] = [
    { a: 0, b: 1, weight: linkWeight + 12 },
    { a: 2, b: 3, weight: linkWeight + 2.5 },
    { a: 4, b: 5, weight: linkWeight - 1.5 },
    { a: 1, b: 2, weight: linkWeight + 0.5 },
    { a: 3, b: 4, weight: linkWeight - 3.5 },
    { a: 0, b: 5, weight: linkWeight - 20 },
    { a: 0, b: 3, weight: linkWeight - 30 },
  ];
  const histogram = createWeightHistogram(linkWeight);
  for (const pair of pairs) addWeight(histogram, pair.weight);
  addWeight(histogram, 0, true); // one pair the person check held down at even odds
  const recordIds = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
  const clusterOf = ['1', '1', '1', '1', '2', '3'];
  const truth = new Map([
    ['r1', 'A'],
    ['r2', 'A'],
    ['r3', 'B'],
    ['r4', 'B'],
    ['r5', 'C'],
    ['r6', 'C'],
  ]);
  const links = pairs.filter((pair) => pair.weight >= linkWeight);
  return {
    result: {
      model,
      candidatePairCount: pairs.length + 1,
      linkCount: links.length,
      weightHistogram: histogram,
      links,
      uncertainPairs: pairs.filter((pair) => pair.weight < linkWeight && pair.weight >= 0),
    },
    inputs: ['agency & partners.csv'],
    mappings: [
      { source: 'forename', field: 'given_name' },
      { source: 'dob', field: 'birth_date' },
      { source: HOSTILE_COLUMN, field: HOSTILE_TEXT },
    ],
    recordIds,
    persons: 3,
    clusterThreshold: 0.95,
    pairsCompleteFrom: 0,
    labels: withLabels
      ? {
          path: 'truth <1>.csv',
          truth,
          evaluation: evaluateClusters(
            recordIds.map((recordId, i) => ({ recordId, clusterId: clusterOf[i]! })),
            truth,
          ),
        }
      : undefined,
    generatedAt: new Date('2025-01-02T03:04:05Z'),
  };
}

/** The rows of a table in the page, each as its header cell's text and its cells' data-value attributes. */
function tableRows(html: string, id: string): { step: number | null; header: string; values: string[] }[] {
  const table = html.split(`id="${id}"`)[1]!.split('</table>')[0]!;
  const body = table.split('<tbody>')[1]!;
  return [...body.matchAll(/<tr([^>]*)>(.*?)<\/tr>/g)].map((row) => ({
    step: /data-step="(-?\d+)"/.exec(row[1]!) ? Number(/data-step="(-?\d+)"/.exec(row[1]!)![1]) : null,
    header: row[2]!.match(/<th[^>]*>(.*?)<\/th>/)![1]!.replace(/<[^>]+>/g, ''),
    values: [...row[2]!.matchAll(/data-value="([^"]*)"/g)].map((value) => value[1]!),
  }));
}

test('the page states both thresholds, as probabilities and match weights', () => {
  const html = renderLinkReport(handMadeInput(false));
  assert.match(html, /Link threshold<\/dt><dd>match probability 95\.0%, a match weight of 4\.2 bits/);
  assert.match(html, /Review threshold<\/dt><dd>match probability 50\.0%, a match weight of 0\.0 bits/);
  assert.match(html, /Link threshold 4\.2 bits/, 'the histogram marks the link threshold');
  assert.match(html, /Review threshold 0\.0 bits/, 'the histogram marks the review threshold');
  assert.match(html, /Candidate pairs compared<\/dt><dd>8 /);
});

test('each field has a row per comparison level, in plain words, with m, u and the weight in bits', () => {
  const input = handMadeInput(false);
  const html = renderLinkReport(input);
  input.result.model.fields.forEach((fieldModel, index) => {
    const rows = tableRows(html, `field-${index + 1}-table`);
    assert.equal(rows.length, fieldModel.levels.length, `${fieldModel.spec.key}: a row per level`);
    rows.forEach((row, level) => {
      const { m, u, label } = fieldModel.levels[level]!;
      assert.deepEqual(row.values.map(Number), [m, u, Math.log2(m / u)], `${fieldModel.spec.key} ${label}`);
      assert.ok(!row.header.startsWith(label), `${label} is given in words, not as its code: ${row.header}`);
    });
  });
  const given = tableRows(html, 'field-1-table').map((row) => row.header);
  assert.match(given[0]!, /^Exactly the same/);
  assert.match(given.at(-1)!, /^Anything else \(different\)/);
  assert.match(tableRows(html, 'field-2-table').at(-1)!.header, /^Anything else \(more than a year apart\)/);
  assert.match(tableRows(html, 'field-2-table')[1]!.header, /^Day and month swapped/);
});

test('the threshold table: pairs fall, estimated precision rises and estimated recall falls as the threshold rises', () => {
  const html = renderLinkReport(handMadeInput(false));
  const rows = tableRows(html, 'threshold-table');
  assert.deepEqual(
    rows.map((row) => row.step),
    [-4, -3, -2, -1, 0, 1, 2, 3, 4],
  );
  assert.match(rows[4]!.header, /^4\.2 bits \(now\)$/);
  assert.match(rows[0]!.header, /^0\.2 bits \(−4\.0\)$/);
  // values: pairs, estimated precision, estimated recall (no labels: no measured columns).
  const pairs = rows.map((row) => Number(row.values[0]));
  const precision = rows.map((row) => Number(row.values[1]));
  const recall = rows.map((row) => Number(row.values[2]));
  assert.deepEqual(pairs, [5, 4, 4, 3, 3, 2, 2, 1, 1]);
  for (let i = 1; i < rows.length; i++) {
    assert.ok(pairs[i]! <= pairs[i - 1]!, `pairs at step ${rows[i]!.step}`);
    assert.ok(precision[i]! >= precision[i - 1]!, `precision at step ${rows[i]!.step}: ${precision}`);
    assert.ok(recall[i]! <= recall[i - 1]!, `recall at step ${rows[i]!.step}: ${recall}`);
  }
  assert.ok(precision[8]! > precision[0]!, 'precision does move');
  assert.ok(recall[8]! < recall[0]!, 'recall does move');
  // Estimated precision is the mean match probability of the pairs above: the pair 12 bits above the threshold alone at +4.
  const probability = (bitsFromThreshold: number): number => 1 / (1 + 2 ** -(log2Odds(0.95) + bitsFromThreshold));
  assert.ok(Math.abs(precision[8]! - probability(12)) < 1e-12);
  // Estimated recall divides by every candidate pair's probability, except the pair the person check held down (no match at all).
  const everyPair = [12, 2.5, -1.5, 0.5, -3.5, -20, -30].reduce((sum, bits) => sum + probability(bits), 0);
  assert.ok(Math.abs(recall[4]! - (probability(12) + probability(2.5) + probability(0.5)) / everyPair) < 1e-12, `recall now ${recall[4]}`);
  assert.deepEqual(
    thresholdRows(handMadeInput(false)).map((row) => row.pairs),
    pairs,
  );
});

test('with labels, measured figures stand beside the estimates', () => {
  const input = handMadeInput(true);
  const html = renderLinkReport(input);
  assert.match(html, /Measured against your labels/);
  const accuracy = tableRows(html, 'accuracy-table');
  const f1 = accuracy.find((row) => row.header === 'Pairwise F1')!;
  assert.equal(Number(f1.values[1]), input.labels!.evaluation.pairs.f1);
  assert.equal(Number(accuracy.find((row) => row.header === 'Person (cluster) F1')!.values[1]), input.labels!.evaluation.clusters.f1);
  const rows = tableRows(html, 'threshold-table');
  // Every pair at or above 0 bits was kept, so every threshold shown (the lowest 0.2 bits) is measured.
  for (const row of rows) assert.equal(row.values.length, 5, `step ${row.step}: pairs, two estimates, two measured`);
  // At the current threshold: pairs r1-r2 (same), r3-r4 (same), r2-r3 (different): precision 2/3; 2 of 3 true pairs.
  const now = rows.find((row) => row.step === 0)!;
  assert.deepEqual(now.values.slice(3).map(Number), [2 / 3, 2 / 3]);
  assert.match(html, /truth &lt;1&gt;\.csv/);
});

test('measured figures per threshold count only labelled pairs', () => {
  const truth = new Map([
    ['a', '1'],
    ['b', '1'],
    ['c', '2'],
  ]);
  const pairs: WeightedLink[] = [
    { a: 0, b: 1, weight: 5 },
    { a: 1, b: 2, weight: 3 },
    { a: 2, b: 3, weight: 9 },
  ];
  assert.deepEqual(measureAtThresholds(pairs, ['a', 'b', 'c', 'unlabelled'], truth, [0, 4, 10]), [
    { precision: 0.5, recall: 1 },
    { precision: 1, recall: 1 },
    { precision: null, recall: 0 },
  ]);
});

test('text from the data is escaped: a hostile free-text field name and column name stay text', () => {
  const html = renderLinkReport(handMadeInput(true));
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<img/i);
  assert.match(html, /text:&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(html, /agency &amp; partners\.csv/);
  // The field's own section is titled with its name, escaped, inside the heading.
  assert.match(html, /<h3 id="field-3">Free text “&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;”<\/h3>/);
});

test('a real run: the page agrees with the link result, a hostile text column included', async () => {
  const records = syntheticPeople(120, 9).flatMap((person) =>
    person.records.map((record) => ({ ...record, text: { '<script>': record.fields.postcode ?? '' } })),
  );
  const result = await linkRecords(records, { workers: 1, weightHistogram: true, collectUncertain: true });
  const input: LinkReportInput = {
    result,
    inputs: ['people.csv'],
    mappings: [
      { source: 'first', field: 'given_name' },
      { source: 'pc2', field: 'text:<script>' },
    ],
    recordIds: records.map((record) => record.id),
    persons: new Set(result.clusterOf).size,
    clusterThreshold: result.model.linkThreshold,
    pairsCompleteFrom: log2Odds(result.model.reviewThreshold),
    generatedAt: new Date(),
  };
  const html = renderLinkReport(input);
  const now = tableRows(html, 'threshold-table').find((row) => row.step === 0)!;
  assert.equal(Number(now.values[0]), result.linkCount);
  assert.equal(tableRows(html, `field-${result.model.fields.length}-table`).length, TEXT_LEVELS.length);
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /Free text “&lt;script&gt;”/);
});
