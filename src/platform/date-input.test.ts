import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateInputItems, readDateInput } from './date-input.ts';

const body = (day: string, month: string, year: string) => ({ 'dob-day': day, 'dob-month': month, 'dob-year': year });

test('a GOV.UK date input reads day, month and year, months as numbers or names', () => {
  assert.deepEqual(readDateInput(body('7', '11', '1999'), 'dob', 'Date of birth'), { kind: 'date', iso: '1999-11-07' });
  assert.deepEqual(readDateInput(body('07', 'Nov', '1999'), 'dob', 'Date of birth'), { kind: 'date', iso: '1999-11-07' });
  assert.deepEqual(readDateInput(body(' 7 ', 'november', '1999'), 'dob', 'Date of birth'), { kind: 'date', iso: '1999-11-07' });
  assert.deepEqual(readDateInput({}, 'dob', 'Date of birth'), { kind: 'empty' });
});

test('a date input says what is wrong, as the Design System words it, and which boxes', () => {
  assert.deepEqual(readDateInput(body('7', '', '1999'), 'dob', 'Date of birth'), {
    kind: 'error',
    message: 'Date of birth must include a month',
    parts: ['month'],
  });
  assert.deepEqual(readDateInput(body('', '', '1999'), 'dob', 'Date of birth'), {
    kind: 'error',
    message: 'Date of birth must include a day and a month',
    parts: ['day', 'month'],
  });
  assert.deepEqual(readDateInput(body('31', '2', '1999'), 'dob', 'Date of birth'), {
    kind: 'error',
    message: 'Date of birth must be a real date',
    parts: ['day', 'month', 'year'],
  });
  assert.deepEqual(readDateInput(body('7', '11', '99'), 'dob', 'Date of birth'), {
    kind: 'error',
    message: 'Year must include 4 numbers',
    parts: ['year'],
  });
  assert.equal(readDateInput(body('x', '11', '1999'), 'dob', 'Date of birth').kind, 'error');
  assert.deepEqual(
    dateInputItems({ day: '7' }, ['month']).map((i) => [i.name, i.value, i.classes]),
    [
      ['day', '7', 'govuk-input--width-2'],
      ['month', '', 'govuk-input--width-2 govuk-input--error'],
      ['year', '', 'govuk-input--width-4'],
    ],
  );
});
