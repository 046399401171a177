// Working days in England and Wales: weekends and bank holidays do not count towards a
// service's clocks. Dates are plain calendar dates ("YYYY-MM-DD") in the UK's own calendar.

/**
 * England and Wales bank holidays, 2024–2028 (gov.uk/bank-holidays; substitute days where a
 * holiday falls at a weekend). Beyond these years only weekends are skipped.
 */
export const BANK_HOLIDAYS_ENGLAND_WALES: ReadonlySet<string> = new Set([
  // 2024
  '2024-01-01',
  '2024-03-29',
  '2024-04-01',
  '2024-05-06',
  '2024-05-27',
  '2024-08-26',
  '2024-12-25',
  '2024-12-26',
  // 2025
  '2025-01-01',
  '2025-04-18',
  '2025-04-21',
  '2025-05-05',
  '2025-05-26',
  '2025-08-25',
  '2025-12-25',
  '2025-12-26',
  // 2026 (Boxing Day is a Saturday: substitute Monday 28 December)
  '2026-01-01',
  '2026-04-03',
  '2026-04-06',
  '2026-05-04',
  '2026-05-25',
  '2026-08-31',
  '2026-12-25',
  '2026-12-28',
  // 2027 (Christmas Day and Boxing Day fall at the weekend: substitutes 27 and 28 December)
  '2027-01-01',
  '2027-03-26',
  '2027-03-29',
  '2027-05-03',
  '2027-05-31',
  '2027-08-30',
  '2027-12-27',
  '2027-12-28',
  // 2028 (New Year's Day is a Saturday: substitute Monday 3 January)
  '2028-01-03',
  '2028-04-14',
  '2028-04-17',
  '2028-05-01',
  '2028-05-29',
  '2028-08-28',
  '2028-12-25',
  '2028-12-26',
]);

export const BANK_HOLIDAY_YEARS = { from: 2024, to: 2028 } as const;

const DAY_MS = 86_400_000;

function parse(date: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`not a calendar date: ${date}`);
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new Error(`not a calendar date: ${date}`);
  return ms;
}

const format = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

// Built once: a formatter with a time zone costs about a tenth of a millisecond to make, which
// dominated the typical-wait aggregate (one date per referral).
const UK_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The calendar date in the UK (Europe/London) of an instant. */
export function ukDate(at: Date): string {
  return UK_DAY.format(at);
}

/** Midday on a UK calendar date, as an instant (12:00 in London, summer time or not). */
export function middayUk(isoDay: string): Date {
  const noonUtc = new Date(`${isoDay}T12:00:00Z`);
  const londonHour = Number(
    new Intl.DateTimeFormat('en-GB', { hour: 'numeric', hourCycle: 'h23', timeZone: 'Europe/London' }).format(noonUtc),
  );
  return new Date(noonUtc.getTime() - (londonHour - 12) * 3_600_000);
}

export function isWorkingDay(date: string): boolean {
  const day = new Date(parse(date)).getUTCDay();
  return day !== 0 && day !== 6 && !BANK_HOLIDAYS_ENGLAND_WALES.has(date);
}

/**
 * The date `days` working days after `from` (the day of sending does not count). A referral sent
 * on Friday with a 2-working-day clock is due on Tuesday; 0 days means the same day.
 */
export function addWorkingDays(from: string, days: number): string {
  if (!Number.isInteger(days) || days < 0) throw new Error('working days must be a whole number, 0 or more');
  let ms = parse(from);
  let left = days;
  while (left > 0) {
    ms += DAY_MS;
    if (isWorkingDay(format(ms))) left -= 1;
  }
  return format(ms);
}

/** Working days after `from` up to and including `to` (0 when `to` is not after `from`). */
export function workingDaysBetween(from: string, to: string): number {
  let ms = parse(from);
  const end = parse(to);
  let count = 0;
  while (ms < end) {
    ms += DAY_MS;
    if (isWorkingDay(format(ms))) count += 1;
  }
  return count;
}

/** Overdue once the UK date is past the due date (due today is not yet overdue). */
export function isPastDue(due: string, today: string): boolean {
  return today > due;
}
