// A person's whole history as each agency recorded it (every need, current or not, and every
// event), with the organisation's name: what the person's own copy of their record (the right of
// access) lists. Only fetches: the caller holds the access decision and filters by category.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationNameOf } from '../network/index.ts';

export interface NeedHistoryRow {
  code: string;
  organisation: string;
  recorded_at: string;
  severity: number;
  current: boolean;
}
export interface EventHistoryRow {
  type: string;
  organisation: string;
  at: Date;
  value: number | null;
}

/** Every need recorded for the person, oldest first. */
export async function needHistoryOf(db: Kysely<Database>, personId: string): Promise<NeedHistoryRow[]> {
  // organisation_id is a required reference, so every need has its organisation's name.
  return db
    .selectFrom('needs as n')
    .select([
      'n.code',
      organisationNameOf('n.organisation_id').$castTo<string>().as('organisation'),
      'n.recorded_at',
      'n.severity',
      'n.current',
    ])
    .where('n.person_id', '=', personId)
    .orderBy('n.recorded_at')
    .execute();
}

/** Every event recorded about the person, oldest first. */
export async function eventHistoryOf(db: Kysely<Database>, personId: string): Promise<EventHistoryRow[]> {
  return db
    .selectFrom('person_events as e')
    .select(['e.type', organisationNameOf('e.organisation_id').$castTo<string>().as('organisation'), 'e.at', 'e.value'])
    .where('e.person_id', '=', personId)
    .orderBy('e.at')
    .execute();
}
