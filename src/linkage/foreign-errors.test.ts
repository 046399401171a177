// One test per kind of error agencies' extracts carry: for each, a pair of records of one
// person that must link and a pair of two people that must not, linked through the same
// pipeline as `joinery link` (a CSV with no NHS numbers, the model learnt from the file) and
// matched online as an import would.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMappings, readLinkRecords } from './csv-input.ts';
import { seededRandom } from './estimate.ts';
import { runLinkJob } from './job.ts';
import { addRecord, createLinkageIndex, matchRecord } from './online.ts';
import type { LinkRecord } from './types.ts';

const COLUMNS = ['id', 'first', 'last', 'dob', 'city', 'email', 'mobile'] as const;
type Row = Record<(typeof COLUMNS)[number], string>;
const MAP = 'first=given_name,last=family_name,dob=birth_date,city=text:city,email=email,mobile=phone';

// The cases: each id names its error type and whether the pair is one person (same) or two (other).
const CASES: Row[] = [
  // Given and family names written the other way round, the same birth date; the email left blank once.
  row('swap-same-1', 'anneliese', 'kowalczyk', '1971-03-14', 'leeds', 'anneliese.k@example.org', ''),
  row('swap-same-2', 'kowalczyk', 'anneliese', '1971-03-14', 'leeds', '', ''),
  // One name shared crosswise is not a swap: two people born on one day in one town.
  row('swap-other-1', 'peregrine', 'osei', '1960-04-11', 'hull', 'p.osei@example.org', ''),
  row('swap-other-2', 'osei', 'villiers', '1960-04-11', 'hull', 'osei.v@example.org', ''),
  // Day and month transposed.
  row('date-same-1', 'ottilie', 'brandreth', '1984-02-09', 'york', 'ottilie.b@example.org', ''),
  row('date-same-2', 'ottilie', 'brandreth', '1984-09-02', 'york', 'ottilie.b@example.org', ''),
  // A common name and a birth year, nothing more: two people.
  row('date-other-1', 'james', 'smith', '1984-02-09', 'london', '', ''),
  row('date-other-2', 'james', 'smith', '1984-11-30', 'london', '', ''),
  // Two letters transposed in the email's domain; birth date and town blank on one side.
  row('email-same-1', 'philippa', 'ravenscroft', '1990-06-17', 'bristol', 'philippa.ravenscroft@gmail.com', ''),
  row('email-same-2', 'philippa', 'ravenscroft', '', '', 'philippa.ravenscroft@gmial.com', ''),
  // Namesakes' numbered accounts one digit apart are two mailboxes, not a typo.
  row('email-other-1', 'david', 'jones', '', 'cardiff', 'david.jones12@gmail.com', ''),
  row('email-other-2', 'david', 'jones', '', 'cardiff', 'david.jones13@gmail.com', ''),
  // Two digits of a mobile transposed; birth date blank on one side.
  row('phone-same-1', 'ingrid', 'abernethy', '1966-12-01', 'derby', '', '07700900123'),
  row('phone-same-2', 'ingrid', 'abernethy', '', 'derby', '', '07700900213'),
  // A household: one phone and town, one surname; different given names and birth dates.
  row('phone-other-1', 'maeve', 'gallagher', '1950-01-21', 'luton', '', '07700900555'),
  row('phone-other-2', 'cormac', 'gallagher', '1948-07-07', 'luton', '', '07700900555'),
  // Blanks are no evidence: the town written once and left blank once, a given name blank.
  row('blank-same-1', 'ruth', 'okonjo', '1975-10-30', 'bristol', 'ruth.okonjo@example.org', ''),
  row('blank-same-2', '', 'okonjo', '1975-10-30', '', 'ruth.okonjo@example.org', ''),
  // ... but blanks do not make two people one either: a surname and a town, the rest blank or different.
  row('blank-other-1', 'samuel', 'whitcombe', '1992-05-05', 'exeter', 's.whitcombe@example.org', ''),
  row('blank-other-2', '', 'whitcombe', '1961-08-19', 'exeter', '', ''),
  // A father and son of one name at one address (phone), birth dates wholly different.
  row('household-other-1', 'desmond', 'achterberg', '1958-03-03', 'stoke', '', '07700900777'),
  row('household-other-2', 'desmond', 'achterberg', '1989-11-12', 'stoke', '', '07700900777'),
  // Another father and son, and a record of one of them with no birth date that matches both
  // equally: it may join either, never the two of them together.
  row('chain-father', 'horatio', 'pennyfeather', '1931-05-02', 'bath', '', '07700900888'),
  row('chain-son', 'horatio', 'pennyfeather', '1962-09-17', 'bath', '', '07700900888'),
  row('chain-undated', 'horatio', 'pennyfeather', '', 'bath', '', '07700900888'),
];

