import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePersonQuery, swappedDayMonth, SearchQueryError } from './search-query.ts';

test('names, dates, NHS numbers and postcodes are recognised however they are typed', () => {
  assert.deepEqual(parsePersonQuery('Mary Smyth 31/03/1985'), {
    name: 'mary smyth',
    nhsNumber: null,
    birthDate: '1985-03-31',
    postcode: null,
  });
  assert.deepEqual(parsePersonQuery('943 476 5919'), { name: null, nhsNumber: '9434765919', birthDate: null, postcode: null });
  assert.deepEqual(parsePersonQuery("rv3 2ab  o'brien"), { name: "o'brien", nhsNumber: null, birthDate: null, postcode: 'RV32AB' });
  assert.equal(parsePersonQuery('1985-3-1').birthDate, '1985-03-01');
});

test('impossible input is refused with a message that says what to fix', () => {
  assert.throws(
    () => parsePersonQuery('9434765918'),
    (e: unknown) => e instanceof SearchQueryError && /not a valid NHS number/.test(e.message),
  );
  assert.throws(
    () => parsePersonQuery('31/02/1985'),
    (e: unknown) => e instanceof SearchQueryError && /not a real date/.test(e.message),
  );
  assert.throws(
    () => parsePersonQuery('  ?! '),
    (e: unknown) => e instanceof SearchQueryError && /Enter a name/.test(e.message),
  );
});

test('swapped day and month is offered only when it is a different real date', () => {
  assert.equal(swappedDayMonth('1985-03-04'), '1985-04-03');
  assert.equal(swappedDayMonth('1985-03-31'), null);
  assert.equal(swappedDayMonth('1985-05-05'), null);
});

test('dates of birth written out in words, or with two-digit years, are understood', () => {
  for (const [typed, name, date] of [
    ['7 November 1999', null, '1999-11-07'],
    ['mary smith 7 november 1999', 'mary smith', '1999-11-07'],
    ['7th Nov 1999 Smith', 'smith', '1999-11-07'],
    ['November 7, 1999', null, '1999-11-07'],
    ['Smith 7 of November 1999', 'smith', '1999-11-07'],
    ['Sept 30 1985', null, '1985-09-30'],
    ['7 11 1999', null, '1999-11-07'],
    ['07/11/99', null, '1999-11-07'],
    ['7.11.05', null, '2005-11-07'],
    ['April Jones 1 May 1960', 'april jones', '1960-05-01'],
  ] as const) {
    const parsed = parsePersonQuery(typed);
    assert.equal(parsed.birthDate, date, typed);
    assert.equal(parsed.name, name, typed);
  }
  assert.throws(
    () => parsePersonQuery('31 February 1999'),
    (e: unknown) => e instanceof SearchQueryError && /not a real date/.test(e.message),
  );
  assert.equal(parsePersonQuery('May Smith').name, 'may smith', 'a month on its own is a name');
});
