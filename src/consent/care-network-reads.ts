// A person's care network as their relationships of care record it, for the records module: the
// network panel (who is involved, in what role), the lead practitioner now (who the person's
// messages go to; also embedded in the person page's one statement) and every current lead, which
// the care team's inbox joins its conversations to. Reads grant nothing: callers hold the access
// decision for the person.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationNameOf, practitionerCardOf } from '../network/index.ts';

/**
 * Kysely: the person's relationships of care, current ones only unless `includeEnded`, as a table:
 * id, kind, role_label, practitioner_id, team_id, organisation_id, reason, started_at, ended_at.
 */
export function careRelationshipsOf(
  personId: string,
  includeEnded: boolean,
): RawBuilder<{
  id: number;
  kind: string;
  role_label: string | null;
  practitioner_id: string | null;
  team_id: string | null;
  organisation_id: string;
  reason: string;
  started_at: Date;
  ended_at: Date | null;
}> {
  return sql`(select r.id, r.kind, r.role_label, r.practitioner_id, r.team_id, r.organisation_id, r.reason, r.started_at, r.ended_at
    from care_relationships r
    where r.person_id = ${personId} ${includeEnded ? sql`` : sql`and r.ended_at is null`})`;
}

/** The statement finding the person's lead practitioner now, with their organisation's name (also embedded in the person page's panels). */
export function leadPractitionerQuery(db: Kysely<Database>, personId: string) {
  return db
    .selectFrom('care_relationships as r')
    .select([practitionerCardOf('r.practitioner_id').as('p'), organisationNameOf('r.organisation_id').as('organisation')])
    .where('r.person_id', '=', personId)
    .where('r.role_label', '=', 'lead practitioner')
    .where('r.practitioner_id', 'is not', null)
    .where('r.ended_at', 'is', null)
    .orderBy('r.started_at', 'desc')
    .limit(1);
}

/** Kysely: every current lead-practitioner relationship, as a table to join: person_id, practitioner_id. */
export const currentLeadPractitioners = sql<{ person_id: string; practitioner_id: string | null }>`(select r.person_id, r.practitioner_id
  from care_relationships r where r.role_label = 'lead practitioner' and r.ended_at is null)`;
