import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { createPlaceFrame, generateHouseholds } from './generate.ts';
import { RECORD_COLUMNS, csvField, writePlaceCsv } from './write-csv.ts';

const PEOPLE = 3000;

const RECORD_FILES = [
  'records_gp.csv',
  'records_hospital.csv',
  'records_mental_health.csv',
  'records_adult_social_care.csv',
  'records_children_social_care.csv',
  'records_housing.csv',
  'records_probation.csv',
  'records_school.csv',
  'records_charity.csv',
  'records_drug_alcohol.csv',
];
const OTHER_FILES = [
  'localities.csv',
  'small_areas.csv',
  'postcodes.csv',
  'organisations.csv',
  'teams.csv',
  'practitioners.csv',
  'services.csv',
  'households.csv',
  'people.csv',
  'relationships.csv',
  'needs.csv',
  'events.csv',
  'truth.csv',
];

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'synth-csv-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readCsv(dir: string, name: string): Promise<Record<string, string>[]> {
  return parse(await readFile(join(dir, name), 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

async function headerOf(dir: string, name: string): Promise<string> {
  return (await readFile(join(dir, name), 'utf8')).split('\n', 1)[0];
}

async function fileHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort())
    out[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
  return out;
}

test('csvField quotes only what needs quoting', () => {
  assert.equal(csvField('Smith'), 'Smith');
  assert.equal(csvField('Flat 3, 12 Mill Lane'), '"Flat 3, 12 Mill Lane"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField(null), '');
  assert.equal(csvField(42), '42');
});

test('writes every file with the agreed headers, and the CSV parses back to what was generated', async () => {
  await withTempDir(async (dir) => {
    const progress: Array<[number, number]> = [];
    const summary = await writePlaceCsv({
      seed: 11,
      people: PEOPLE,
      outDir: dir,
      onProgress: (done, total) => progress.push([done, total]),
    });
    const names = await readdir(dir);
    for (const f of [...RECORD_FILES, ...OTHER_FILES, 'manifest.json']) assert.ok(names.includes(f), `missing ${f}`);

    for (const f of RECORD_FILES) assert.equal(await headerOf(dir, f), RECORD_COLUMNS.join(','), f);
    assert.equal(
      await headerOf(dir, 'records_gp.csv'),
      'source,source_id,given_name,family_name,birth_date,sex,postcode,address,nhs_number,phone,email,recorded_at',
    );
    assert.equal(await headerOf(dir, 'truth.csv'), 'source,source_id,person_id');

    // Row counts in the summary match what parses back.
    for (const f of [...RECORD_FILES, ...OTHER_FILES]) assert.equal((await readCsv(dir, f)).length, summary.files[f], f);
    assert.ok(summary.people >= PEOPLE);
    assert.ok(summary.bytes > 0);
    assert.equal(progress.at(-1)?.[0], summary.people);

    // Truth covers every record exactly once, and every record's person is in people.csv.
    const people = new Set((await readCsv(dir, 'people.csv')).map((p) => p.id));
    const truth = await readCsv(dir, 'truth.csv');
    const truthKeys = new Map(truth.map((t) => [`${t.source}|${t.source_id}`, t.person_id]));
    assert.equal(truthKeys.size, truth.length);
    let recordRows = 0;
    for (const f of RECORD_FILES) {
      for (const r of await readCsv(dir, f)) {
        recordRows++;
        const person = truthKeys.get(`${r.source}|${r.source_id}`);
        assert.ok(person && people.has(person), `${r.source} ${r.source_id} has no truth`);
        assert.ok(r.birth_date === '' || /^\d{4}-\d{2}-\d{2}$/.test(r.birth_date), r.birth_date);
      }
    }
    assert.equal(recordRows, truth.length);
    const housing = await readCsv(dir, 'records_housing.csv');
    assert.ok(
      housing.some((r) => r.source === 'HOUS') && housing.some((r) => r.source.startsWith('HA')),
      'council and housing association records share a file',
    );

    // Fields with commas (flat addresses) survive the round trip exactly.
    const opts = { seed: 11, people: PEOPLE };
    const generated = [...generateHouseholds(createPlaceFrame(opts), opts)];
    const households = await readCsv(dir, 'households.csv');
    assert.deepEqual(
      households.map((h) => h.address_line),
      generated.map((b) => b.household.addressLine),
    );
    assert.ok(
      households.some((h) => h.address_line.includes(',')),
      'some addresses need quoting',
    );
    const csvPeople = await readCsv(dir, 'people.csv');
    assert.deepEqual(
      csvPeople.map((p) => p.nhs_number),
      generated.flatMap((b) => b.people.map((p) => p.nhsNumber ?? '')),
    );

    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.seed, 11);
    assert.equal(manifest.people, summary.people);
    assert.deepEqual(manifest.files, summary.files);
    assert.match(manifest.columnMap, /^given_name=given_name,family_name=family_name,birth_date=birth_date/);
    assert.deepEqual([...manifest.recordFiles].sort(), [...RECORD_FILES].sort());
  });
});

test('the same seed writes byte-identical files; another seed does not', async () => {
  await withTempDir(async (root) => {
    await writePlaceCsv({ seed: 5, people: 1500, outDir: join(root, 'a') });
    await writePlaceCsv({ seed: 5, people: 1500, outDir: join(root, 'b') });
    await writePlaceCsv({ seed: 6, people: 1500, outDir: join(root, 'c') });
    const a = await fileHashes(join(root, 'a'));
    assert.deepEqual(await fileHashes(join(root, 'b')), a);
    const c = await fileHashes(join(root, 'c'));
    assert.notEqual(c['people.csv'], a['people.csv']);
    assert.notEqual(c['records_gp.csv'], a['records_gp.csv']);
  });
});
