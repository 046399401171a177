// Who a service says it is for, checked against the person being referred: the age range and
// the area covered that the directory holds for the service (Open Referral UK's minimum and
// maximum age and service areas). Referrers see only the services a person fits; sending to one
// they do not fit is refused with the reason; a receiving service may accept someone outside its
// criteria only by saying why. Callers have already decided the actor may see the person's basic
// details (their age and where they live are basic details).
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { ukDate } from './working-days.ts';
import { serviceById } from '../network/index.ts';
import { personBirthDateOf, personSmallAreaOf } from '../people/index.ts';
import { localityIdOf, localityNameOf, localityNames as localityNamesOf } from '../place/index.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface ServiceCriteria {
  id: string;
  name: string;
  min_age: number | null;
  max_age: number | null;
  locality_ids: string[];
}
export interface PersonFacts {
  age: number | null;
  localityId: string | null;
  localityName: string | null;
}

/** "aged 4 to 11", "aged 70 and over", "aged 17 and under", "under 18", or null for any age. */
export function agesText(min: number | null, max: number | null): string | null {
  if (min === null && max === null) return null;
  if (min !== null && max !== null) return min === 0 ? `under ${max + 1}` : `aged ${min} to ${max}`;
  if (min !== null) return `aged ${min} and over`;
  return `aged ${max} and under`;
}

/** Whole years between a birth date and a UK calendar date (both YYYY-MM-DD). */
export function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.slice(0, 10).split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

export async function personFacts(db: Db, personId: string, now: Date = new Date()): Promise<PersonFacts> {
  // One statement: the person's date of birth and home area from people, the area's locality from place.
  const area = personSmallAreaOf(sql`${personId}`);
  const row = (
    await sql<{ birth_date: string | null; locality_id: string | null; locality: string | null }>`
    select ${personBirthDateOf(sql`${personId}`)}::text as birth_date, ${localityIdOf(area)} as locality_id, ${localityNameOf(area)} as locality`.execute(
      db,
    )
  ).rows[0];
  return {
    age: row?.birth_date ? ageOn(row.birth_date, ukDate(now)) : null,
    localityId: row?.locality_id ?? null,
    localityName: row?.locality ?? null,
  };
}

/** The names of the localities a service covers, for messages ("Westmoor and Oakwood"). */
async function localityList(db: Db, ids: string[]): Promise<string> {
  if (ids.length === 0) return '';
  const names = await localityNamesOf(db, ids);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Whether the person fits the service's age range and area (unknowns are not held against them). */
export function fits(service: Pick<ServiceCriteria, 'min_age' | 'max_age' | 'locality_ids'>, person: PersonFacts): boolean {
  if (person.age !== null && service.min_age !== null && person.age < service.min_age) return false;
  if (person.age !== null && service.max_age !== null && person.age > service.max_age) return false;
  if (person.localityId !== null && service.locality_ids.length > 0 && !service.locality_ids.includes(person.localityId)) return false;
  return true;
}

/**
 * Why the person does not fit the service, in a sentence for the error summary, or null when
 * they do: "Attendance support is for people aged 4 to 11: this person is 85."
 */
export async function eligibilityProblem(
  db: Db,
  service: ServiceCriteria,
  person: PersonFacts,
  subject: 'this person' | 'you' | 'they' = 'this person',
): Promise<string | null> {
  // Told to a resident asking for themselves ("you are 85") or for someone they act for.
  const is = subject === 'this person' ? 'this person is' : subject === 'you' ? 'you are' : 'they are';
  const lives = subject === 'this person' ? 'this person lives' : `${subject} live`;
  const ages = agesText(service.min_age, service.max_age);
  if (ages && person.age !== null && !fits({ ...service, locality_ids: [] }, person)) {
    return `${service.name} is for people ${ages}: ${is} ${person.age}`;
  }
  if (person.localityId !== null && service.locality_ids.length > 0 && !service.locality_ids.includes(person.localityId)) {
    return `${service.name} covers ${await localityList(db, service.locality_ids)} only: ${lives} in ${person.localityName ?? 'another area'}`;
  }
  return null;
}

export async function serviceCriteria(db: Db, serviceId: string): Promise<ServiceCriteria | undefined> {
  const s = await serviceById(db, serviceId);
  return s ? { id: s.id, name: s.name, min_age: s.minAge, max_age: s.maxAge, locality_ids: s.localityIds } : undefined;
}
