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
import { dateParts } from '../platform/date-input.ts';
import { exactPersonMatches } from '../people/index.ts';

/** Emergency searches one practitioner may make in an hour. */
export const EMERGENCY_SEARCHES_PER_HOUR = 10;

export interface EmergencySearchInput {
  nhsNumber: string | null;
  givenName: string | null;
  familyName: string | null;
  birthDate: string;
}

/** The form as typed, to show again (emergencySearchForm in forms.ts checks it). */
export function typedValues(body: Record<string, unknown>) {
  const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string).slice(0, 100) : '');
  return { nhs: text('nhs'), givenName: text('given-name'), familyName: text('family-name'), dob: dateParts(body, 'dob') };
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
