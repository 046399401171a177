// GOV.UK date inputs (day, month and year in three boxes): reading what was typed into a date,
// with the error messages the Design System asks for, naming the boxes to highlight.
export type DatePart = 'day' | 'month' | 'year';

export type DateInputResult =
  | { kind: 'empty' }
  | { kind: 'date'; iso: string }
  | { kind: 'error'; message: string; parts: DatePart[] };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** What was typed into the three boxes named `<prefix>-day`, `-month` and `-year`, kept to redisplay. */
export function dateParts(body: Record<string, unknown>, prefix: string): Record<DatePart, string> {
  const part = (name: DatePart) => (typeof body[`${prefix}-${name}`] === 'string' ? (body[`${prefix}-${name}`] as string).trim().slice(0, 20) : '');
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
  const month = /^\d{1,2}$/.test(typed.month) ? Number(typed.month) : /^[a-z]{3,9}$/i.test(typed.month) && monthName >= 0 ? monthName + 1 : NaN;
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
    name, value: typed?.[name] ?? '', classes: `govuk-input--width-${width}${wrong.includes(name) ? ' govuk-input--error' : ''}`,
  });
  return [item('day', '2'), item('month', '2'), item('year', '4')];
}
