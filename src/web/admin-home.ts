// What the administrator's home page counts: the place's people, households, records, events,
// organisations, practitioners, services and live sessions in one statement (each count offered
// by the module that owns its table), and the records each source has sent.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { activeSessionCount } from '../auth/index.ts';
import { recordCountsBySource, sourceRecordCount } from '../linkage/index.ts';
import { organisationCount, organisationNameOfSource, practitionerCount, serviceCount } from '../network/index.ts';
import { householdCount, personCount, personEventCount } from '../people/index.ts';

/** The place's totals, for the administrator. */
export async function placeTotals(db: Kysely<Database>): Promise<Record<string, number> | undefined> {
  return (
    await sql<Record<string, number>>`
    select ${personCount} as people, ${householdCount} as households,
           ${sourceRecordCount} as "sourceRecords", ${personEventCount} as events,
           ${organisationCount} as organisations, ${practitionerCount} as practitioners,
           ${serviceCount} as services, ${activeSessionCount} as "activeSessions"`.execute(db)
  ).rows[0];
}

/** Each source that has sent records, with its organisation's name and how many records it holds. */
export async function recordsBySource(db: Kysely<Database>): Promise<Array<{ source: string; organisation: string; records: number }>> {
  return (
    await sql<{ source: string; organisation: string; records: number }>`
    select r.source, ${organisationNameOfSource('r.source')} as organisation, r.records
    from ${recordCountsBySource} r order by r.source`.execute(db)
  ).rows;
}
