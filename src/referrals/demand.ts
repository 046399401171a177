// Referral flow as counts for the commissioners' demand and capacity view (insight): per service
// and per month, never a referral or a person. Insight protects the counts before they are shown.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

export interface ServiceFlowRow {
  service_id: string;
  referrals_in: number;
  waiting: number;
  accepted: number;
  completed: number;
  measured: number;
  within: number;
}

/**
 * Kysely: each service with at least one referral, and its flow over the 12 months to `asOf`
 * (`today` is asOf's UK day): referrals in, waiting now, accepted, completed, and of those sent
 * and not cancelled or declined, how many are measured against the first-contact clock and how
 * many were seen within it. A table to join on service_id.
 */
export function referralFlowByService(asOf: Date, today: string): RawBuilder<ServiceFlowRow> {
  return sql<ServiceFlowRow>`(select r.service_id,
      count(r.id) filter (where r.sent_at > ${asOf}::timestamptz - interval '12 months')::int as referrals_in,
      count(r.id) filter (where r.status in ('sent', 'received', 'accepted'))::int as waiting,
      count(r.id) filter (where r.accepted_at > ${asOf}::timestamptz - interval '12 months')::int as accepted,
      count(r.id) filter (where r.status = 'completed' and r.closed_at > ${asOf}::timestamptz - interval '12 months')::int as completed,
      count(r.id) filter (where r.sent_at > ${asOf}::timestamptz - interval '12 months' and r.status not in ('cancelled', 'declined')
        and (r.first_contact_at is not null or r.first_contact_due < ${today}))::int as measured,
      count(r.id) filter (where r.sent_at > ${asOf}::timestamptz - interval '12 months' and r.status not in ('cancelled', 'declined')
        and r.first_contact_at is not null and (r.first_contact_at at time zone 'Europe/London')::date <= r.first_contact_due)::int as within
    from referrals r group by r.service_id)`;
}

/** Referrals sent each calendar month (UK time, YYYY-MM) from the day `from` on, to one service or (null) every one; months with none are left out. */
export async function referralsSentByMonth(
  db: Kysely<Database>,
  from: string,
  serviceId: string | null,
): Promise<Array<{ month: string; n: number }>> {
  return (
    await sql<{ month: string; n: number }>`
    select to_char(r.sent_at at time zone 'Europe/London', 'YYYY-MM') as month, count(*)::int as n
    from referrals r
    where (r.sent_at at time zone 'Europe/London')::date >= ${from}::date and ${serviceId === null ? sql`true` : sql`r.service_id = ${serviceId}`}
    group by 1`.execute(db)
  ).rows;
}

/**
 * Kysely: every referral not cancelled, as a table to join (insight's access measures): person_id,
 * service_id, sent_at, decided (accepted or declined, now or earlier), accepted (now or earlier)
 * and first_contact_days (days from sending to first contact; null before any contact).
 */
export const referralOutcomes = sql<{
  person_id: string;
  service_id: string;
  sent_at: Date;
  decided: boolean;
  accepted: boolean;
  first_contact_days: number | null;
}>`(select r.person_id, r.service_id, r.sent_at,
    r.accepted_at is not null or r.status in ('accepted', 'in_progress', 'completed', 'declined') as decided,
    r.accepted_at is not null or r.status in ('accepted', 'in_progress', 'completed') as accepted,
    case when r.first_contact_at is not null then extract(epoch from (r.first_contact_at - r.sent_at)) / 86400.0 end as first_contact_days
  from referrals r where r.status <> 'cancelled')`;

/** Kysely: when the latest referral was sent (null when none). */
export const latestReferralSent = sql<Date | null>`(select max(sent_at) from referrals)`;
