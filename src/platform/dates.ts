// Dates as people read them, the GOV.UK way: "7 November 2026", never 2026-11-07 or 11/07/2026.
// A calendar date (a date of birth, a due day) is written as it is; an instant is written as the
// day it was in the UK. Formatters are built once: building one per call dominated long pages.

const calendarDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const londonDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });

/** "7 November 1999" for a calendar date (YYYY-MM-DD, or a longer ISO string's first ten characters); anything else as it is. */
export function writtenDay(isoDay: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDay.trim());
  if (!match) return isoDay;
  const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return day.getUTCDate() === Number(match[3]) && day.getUTCMonth() === Number(match[2]) - 1 ? calendarDay.format(day) : isoDay;
}

/** "7 November 2026": the day an instant fell on in the UK. */
export function writtenDate(at: Date): string {
  return londonDay.format(at);
}
