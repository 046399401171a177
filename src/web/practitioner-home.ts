// A practitioner's home page, as one view model: their team's referral inbox first when the team
// receives referrals (counts and a date, no names), how many messages from people they or their
// team lead for wait for an answer (a count), plans due for review of people they work
// with (each through the access decision, in plans/reviews-due.ts), and their organisation's
// caseload a page at a time, searchable by name. The names on the caseload page shown pass the
// access decision (one query, one audit append for the page); names on other pages are not read.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccessForMany } from '../consent/index.ts';
import { organisationById, teamById } from '../network/index.ts';
import { organisationCaseload, type CaseloadPage } from '../people/index.ts';
import { peopleHeldByOrganisationCount } from '../linkage/index.ts';
import { teamInbox, ukDate, type TeamInbox } from '../referrals/index.ts';
import { plansDueForReview, REVIEW_DUE_WITHIN_DAYS, type PlansDue } from '../plans/index.ts';
import { pageHref, pagination, showing, type Pagination } from '../platform/pagination.ts';
import { unansweredCount } from '../records/index.ts';

export const CASELOAD_PER_PAGE = 25;

export interface CaseloadQuery {
  page: number;
  q: string;
}

/** The caseload's page and search from the query string; anything odd is the first page, no search. */
export function caseloadQuery(raw: unknown): CaseloadQuery {
  const query = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const page = typeof query.page === 'string' && /^\d{1,6}$/.test(query.page) ? Math.max(1, Number(query.page)) : 1;
  const q =
    typeof query.q === 'string'
      ? query.q
          .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
          .trim()
          .slice(0, 100)
      : '';
  return { page, q };
}

export interface PractitionerHome {
  organisation: { name: string; kind: string } | undefined;
  inbox: (TeamInbox & { team: string }) | null;
  /** Conversations with people the practitioner or their team lead for, waiting for an answer (a count, no names). */
  unansweredMessages: number;
  plansDue: PlansDue;
  reviewWithinDays: number;
  caseload: CaseloadPage & { hidden: number; from: number; to: number };
  q: string;
  pageHref: (page: number) => string;
  pagination: Pagination | null;
}

export async function practitionerHome(
  db: Kysely<Database>,
  user: SignedInUser,
  query: CaseloadQuery,
  now: Date = new Date(),
): Promise<PractitionerHome> {
  const organisationId = user.organisationId!;
  const [organisation, inbox, plansDue, caseload, unansweredMessages] = await Promise.all([
    organisationById(db, organisationId).then((o) => (o ? { name: o.name, kind: o.kind } : undefined)),
    user.teamId ? teamInbox(db, user.teamId, now) : Promise.resolve(null),
    plansDueForReview(db, user, ukDate(now)),
    organisationCaseload(db, organisationId, {
      page: query.page,
      perPage: CASELOAD_PER_PAGE,
      query: query.q,
      knownPeople: peopleHeldByOrganisationCount(organisationId),
    }),
    unansweredCount(db, user),
  ]);
  const team = inbox ? await teamById(db, inbox.teamId) : undefined;
  // Names on a worklist are a read of each person's basic details: the decision for the page shown, all on the audit record.
  const access =
    caseload.rows.length === 0
      ? new Map()
      : await decideRecordAccessForMany(db, {
          actor: user,
          personIds: caseload.rows.map((r) => r.personId),
          categories: ['demographics'],
          purpose: 'direct_care',
          action: 'list',
        });
  const rows = caseload.rows.filter((r) => access.get(r.personId)?.allowed);
  const href = pageHref('/home', { q: query.q }, '#caseload');
  return {
    organisation,
    plansDue,
    unansweredMessages,
    reviewWithinDays: REVIEW_DUE_WITHIN_DAYS,
    q: query.q,
    pageHref: href,
    inbox: inbox ? { ...inbox, team: team?.name ?? 'your team' } : null,
    caseload: {
      ...caseload,
      rows,
      hidden: caseload.rows.length - rows.length,
      ...showing(caseload.page, caseload.perPage, caseload.matching, caseload.rows.length),
    },
    pagination: pagination(caseload.page, caseload.pages, href, { numbered: true }),
  };
}
