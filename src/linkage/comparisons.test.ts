import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compareDate,
  compareDateNumbers,
  DATE_LEVELS,
  GIVEN_NAME_LEVELS,
  POSTCODE_LEVELS,
  compareField,
  createComparator,
  levelLabels,
} from './comparisons.ts';
import { prepareRecord } from './prepare.ts';
import { NULL_LEVEL } from './types.ts';
import type { FieldName, FieldSpec, LinkRecord } from './types.ts';
import { areNicknames, nicknamePairCount } from './nicknames.ts';

const SPECS: FieldSpec[] = (['given_name', 'family_name', 'birth_date', 'postcode', 'nhs_number'] as FieldName[]).map((name) => ({
  key: name,
  kind: name,
}));
const comparator = createComparator(SPECS);

function record(fields: LinkRecord['fields']): ReturnType<typeof prepareRecord> {
  return prepareRecord(SPECS, { id: 'x', fields, text: {} });
}

function label(field: FieldName, a: LinkRecord['fields'], b: LinkRecord['fields']): string {
  const slot = SPECS.findIndex((spec) => spec.key === field);
  const level = compareField(comparator, slot, record(a), record(b));
  return level === NULL_LEVEL ? 'null' : levelLabels(SPECS[slot]!.kind)[level]!;
}

test('date levels: exact, swapped day/month, one-digit typo, within a year, else', () => {
  const date = (a: string, b: string): string => label('birth_date', { birth_date: a }, { birth_date: b });
  assert.equal(date('1980-03-07', '19800307'), 'exact');
  assert.equal(date('1980-03-07', '1980-07-03'), 'swapped_day_month');
  assert.equal(date('1980-03-07', '1981-03-07'), 'one_digit_typo');
  assert.equal(date('1980-03-07', '1980-03-17'), 'one_digit_typo');
  assert.equal(date('1980-03-07', '1980-11-20'), 'within_a_year');
  assert.equal(date('1980-03-07', '1960-11-20'), 'else');
  assert.equal(date('1980-03-07', ''), 'null');
  assert.deepEqual(DATE_LEVELS, ['exact', 'swapped_day_month', 'one_digit_typo', 'within_a_year', 'else']);
});

test('postcode levels: unit, sector, typo, district, else', () => {
  const postcode = (a: string, b: string): string => label('postcode', { postcode: a }, { postcode: b });
  assert.equal(postcode('rv3 2ab', 'RV32AB'), 'exact');
  assert.equal(postcode('RV3 2AB', 'RV3 2XY'), 'sector');
  assert.equal(postcode('RV3 2AB', 'RV3 5XY'), 'district');
  assert.equal(postcode('RV3 2AB', 'LS6 5XY'), 'else');
  assert.equal(postcode('4223', '4233'), 'damerau_levenshtein<=1');
  assert.equal(postcode('4223', '2600'), 'else');
  assert.equal(POSTCODE_LEVELS.length, 5);
});

test('NHS numbers only count when both are valid', () => {
  const nhs = (a: string, b: string): string => label('nhs_number', { nhs_number: a }, { nhs_number: b });
  assert.equal(nhs('943 476 5919', '9434765919'), 'both_valid_equal');
  assert.equal(nhs('9434765919', '4010232137'), 'both_valid_different');
  assert.equal(nhs('9434765919', '9434765918'), 'null'); // one fails the check digit
  assert.equal(nhs('9434765919', ''), 'null');
});

test('given names match exactly, by nickname, by typo, phonetically and when swapped', () => {
  const given = (a: LinkRecord['fields'], b: LinkRecord['fields']): string => label('given_name', a, b);
  assert.equal(given({ given_name: 'Robert' }, { given_name: 'robert' }), 'exact');
  assert.equal(given({ given_name: 'Bob' }, { given_name: 'Robert' }), 'nickname');
  assert.equal(given({ given_name: 'Peggy' }, { given_name: 'Margaret' }), 'nickname');
  assert.equal(given({ given_name: 'jonh' }, { given_name: 'john' }), 'damerau_levenshtein<=1');
  assert.equal(given({ given_name: 'catherine' }, { given_name: 'kathryn' }), 'double_metaphone');
  assert.equal(
    given({ given_name: 'smith', family_name: 'anna' }, { given_name: 'anna', family_name: 'smith' }),
    'swapped_with_family_name',
  );
  assert.equal(given({ given_name: 'anna' }, { given_name: 'zoltan' }), 'else');
  assert.ok(GIVEN_NAME_LEVELS.includes('nickname'));
});

