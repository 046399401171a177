// Whether a practitioner has a relationship with a person, as a probe a search embeds per
// candidate: their own, their team's (home team, or a team they are a current member of, as an
// integrated team's members are) or their organisation's care relationship, a record their
// organisation holds, or their break-glass in force. It narrows a search to people the searcher
// is involved with; the access decision still has the last word for each hit.
import { sql, type RawBuilder } from 'kysely';
import type { SignedInUser } from '../auth/index.ts';
import { currentRecordsUnderSource } from '../linkage/index.ts';
import { organisationSourceCodeOf } from '../network/index.ts';
import { relationshipReaches } from './in-care-of.ts';

/**
 * Kysely: one row when the searcher has a relationship with the person `person` names, for
 * `cross join ${...} v`. A lateral probe with LIMIT 1, checked per candidate: candidates are few,
 * and this keeps the planner from building the whole organisation's caseload to test them against.
 */
export function relationshipProbe(user: SignedInUser, person: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`lateral (
    select 1 from care_relationships r where r.person_id = ${person} and r.ended_at is null
      and ${relationshipReaches(user, sql`now()`)}
    union all
    ${currentRecordsUnderSource(person, organisationSourceCodeOf(sql`${user.organisationId}`))}
    union all
    select 1 from break_glass_grants g where g.person_id = ${person} and g.user_id = ${user.id} and g.expires_at > now()
    limit 1)`;
}
