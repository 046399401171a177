// The one definition of a resident, used wherever the place's population is counted (the
// manager's home page, the localities and deprivation tables, and every insight figure): a person
// living at an address in one of the place's small areas (neighbourhoods), counted once. Records
// the person index made from an agency's record with no known address in the place, and records
// merged into another person, are not residents.
import { sql } from 'kysely';

/** What the pages say a resident is. */
export const RESIDENTS_HINT =
  "Residents are people living at an address in one of the place's neighbourhoods, each counted once. People an agency knows without an address here are not counted.";

/**
 * Residents as rows (person_id, household_id, small_area_id), for joining:
 * `from ${residents} r join ...`.
 */
export const residents = sql`(
  select p.id as person_id, h.id as household_id, h.small_area_id
  from persons p
  join households h on h.id = p.household_id
  join small_areas a on a.id = h.small_area_id
  where p.merged_into is null)`;
