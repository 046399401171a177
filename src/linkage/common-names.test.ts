// Blocking rules for files without NHS numbers. Copies of a person with a common name: every
// "john smith" shares one name block, too big to compare whole, so the birth year splits it
// (blocking.ts names_metaphone+birth_year) and two copies whose birth dates were moved within the
// year meet. A copy with its given name blank and the year mistyped meets on the family name and
// the day and month (family_metaphone+birth_day_month); with one name blank and the date moved,
// on the other name and the year (family_metaphone+birth_year, given_metaphone+birth_year).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockingRulesFor, transformValue } from './blocking.ts';
import { linkRecords } from './link.ts';
import { prepareRecord } from './prepare.ts';
import { seededRandom } from './estimate.ts';
import type { FieldSpec, LinkRecord } from './types.ts';

const TOWNS = ['leeds', 'york', 'hull', 'bath', 'derby', 'luton', 'stoke', 'bolton', 'exeter', 'truro', 'ely', 'ripon'];

function register(): LinkRecord[] {
  const random = seededRandom(11);
  const records: LinkRecord[] = [];
  const date = (year: number) =>
    `${year}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
  // 150 different john smiths, a few of each year, in a dozen towns; and other people, each twice.
  for (let i = 0; i < 150; i++) {
    const town = TOWNS[i % TOWNS.length]!;
    records.push({
      id: `js-${i}`,
      fields: { given_name: 'john', family_name: 'smith', birth_date: date(1800 + (i % 120)) },
      text: { town },
    });
  }
  for (let i = 0; i < 300; i++) {
    const given = ['ada', 'basil', 'cora', 'dmitri', 'edna', 'felix', 'gwen', 'hector'][i % 8]!;
    const family = `surname${i}`;
    const born = date(1800 + Math.floor(random() * 120));
    const town = TOWNS[Math.floor(random() * TOWNS.length)]!;
    records.push({ id: `p-${i}-a`, fields: { given_name: given, family_name: family, birth_date: born }, text: { town } });
    records.push({ id: `p-${i}-b`, fields: { given_name: given, family_name: family, birth_date: born }, text: { town } });
  }
  // One john smith twice: the second copy's birth date moved by eighteen days, the town the same.
  records.push({ id: 'copy-1', fields: { given_name: 'john', family_name: 'smith', birth_date: '1921-03-02' }, text: { town: 'wells' } });
  records.push({ id: 'copy-2', fields: { given_name: 'john', family_name: 'smith', birth_date: '1921-03-20' }, text: { town: 'wells' } });
  // A third, twice: the second copy's family name blank and the date moved by a month.
  records.push({
    id: 'family-1',
    fields: { given_name: 'peregrine', family_name: 'wolstenholme', birth_date: '1896-04-07' },
    text: { town: 'ripon' },
  });
  records.push({ id: 'family-2', fields: { given_name: 'peregrine', birth_date: '1896-05-07' }, text: { town: 'ripon' } });
  // Another person twice: the second copy's given name blank and a digit of the year mistyped.
  records.push({
    id: 'year-1',
    fields: { given_name: 'ottoline', family_name: 'quarrington', birth_date: '1887-06-14' },
    text: { town: 'ely' },
  });
  records.push({ id: 'year-2', fields: { family_name: 'quarrington', birth_date: '1881-06-14' }, text: { town: 'ely' } });
  return records;
}

const records = register();
const result = await linkRecords(records, { workers: 1 });
const clusterOf = new Map(records.map((record, i) => [record.id, result.clusterOf[i]]));

test('without NHS numbers, the names and the birth year make a blocking key; with them they do not', () => {
  const spec = (key: string, kind: FieldSpec['kind']): FieldSpec => ({ key, kind });
  const none = () => ({ counts: [], present: 0 });
  const names = [spec('given_name', 'given_name'), spec('family_name', 'family_name'), spec('birth_date', 'birth_date')];
  assert.ok(blockingRulesFor(names, none).some((rule) => rule.name === 'names_metaphone+birth_year'));
  assert.ok(
    !blockingRulesFor([...names, spec('nhs_number', 'nhs_number')], none).some((rule) => rule.name === 'names_metaphone+birth_year'),
  );
  const [jon, smyth] = prepareRecord(names, { id: 'x', fields: { given_name: 'Jon', family_name: 'Smyth' }, text: {} }).values;
  const [john, smith] = prepareRecord(names, { id: 'y', fields: { given_name: 'John', family_name: 'Smith' }, text: {} }).values;
  const key = transformValue(jon!, 'names_metaphone', smyth);
  assert.ok(key, 'both names give a key');
  assert.equal(key, transformValue(john!, 'names_metaphone', smith), 'spellings that sound alike share the key');
  assert.equal(transformValue(jon!, 'names_metaphone', null), null, 'no family name, no key');
});

test('two copies of a john smith among 150 others, born the same year, are compared and linked', () => {
  assert.equal(clusterOf.get('copy-1'), clusterOf.get('copy-2'), 'the two copies are one person');
  const others = records.filter((record) => record.id.startsWith('js-')).map((record) => clusterOf.get(record.id));
  assert.ok(!others.includes(clusterOf.get('copy-1')), 'no other john smith joins them');
});

test('a copy with its given name blank and a digit of its birth year mistyped is compared and linked', () => {
  assert.equal(clusterOf.get('year-1'), clusterOf.get('year-2'));
});

test('a copy with its family name blank and its birth date moved by a month is compared and linked', () => {
  assert.equal(clusterOf.get('family-1'), clusterOf.get('family-2'));
});
