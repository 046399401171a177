// Working-day clocks: weekends and England and Wales bank holidays do not count.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addWorkingDays, BANK_HOLIDAYS_ENGLAND_WALES, isWorkingDay, ukDate, workingDaysBetween } from './working-days.ts';

/** Easter Sunday (anonymous Gregorian algorithm), to check the table against the rules. */
function easter(year: number): string {
  const a = year % 19,
    b = Math.floor(year / 100),
    c = year % 100,
    d = Math.floor(b / 4),
    e = b % 4;
  const f = Math.floor((b + 8) / 25),
    g = Math.floor((b - f + 1) / 3),
    h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4),
    k = c % 4,
    l = (32 + 2 * e + 2 * i - h - k) % 7,
    m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31),
    day = ((h + l - 7 * m + 114) % 31) + 1;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
const shift = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const dow = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();
function firstMonday(year: number, month: number): string {
  let d = `${year}-${String(month).padStart(2, '0')}-01`;
  while (dow(d) !== 1) d = shift(d, 1);
  return d;
}
function lastMonday(year: number, month: number): string {
  let d = shift(`${year}-${String(month + 1).padStart(2, '0')}-01`, -1);
  while (dow(d) !== 1) d = shift(d, -1);
  return d;
}
/** The rules of the Banking and Financial Dealings Act 1971 as applied in England and Wales. */
function ruleHolidays(year: number): string[] {
  const e = easter(year);
  const newYear = `${year}-01-01`;
  const xmas = `${year}-12-25`;
  const boxing = `${year}-12-26`;
  const sub = (d: string) => (dow(d) === 6 ? shift(d, 2) : dow(d) === 0 ? shift(d, 1) : d);
  const christmasPair =
    dow(xmas) === 6
      ? [shift(xmas, 2), shift(xmas, 3)]
      : dow(xmas) === 5
        ? [xmas, shift(xmas, 3)]
        : dow(xmas) === 0
          ? [shift(xmas, 2), boxing]
          : [xmas, boxing];
  return [sub(newYear), shift(e, -2), shift(e, 1), firstMonday(year, 5), lastMonday(year, 5), lastMonday(year, 8), ...christmasPair];
}

describe('working days in England and Wales', () => {
  test('the bank holiday table for 2024–2028 matches the rules (Easter, Mondays, substitute days)', () => {
    for (let year = 2024; year <= 2028; year++) {
      const table = [...BANK_HOLIDAYS_ENGLAND_WALES].filter((d) => d.startsWith(String(year))).sort();
      assert.deepEqual(table, ruleHolidays(year).sort(), String(year));
    }
  });

  test('known dates', () => {
    assert.equal(isWorkingDay('2026-04-03'), false, 'Good Friday 2026');
    assert.equal(isWorkingDay('2026-12-28'), false, 'Boxing Day 2026 substitute');
    assert.equal(isWorkingDay('2026-03-14'), false, 'a Saturday');
    assert.equal(isWorkingDay('2026-03-16'), true);
    // Friday + 2 working days = Tuesday
    assert.equal(addWorkingDays('2026-03-13', 2), '2026-03-17');
    // Sent on Maundy Thursday 2026: Good Friday and Easter Monday skipped.
    assert.equal(addWorkingDays('2026-04-02', 1), '2026-04-07');
    // Christmas 2027: 24 Dec (Fri) + 1 → Wed 29 Dec (27, 28 substitutes)
    assert.equal(addWorkingDays('2027-12-24', 1), '2027-12-29');
    // New Year 2028 substitute on Monday 3 January
    assert.equal(addWorkingDays('2027-12-31', 1), '2028-01-04');
    // Saturday: the first working day is Monday
    assert.equal(addWorkingDays('2026-03-14', 1), '2026-03-16');
    assert.equal(addWorkingDays('2026-03-14', 0), '2026-03-14');
    assert.equal(workingDaysBetween('2026-04-02', '2026-04-07'), 1);
    assert.throws(() => addWorkingDays('2026-03-14', -1));
    assert.throws(() => addWorkingDays('14/03/2026', 1));
  });

  test('the UK date of an instant follows British Summer Time', () => {
    assert.equal(ukDate(new Date('2026-06-30T23:30:00Z')), '2026-07-01');
    assert.equal(ukDate(new Date('2026-01-31T23:30:00Z')), '2026-01-31');
  });

  test('property: the due date is a working day, n working days on, and never earlier for a longer clock', () => {
    const dateArb = fc
      .integer({ min: Date.parse('2024-01-01'), max: Date.parse('2028-11-30') })
      .map((ms) => new Date(ms).toISOString().slice(0, 10));
    fc.assert(
      fc.property(dateArb, fc.integer({ min: 1, max: 25 }), (from, n) => {
        const due = addWorkingDays(from, n);
        assert.ok(isWorkingDay(due));
        assert.equal(workingDaysBetween(from, due), n);
        assert.ok(addWorkingDays(from, n + 1) > due);
        // n working days never take fewer than n calendar days, nor more than n*7/5 + the holidays in between + 4
        const calendar = (Date.parse(due) - Date.parse(from)) / 86_400_000;
        assert.ok(calendar >= n && calendar <= Math.ceil((n * 7) / 5) + 8);
      }),
      { numRuns: 1000 },
    );
  });
});
