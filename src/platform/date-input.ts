// GOV.UK date inputs (day, month and year in three boxes): reading what was typed into a date,
// with the error messages the Design System asks for, naming the boxes to highlight.
export type DatePart = 'day' | 'month' | 'year';

export type DateInputResult = { kind: 'empty' } | { kind: 'date'; iso: string } | { kind: 'error'; message: string; parts: DatePart[] };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** What was typed into the three boxes named `<prefix>-day`, `-month` and `-year`, kept to redisplay. */
export function dateParts(body: Record<string, unknown>, prefix: string): Record<DatePart, string> {
  const part = (name: DatePart) =>
    typeof body[`${prefix}-${name}`] === 'string' ? (body[`${prefix}-${name}`] as string).trim().slice(0, 20) : '';
  return { day: part('day'), month: part('month'), year: part('year') };
}

/**
 * Reads a GOV.UK date input. `label` starts the messages ("Date of birth must include a month").
 * Months may be numbers or names ("11", "Nov", "November"); years need four digits.
 */
export function readDateInput(body: Record<string, unknown>, prefix: string, label: string): DateInputResult {
  const typed = dateParts(body, prefix);
  const missing = (['day', 'month', 'year'] as const).filter((p) => typed[p] === '');
  if (missing.length === 3) return { kind: 'empty' };
  if (missing.length > 0) return { kind: 'error', message: `${label} must include a ${missing.join(' and a ')}`, parts: [...missing] };
  const monthName = MONTHS.indexOf(typed.month.slice(0, 3).toLowerCase());
  const day = /^\d{1,2}$/.test(typed.day) ? Number(typed.day) : NaN;
  const month = /^\d{1,2}$/.test(typed.month)
    ? Number(typed.month)
    : /^[a-z]{3,9}$/i.test(typed.month) && monthName >= 0
      ? monthName + 1
      : NaN;
  if (!/^\d{4}$/.test(typed.year)) return { kind: 'error', message: 'Year must include 4 numbers', parts: ['year'] };
  const year = Number(typed.year);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { kind: 'error', message: `${label} must be a real date`, parts: ['day', 'month', 'year'] };
  }
  return { kind: 'date', iso: date.toISOString().slice(0, 10) };
}

/** The items of a govukDateInput: what was typed, and which boxes to mark as wrong. */
export function dateInputItems(typed: Partial<Record<DatePart, string>> | undefined, wrong: readonly DatePart[] = []) {
  const item = (name: DatePart, width: string) => ({
    name,
    value: typed?.[name] ?? '',
    classes: `govuk-input--width-${width}${wrong.includes(name) ? ' govuk-input--error' : ''}`,
  });
  return [item('day', '2'), item('month', '2'), item('year', '4')];
}

// Dates typed as free text, in the forms people use: 1999-11-07, 7/11/1999, 07/11/99, 7.11.1999,
// 7 11 1999, 7 November 1999, 7th of Nov 1999, November 7, 1999.
const ISO_DATE = /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/;
const UK_DATE = /\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b/;
/** Day, month and year as GOV.UK asks for them, in three boxes: "7 11 1999". */
const SPACED_DATE = /\b(\d{1,2})\s+(\d{1,2})\s+(\d{4})\b/;
const MONTH =
  '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
const ORDINAL = '(\\d{1,2})(?:st|nd|rd|th)?';
/** "7 November 1999", "7th of Nov 1999". */
const DAY_MONTH_YEAR = new RegExp(`\\b${ORDINAL}\\s+(?:of\\s+)?${MONTH},?\\s+(\\d{4})\\b`, 'i');
/** "November 7, 1999", "Sept 30 1985". */
const MONTH_DAY_YEAR = new RegExp(`\\b${MONTH}\\s+${ORDINAL},?\\s+(\\d{4})\\b`, 'i');

const monthNumber = (word: string) => MONTHS.indexOf(word.slice(0, 3).toLowerCase()) + 1;

/** A two-digit year is the latest year ending in it that is not in the future (dates of birth). */
function fullYear(digits: string, now: Date): number {
  if (digits.length === 4) return Number(digits);
  const thisYear = now.getUTCFullYear();
  const year = Math.floor(thisYear / 100) * 100 + Number(digits);
  return year > thisYear ? year - 100 : year;
}

/** The first date written in `text`, in any of the forms people type: where it is and its parts. */
function findDateParts(text: string, now: Date): { match: string; year: number; month: number; day: number } | null {
  const iso = ISO_DATE.exec(text);
  if (iso) return { match: iso[0], year: Number(iso[1]), month: Number(iso[2]), day: Number(iso[3]) };
  const uk = UK_DATE.exec(text);
  if (uk) return { match: uk[0], year: fullYear(uk[3]!, now), month: Number(uk[2]), day: Number(uk[1]) };
  const spaced = SPACED_DATE.exec(text);
  if (spaced) return { match: spaced[0], year: Number(spaced[3]), month: Number(spaced[2]), day: Number(spaced[1]) };
  const dmy = DAY_MONTH_YEAR.exec(text);
  if (dmy) return { match: dmy[0], year: Number(dmy[3]), month: monthNumber(dmy[2]!), day: Number(dmy[1]) };
  const mdy = MONTH_DAY_YEAR.exec(text);
  if (mdy) return { match: mdy[0], year: Number(mdy[3]), month: monthNumber(mdy[1]!), day: Number(mdy[2]) };
  return null;
}

/** The date of the parts, as YYYY-MM-DD, when it is a real date. */
export function calendarDate(year: number, month: number, day: number): string | null {
  const date = new Date(Date.UTC(year, month - 1, day));
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return null;
  return date.toISOString().slice(0, 10);
}

/**
 * The first date written in `text`: the words that wrote it, and the date (null when those
 * words are not a real date, "31 February 1999"). A two-digit year is taken as the latest
 * year ending in those digits that is not in the future, as for a date of birth.
 */
export function findWrittenDate(text: string, now: Date = new Date()): { match: string; iso: string | null } | null {
  const found = findDateParts(text, now);
  return found ? { match: found.match, iso: calendarDate(found.year, found.month, found.day) } : null;
}
