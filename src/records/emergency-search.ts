// Emergency access search: how a practitioner who may use break-glass finds the record of someone
// their organisation does not work with. Ordinary search finds only people the searcher already
// works with, so this is the door to emergency access that needs no typed web address.
//
// It is built against enumeration. It needs exact identifying details, always with the date of
// birth: an NHS number, or a first and last name (in any case, extra spaces ignored). It answers
// with at most one person, and only when exactly one matches; never a list, never a near miss,
// and the same words whether nobody or a near namesake exists. Every search is on the audit
// record (the person sees "found you with an emergency search"; a search that found nobody is
// recorded against nobody), without the details typed. Each practitioner may make a few an hour,
// counted from the audit record, so the limit holds across servers.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit, emergencySearchesSince } from '../audit/index.ts';
import { Refusal, RefusedInput } from '../platform/refused.ts';
import { dateParts, readDateInput, type DatePart } from '../platform/date-input.ts';
import { isValidNhsNumber } from '../people/index.ts';
import { exactPersonMatches } from '../people/index.ts';

/** Emergency searches one practitioner may make in an hour. */
export const EMERGENCY_SEARCHES_PER_HOUR = 10;

export interface EmergencySearchInput {
  nhsNumber: string | null;
  givenName: string | null;
  familyName: string | null;
  birthDate: string;
}

export interface FieldError {
  field: string;
  text: string;
  parts?: DatePart[];
}

/** The form as typed, to show again. */
export function typedValues(body: Record<string, unknown>) {
  const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string).slice(0, 100) : '');
  return { nhs: text('nhs'), givenName: text('given-name'), familyName: text('family-name'), dob: dateParts(body, 'dob') };
}

/** A form field's problem, shown beside it and in the error summary. */
export class EmergencySearchInputError extends RefusedInput {
  readonly errors: FieldError[];
  constructor(errors: FieldError[]) {
    super(400, errors.map((e) => e.text).join('. '));
    this.errors = errors;
  }
}

/** Past the hourly limit: refused before anything is looked up. */
export class EmergencySearchLimited extends Refusal {
  constructor() {
    super(
      429,
      `You have made ${EMERGENCY_SEARCHES_PER_HOUR} emergency searches in the last hour, which is as many as anyone may. Try again later, or ask a colleague or the privacy officer for help.`,
    );
  }
}

const normaliseName = (value: string) => value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/** Checks the form: an NHS number, or a first and last name, and in either case the date of birth. */
export function parseEmergencySearch(body: Record<string, unknown>, today: Date = new Date()): EmergencySearchInput {
  const typed = typedValues(body);
  const errors: FieldError[] = [];
  const nhs = typed.nhs.replace(/[\s-]/g, '');
  const givenName = normaliseName(typed.givenName);
  const familyName = normaliseName(typed.familyName);
  if (nhs !== '') {
    if (!/^\d{10}$/.test(nhs) || !isValidNhsNumber(nhs)) errors.push({ field: 'nhs', text: 'Enter a real NHS number, like 943 476 5919' });
  } else {
    if (givenName.length === 0 || givenName.length > 100)
      errors.push({ field: 'given-name', text: 'Enter their first name, or their NHS number' });
    if (familyName.length === 0 || familyName.length > 100)
      errors.push({ field: 'family-name', text: 'Enter their last name, or their NHS number' });
  }
  const dob = readDateInput(body, 'dob', 'Date of birth');
  let birthDate = '';
  if (dob.kind === 'empty') errors.push({ field: 'dob', text: 'Enter their date of birth', parts: ['day', 'month', 'year'] });
  else if (dob.kind === 'error') errors.push({ field: 'dob', text: dob.message, parts: dob.parts });
  else if (dob.iso > today.toISOString().slice(0, 10))
    errors.push({ field: 'dob', text: 'Date of birth must be in the past', parts: ['day', 'month', 'year'] });
  else birthDate = dob.iso;
  if (errors.length > 0) throw new EmergencySearchInputError(errors);
  return nhs !== ''
    ? { nhsNumber: nhs, givenName: null, familyName: null, birthDate }
    : { nhsNumber: null, givenName, familyName, birthDate };
}

export type EmergencySearchResult =
  { outcome: 'match'; personId: string; name: string; birthDate: string } | { outcome: 'none' } | { outcome: 'several' };

/** Whether this user may use emergency access at all (the same rule as break-glass itself). */
export function mayUseEmergencyAccess(user: SignedInUser): boolean {
  return user.role === 'practitioner' && user.organisationId !== null;
}

/** One emergency search: limited, exact, audited. */
export async function emergencySearch(
  db: Kysely<Database>,
  user: SignedInUser,
  input: EmergencySearchInput,
  now: Date = new Date(),
): Promise<EmergencySearchResult> {
  if (!mayUseEmergencyAccess(user)) throw new RefusedInput(422, 'Only practitioners of a member organisation can use emergency access');
  const recent = await emergencySearchesSince(db, user.id, new Date(now.getTime() - 3_600_000));
  if (recent >= EMERGENCY_SEARCHES_PER_HOUR) throw new EmergencySearchLimited();
  const matches = await exactPersonMatches(db, input, 2);
  const how = input.nhsNumber !== null ? 'NHS number and date of birth' : 'name and date of birth';
  const base = {
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: user.organisationId,
    action: 'emergency_search',
    category: 'demographics',
    purpose: 'direct_care',
  };
  if (matches.length !== 1) {
    await appendAudit(db, {
      ...base,
      personId: null,
      decision: 'failure',
      reason: `emergency search by ${how}: ${matches.length === 0 ? 'nobody' : 'more than one person'} matched exactly`,
    });
    return matches.length === 0 ? { outcome: 'none' } : { outcome: 'several' };
  }
  const match = matches[0]!;
  await appendAudit(db, { ...base, personId: match.id, decision: 'allow', reason: `emergency search: found by an exact match on ${how}` });
  return { outcome: 'match', personId: match.id, name: `${match.givenName} ${match.familyName}`, birthDate: match.birthDate };
}
