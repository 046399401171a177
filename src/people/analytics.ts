// Persons, needs and events as tables for the place's pseudonymised figures and case-finding
// (insight), which embed them in their own single set-based statement: a refresh or a rule stays
// one statement over the whole population. Insight takes ids out, never names.
import { sql, type RawBuilder } from 'kysely';

/** Kysely: every person record (merged ones too) as a table to join: person_id, birth_date, sex, ethnicity_group, disability. */
export const personProfiles = sql<{
  person_id: string;
  birth_date: string | null;
  sex: string | null;
  ethnicity_group: string | null;
  disability: boolean;
}>`(select id as person_id, birth_date, sex, ethnicity_group, disability from persons)`;

/** Kysely: the needs recorded with these codes (only current ones when `current`), as a table to join: person_id, code, current, recorded_at. */
export function needsWithCodes(
  codes: readonly string[],
  options: { current?: boolean } = {},
): RawBuilder<{ person_id: string; code: string; current: boolean; recorded_at: string }> {
  return sql`(select person_id, code, current, recorded_at from needs
    where code = any(${codes}::text[])${options.current ? sql` and current` : sql``})`;
}

/** Kysely: each person's needs by code, as a table: person_id, code, first_recorded (the earliest recording), current (any still current). */
export const needsByPersonAndCode = sql<{ person_id: string; code: string; first_recorded: string; current: boolean }>`(
  select person_id, code, min(recorded_at) as first_recorded, bool_or(current) as current from needs group by person_id, code)`;

/** Kysely: the day the latest need was recorded (null when none). */
export const latestNeedRecorded = sql<string | null>`(select max(recorded_at) from needs)`;

/**
 * Kysely: the events of these types, as a table to join: person_id, type, at, value and
 * organisation_id (whose record it is). With `asOf` only those at or before it; with `withinDays`
 * too, only those in the days to `asOf`.
 */
export function eventsOfTypes(
  types: readonly string[],
  window: { asOf?: Date; withinDays?: number } = {},
): RawBuilder<{ person_id: string; type: string; at: Date; value: number | null; organisation_id: string }> {
  const { asOf, withinDays } = window;
  const after = asOf && withinDays !== undefined ? sql` and at > ${asOf}::timestamptz - make_interval(days => ${withinDays}::int)` : sql``;
  const until = asOf ? sql` and at <= ${asOf}` : sql``;
  return sql`(select person_id, type, at, value, organisation_id from person_events where type = any(${types}::text[])${after}${until})`;
}