function row(id: string, first: string, last: string, dob: string, city: string, email: string, mobile: string): Row {
  return { id, first, last, dob, city, email, mobile };
}

/**
 * Enough other people for the model to learn from: 700 people, a third written more than
 * once with the same kinds of error (so there are matches to learn m from), with common names.
 */
function background(): Row[] {
  const random = seededRandom(18);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const given = [
    'james',
    'john',
    'mary',
    'sarah',
    'david',
    'emma',
    'michael',
    'laura',
    'peter',
    'helen',
    'paul',
    'claire',
    'mark',
    'rachel',
    'tom',
    'amy',
    'ali',
    'fatima',
    'piotr',
    'anna',
    'chloe',
    'ryan',
    'grace',
    'liam',
  ];
  const family = [
    'smith',
    'jones',
    'taylor',
    'brown',
    'williams',
    'wilson',
    'evans',
    'patel',
    'khan',
    'walker',
    'wright',
    'hughes',
    'hall',
    'green',
    'wood',
    'clarke',
    'begum',
    'nowak',
    'murphy',
    'kelly',
    'lewis',
    'harris',
    'young',
    'king',
    'allen',
    'baker',
    'reed',
    'moss',
    'ward',
    'cole',
  ];
  const cities = ['london', 'leeds', 'york', 'hull', 'bath', 'derby', 'luton', 'bristol', 'exeter', 'stoke', 'cardiff', 'leicester'];
  const domains = ['gmail.com', 'outlook.com', 'example.org', 'btinternet.com'];
  const typo = (text: string): string => {
    if (text.length < 3) return text;
    const at = 1 + Math.floor(random() * (text.length - 2));
    return text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2);
  };
  const rows: Row[] = [];
  for (let p = 0; p < 700; p++) {
    const first = pick(given);
    const last = pick(family);
    const dob = `${1935 + Math.floor(random() * 70)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
    const base = row(
      `bg${p}-0`,
      first,
      last,
      dob,
      pick(cities),
      `${first}.${last}${p}@${pick(domains)}`,
      `07${String(100000000 + p * 1237).slice(0, 9)}`,
    );
    rows.push(base);
    const copies = random() < 0.35 ? 1 + Math.floor(random() * 3) : 0;
    for (let c = 1; c <= copies; c++) {
      const copy = { ...base, id: `bg${p}-${c}` };
      const change = random();
      if (change < 0.15) [copy.first, copy.last] = [copy.last, copy.first];
      else if (change < 0.3) copy.dob = `${dob.slice(0, 4)}-${dob.slice(8, 10)}-${dob.slice(5, 7)}`;
      else if (change < 0.45) copy.email = typo(copy.email);
      else if (change < 0.55) copy.mobile = typo(copy.mobile);
      else if (change < 0.7) copy.city = '';
      else if (change < 0.8) copy.first = '';
      else if (change < 0.9) copy.last = typo(copy.last);
      else copy.email = '';
      rows.push(copy);
    }
  }
  return rows;
}

const csvLine = (values: readonly string[]): string => values.join(',');
const directory = await mkdtemp(join(tmpdir(), 'joinery-foreign-errors-'));
test.after(() => rm(directory, { recursive: true, force: true }));
const input = join(directory, 'extract.csv');
await writeFile(input, [csvLine(COLUMNS), ...[...background(), ...CASES].map((r) => csvLine(COLUMNS.map((c) => r[c])))].join('\n') + '\n');
const { rows, result } = await runLinkJob({ inputs: [input], idColumn: 'id', maps: [MAP], workers: 1 });
const records = await readLinkRecords(input, 'id', parseMappings([MAP]));
const clusterOf = new Map(rows.map((r) => [r.recordId, r.clusterId]));
const recordOf = new Map(records.map((r) => [r.id, r]));

function assertCase(kind: string, what: string): void {
  test(`${kind}: ${what}`, () => {
    const same = (a: string, b: string) => clusterOf.get(a) === clusterOf.get(b);
    assert.ok(same(`${kind}-same-1`, `${kind}-same-2`), `${kind}: the two records of one person are one person`);
    assert.ok(!same(`${kind}-other-1`, `${kind}-other-2`), `${kind}: the two people stay two people`);
  });
}

// The model learnt without NHS numbers: the fields mapped, and nothing else.
test('the file has no NHS numbers and the model learns from the other fields', () => {
  assert.deepEqual(
    result.model.fields.map((f) => f.spec.key),
    ['given_name', 'family_name', 'birth_date', 'email', 'phone', 'text:city'],
  );
  const weight = (field: string, label: string): number => {
    const level = result.model.fields.find((f) => f.spec.key === field)!.levels.find((l) => l.label === label)!;
    return Math.log2(level.m / level.u);
  };
  // Each forgiving level is evidence for, and each plain disagreement evidence against.
  for (const [field, label] of [
    ['given_name', 'swapped_with_family_name'],
    ['birth_date', 'swapped_day_month'],
    ['email', 'damerau_levenshtein<=1'],
    ['phone', 'damerau_levenshtein<=1'],
  ] as const) {
    assert.ok(weight(field, label) > 3, `${field} ${label}: ${weight(field, label)}`);
  }
  for (const field of ['given_name', 'family_name', 'birth_date'])
    assert.ok(weight(field, 'else') < -3, `${field} else: ${weight(field, 'else')}`);
});

assertCase('swap', 'names written the other way round link; one name shared crosswise does not');
assertCase('date', 'day and month transposed link; a common name and birth year alone do not');
assertCase('email', 'a transposition in the email domain links; numbered namesake accounts do not');
assertCase('phone', 'a transposed mobile links; a household sharing a mobile does not');
assertCase('blank', 'a blank town or given name is no evidence against; blanks are no evidence for');

test('household: a father and son of one name and address, born years apart, are not linked', () => {
  assert.notEqual(clusterOf.get('household-other-1'), clusterOf.get('household-other-2'));
});

test('a record with no birth date does not chain a father and son into one person', () => {
  assert.notEqual(clusterOf.get('chain-father'), clusterOf.get('chain-son'));
});

test('online matching (as an import) makes the same calls: the same person links, the other person does not', () => {
  const index = createLinkageIndex(result.model);
  const indexed = new Set<string>();
  for (const r of records) {
    if (/-(same|other)-2$/.test(r.id)) continue;
    addRecord(index, r, clusterOf.get(r.id)!);
    indexed.add(r.id);
  }
  for (const kind of ['swap', 'date', 'email', 'phone', 'blank']) {
    const same = matchRecord(index, result.model, recordOf.get(`${kind}-same-2`) as LinkRecord);
    assert.equal(same.decision, 'link', `${kind}: the same person links`);
    assert.equal(same.personId, clusterOf.get(`${kind}-same-1`), `${kind}: to the right person`);
    const other = matchRecord(index, result.model, recordOf.get(`${kind}-other-2`) as LinkRecord);
    assert.ok(
      !(other.decision === 'link' && other.personId === clusterOf.get(`${kind}-other-1`)),
      `${kind}: the other person is not linked to them`,
    );
  }
  const son = matchRecord(index, result.model, recordOf.get('household-other-2') as LinkRecord);
  assert.notEqual(son.decision, 'link', 'a father and son of one name are never linked online');
});
