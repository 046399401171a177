// "What matters to me / what help I need": a resident's short self-assessment, routed by need to
// the team whose service meets it where the person lives, as a referral of kind
// 'self_assessment' in the same closed loop, with a promised call-back date (the service's
// first-contact clock in working days). Routing, stated once: among the services meeting at
// least one chosen need that the person fits (age and area, eligibility.ts), the one meeting the
// most of the chosen needs; then one open to self-referral; then the shortest first-contact
// clock; then the shortest waiting list; then by name, so the same answers always go to the same
// team. The person is told which service it went to, and why.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { saveAboutMe } from '../records/index.ts';
import { fits, personFacts, type PersonFacts } from './eligibility.ts';
import { serviceFor } from './referrals.ts';
import { waitingLists } from './queries.ts';
import { addWorkingDays, ukDate } from './working-days.ts';
import { fileSelfMade, SelfReferralInputError, subjectFor, type ContactDetails, type SelfReferralSent } from './self-referral.ts';
import { allServices } from '../network/index.ts';
import { personDetails } from '../people/index.ts';

export interface SelfAssessmentInput {
  submissionKey: string;
  needs: string[];
  whatMatters: string;
  help: string;
  contact: ContactDetails;
  /** Also keep what matters to them as their "about me", for every assessment to reuse. */
  saveAboutMe: boolean;
}

export interface RoutedService {
  id: string;
  name: string;
  organisation: string;
  met: string[];
  firstContactWithinDays: number;
}

/** The service a self-assessment goes to (see the top of this file), or null when none meets the needs. */
export async function routeSelfAssessment(db: Kysely<Database>, needs: string[], facts: PersonFacts): Promise<RoutedService | null> {
  if (needs.length === 0) return null;
  // Only services meeting one of the needs can be candidates: the owner filters them in its query.
  const services = (await allServices(db, { needsAny: needs })).map((s) => ({
    id: s.id,
    name: s.name,
    organisation: s.organisationName,
    needs: s.needs,
    min_age: s.minAge,
    max_age: s.maxAge,
    locality_ids: s.localityIds,
    accepts_self_referral: s.acceptsSelfReferral,
    first_contact_within_days: s.firstContactWithinDays,
  }));
  const candidates = services
    .map((s) => ({ ...s, met: s.needs.filter((n) => needs.includes(n)) }))
    .filter((s) => s.met.length > 0 && fits(s, facts));
  if (candidates.length === 0) return null;
  const waits = await waitingLists(
    db,
    candidates.map((s) => s.id),
  );
  candidates.sort(
    (a, b) =>
      b.met.length - a.met.length ||
      Number(b.accepts_self_referral) - Number(a.accepts_self_referral) ||
      a.first_contact_within_days - b.first_contact_within_days ||
      (waits.get(a.id)?.waiting ?? 0) - (waits.get(b.id)?.waiting ?? 0) ||
      a.name.localeCompare(b.name) ||
      a.id.localeCompare(b.id),
  );
  const best = candidates[0]!;
  return {
    id: best.id,
    name: best.name,
    organisation: best.organisation,
    met: best.met,
    firstContactWithinDays: best.first_contact_within_days,
  };
}

/** The call-back date promised for a service: its first-contact clock in working days from today. */
export function callBackBy(firstContactWithinDays: number, now: Date = new Date()): string {
  return addWorkingDays(ukDate(now), firstContactWithinDays);
}

/** Sends the self-assessment to the team the needs route to; the person (or their proxy) must be signed in. */
export async function sendSelfAssessment(
  db: Kysely<Database>,
  user: SignedInUser,
  forPerson: string | null,
  input: SelfAssessmentInput,
  needNames: (code: string) => string,
  now: Date = new Date(),
): Promise<SelfReferralSent & { met: string[] }> {
  const subject = await subjectFor(db, user, forPerson);
  const facts = await personFacts(db, subject.personId, now);
  const routed = await routeSelfAssessment(db, input.needs, facts);
  if (!routed) {
    throw new SelfReferralInputError([
      {
        field: 'needs',
        text: 'No service in the directory meets these needs where you live yet. Choose other help, or search the directory',
      },
    ]);
  }
  const service = (await serviceFor(db, routed.id))!;
  const p = await personDetails(db, subject.personId);
  if (!p) throw new Error('the signed-in subject has no person record');
  const contact = {
    ...input.contact,
    givenName: p.givenName,
    familyName: p.familyName,
    birthDate: p.birthDate ? String(p.birthDate).slice(0, 10) : null,
  };
  const reason = [
    `Help needed with: ${input.needs.map(needNames).join(', ')}.`,
    `What matters to me: ${input.whatMatters}`,
    input.help ? `What would help: ${input.help}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  const sent = await fileSelfMade(
    db,
    {
      kind: 'self_assessment',
      service,
      submissionKey: input.submissionKey,
      contact,
      reason,
      personWords: input.whatMatters,
      urgency: 'routine',
      onwardConsent: true,
      categories: [],
      needs: input.needs,
      whatMatters: input.whatMatters,
      signedIn: { user, ...subject },
      // Tell it once: their words become the current "about me" (a new version, the old ones kept),
      // which every assessment asking what matters prefills (plans/prefill.ts).
      alsoInTransaction: input.saveAboutMe
        ? async (trx, personId) => {
            await saveAboutMe(trx, user, personId, {
              whatMatters: input.whatMatters,
              ...(input.help ? { howToSupport: input.help } : {}),
              reason: 'updated "about me" from "What matters to you"',
            });
          }
        : undefined,
    },
    now,
  );
  return { ...sent, met: routed.met };
}
