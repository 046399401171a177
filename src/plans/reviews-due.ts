// Plans due for review, for a practitioner's home page: active plans whose review date has come
// or comes within the fortnight, of people the practitioner works with (they lead the person's
// enrolment, or they, their team or their organisation are in the person's care network, as the
// access policy reads a relationship). Each person on the list passes the one access decision for their
// plan and basic details (care coordination), and only those it allows are listed; every
// decision, allow or deny, is on the audit record. The person is told too: once a review comes
// within the same fortnight, their own account gets one notice per plan and review date.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { accountsOfPeople, type SignedInUser } from '../auth/index.ts';
import { decideRecordAccessForMany, peopleInCareOf, visibleToReader } from '../consent/index.ts';
import { peopleByIds } from '../people/index.ts';
import { notify } from '../notify/index.ts';

/** How far ahead a review counts as due. */
export const REVIEW_DUE_WITHIN_DAYS = 14;
const MAX_LISTED = 50;
/** Plans due read at a time while finding the practitioner's own (a page, not the whole place). */
const CANDIDATE_PAGE = 500;

export interface PlanDue {
  planId: string;
  personId: string;
  name: string;
  title: string;
  reviewOn: string;
  /** Days until the review (negative: overdue by that many days). */
  daysUntil: number;
}

export interface PlansDue {
  plans: PlanDue[];
  withheld: number;
  more: boolean;
}

const dayNumber = (iso: string) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

export async function plansDueForReview(db: Kysely<Database>, user: SignedInUser, today: string): Promise<PlansDue> {
  if (user.role !== 'practitioner' || !user.organisationId) return { plans: [], withheld: 0, more: false };
  const until = new Date((dayNumber(today) + REVIEW_DUE_WITHIN_DAYS) * 86_400_000).toISOString().slice(0, 10);
  // Plans due, in order, a page at a time, kept when the practitioner leads the enrolment or is in
  // the person's care network (consent module), until one more than the list shows is found.
  const candidates: Array<{ id: string; person_id: string; title: string; next_review_on: string; organisation_id: string | null }> = [];
  for (let offset = 0; candidates.length <= MAX_LISTED; offset += CANDIDATE_PAGE) {
    const page = await db
      .selectFrom('plans as pl')
      .leftJoin('model_enrolments as e', 'e.id', 'pl.enrolment_id')
      .select([
        'pl.id',
        'pl.person_id',
        'pl.title',
        sql<string>`pl.next_review_on::text`.as('next_review_on'),
        'pl.organisation_id',
        'e.lead_practitioner_id',
      ])
      .where('pl.status', '=', 'active')
      .where('pl.next_review_on', 'is not', null)
      .where('pl.next_review_on', '<=', sql<string>`${until}::date`)
      .orderBy('pl.next_review_on')
      .orderBy('pl.id')
      .limit(CANDIDATE_PAGE)
      .offset(offset)
      .execute();
    const inCare = await peopleInCareOf(
      db,
      user,
      page.filter((c) => !(user.practitionerId !== null && c.lead_practitioner_id === user.practitionerId)).map((c) => c.person_id),
    );
    candidates.push(
      ...page
        .filter((c) => (user.practitionerId !== null && c.lead_practitioner_id === user.practitionerId) || inCare.has(c.person_id))
        .slice(0, MAX_LISTED + 1 - candidates.length),
    );
    if (page.length < CANDIDATE_PAGE) break;
  }
  const more = candidates.length > MAX_LISTED;
  const shown = candidates.slice(0, MAX_LISTED);
  if (shown.length === 0) return { plans: [], withheld: 0, more: false };
  const access = await decideRecordAccessForMany(db, {
    actor: user,
    personIds: shown.map((c) => c.person_id),
    categories: ['demographics', 'plans'],
    purpose: 'care_coordination',
    action: 'list',
  });
  // A plan is shown only if the decision lets the reader see this plan: all plans, or their own organisation's.
  const allowed = (c: (typeof shown)[number]) => {
    const a = access.get(c.person_id);
    return (
      a !== undefined &&
      a.byCategory.demographics.scope !== 'none' &&
      visibleToReader(a.byCategory, 'plans', c.organisation_id, user.organisationId)
    );
  };
  const names = new Map(
    (
      await peopleByIds(
        db,
        shown.filter(allowed).map((c) => c.person_id),
      )
    ).map((p) => [p.id, `${p.givenName} ${p.familyName}`]),
  );
  const plans = shown
    .filter(allowed)
    .filter((c) => names.has(c.person_id))
    .map((c) => ({
      planId: c.id,
      personId: c.person_id,
      name: names.get(c.person_id)!,
      title: c.title,
      reviewOn: c.next_review_on.slice(0, 10),
      daysUntil: dayNumber(c.next_review_on.slice(0, 10)) - dayNumber(today),
    }));
  return { plans, withheld: shown.length - plans.length, more };
}

const ukDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });
/** Today's date in the UK, YYYY-MM-DD. */
export const ukToday = (now: Date = new Date()): string => ukDay.format(now);

/**
 * Tells each person with an account that a review of their active plan is coming up, once the
 * review date is within REVIEW_DUE_WITHIN_DAYS (or passed less than that ago): one notice per
 * plan and review date (a new date, set when the plan is reviewed, is a new notice). Safe to run
 * on several servers at once: the notice's key is unique. Returns the notices queued.
 */
export async function noticeReviewsDue(db: Kysely<Database>, today: string, now: Date = new Date()): Promise<number> {
  const until = new Date((dayNumber(today) + REVIEW_DUE_WITHIN_DAYS) * 86_400_000).toISOString().slice(0, 10);
  // Reviews long overdue are the practitioners' to chase, not news to the person.
  const since = new Date((dayNumber(today) - REVIEW_DUE_WITHIN_DAYS) * 86_400_000).toISOString().slice(0, 10);
  const due = (
    await sql<{ id: string; person_id: string; next_review_on: string }>`
    select id, person_id, next_review_on::text as next_review_on from plans
    where status = 'active' and next_review_on between ${since}::date and ${until}::date and subject_kind = 'person'
    order by id`.execute(db)
  ).rows;
  if (due.length === 0) return 0;
  const accounts = Map.groupBy(
    await accountsOfPeople(
      db,
      due.map((p) => p.person_id),
    ),
    (a) => a.personId,
  );
  let queued = 0;
  for (const plan of due) {
    for (const { userId } of accounts.get(plan.person_id) ?? []) {
      queued += await notify(
        db,
        { userId, event: 'plan_review_due', path: '/my-plan', dedupeKey: `plan-review:${plan.id}:${plan.next_review_on.slice(0, 10)}` },
        now,
      );
    }
  }
  return queued;
}
