// The one definition of a resident, used wherever the place's population is counted (the
// manager's home page, the localities and deprivation tables, and every insight figure): a person
// living at an address in one of the place's small areas (neighbourhoods), counted once. Records
// the person index made from an agency's record with no known address in the place, and records
// merged into another person, are not residents.
import { sql, type RawBuilder } from 'kysely';
import { personsWithHome } from '../people/index.ts';

/** What the pages say a resident is. */
export const RESIDENTS_HINT =
  "Residents are people living at an address in one of the place's neighbourhoods, each counted once. People an agency knows without an address here are not counted.";

const residentsWith = (areaColumns: RawBuilder<unknown>) => sql`(
  select r.person_id, r.household_id, r.small_area_id${areaColumns}
  from ${personsWithHome} r
  join small_areas a on a.id = r.small_area_id
  where r.merged_into is null)`;

/**
 * Residents as rows (person_id, household_id, small_area_id), for joining:
 * `from ${residents} r join ...`.
 */
export const residents = residentsWith(sql``);

/** Residents with their small area's locality_id and deprivation_decile (1 the most deprived) too: insight's figures by area. */
export const residentsWithArea = residentsWith(sql`, a.locality_id, a.deprivation_decile`);
