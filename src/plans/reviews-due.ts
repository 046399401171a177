// Plans due for review, for a practitioner's home page: active plans whose review date has come
// or comes within the fortnight, of people the practitioner works with (they lead the person's
// enrolment, or they, their team or their organisation are in the person's care network, as the
// access policy reads a relationship). Each person on the list passes the one access decision for their
// plan and basic details (care coordination), and only those it allows are listed; every
// decision, allow or deny, is on the audit record.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccessForMany, visibleToReader } from '../consent/index.ts';

/** How far ahead a review counts as due. */
export const REVIEW_DUE_WITHIN_DAYS = 14;
const MAX_LISTED = 50;

export interface PlanDue {
  planId: string;
  personId: string;
  name: string;
  title: string;
  reviewOn: string;
  /** Days until the review (negative: overdue by that many days). */
  daysUntil: number;
}

export interface PlansDue { plans: PlanDue[]; withheld: number; more: boolean }

const dayNumber = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

export async function plansDueForReview(db: Kysely<Database>, user: SignedInUser, today: string): Promise<PlansDue> {
  if (user.role !== 'practitioner' || !user.organisationId) return { plans: [], withheld: 0, more: false };
  const until = new Date((dayNumber(today) + REVIEW_DUE_WITHIN_DAYS) * 86_400_000).toISOString().slice(0, 10);
  const candidates = (await sql<{ id: string; person_id: string; given_name: string; family_name: string; title: string; next_review_on: string; organisation_id: string | null }>`
    select pl.id, pl.person_id, p.given_name, p.family_name, pl.title, pl.next_review_on::text as next_review_on, pl.organisation_id
    from plans pl join persons p on p.id = pl.person_id
    left join model_enrolments e on e.id = pl.enrolment_id
    where pl.status = 'active' and pl.next_review_on is not null and pl.next_review_on <= ${until}::date
      and ((${user.practitionerId}::text is not null and e.lead_practitioner_id = ${user.practitionerId})
        or exists (select 1 from care_relationships r where r.person_id = pl.person_id and r.ended_at is null
          and (r.practitioner_id = ${user.practitionerId}
            or (r.practitioner_id is null and r.team_id = ${user.teamId})
            or (r.practitioner_id is null and r.team_id is null and r.organisation_id = ${user.organisationId}))))
    order by pl.next_review_on, pl.id
    limit ${MAX_LISTED + 1}`.execute(db)).rows;
  const more = candidates.length > MAX_LISTED;
  const shown = candidates.slice(0, MAX_LISTED);
  if (shown.length === 0) return { plans: [], withheld: 0, more: false };
  const access = await decideRecordAccessForMany(db, { actor: user, personIds: shown.map((c) => c.person_id), categories: ['demographics', 'plans'], purpose: 'care_coordination', action: 'list' });
  // A plan is shown only if the decision lets the reader see this plan: all plans, or their own organisation's.
  const allowed = (c: typeof shown[number]) => {
    const a = access.get(c.person_id);
    return a !== undefined && a.byCategory.demographics.scope !== 'none' && visibleToReader(a.byCategory, 'plans', c.organisation_id, user.organisationId);
  };
  const plans = shown.filter(allowed).map((c) => ({
    planId: c.id, personId: c.person_id, name: `${c.given_name} ${c.family_name}`, title: c.title,
    reviewOn: c.next_review_on.slice(0, 10), daysUntil: dayNumber(c.next_review_on.slice(0, 10)) - dayNumber(today),
  }));
  return { plans, withheld: shown.length - plans.length, more };
}
