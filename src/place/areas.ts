// Where things are, for other modules: the locality a small area lies in (as fragments a caller
// embeds in its own statement), localities' names by id, and the area of a postcode.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Kysely: the id of the locality the small area `smallArea` (an SQL expression) lies in. */
export function localityIdOf(smallArea: RawBuilder<unknown>): RawBuilder<string | null> {
  return sql<string | null>`(select sa.locality_id from small_areas sa where sa.id = ${smallArea})`;
}

/** Kysely: the name of the locality the small area `smallArea` (an SQL expression) lies in. */
export function localityNameOf(smallArea: RawBuilder<unknown>): RawBuilder<string | null> {
  return sql<string | null>`(select l.name from small_areas sa join localities l on l.id = sa.locality_id where sa.id = ${smallArea})`;
}

/** The names of these localities, alphabetically (unknown ids are left out). */
export async function localityNames(db: Db, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  return (
    await db
      .selectFrom('localities')
      .select('name')
      .where('id', 'in', [...ids])
      .orderBy('name')
      .execute()
  ).map((r) => r.name);
}

/** The locality a postcode lies in, or undefined for a postcode the place does not hold. */
export async function localityOfPostcode(db: Db, postcode: string): Promise<{ localityId: string; localityName: string } | undefined> {
  const row = await db
    .selectFrom('postcodes as pc')
    .innerJoin('small_areas as sa', 'sa.id', 'pc.small_area_id')
    .innerJoin('localities as l', 'l.id', 'sa.locality_id')
    .select(['sa.locality_id', 'l.name'])
    .where('pc.postcode', '=', postcode)
    .executeTakeFirst();
  return row ? { localityId: row.locality_id, localityName: row.name } : undefined;
}
