// Dates written as people read them, whatever form they arrive in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writtenDate, writtenDay } from './dates.ts';

test('calendar dates are written out; what is not a real date is shown as it is', () => {
  assert.equal(writtenDay('1999-11-07'), '7 November 1999');
  assert.equal(writtenDay('2026-03-01T00:00:00.000Z'), '1 March 2026');
  assert.equal(writtenDay('1999-02-30'), '1999-02-30');
  assert.equal(writtenDay('soon'), 'soon');
});

test('an instant is the day it was in the UK', () => {
  assert.equal(writtenDate(new Date('2026-06-30T23:30:00Z')), '1 July 2026', 'half past midnight in summer time');
  assert.equal(writtenDate(new Date('2026-12-31T23:30:00Z')), '31 December 2026');
});

test("on a resident's Welsh pages, dates are written in Welsh", () => {
  assert.equal(writtenDay('1999-11-07', 'cy'), '7 Tachwedd 1999');
  assert.equal(writtenDay('2026-03-01', 'cy'), '1 Mawrth 2026');
  assert.equal(writtenDay('1999-02-30', 'cy'), '1999-02-30');
  assert.equal(writtenDate(new Date('2026-06-30T23:30:00Z'), 'cy'), '1 Gorffennaf 2026', 'still the day it was in the UK');
  assert.equal(writtenDate(new Date('2026-12-31T12:00:00Z'), 'en'), '31 December 2026');
});
