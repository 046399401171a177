// A service's typical wait, for residents choosing where to go: the median number of working days
// from a referral being sent to the service's first contact, over the last six months. Only an
// aggregate leaves this module, and only when enough referrals stand behind it that it says
// nothing about any one person and is not a guess from a handful.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { ukDate, workingDaysBetween } from './working-days.ts';

/** Fewer first contacts than this in the window and the wait is "not known yet". */
export const TYPICAL_WAIT_MIN_REFERRALS = 5;
export const TYPICAL_WAIT_MONTHS = 6;

export interface TypicalWait {
  /** Median working days from sent to first contact (a half day when the middle falls between two). */
  medianWorkingDays: number;
  /** How many referrals with a first contact the median is taken over. */
  referrals: number;
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Typical waits of the given services, for those with enough referrals sent in the last six
 * months that have had a first contact. Services missing from the map have no typical wait yet.
 */
export async function typicalWaits(
  db: Kysely<Database>,
  serviceIds: readonly string[],
  now: Date = new Date(),
): Promise<Map<string, TypicalWait>> {
  const out = new Map<string, TypicalWait>();
  const ids = [...new Set(serviceIds)];
  if (ids.length === 0) return out;
  const since = new Date(now);
  since.setUTCMonth(since.getUTCMonth() - TYPICAL_WAIT_MONTHS);
  const rows = await sql<{ service_id: string; sent_at: Date | string; first_contact_on: string }>`
    select service_id, sent_at, first_contact_on from referrals
    where service_id in (${sql.join(ids)}) and sent_at >= ${since} and first_contact_on is not null`.execute(db);
  const days = new Map<string, number[]>();
  for (const r of rows.rows) {
    const sent = ukDate(r.sent_at instanceof Date ? r.sent_at : new Date(r.sent_at));
    const list = days.get(r.service_id) ?? [];
    list.push(workingDaysBetween(sent, String(r.first_contact_on).slice(0, 10)));
    days.set(r.service_id, list);
  }
  for (const [serviceId, list] of days) {
    if (list.length < TYPICAL_WAIT_MIN_REFERRALS) continue;
    list.sort((a, b) => a - b);
    out.set(serviceId, { medianWorkingDays: median(list), referrals: list.length });
  }
  return out;
}
