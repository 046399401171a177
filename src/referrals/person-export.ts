// Referrals about a person as their own copy of their record (the right of access) lists them:
// each referral with its service and the organisations it went to and came from (named by the
// network module), and the history of each. Only fetches: the consent module's export decides
// which the reader may see (by the organisations' kinds) and asks history only for those.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationKindOf, organisationNameOf, serviceNameOf } from '../network/index.ts';

/** Every referral about the person, newest first; the receiving organisation and service are required references, the sender is null for a request of their own. */
export async function referralsAboutPerson(db: Kysely<Database>, personId: string) {
  return db
    .selectFrom('referrals as r')
    .select([
      'r.id',
      'r.sent_at',
      'r.status',
      'r.urgency',
      'r.reason',
      'r.person_words',
      'r.shared_categories',
      'r.decline_reason',
      'r.closed_at',
      serviceNameOf('r.service_id').as('service'),
      organisationNameOf('r.organisation_id').$castTo<string>().as('organisation'),
      organisationKindOf('r.organisation_id').$castTo<string>().as('kind'),
      organisationNameOf('r.from_organisation_id').as('from_organisation'),
      organisationKindOf('r.from_organisation_id').as('from_kind'),
    ])
    .where('r.person_id', '=', personId)
    .orderBy('r.sent_at', 'desc')
    .execute();
}

/** The history of these referrals, in order, one query for all of them. */
export async function referralHistories(db: Kysely<Database>, referralIds: readonly string[]) {
  if (referralIds.length === 0) return [];
  return db
    .selectFrom('referral_events')
    .select(['referral_id', 'at', 'action', 'to_status', 'by_label'])
    .where('referral_id', 'in', [...referralIds])
    .orderBy('at')
    .orderBy('id')
    .execute();
}
