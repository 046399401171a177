// Which of some people a practitioner works with, as the access policy reads a relationship of
// care: a current one naming the practitioner, or (naming no practitioner) their team, or (naming
// neither) their organisation. For worklists that first narrow to "my people" and then pass each
// person through the access decision; this only narrows, it grants nothing. peopleInReach does
// the same for a bulk read (FHIR $export): every person the decision could allow anything of.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { peopleWithRecordUnder } from '../linkage/index.ts';
import { organisationSourceCodeOf } from '../network/index.ts';

/** Of `personIds`, those in a current relationship of care with the user (one query for the whole list). */
export async function peopleInCareOf(
  db: Kysely<Database>,
  user: Pick<SignedInUser, 'practitionerId' | 'teamId' | 'organisationId'>,
  personIds: readonly string[],
): Promise<Set<string>> {
  const wanted = [...new Set(personIds)];
  if (wanted.length === 0) return new Set();
  const rows = await db
    .selectFrom('care_relationships as r')
    .select('r.person_id')
    .distinct()
    .where('r.person_id', 'in', wanted)
    .where('r.ended_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('r.practitioner_id', '=', user.practitionerId),
        eb.and([eb('r.practitioner_id', 'is', null), eb('r.team_id', '=', user.teamId)]),
        eb.and([eb('r.practitioner_id', 'is', null), eb('r.team_id', 'is', null), eb('r.organisation_id', '=', user.organisationId)]),
      ]),
    )
    .execute();
  return new Set(rows.map((r) => r.person_id));
}

/** The people with a current relationship of care naming this practitioner themselves (their own network; grants nothing). */
export async function peopleNamingPractitioner(db: Kysely<Database>, practitionerId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('care_relationships')
    .select('person_id')
    .distinct()
    .where('practitioner_id', '=', practitionerId)
    .where('ended_at', 'is', null)
    .execute();
  return rows.map((r) => r.person_id);
}

/**
 * SQL: whether the current relationship of care `r` reaches the practitioner at `at`, as the
 * access policy reads it: one naming them, or (naming no practitioner) their home team's or that
 * of a team they are a member of at that moment (an integrated team's), or (naming neither) their
 * organisation's. One definition for search's probe and the reach of bulk reads.
 */
export function relationshipReaches(
  user: Pick<SignedInUser, 'practitionerId' | 'teamId' | 'organisationId'>,
  at: RawBuilder<unknown>,
): RawBuilder<boolean> {
  return sql<boolean>`(r.practitioner_id = ${user.practitionerId}
    or (r.practitioner_id is null and (r.team_id = ${user.teamId}
      or r.team_id in (select m.team_id from team_memberships m
        where m.practitioner_id = ${user.practitionerId} and m.started_at <= ${at} and (m.ended_at is null or m.ended_at > ${at}))
      or (r.team_id is null and r.organisation_id = ${user.organisationId}))))`;
}

/**
 * Kysely: the people (person_id, each once) the user could be allowed any part of the record of,
 * from the facts the access decision starts from: for a practitioner, a current relationship of
 * care with them, their team (home or by membership) or their organisation, a record their
 * organisation holds, or their break-glass in force; for a citizen, themselves and those they are
 * a proxy for. Everyone else the decision refuses outright (policy.ts), so a bulk read may leave
 * them out before deciding. A superset (dates, categories, purposes, sharing choices and
 * restrictions are the decision's): it narrows, it grants nothing. Undefined for other roles,
 * whose reads are not narrowed this way.
 */
export function peopleInReach(user: SignedInUser, now: Date): RawBuilder<{ person_id: string }> | undefined {
  const at = now.toISOString();
  if (user.role === 'citizen') {
    if (!user.personId) return sql<{ person_id: string }>`(select null::text as person_id where false)`;
    return sql<{ person_id: string }>`(select ${user.personId}::text as person_id
      union select x.person_id from proxies x where x.proxy_person_id = ${user.personId} and x.revoked_at is null)`;
  }
  if (user.role !== 'practitioner') return undefined;
  // Without an organisation a practitioner is refused everyone, break-glass included.
  if (!user.organisationId) return sql<{ person_id: string }>`(select null::text as person_id where false)`;
  return sql<{ person_id: string }>`(select r.person_id from care_relationships r
      where r.ended_at is null and ${relationshipReaches(user, sql`${at}::timestamptz`)}
    union select h.person_id from ${peopleWithRecordUnder(organisationSourceCodeOf(user.organisationId) as RawBuilder<string>)} h
    union select g.person_id from break_glass_grants g where g.user_id = ${user.id} and g.expires_at > ${at}::timestamptz)`;
}
