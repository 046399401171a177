import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePersonQuery, swappedDayMonth, SearchQueryError } from './search-query.ts';

test('names, dates, NHS numbers and postcodes are recognised however they are typed', () => {
  assert.deepEqual(parsePersonQuery('Mary Smyth 31/03/1985'), { name: 'mary smyth', nhsNumber: null, birthDate: '1985-03-31', postcode: null });
  assert.deepEqual(parsePersonQuery('943 476 5919'), { name: null, nhsNumber: '9434765919', birthDate: null, postcode: null });
  assert.deepEqual(parsePersonQuery('rv3 2ab  o\'brien'), { name: "o'brien", nhsNumber: null, birthDate: null, postcode: 'RV32AB' });
  assert.equal(parsePersonQuery('1985-3-1').birthDate, '1985-03-01');
});

test('impossible input is refused with a message that says what to fix', () => {
  assert.throws(() => parsePersonQuery('9434765918'), (e: unknown) => e instanceof SearchQueryError && /not a valid NHS number/.test(e.message));
  assert.throws(() => parsePersonQuery('31/02/1985'), (e: unknown) => e instanceof SearchQueryError && /not a real date/.test(e.message));
  assert.throws(() => parsePersonQuery('  ?! '), (e: unknown) => e instanceof SearchQueryError && /Enter a name/.test(e.message));
});

test('swapped day and month is offered only when it is a different real date', () => {
  assert.equal(swappedDayMonth('1985-03-04'), '1985-04-03');
  assert.equal(swappedDayMonth('1985-03-31'), null);
  assert.equal(swappedDayMonth('1985-05-05'), null);
});
