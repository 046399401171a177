// The audit log as other modules read it: the latest events about one person, as a subquery a
// caller embeds in its own statement (who looked at a record, with names joined there).
import { sql, type RawBuilder } from 'kysely';

/** Kysely: the `limit` most recent audit events about the person (every column), newest first, as a subquery. */
export function latestAuditEventsAbout(personId: string, limit: number): RawBuilder<unknown> {
  return sql`select * from audit_events where person_id = ${personId} order by at desc, seq desc limit ${limit}`;
}
