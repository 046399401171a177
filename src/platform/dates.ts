// Dates as people read them, the GOV.UK way: "7 November 2026", never 2026-11-07 or 11/07/2026,
// and in Welsh "7 Tachwedd 2026" on a resident's Welsh pages. A calendar date (a date of birth, a
// due day) is written as it is; an instant is written as the day it was in the UK. Formatters are
// built once: building one per call dominated long pages.
import type { Language } from './i18n/index.ts';

const dayOptions: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'long', year: 'numeric' };
const locales: Record<Language, string> = { en: 'en-GB', cy: 'cy' };
const calendarDay: Record<Language, Intl.DateTimeFormat> = {
  en: new Intl.DateTimeFormat(locales.en, { ...dayOptions, timeZone: 'UTC' }),
  cy: new Intl.DateTimeFormat(locales.cy, { ...dayOptions, timeZone: 'UTC' }),
};
const londonDay: Record<Language, Intl.DateTimeFormat> = {
  en: new Intl.DateTimeFormat(locales.en, { ...dayOptions, timeZone: 'Europe/London' }),
  cy: new Intl.DateTimeFormat(locales.cy, { ...dayOptions, timeZone: 'Europe/London' }),
};

/** "7 November 1999" for a calendar date (YYYY-MM-DD, or a longer ISO string's first ten characters); anything else as it is. */
export function writtenDay(isoDay: string, language: Language = 'en'): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDay.trim());
  if (!match) return isoDay;
  const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return day.getUTCDate() === Number(match[3]) && day.getUTCMonth() === Number(match[2]) - 1
    ? (calendarDay[language] ?? calendarDay.en).format(day)
    : isoDay;
}

/** "7 November 2026" ("7 Tachwedd 2026" in Welsh): the day an instant fell on in the UK. */
export function writtenDate(at: Date, language: Language = 'en'): string {
  return (londonDay[language] ?? londonDay.en).format(at);
}
