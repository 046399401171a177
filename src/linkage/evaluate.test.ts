import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { evaluateClusters, evaluatePairLabels, formatEvaluation, formatPairEvaluation, readAnyLabels, readLabels } from './evaluate.ts';

const run = promisify(execFile);
const LINK_MAIN = fileURLToPath(new URL('./link-main.ts', import.meta.url));
const directory = await mkdtemp(join(tmpdir(), 'joinery-evaluate-'));
test.after(() => rm(directory, { recursive: true, force: true }));

// The hand-computed case. Truth: A = {r1 r2 r3}, B = {r4 r5}, C = {r6}, D = {r7}, E = {r8}.
// Predicted: X = {r1 r2}, Y = {r3 r4 r5}, Z = {r6 r7}, W = {r8}; r9 is in the output only.
//   True pairs: A has 3 (r1r2 r1r3 r2r3), B has 1 (r4r5): 4.
//   Predicted pairs: X 1 (r1r2), Y 3 (r3r4 r3r5 r4r5), Z 1 (r6r7), W 0: 5.
//   Right: r1r2 and r4r5 = 2. Wrong: 5 - 2 = 3. Missed: 4 - 2 = 2.
//   Pairwise precision 2/5 = 0.400, recall 2/4 = 0.500, F1 = 2(0.4)(0.5)/(0.9) = 0.444.
//   Persons exactly right: only W = E. Precision 1/4 = 0.250, recall 1/5 = 0.200,
//   F1 = 2(0.25)(0.2)/(0.45) = 0.222.
const LABELS = 'record_id,cluster_id\nr1,A\nr2,A\nr3,A\nr4,B\nr5,B\nr6,C\nr7,D\nr8,E\n';
const PREDICTED = [
  ['r1', 'X'],
  ['r2', 'X'],
  ['r3', 'Y'],
  ['r4', 'Y'],
  ['r5', 'Y'],
  ['r6', 'Z'],
  ['r7', 'Z'],
  ['r8', 'W'],
  ['r9', 'V'],
].map(([recordId, clusterId]) => ({ recordId: recordId!, clusterId: clusterId! }));

test('pairwise and person precision, recall and F1 match the hand-computed case', async () => {
  const labelsPath = join(directory, 'truth.csv');
  await writeFile(labelsPath, LABELS);
  const evaluation = evaluateClusters(PREDICTED, await readLabels(labelsPath));
  assert.equal(evaluation.labelled, 8);
  assert.equal(evaluation.unlabelled, 1);
  assert.deepEqual(
    { tp: evaluation.pairs.truePositives, fp: evaluation.pairs.falsePositives, fn: evaluation.pairs.falseNegatives },
    { tp: 2, fp: 3, fn: 2 },
  );
  assert.equal(evaluation.pairs.precision, 0.4);
  assert.equal(evaluation.pairs.recall, 0.5);
  assert.ok(Math.abs(evaluation.pairs.f1 - 4 / 9) < 1e-12);
  assert.deepEqual(
    { exact: evaluation.clusters.exact, predicted: evaluation.clusters.predicted, true: evaluation.clusters.true },
    { exact: 1, predicted: 4, true: 5 },
  );
  assert.equal(evaluation.clusters.precision, 0.25);
  assert.equal(evaluation.clusters.recall, 0.2);
  assert.ok(Math.abs(evaluation.clusters.f1 - 2 / 9) < 1e-12);

  const printed = formatEvaluation(evaluation, 'truth.csv');
  assert.match(printed, /8 records labelled \(1 record not in the labels left out\)/);
  assert.match(printed, /pairs\s+0\.400\s+0\.500\s+0\.444\s+2 pairs joined rightly, 3 wrongly, 2 missed/);
  assert.match(printed, /persons\s+0\.250\s+0\.200\s+0\.222\s+1 of 4 persons found are exactly one true person; 5 true persons/);
});

test('joinery link --labels prints the scores of the clusters it wrote', async () => {
  // Two people written twice each (one with a typo) and one alone: every pair found, none wrong.
  const input = join(directory, 'people.csv');
  const labels = join(directory, 'labels.csv');
  const out = join(directory, 'clusters.csv');
  const rows = ['id,first,last,dob,email'];
  const truth = ['record_id,cluster_id'];
  // Enough other people for the model to learn from.
  const given = ['ann', 'bob', 'cara', 'dev', 'eli', 'fay', 'gus', 'hana', 'ivo', 'jo'];
  const family = ['ames', 'birch', 'cole', 'dunn', 'eyre', 'frost', 'grey', 'hale', 'ince', 'judd'];
  let id = 0;
  for (let p = 0; p < 100; p++) {
    const first = given[p % 10]!;
    const last = family[Math.floor(p / 10)]!;
    const dob = `19${50 + (p % 40)}-0${1 + (p % 9)}-1${p % 10}`;
    const copies = p % 3 === 0 ? 1 : 2;
    for (let c = 0; c < copies; c++) {
      rows.push(`${id},${c === 1 && p % 2 === 0 ? first + 'e' : first},${last},${dob},${first}.${last}${p}@example.org`);
      truth.push(`${id},${p}`);
      id++;
    }
  }
  await writeFile(input, rows.join('\n') + '\n');
  await writeFile(labels, truth.join('\n') + '\n');
  const { stdout } = await run(process.execPath, [
    LINK_MAIN,
    'link',
    '--input',
    input,
    '--id-column',
    'id',
    '--map',
    'first=given_name,last=family_name,dob=birth_date,email=email',
    '--out',
    out,
    '--labels',
    labels,
  ]);
  const written = (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [recordId, clusterId] = line.split(',');
      return { recordId: recordId!, clusterId: clusterId! };
    });
  const expected = formatEvaluation(evaluateClusters(written, await readLabels(labels)), labels);
  assert.equal(stdout.trim(), expected);
  assert.match(stdout, new RegExp(`${id} records labelled`));
  assert.match(stdout, /pairs\s+1\.000\s+1\.000\s+1\.000/);
});

