// Confirming who the holder of an account is: the fact that turns an account made from a request
// for help (tied to no person) into the person's own resident account, which then sees their
// whole record. It grants access, so it lives here, with every other such fact: recorded by a
// practitioner who checked (in person with photo ID, or by phone with details only the person
// would know), audited with how, and refused when the person has an account already.
import type { Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { RefusedInput } from '../platform/refused.ts';
import { tieUnconfirmedAccountToPerson, type SignedInUser } from '../auth/index.ts';

export const identityChecks = ['in_person_photo_id', 'phone_known_details'] as const;
export type IdentityCheck = (typeof identityChecks)[number];
export const identityCheckLabels: Record<IdentityCheck, string> = {
  in_person_photo_id: 'In person, with photo ID',
  phone_known_details: 'By phone, with details only the person would know',
};
export const isIdentityCheck = (value: unknown): value is IdentityCheck =>
  typeof value === 'string' && (identityChecks as readonly string[]).includes(value);

/**
 * The practitioner confirms that the holder of `userId` is `personId`, checked as `how`, in the
 * caller's transaction. The caller (the referrals module) has decided the practitioner may: the
 * request went to their organisation and the person index settled who it is about.
 */
export async function confirmAccountIdentity(
  trx: Transaction<Database>,
  actor: SignedInUser,
  input: { userId: string; personId: string; how: IdentityCheck; context: string },
): Promise<void> {
  if (actor.role !== 'practitioner' || !actor.organisationId)
    throw new RefusedInput(404, 'Only a practitioner can confirm who someone is.');
  const outcome = await tieUnconfirmedAccountToPerson(trx, input.userId, input.personId);
  if (outcome === 'person_has_account')
    throw new RefusedInput(
      409,
      'This person already has a Joinery account. Ask them to sign in to that account (or recover it with "Forgotten your password or locked out?"); this request\'s account stays as it is.',
    );
  if (outcome === 'not_unconfirmed')
    throw new RefusedInput(409, "This account is already tied to a person, or is not a resident's account waiting to be confirmed.");
  if (outcome === 'no_such_person')
    throw new RefusedInput(409, 'The person this request was filed against is no longer a separate record: ask a data quality reviewer.');
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: actor.organisationId,
    action: 'confirm_identity',
    personId: input.personId,
    category: 'demographics',
    purpose: 'care_coordination',
    decision: 'success',
    reason: `confirmed who holds account ${input.userId} (${identityCheckLabels[input.how].toLowerCase()}), ${input.context}: the account now sees the person's record`,
  });
}

/**
 * NHS login proved to P9 that the holder of `userId` (an account made from a request for help) is
 * `personId`, who has no resident account: the account becomes theirs, audited. False when it
 * cannot be (the account is not waiting to be confirmed, or the person has an account by now).
 */
export async function confirmAccountIdentityByNhsLogin(
  trx: Transaction<Database>,
  input: { userId: string; personId: string },
): Promise<boolean> {
  const outcome = await tieUnconfirmedAccountToPerson(trx, input.userId, input.personId);
  if (outcome !== 'tied') return false;
  await appendAudit(trx, {
    actorUserId: input.userId,
    actorRole: 'citizen',
    actorOrganisationId: null,
    action: 'confirm_identity',
    personId: input.personId,
    category: 'demographics',
    purpose: 'self',
    decision: 'success',
    reason: `confirmed who holds account ${input.userId} by NHS login (NHS number and date of birth proved to P9): the account now sees the person's record`,
  });
  return true;
}