test('the nickname table is symmetric and holds at least 60 pairs', () => {
  assert.ok(nicknamePairCount() >= 60);
  assert.ok(areNicknames('liz', 'elizabeth') && areNicknames('elizabeth', 'liz'));
  assert.ok(areNicknames('bill', 'william'));
  assert.ok(!areNicknames('bill', 'robert'));
});

const CONTACT_SPECS: FieldSpec[] = (['given_name', 'family_name', 'email', 'phone'] as FieldName[]).map((name) => ({
  key: name,
  kind: name,
}));
const contactComparator = createComparator(CONTACT_SPECS);

function contactLevels(a: LinkRecord['fields'], b: LinkRecord['fields']): string[] {
  const [x, y] = [
    prepareRecord(CONTACT_SPECS, { id: 'a', fields: a, text: {} }),
    prepareRecord(CONTACT_SPECS, { id: 'b', fields: b, text: {} }),
  ];
  return CONTACT_SPECS.map((spec, slot) => {
    const level = compareField(contactComparator, slot, x, y);
    return level === NULL_LEVEL ? 'null' : levelLabels(spec.kind)[level]!;
  });
}

test('a swap counts once: the given name takes the swapped level, the family name adds nothing', () => {
  assert.deepEqual(contactLevels({ given_name: 'anna', family_name: 'smith' }, { given_name: 'smith', family_name: 'anna' }).slice(0, 2), [
    'swapped_with_family_name',
    'null',
  ]);
  // A typo on one side of the swap is still a swap.
  assert.deepEqual(contactLevels({ given_name: 'anna', family_name: 'smith' }, { given_name: 'smiht', family_name: 'anna' }).slice(0, 2), [
    'swapped_with_family_name',
    'null',
  ]);
  // One name shared crosswise is not: "john thomas" and "thomas smith" are two people.
  assert.deepEqual(
    contactLevels({ given_name: 'john', family_name: 'thomas' }, { given_name: 'thomas', family_name: 'smith' }).slice(0, 2),
    ['else', 'else'],
  );
});

test("emails: a typo in the domain is close, a namesake's numbered account is not, a mailbox named after the person says nothing at another domain", () => {
  const email = (a: string, b: string, names: LinkRecord['fields'] = {}): string =>
    contactLevels({ ...names, email: a }, { ...names, email: b })[2]!;
  assert.equal(email('olivia.brennan@gmail.com', 'olivia.brennan@gmial.com'), 'damerau_levenshtein<=1');
  assert.equal(email('oliver.hughes12@gmail.com', 'oliver.hughes13@gmail.com'), 'else');
  assert.equal(email('jsmith@gmail.com', 'jsmith@outlook.com', { family_name: 'smith' }), 'null');
  assert.equal(email('kestrel77@gmail.com', 'kestrel77@outlook.com', { family_name: 'smith' }), 'same_local_part');
  const phone = (a: string, b: string): string => contactLevels({ phone: a }, { phone: b })[3]!;
  assert.equal(phone('07700 900123', '+44 7700 900213'), 'damerau_levenshtein<=1');
});

test('dates compared as numbers fall in the same levels as dates compared as text', () => {
  const date = fc
    .tuple(fc.integer({ min: 1900, max: 2030 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
    .map(([year, month, day]) => `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`);
  // Near misses too: one digit changed or two neighbours swapped.
  const pair = fc.oneof(
    fc.tuple(date, date),
    fc.tuple(date, fc.nat(7), fc.nat(9)).map(([x, at, digit]) => [x, x.slice(0, at) + digit + x.slice(at + 1)] as [string, string]),
    fc.tuple(date, fc.nat(6)).map(([x, at]) => [x, x.slice(0, at) + x[at + 1] + x[at] + x.slice(at + 2)] as [string, string]),
  );
  fc.assert(
    fc.property(pair, ([x, y]) => {
      const [a, b] = [record({ birth_date: x }).values[2]!, record({ birth_date: y }).values[2]!];
      assert.equal(
        compareDateNumbers(Number(a.value), Number(a.swapped), a.dayNumber, Number(b.value), b.dayNumber),
        compareDate(a, b),
        `${x} ${y}`,
      );
    }),
    { numRuns: 5000 },
  );
});
