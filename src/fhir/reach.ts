// Which rows of a FHIR type are about people in the reader's reach (consent's peopleInReach:
// everyone the access decision could allow anything of; a superset that grants nothing). Reads
// that walk a whole type (bulk export, history) narrow their candidates by it in SQL, so their
// cost follows the people a reader may see rather than the size of the place; every row read is
// still decided as before.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { personsWithHome } from '../people/index.ts';
import type { ResourceDef, Row } from './resources.ts';

export type PersonColumn = 'id' | 'person_id';
const PROBE_ID = '\u0000id';
const PROBE_PERSON = '\u0000person';

/** The column a type's rows name their person by (Patient: its id), found by asking the type's own personOf. */
export function personColumnOf(def: ResourceDef): PersonColumn | undefined {
  const spec = def.access;
  if (!spec || spec.membersOf) return undefined;
  const person = spec.personOf({ id: PROBE_ID, person_id: PROBE_PERSON } as unknown as Row);
  return person === PROBE_ID ? 'id' : person === PROBE_PERSON ? 'person_id' : undefined;
}

/**
 * A condition on the type's rows (as `r`) keeping those about someone in `reach` (a query of
 * person ids, as `person_id`): rows naming their person by that person, households by a member
 * living there. Undefined for types not about people (the directory's), which are not narrowed.
 */
export function inReachCondition(def: ResourceDef, reach: RawBuilder<unknown>): RawBuilder<unknown> | undefined {
  if (def.access?.membersOf)
    return sql`r.id in (select ph.household_id from ${personsWithHome} ph where ph.merged_into is null and ph.person_id in (select s.person_id from ${reach} s))`;
  const column = personColumnOf(def);
  return column ? sql`r.${sql.ref(column)} in (select s.person_id from ${reach} s)` : undefined;
}

/**
 * The households where someone of `people` lives (not merged away), sorted: what a reader may see
 * of households (a Group's members) is about those people only.
 */
export async function householdsOfPeople(db: Kysely<Database>, people: readonly string[]): Promise<string[]> {
  const rows = (
    await sql<{ household_id: string }>`
    select distinct ph.household_id from ${personsWithHome} ph
    where ph.merged_into is null and ph.household_id is not null and ph.person_id = any(${people as string[]}::text[])`.execute(db)
  ).rows;
  return rows.map((r) => r.household_id).sort();
}
