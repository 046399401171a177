// A new person's values from their records: the commonest usable value per field, and never one
// PostgreSQL would refuse (a whole import batch would fail on it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestValues } from './link-writes.ts';

test('a new person takes the commonest real date of birth, never year 0000 or one before 1850', () => {
  assert.equal(bestValues([{ birth_date: '0000-04-27' }]).birth_date, null, 'year 0000 parses in JavaScript but not in PostgreSQL');
  assert.equal(bestValues([{ birth_date: '1849-12-31' }]).birth_date, null);
  assert.equal(bestValues([{ birth_date: '1999-02-30' }]).birth_date, null, 'not a calendar date');
  assert.equal(
    bestValues([{ birth_date: '0000-04-27' }, { birth_date: '0000-04-27' }, { birth_date: '1962-04-27' }]).birth_date,
    '1962-04-27',
  );
  assert.equal(bestValues([{ birth_date: '1850-01-01', given_name: 'Ada' }]).birth_date, '1850-01-01');
});
