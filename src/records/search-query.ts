// Understanding what a practitioner typed into "find a person": an NHS number, a date of birth,
// a postcode and/or a name, in the forms people actually type them.
import { isValidNhsNumber } from '../people/index.ts';
import { calendarDate, findWrittenDate } from '../platform/date-input.ts';
import { RefusedInput } from '../platform/refused.ts';

export interface PersonQuery {
  name: string | null;
  nhsNumber: string | null;
  birthDate: string | null;
  postcode: string | null;
}

export class SearchQueryError extends RefusedInput {
  constructor(message: string) {
    super(400, message);
  }
}

const POSTCODE = /\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b/i;
const NHS = /\b(\d{3})\s?(\d{3})\s?(\d{4})\b/;

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
  const found = findWrittenDate(rest, now);
  if (found) {
    const date = found.iso;
    if (!date)
      throw new SearchQueryError(`${found.match.trim()} is not a real date: enter a date of birth like 31 March 1985 or 31/03/1985`);
    query.birthDate = date;
    rest = rest.replace(found.match, ' ');
  }
  const postcode = POSTCODE.exec(rest);
  if (postcode) {
    query.postcode = `${postcode[1]}${postcode[2]}`.toUpperCase();
    rest = rest.replace(postcode[0], ' ');
  }
  const name = rest
    .toLowerCase()
    .replace(/[^\p{L}\p{M}' -]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
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
  return calendarDate(y, d, m);
}
