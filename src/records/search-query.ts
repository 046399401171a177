// Understanding what a practitioner typed into "find a person": an NHS number, a date of birth,
// a postcode and/or a name, in the forms people actually type them.
import { isValidNhsNumber } from '../people/nhs-number.ts';

export interface PersonQuery {
  name: string | null;
  nhsNumber: string | null;
  birthDate: string | null;
  postcode: string | null;
}

export class SearchQueryError extends Error {}

const POSTCODE = /\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b/i;
const ISO_DATE = /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/;
const UK_DATE = /\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b/;
/** Day, month and year as GOV.UK asks for them, in three boxes: "7 11 1999". */
const SPACED_DATE = /\b(\d{1,2})\s+(\d{1,2})\s+(\d{4})\b/;
const NHS = /\b(\d{3})\s?(\d{3})\s?(\d{4})\b/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
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
function findDate(text: string, now: Date): { match: string; year: number; month: number; day: number } | null {
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

function isoDate(year: number, month: number, day: number): string | null {
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return date.toISOString().slice(0, 10);
}

export function parsePersonQuery(raw: string, now: Date = new Date()): PersonQuery {
  let rest = raw.normalize('NFKC').slice(0, 200);
  const query: PersonQuery = { name: null, nhsNumber: null, birthDate: null, postcode: null };
  const nhs = NHS.exec(rest);
  if (nhs) {
    const digits = nhs.slice(1).join('');
    if (!isValidNhsNumber(digits)) throw new SearchQueryError(`${nhs[0]} is not a valid NHS number: check the digits`);
    query.nhsNumber = digits;
    rest = rest.replace(nhs[0], ' ');
  }
  const found = findDate(rest, now);
  if (found) {
    const date = isoDate(found.year, found.month, found.day);
    if (!date) throw new SearchQueryError(`${found.match.trim()} is not a real date: enter a date of birth like 31 March 1985 or 31/03/1985`);
    query.birthDate = date;
    rest = rest.replace(found.match, ' ');
  }
  const postcode = POSTCODE.exec(rest);
  if (postcode) {
    query.postcode = `${postcode[1]}${postcode[2]}`.toUpperCase();
    rest = rest.replace(postcode[0], ' ');
  }
  const name = rest.toLowerCase().replace(/[^\p{L}\p{M}' -]/gu, ' ').replace(/\s+/g, ' ').trim();
  if (name.length >= 2) query.name = name;
  if (!query.name && !query.nhsNumber && !query.birthDate && !query.postcode) {
    throw new SearchQueryError('Enter a name, date of birth, NHS number or postcode');
  }
  return query;
}

/** The date with day and month swapped, when that is also a real date (a common slip). */
export function swappedDayMonth(iso: string): string | null {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  if (m === d || d > 12) return null;
  return isoDate(y, d, m);
}
