// Feedback on a service the person uses (this module's service_feedback table): what the person
// has given so far, and saving a new piece in the caller's transaction. The feedback page itself
// is the plans module's (plans/feedback-routes.ts): it asks the place's goals beside the feedback
// and saves both together. Also who a citizen's own page is about (themselves, or someone they
// are a registered proxy for), decided once here for every "my record" page.
import type { FastifyRequest } from 'fastify';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { HttpError } from '../platform/http.ts';
import { decideRecordAccess } from '../consent/index.ts';
import { serviceNameOf } from '../network/index.ts';

/** Refused to a citizen acting for someone they may not act for. */
export const NOT_THEIR_RECORD = 'You can only change your own record, or that of someone you are a registered proxy for.';

/**
 * Who a citizen's "my record" request names, before any decision: themselves, or the person in
 * `?for=`. Refuses (403) an account tied to no person, or an id that cannot be one.
 */
export function citizenSubjectId(request: FastifyRequest, user: SignedInUser): string {
  const requested = (request.query as Record<string, unknown> | undefined)?.for;
  const personId = typeof requested === 'string' && requested ? requested : user.personId;
  if (!personId || !/^[A-Za-z0-9_-]{1,64}$/.test(personId)) throw new HttpError(403, 'This account is not linked to a person record.');
  return personId;
}

/**
 * The person a citizen's "my record" page is about: themselves, or the person named in `?for=`
 * when the access decision lets them act for that person. Refuses (403) otherwise.
 */
export async function citizenSubject(
  db: Kysely<Database>,
  request: FastifyRequest,
  user: SignedInUser,
  action: 'read' | 'write',
  category: 'about_me' | 'demographics' = 'about_me',
): Promise<string> {
  const personId = citizenSubjectId(request, user);
  const access = await decideRecordAccess(db, { actor: user, personId, categories: [category], purpose: 'self', action });
  if (!access.allowed) throw new HttpError(403, NOT_THEIR_RECORD);
  return personId;
}

/** The feedback the person has given, newest first, with each service's name. */
export async function feedbackGivenBy(db: Kysely<Database>, personId: string) {
  return db
    .selectFrom('service_feedback as f')
    .select([serviceNameOf('f.service_id').as('name'), 'f.rating', 'f.comment', 'f.created_at'])
    .where('f.person_id', '=', personId)
    .orderBy('f.created_at', 'desc')
    .execute();
}

/** Saves a piece of feedback in the caller's transaction (the caller has checked the person uses the service). */
export async function saveServiceFeedback(
  trx: Transaction<Database>,
  feedback: { serviceId: string; personId: string; rating: number; comment: string | null },
): Promise<void> {
  await trx
    .insertInto('service_feedback')
    .values({ service_id: feedback.serviceId, person_id: feedback.personId, rating: feedback.rating, comment: feedback.comment })
    .execute();
}
