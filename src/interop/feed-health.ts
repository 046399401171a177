// How each agency's feed is doing, for administrators: per source (an agency's code, or any
// source that has sent records or imports), when records last arrived, how many in the last day,
// the last import and whether it failed (and why, in the import's own words about the file), and
// how many rows imports set aside (quarantined) in the last week. Counts and dates only: never a
// row, a record or a name.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { recordsReceivedBySource } from '../linkage/index.ts';
import { organisationNameOfSourceAnyCase, organisationSourceCodes } from '../network/index.ts';

export type FeedStatus = 'working' | 'failed' | 'rows_set_aside' | 'quiet' | 'never';

export interface FeedHealth {
  source: string;
  organisation: string | null;
  records: number;
  lastReceivedAt: Date | null;
  receivedLastDay: number;
  lastImport: { id: number; status: string; startedAt: Date; finishedAt: Date | null; failure: string | null; setAside: number } | null;
  importsFailedLastWeek: number;
  setAsideLastWeek: number;
  status: FeedStatus;
}

/** Days without records after which a feed counts as quiet. */
export const QUIET_AFTER_DAYS = 7;

export async function feedHealth(db: Kysely<Database>, now: Date = new Date()): Promise<FeedHealth[]> {
  const dayAgo = new Date(now.getTime() - 86_400_000);
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
  const rows = (
    await sql<{
      source: string;
      organisation: string | null;
      records: number;
      last_received: Date | null;
      last_day: number;
      job_id: number | null;
      job_status: string | null;
      job_started: Date | null;
      job_finished: Date | null;
      job_failure: string | null;
      job_set_aside: number | null;
      failed_week: number;
      set_aside_week: number;
    }>`
    with received as ${recordsReceivedBySource(dayAgo)},
    sources as (
      select source from ${organisationSourceCodes} registered
      union select source from received
      union select source from import_jobs
    ),
    latest as (
      select distinct on (source) source, id, status, started_at, finished_at, failure, errors
      from import_jobs order by source, started_at desc, id desc
    ),
    jobs as (
      select source, count(*) filter (where status = 'failed' and updated_at > ${weekAgo})::int as failed_week from import_jobs group by source
    ),
    set_aside as (
      select j.source, count(*)::int as n from import_quarantine q join import_jobs j on j.id = q.job_id where j.started_at > ${weekAgo} group by j.source
    )
    select s.source, ${organisationNameOfSourceAnyCase('s.source')} as organisation,
      coalesce(r.records, 0) as records, r.last_received, coalesce(r.last_day, 0) as last_day,
      l.id as job_id, l.status as job_status, l.started_at as job_started, l.finished_at as job_finished, l.failure as job_failure, l.errors as job_set_aside,
      coalesce(j.failed_week, 0) as failed_week, coalesce(q.n, 0) as set_aside_week
    from sources s
    left join received r on r.source = s.source
    left join latest l on l.source = s.source
    left join jobs j on j.source = s.source
    left join set_aside q on q.source = s.source
    order by s.source`.execute(db)
  ).rows;
  const quietBefore = new Date(now.getTime() - QUIET_AFTER_DAYS * 86_400_000);
  return rows.map((r) => {
    const lastReceivedAt = r.last_received ? new Date(r.last_received) : null;
    const lastImport =
      r.job_id === null
        ? null
        : {
            id: Number(r.job_id),
            status: r.job_status!,
            startedAt: new Date(r.job_started!),
            finishedAt: r.job_finished ? new Date(r.job_finished) : null,
            failure: r.job_failure,
            setAside: Number(r.job_set_aside ?? 0),
          };
    const status: FeedStatus =
      lastImport?.status === 'failed'
        ? 'failed'
        : lastImport && lastImport.setAside > 0
          ? 'rows_set_aside'
          : !lastReceivedAt
            ? 'never'
            : lastReceivedAt < quietBefore
              ? 'quiet'
              : 'working';
    return {
      source: r.source,
      organisation: r.organisation,
      records: Number(r.records),
      lastReceivedAt,
      receivedLastDay: Number(r.last_day),
      lastImport,
      importsFailedLastWeek: Number(r.failed_week),
      setAsideLastWeek: Number(r.set_aside_week),
      status,
    };
  });
}
