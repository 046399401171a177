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

// Since 1848 the UK's clocks have been a whole number of hours off UTC, so every instant of one
// UTC hour falls on the same UK day: the words are kept per hour (a long page writes hundreds of
// dates, most of them days it wrote before), and formatted afresh before then. Bounded.
const HOUR = 3_600_000;
const WHOLE_HOURS_SINCE = Date.UTC(1848, 0, 1);
const writtenByHour: Record<Language, Map<number, string>> = { en: new Map(), cy: new Map() };

/** "7 November 2026" ("7 Tachwedd 2026" in Welsh): the day an instant fell on in the UK. */
export function writtenDate(at: Date, language: Language = 'en'): string {
  const formatter = londonDay[language] ?? londonDay.en;
  const time = at.getTime();
  const cache = writtenByHour[language];
  if (!(time >= WHOLE_HOURS_SINCE) || cache === undefined) return formatter.format(at);
  const hour = Math.floor(time / HOUR);
  let words = cache.get(hour);
  if (words === undefined) {
    words = formatter.format(at);
    if (cache.size >= 50_000) cache.clear();
    cache.set(hour, words);
  }
  return words;
}
