import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { runLinkJob } from './job.ts';
import { pairwiseScores, syntheticPeople } from './test-data.ts';
import type { LinkRecord } from './types.ts';

const run = promisify(execFile);
const LINK_MAIN = fileURLToPath(new URL('./link-main.ts', import.meta.url));
const directory = await mkdtemp(join(tmpdir(), 'joinery-link-'));
test.after(() => rm(directory, { recursive: true, force: true }));

const MAP = 'first=given_name,last=family_name,dob=birth_date,gender=sex,pc=postcode,street=address,nhs=nhs_number';

function toCsv(records: readonly LinkRecord[]): string {
  return stringify(
    records.map((r) => [
      r.id,
      r.fields.given_name,
      r.fields.family_name,
      r.fields.birth_date,
      r.fields.sex,
      r.fields.postcode,
      r.fields.address,
      r.fields.nhs_number,
      'note',
    ]),
    { header: true, columns: ['ref', 'first', 'last', 'dob', 'gender', 'pc', 'street', 'nhs', 'remarks'] },
  );
}

async function linkCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [LINK_MAIN, 'link', ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

async function readClusters(path: string): Promise<Map<string, string>> {
  const rows = parse(await readFile(path, 'utf8'), { columns: true }) as { record_id: string; cluster_id: string }[];
  return new Map(rows.map((row) => [row.record_id, row.cluster_id]));
}

const people = syntheticPeople(150, 21);
const personOf = new Map(people.flatMap((p) => p.records.map((r) => [r.id, p.personId] as const)));

test('link deduplicates one file: a row per record, clusters agree with the truth', async () => {
  const input = join(directory, 'people.csv');
  const out = join(directory, 'clusters.csv');
  const records = people.flatMap((p) => p.records);
  await writeFile(input, toCsv(records));
  const result = await linkCli(['--input', input, '--id-column', 'ref', '--map', MAP, '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(await readFile(out, 'utf8'), /^record_id,cluster_id\n/);
  const clusters = await readClusters(out);
  assert.equal(clusters.size, records.length);
  const ids = [...clusters.keys()];
  const scores = pairwiseScores(
    ids.map((id) => personOf.get(id)!),
    ids.map((id) => clusters.get(id)!),
  );
  assert.ok(scores.f1 >= 0.95, JSON.stringify(scores));
});

test('link across two files, with --map repeated and duplicates inside a file', async () => {
  const fileA = join(directory, 'a.csv');
  const fileB = join(directory, 'b.csv');
  const out = join(directory, 'linked.csv');
  // A holds each person's first record (and a within-file duplicate for some); B the rest.
  const inA = people.flatMap((p, i) => (i % 10 === 0 && p.records.length > 2 ? p.records.slice(0, 2) : p.records.slice(0, 1)));
  const inAIds = new Set(inA.map((r) => r.id));
  const inB = people.flatMap((p) => p.records.filter((r) => !inAIds.has(r.id)));
  await writeFile(fileA, toCsv(inA));
  await writeFile(fileB, toCsv(inB));
  const [firstHalf, secondHalf] = [MAP.split(',').slice(0, 3).join(','), MAP.split(',').slice(3).join(',')];
  const result = await linkCli([
    '--input',
    fileA,
    '--input',
    fileB,
    '--id-column',
    'ref',
    '--map',
    firstHalf,
    '--map',
    secondHalf,
    '--out',
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const clusters = await readClusters(out);
  assert.equal(clusters.size, inA.length + inB.length);
  const ids = [...clusters.keys()];
  const scores = pairwiseScores(
    ids.map((id) => personOf.get(id)!),
    ids.map((id) => clusters.get(id)!),
  );
  assert.ok(scores.f1 >= 0.95, JSON.stringify(scores));
});

test('bad input exits 2 with one line on stderr', async () => {
  const good = join(directory, 'good.csv');
  await writeFile(good, toCsv(people[0]!.records));
  const empty = join(directory, 'empty.csv');
  await writeFile(empty, '');
  const out = join(directory, 'never.csv');
  const cases: [string, string[], RegExp][] = [
    ['missing column', ['--input', good, '--id-column', 'ref', '--map', 'surname=family_name', '--out', out], /no column 'surname'/],
    ['missing id column', ['--input', good, '--id-column', 'id', '--map', MAP, '--out', out], /no column 'id'/],
    ['unreadable file', ['--input', join(directory, 'absent.csv'), '--id-column', 'ref', '--map', MAP, '--out', out], /cannot read/],
    ['unknown field', ['--input', good, '--id-column', 'ref', '--map', 'first=forename', '--out', out], /unknown field 'forename'/],
    ['empty file', ['--input', empty, '--id-column', 'ref', '--map', MAP, '--out', out], /is empty/],
    ['no --map', ['--input', good, '--id-column', 'ref', '--out', out], /no fields mapped/],
    ['no --input', ['--id-column', 'ref', '--map', MAP, '--out', out], /no input/],
    ['malformed --map', ['--input', good, '--id-column', 'ref', '--map', 'first', '--out', out], /SRC=FIELD/],
    ['unknown option', ['--input', good, '--id-column', 'ref', '--map', MAP, '--out', out, '--fast'], /unknown option/],
    [
      'report in a missing folder',
      ['--input', good, '--id-column', 'ref', '--map', MAP, '--out', out, '--report', join(directory, 'absent', 'report.html')],
      /cannot write report file .*absent.* does not exist/,
    ],
    [
      'report path is a folder',
      ['--input', good, '--id-column', 'ref', '--map', MAP, '--out', out, '--report', directory],
      /cannot write report file .* it is a folder/,
    ],
  ];
  for (const [name, args, message] of cases) {
    const result = await linkCli(args);
    assert.equal(result.code, 2, `${name}: exit code`);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${name}: one line, got ${JSON.stringify(result.stderr)}`);
    assert.match(lines[0]!, message, name);
    assert.doesNotMatch(result.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
});

test('--review lists the doubtful pairs for a person to decide; --decisions makes those decisions hold', async () => {
  const input = join(directory, 'review-people.csv');
  // Doubt for a person to settle: for 30 people, a record holding only their names and sex (no
  // birth date, NHS number, postcode or address): it may be them or a namesake.
  const twins = people.slice(0, 30).map((p, i) => {
    const { given_name, family_name, sex } = p.records[0]!.fields;
    return { id: `names-only-${i}`, fields: { given_name, family_name, sex }, text: {} };
  });
  const records = [...people.flatMap((p) => p.records), ...twins];
  await writeFile(input, toCsv(records));
  const out = join(directory, 'review-clusters.csv');
  const review = join(directory, 'review.csv');
  const first = await linkCli(['--input', input, '--id-column', 'ref', '--map', MAP, '--out', out, '--review', review]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /doubtful pairs to decide/);
  const clusters = await readClusters(out);
  const reviewText = await readFile(review, 'utf8');
  assert.match(reviewText, /^record_a,record_b,match_probability,same,a given_name,b given_name,/);
  const listed = parse(reviewText, { columns: true }) as Record<string, string>[];
  assert.ok(listed.length > 0, 'this file has doubtful pairs');
  for (const row of listed) {
    assert.equal(row.same, '', 'left for the person to fill in');
    assert.notEqual(clusters.get(row.record_a!), clusters.get(row.record_b!), 'a listed pair is in two persons now');
    const probability = Number(row.match_probability);
    assert.ok(probability > 0 && probability <= 1, row.match_probability);
  }
  // The person decides: the first listed pair is the same person; two records now in one person are not.
  const joined = listed[0]!;
  const byCluster = new Map<string, string[]>();
  for (const [id, cluster] of clusters) byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), id]);
  const [splitA, splitB] = [...byCluster.values()].find((members) => members.length >= 2 && !members.includes(joined.record_a!))!;
  const decided = join(directory, 'decided.csv');
  const undecided = listed.slice(1, 3).map((row) => [row.record_a, row.record_b, '']);
  await writeFile(
    decided,
    stringify([['record_a', 'record_b', 'same'], [joined.record_a, joined.record_b, 'yes'], [splitA, splitB, 'no'], ...undecided]),
  );
  const out2 = join(directory, 'decided-clusters.csv');
  const review2 = join(directory, 'review2.csv');
  const second = await linkCli([
    '--input',
    input,
    '--id-column',
    'ref',
    '--map',
    MAP,
    '--out',
    out2,
    '--review',
    review2,
    '--decisions',
    decided,
  ]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /1 pairs decided the same and 1 different/);
  const after = await readClusters(out2);
  assert.equal(after.get(joined.record_a!), after.get(joined.record_b!), 'decided the same: one person');
  assert.notEqual(after.get(splitA!), after.get(splitB!), 'decided different: two persons');
  const listedAgain = parse(await readFile(review2, 'utf8'), { columns: true }) as Record<string, string>[];
  const asked = new Set(listedAgain.map((row) => [row.record_a, row.record_b].sort().join()));
  assert.ok(!asked.has([joined.record_a, joined.record_b].sort().join()), 'a pair decided the same is not asked again');
  assert.ok(!asked.has([splitA, splitB].sort().join()), 'a pair decided different is not asked again');

  // A decision naming a record the input does not hold, or a word that is not yes or no, is bad input.
  for (const [rows, message] of [
    [[[joined.record_a, 'no-such-record', 'yes']], /record 'no-such-record' is not in the input/],
    [[[joined.record_a, joined.record_b, 'maybe']], /decisions file .* row 2: 'same' must be yes or no/],
  ] as const) {
    const bad = join(directory, 'bad-decisions.csv');
    await writeFile(bad, stringify([['record_a', 'record_b', 'same'], ...rows]));
    const result = await linkCli([
      '--input',
      input,
      '--id-column',
      'ref',
      '--map',
      MAP,
      '--out',
      join(directory, 'never.csv'),
      '--decisions',
      bad,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr.trim(), message);
  }
});

test('a file of 200,000 records links in one run, every record in the output', async () => {
  const many = syntheticPeople(100_000, 5);
  const records = many.flatMap((p) => p.records);
  assert.ok(records.length > 190_000, `records: ${records.length}`);
  const input = join(directory, 'many.csv');
  await writeFile(input, toCsv(records));
  const { rows } = await runLinkJob({ inputs: [input], idColumn: 'ref', maps: [MAP] });
  assert.equal(rows.length, records.length);
  const truth = new Map(many.flatMap((p) => p.records.map((r) => [r.id, p.personId] as const)));
  const scores = pairwiseScores(
    rows.map((row) => truth.get(row.recordId)!),
    rows.map((row) => row.clusterId),
  );
  assert.ok(scores.f1 >= 0.95, JSON.stringify(scores));
});
