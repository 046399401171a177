// The audit log as other modules read it: the latest events about one person, as a subquery a
// caller embeds in its own statement (who looked at a record, with names joined there), and the
// events of chosen actors about chosen people within chosen windows (what an emergency access did).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

/** Kysely: the `limit` most recent audit events about the person (every column), newest first, as a subquery. */
export function latestAuditEventsAbout(personId: string, limit: number): RawBuilder<unknown> {
  return sql`select * from audit_events where person_id = ${personId} order by at desc, seq desc limit ${limit}`;
}

export interface AuditWindow {
  key: number;
  actorUserId: string;
  personId: string;
  from: Date;
  to: Date;
}
export interface WindowEvent {
  key: number;
  seq: number;
  action: string;
  category: string | null;
  decision: string;
  reason: string;
}

/**
 * The events each actor recorded about each person within each window (both ends included), in
 * the log's order, tagged with the window's key; `exceptAction` leaves one action out. One query
 * however many windows: what an emergency access was used for.
 */
export async function auditEventsDuring(
  db: Kysely<Database>,
  windows: readonly AuditWindow[],
  exceptAction?: string,
): Promise<WindowEvent[]> {
  if (windows.length === 0) return [];
  const rows = await sql<{ key: number; seq: number | string; action: string; category: string | null; decision: string; reason: string }>`
    select w.key, a.seq, a.action, a.category, a.decision, a.reason
    from (values ${sql.join(windows.map((w) => sql`(${w.key}::bigint, ${w.actorUserId}::text, ${w.personId}::text, ${w.from}::timestamptz, ${w.to}::timestamptz)`))})
      as w(key, user_id, person_id, from_at, to_at)
    join audit_events a on a.actor_user_id = w.user_id and a.person_id = w.person_id and a.at >= w.from_at and a.at <= w.to_at
    ${exceptAction === undefined ? sql`` : sql`where a.action <> ${exceptAction}`}
    order by a.seq`.execute(db);
  return rows.rows.map((r) => ({
    key: Number(r.key),
    seq: Number(r.seq),
    action: r.action,
    category: r.category,
    decision: r.decision,
    reason: r.reason,
  }));
}