test('a labels file without record_id,cluster_id is bad input: exit 2, one line', async () => {
  const input = join(directory, 'one.csv');
  const labels = join(directory, 'bad-labels.csv');
  await writeFile(input, 'id,first\n1,ann\n');
  await writeFile(labels, 'id,person\n1,a\n');
  const failure = await run(process.execPath, [
    LINK_MAIN,
    'link',
    '--input',
    input,
    '--id-column',
    'id',
    '--map',
    'first=given_name',
    '--out',
    join(directory, 'x.csv'),
    '--labels',
    labels,
  ]).then(
    () => null,
    (error: { code: number; stderr: string }) => error,
  );
  assert.ok(failure, 'the command fails');
  assert.equal(failure.code, 2);
  assert.equal(failure.stderr.trim().split('\n').length, 1);
  assert.match(failure.stderr, /needs columns record_id,cluster_id/);
});

// Decided pairs, scored by hand against PREDICTED above (X = {r1 r2}, Y = {r3 r4 r5}, Z = {r6 r7}):
//   r1-r2 same, joined: right. r3-r4 different, joined: wrong. r4-r5 same, joined: right.
//   r1-r3 same, apart: missed. r6-r8 different, apart: rightly kept apart. r1-r99: not in output.
//   Precision 2/3, recall 2/3, F1 2/3.
test("decided pairs (a review queue's decisions) score the output on the pairs people looked at", async () => {
  const labelsPath = join(directory, 'pairs.csv');
  await writeFile(labelsPath, 'record_a,record_b,same\nr1,r2,yes\nr3,r4,no\nr4,r5,true\nr1,r3,1\nr6,r8,different\nr1,r99,yes\n');
  const labels = await readAnyLabels(labelsPath);
  assert.equal(labels.kind, 'pairs');
  const evaluation = evaluatePairLabels(PREDICTED, labels.kind === 'pairs' ? labels.pairs : []);
  assert.deepEqual(
    {
      labelled: evaluation.labelled,
      missing: evaluation.missing,
      tp: evaluation.pairs.truePositives,
      fp: evaluation.pairs.falsePositives,
      fn: evaluation.pairs.falseNegatives,
      tn: evaluation.pairs.trueNegatives,
    },
    { labelled: 5, missing: 1, tp: 2, fp: 1, fn: 1, tn: 1 },
  );
  assert.ok(Math.abs(evaluation.pairs.precision - 2 / 3) < 1e-12);
  assert.ok(Math.abs(evaluation.pairs.recall - 2 / 3) < 1e-12);
  assert.match(
    formatPairEvaluation(evaluation, 'pairs.csv'),
    /5 pairs scored \(1 with a record not in this output left out\)[\s\S]*0\.667\s+0\.667\s+0\.667\s+2 joined rightly, 1 wrongly, 1 missed, 1 rightly kept apart/,
  );

  await writeFile(labelsPath, 'record_a,record_b,same\nr1,r2,perhaps\n');
  await assert.rejects(readAnyLabels(labelsPath), /row 2: 'same' must be yes or no/);
});

test('joinery link --labels with decided pairs prints how the output fares on those pairs', async () => {
  const input = join(directory, 'pairs-people.csv');
  const labels = join(directory, 'decided-pairs.csv');
  const out = join(directory, 'pairs-clusters.csv');
  const rows = ['id,first,last,dob,email'];
  const given = ['ann', 'bob', 'cara', 'dev', 'eli', 'fay', 'gus', 'hana', 'ivo', 'jo'];
  const family = ['ames', 'birch', 'cole', 'dunn', 'eyre', 'frost', 'grey', 'hale', 'ince', 'judd'];
  for (let p = 0; p < 100; p++) {
    const first = given[p % 10]!;
    const last = family[Math.floor(p / 10)]!;
    rows.push(`a${p},${first},${last},19${50 + (p % 40)}-0${1 + (p % 9)}-1${p % 10},${first}.${last}${p}@example.org`);
    rows.push(`b${p},${first}e,${last},19${50 + (p % 40)}-0${1 + (p % 9)}-1${p % 10},${first}.${last}${p}@example.org`);
  }
  await writeFile(input, rows.join('\n') + '\n');
  // Two pairs a reviewer called the same person, one they kept apart, one naming a record not in the file.
  await writeFile(labels, 'record_a,record_b,same\na1,b1,yes\na2,b2,yes\na3,a4,no\na5,zz,yes\n');
  const { stdout } = await run(process.execPath, [
    LINK_MAIN,
    'link',
    '--input',
    input,
    '--id-column',
    'id',
    '--map',
    'first=given_name,last=family_name,dob=birth_date,email=email',
    '--out',
    out,
    '--labels',
    labels,
  ]);
  assert.match(
    stdout,
    /Against the labelled pairs in .*decided-pairs\.csv: 3 pairs scored \(1 with a record not in this output left out\)/,
  );
  assert.match(stdout, /pairs\s+1\.000\s+1\.000\s+1\.000\s+2 joined rightly, 0 wrongly, 0 missed, 1 rightly kept apart/);
});
