// Break-glass: a practitioner's time-boxed emergency view of a record they could not otherwise
// see, with a typed reason; reported to the person (in "who looked") and to the privacy
// officer's review list.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import type { SignedInUser } from '../auth/accounts.ts';
import { appendAudit } from '../audit/log.ts';
import { RefusedInput } from '../platform/refused.ts';

export const BREAK_GLASS_MINUTES = 60;

/** Starts an emergency access in the caller's transaction; practitioners only. */
export async function startBreakGlass(trx: Kysely<Database>, user: SignedInUser, personId: string, reason: string, now: Date = new Date()): Promise<Date> {
  if (user.role !== 'practitioner' || !user.organisationId) throw new RefusedInput(422, 'Only practitioners of a member organisation can use emergency access');
  const expiresAt = new Date(now.getTime() + BREAK_GLASS_MINUTES * 60_000);
  const exists = await trx.selectFrom('persons').select('id').where('id', '=', personId).executeTakeFirst();
  await appendAudit(trx, {
    actorUserId: user.id, actorRole: user.role, actorOrganisationId: user.organisationId, action: 'break_glass', personId,
    category: null, purpose: 'direct_care', decision: exists ? 'allow' : 'deny',
    reason: exists ? `emergency access for ${BREAK_GLASS_MINUTES} minutes: ${reason}` : 'emergency access asked for a record that does not exist',
  });
  if (exists) await trx.insertInto('break_glass_grants').values({ user_id: user.id, person_id: personId, reason, expires_at: expiresAt, reviewed_at: null, reviewed_by: null, review_outcome: null, review_note: null }).execute();
  return expiresAt;
}

export interface BreakGlassForReview {
  id: number;
  at: Date;
  expiresAt: Date;
  practitioner: string;
  organisation: string | null;
  personId: string;
  personName: string;
  reason: string;
  reviewedAt: Date | null;
  outcome: string | null;
  note: string | null;
}

export async function breakGlassReviewList(db: Kysely<Database>, includeReviewed = false): Promise<BreakGlassForReview[]> {
  let query = db
    .selectFrom('break_glass_grants as g')
    .innerJoin('users as u', 'u.id', 'g.user_id')
    .leftJoin('organisations as o', 'o.id', 'u.organisation_id')
    .innerJoin('persons as p', 'p.id', 'g.person_id')
    .select(['g.id', 'g.started_at', 'g.expires_at', 'u.display_name', 'o.name as organisation', 'g.person_id', 'p.given_name', 'p.family_name', 'g.reason', 'g.reviewed_at', 'g.review_outcome', 'g.review_note']);
  if (!includeReviewed) query = query.where('g.reviewed_at', 'is', null);
  const rows = await query.orderBy('g.started_at', 'asc').limit(200).execute();
  return rows.map((r) => ({
    id: Number(r.id), at: r.started_at, expiresAt: r.expires_at, practitioner: r.display_name, organisation: r.organisation,
    personId: r.person_id, personName: `${r.given_name} ${r.family_name}`, reason: r.reason, reviewedAt: r.reviewed_at, outcome: r.review_outcome, note: r.review_note,
  }));
}

export async function reviewBreakGlass(trx: Kysely<Database>, reviewer: SignedInUser, grantId: number, outcome: 'appropriate' | 'inappropriate', note: string): Promise<boolean> {
  const grant = await trx.selectFrom('break_glass_grants').select(['person_id', 'reviewed_at']).where('id', '=', grantId).forUpdate().executeTakeFirst();
  if (!grant || grant.reviewed_at) return false;
  await trx.updateTable('break_glass_grants').set({ reviewed_at: new Date(), reviewed_by: reviewer.id, review_outcome: outcome, review_note: note }).where('id', '=', grantId).execute();
  await appendAudit(trx, {
    actorUserId: reviewer.id, actorRole: reviewer.role, actorOrganisationId: reviewer.organisationId, action: 'break_glass_review', personId: grant.person_id,
    category: null, purpose: 'safeguarding', decision: 'success', reason: `privacy officer reviewed an emergency access: ${outcome}`,
  });
  return true;
}
