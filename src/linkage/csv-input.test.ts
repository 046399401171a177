import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { LinkInputError, parseMappings, readLinkColumns, readLinkRecords, rowToRecord } from './csv-input.ts';
import type { LinkRecord } from './types.ts';

const directory = await mkdtemp(join(tmpdir(), 'joinery-csv-input-'));
test.after(() => rm(directory, { recursive: true, force: true }));

const HEADER = 'id,first,last,middle,town';
const MAPPINGS = parseMappings(['first=given_name,last=family_name,middle=given_name,town=text:town']);

/** What reading through csv-parse (bom, trim, skip_empty_lines, relax_column_count) and rowToRecord gives. */
function expected(csv: string): LinkRecord[] {
  const rows = parse(csv, {
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    columns: (header: string[]) => header.map((column) => column.trim()),
  }) as Record<string, string>[];
  return rows.map((row) => rowToRecord(row.id ?? '', row, MAPPINGS));
}

let files = 0;
async function read(csv: string): Promise<LinkRecord[]> {
  const path = join(directory, `input-${files++}.csv`);
  await writeFile(path, csv);
  return readLinkRecords(path, 'id', MAPPINGS);
}

test('reads what csv-parse reads: quotes, doubled quotes, line breaks in quotes, CRLF, a BOM, blank lines, short rows, spaces around fields', async () => {
  const lines = [
    '\uFEFFid , first,last,middle,town',
    '1,Anna,"Smith, Jones",Marie,"Leeds"',
    '',
    '"2", "Bob" ,O\'Brien,,  Hull  ',
    '3,"say ""hi""","two\nlines",,York',
    '   ',
    '4,Zoë',
    '5,,,,',
    '6,Ann,Lee,Jo,Bath',
  ];
  for (const newline of ['\n', '\r\n']) {
    const csv = lines.join(newline);
    const records = await read(csv);
    assert.deepEqual(records, expected(csv));
    assert.equal(records.length, 6);
    assert.equal(records[0]!.fields.family_name, 'Smith, Jones');
    assert.equal(records[0]!.fields.given_name, 'Anna Marie', 'two columns mapped to one field are joined');
    assert.equal(records[2]!.fields.given_name, 'say "hi"');
  }
  // Unlike csv-parse, which takes the first line's ending for every line, any of LF, CRLF and CR ends a line.
  assert.deepEqual(await read(`${HEADER}\r\n1,Ann\n2,Bob\r3,Cy\r\n`), expected(`${HEADER}\n1,Ann\n2,Bob\n3,Cy\n`));
});

test('random files read the same as through csv-parse', async () => {
  const cell = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'B', ' ', 'é', '-', '1'), maxLength: 6 }),
    fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', ' ', 'ß'), maxLength: 6 }).map((text) => `"${text.replace(/"/g, '""')}"`),
  );
  const row = fc.array(cell, { minLength: 1, maxLength: 6 }).map((cells) => cells.join(','));
  await fc.assert(
    fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', '\r\n'), async (rows, newline) => {
      const csv = [HEADER, ...rows.map((line, i) => `${i},${line}`)].join(newline) + newline;
      assert.deepEqual(await read(csv), expected(csv));
    }),
    { numRuns: 200 },
  );
});

test('values are numbered once per field; record ids come back as written', async () => {
  const path = join(directory, 'columns.csv');
  await writeFile(path, `${HEADER}\nr1,Ann,Lee,,Leeds\nr2,Ann,Lee,,Leeds\n"r,3",Bob,Lee,,\n`);
  const table = await readLinkColumns([path], 'id', MAPPINGS);
  assert.equal(table.count, 3);
  assert.deepEqual(table.keys, ['given_name', 'family_name', 'text:town']);
  assert.deepEqual(table.raw, [['Ann', 'Bob'], ['Lee'], ['Leeds']]);
  assert.deepEqual(
    [0, 1, 2].map((record) => table.recordIds.get(record)),
    ['r1', 'r2', 'r,3'],
  );
});

test('a stray or unclosed quote is bad input naming the file', async () => {
  for (const row of ['1,an"n', '1,"ann', '1,"ann"x']) {
    await assert.rejects(
      read(`${HEADER}\n${row}\n`),
      (error: Error) => error instanceof LinkInputError && /cannot parse .* as CSV/.test(error.message),
    );
  }
});
