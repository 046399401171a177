// Normalisation on the way in: every agency writes names, dates and postcodes
// differently, and comparisons should only see real differences.

import { isValidNhsNumber } from '../platform/nhs-number.ts';

/** Lower-case, strip accents and punctuation, collapse whitespace. */
export function normaliseText(raw: string): string {
  return raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['’`]/g, '')
    .replace(/[^\p{L}\p{N}@]+/gu, ' ')
    .trim();
}

/** Names: as text; "o'brien" and "obrien" agree, "smith-jones" becomes "smith jones". */
export function normaliseName(raw: string): string {
  return normaliseText(raw.replace(/@/g, ' '));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether year-month-day is a real date (Gregorian leap years; arithmetic, as it runs per record). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * The earliest date of birth a record may hold: nobody alive or recently dead was born before
 * it, and years such as 0000 (a typo, or a blank filled with zeros) are not dates PostgreSQL can
 * store. Earlier ones are refused on import rather than stored or made a person's.
 */
export const EARLIEST_BIRTH_DATE = '1850-01-01';

/**
 * Birth dates to YYYYMMDD. Accepts ISO (YYYY-MM-DD), compact (YYYYMMDD) and UK
 * (DD/MM/YYYY). Eight digits that are not a calendar date are kept: they are
 * usually a typo of the real date and still compare well digit by digit.
 */
export function normaliseBirthDate(raw: string): string | null {
  const text = raw.trim();
  let match = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/.exec(text);
  if (match) return `${match[1]}${match[2]!.padStart(2, '0')}${match[3]!.padStart(2, '0')}`;
  match = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text);
  if (match) return `${match[3]}${match[2]!.padStart(2, '0')}${match[1]!.padStart(2, '0')}`;
  if (/^\d{8}$/.test(text)) return text;
  return null;
}

/** Days since 1970-01-01 for a YYYYMMDD value, NaN when it is not a calendar date. */
export function dayNumber(yyyymmdd: string): number {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (!isCalendarDate(year, month, day)) return Number.NaN;
  return Date.UTC(year, month - 1, day) / 86_400_000;
}

const UK_POSTCODE = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/;

export interface NormalisedPostcode {
  value: string;
  /** "RV3 2" for UK postcodes, else empty. */
  sector: string;
  /** "RV3" for UK postcodes, else empty. */
  district: string;
}

/** UK postcodes become "RV3 2AB"; anything else (e.g. Australian "4223") is compared as plain text. */
export function normalisePostcode(raw: string): NormalisedPostcode | null {
  const compact = raw.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (compact === '') return null;
  const match = UK_POSTCODE.exec(compact);
  if (!match) return { value: compact.toLowerCase(), sector: '', district: '' };
  const outward = match[1]!;
  const inward = match[2]!;
  return { value: `${outward} ${inward}`, sector: `${outward} ${inward[0]}`, district: outward };
}

/** NHS numbers: ten digits whose last is the modulus 11 check digit of the first nine (the platform's one check). */
export { isValidNhsNumber };

export function normaliseNhsNumber(raw: string): string | null {
  const digits = raw.replace(/[\s-]/g, '');
  return digits === '' ? null : digits;
}

/** Phone numbers: digits only, +44 / 0044 written as a leading 0. */
export function normalisePhone(raw: string): string | null {
  let digits = raw.replace(/\D/g, '');
  if (digits.startsWith('0044')) digits = '0' + digits.slice(4);
  else if (digits.startsWith('44') && digits.length === 12) digits = '0' + digits.slice(2);
  return digits === '' ? null : digits;
}

export function normaliseEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  return email === '' ? null : email;
}

/** Sex or gender: "m"/"f" for the common spellings, otherwise the normalised text. */
export function normaliseSex(raw: string): string | null {
  const text = normaliseText(raw);
  if (text === '') return null;
  if (text === 'm' || text === 'male' || text === 'man' || text === '1') return 'm';
  if (text === 'f' || text === 'female' || text === 'woman' || text === '2') return 'f';
  return text;
}

const ADDRESS_ABBREVIATIONS: Record<string, string> = {
  st: 'street',
  rd: 'road',
  ave: 'avenue',
  av: 'avenue',
  ln: 'lane',
  dr: 'drive',
  cl: 'close',
  ct: 'court',
  cres: 'crescent',
  cr: 'crescent',
  pl: 'place',
  sq: 'square',
  gdns: 'gardens',
  tce: 'terrace',
  ter: 'terrace',
  hse: 'house',
  apt: 'flat',
};

/** Addresses: text with the usual street abbreviations written out. */
export function normaliseAddress(raw: string): string {
  return normaliseText(raw)
    .split(' ')
    .map((word) => ADDRESS_ABBREVIATIONS[word] ?? word)
    .join(' ');
}
