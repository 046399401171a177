// What a receiving team's home page leads with: how many referrals wait for the team and since
// when. Counts and a date only, no names, so nothing here needs an access decision. "Waiting"
// means what it means on the service directory and the demand figures: sent, acknowledged or
// accepted, but not yet seen (no first contact).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { ukDate } from './working-days.ts';
import { teamReceivesReferrals } from '../network/index.ts';

export interface TeamInbox {
  teamId: string;
  /** Referrals waiting for first contact. */
  waiting: number;
  /** Of those, not yet acknowledged. */
  notAcknowledged: number;
  /** Past their acknowledgement or first-contact date. */
  overdue: number;
  /** When the referral that has waited longest was sent. */
  oldestSentAt: Date | null;
}

/** The team's inbox, or null when the team runs no service (it receives no referrals). */
export async function teamInbox(db: Kysely<Database>, teamId: string, now: Date = new Date()): Promise<TeamInbox | null> {
  if (!(await teamReceivesReferrals(db, teamId))) return null;
  const today = ukDate(now);
  const row = (
    await sql<{ waiting: number; not_acknowledged: number; overdue: number; oldest: Date | null }>`
    select count(*)::int as waiting,
      count(*) filter (where status = 'sent')::int as not_acknowledged,
      count(*) filter (where (status = 'sent' and acknowledge_due < ${today}) or first_contact_due < ${today})::int as overdue,
      min(sent_at) as oldest
    from referrals where team_id = ${teamId} and status in ('sent', 'received', 'accepted')`.execute(db)
  ).rows[0]!;
  return {
    teamId,
    waiting: Number(row.waiting),
    notAcknowledged: Number(row.not_acknowledged),
    overdue: Number(row.overdue),
    oldestSentAt: row.oldest ? new Date(row.oldest) : null,
  };
}
