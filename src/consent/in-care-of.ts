// Which of some people a practitioner works with, as the access policy reads a relationship of
// care: a current one naming the practitioner, or (naming no practitioner) their team, or (naming
// neither) their organisation. For worklists that first narrow to "my people" and then pass each
// person through the access decision; this only narrows, it grants nothing.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';

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
