// Where things are, for other modules: the locality a small area lies in (as fragments a caller
// embeds in its own statement), localities' names by id, and the area of a postcode.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { personsWithHome } from '../people/index.ts';

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

/** Kysely: the name of the locality whose id is `locality` (a column or an SQL expression), null when none. */
export function localityNameById(locality: string | RawBuilder<unknown>): RawBuilder<string | null> {
  return sql<string | null>`(select l.name from localities l where l.id = ${typeof locality === 'string' ? sql.ref(locality) : locality})`;
}

/**
 * Kysely: how many person records have a home in the locality whose id is in column `ref`, merged
 * records included (unlike residents.ts): the pooled budget's spend per head has counted these.
 */
export function personRecordsHomedIn(ref: string): RawBuilder<number> {
  return sql<number>`(select count(*) from ${personsWithHome} r join small_areas sa on sa.id = r.small_area_id where sa.locality_id = ${sql.ref(ref)})`;
}

/** The locality each of these small areas (every one when `ids` is left out) lies in; unknown areas are left out. */
export async function localitiesOfSmallAreas(db: Db, ids?: readonly string[]): Promise<Map<string, string>> {
  if (ids && ids.length === 0) return new Map();
  let query = db.selectFrom('small_areas').select(['id', 'locality_id']);
  if (ids) query = query.where('id', 'in', [...new Set(ids)]);
  return new Map((await query.execute()).map((r) => [r.id, r.locality_id]));
}

/** Every locality, by name. */
export async function localitiesByName(db: Db): Promise<Array<{ id: string; name: string }>> {
  return db.selectFrom('localities').select(['id', 'name']).orderBy('name').execute();
}

/** Every small area (neighbourhood) with its deprivation decile, most deprived first, then by name. */
export async function smallAreasByDeprivation(db: Db): Promise<Array<{ id: string; name: string; deprivationDecile: number }>> {
  const rows = await db
    .selectFrom('small_areas')
    .select(['id', 'name', 'deprivation_decile'])
    .orderBy('deprivation_decile')
    .orderBy('name')
    .execute();
  return rows.map((a) => ({ id: a.id, name: a.name, deprivationDecile: a.deprivation_decile }));
}

/** Kysely: the id of the locality the postcode `postcode` lies in (null for a postcode the place does not hold). */
export function localityIdOfPostcode(postcode: string): RawBuilder<string | null> {
  return sql<
    string | null
  >`(select sa.locality_id from postcodes pc join small_areas sa on sa.id = pc.small_area_id where pc.postcode = ${postcode})`;
}

/** Where a postcode (already normalised, "AB1 2CD") lies, or undefined for one the place does not hold. */
export async function postcodePoint(db: Db, postcode: string): Promise<{ postcode: string; lat: number; lon: number } | undefined> {
  return (await postcodePoints(db, [postcode])).get(postcode);
}

/** Where each of these postcodes lies, by postcode (ones the place does not hold are left out). */
export async function postcodePoints(
  db: Db,
  postcodes: readonly string[],
): Promise<Map<string, { postcode: string; lat: number; lon: number }>> {
  if (postcodes.length === 0) return new Map();
  const rows = await db
    .selectFrom('postcodes')
    .select(['postcode', 'lat', 'lon'])
    .where('postcode', 'in', [...new Set(postcodes)])
    .execute();
  return new Map(rows.map((r) => [r.postcode, r]));
}

/** Records the place a synthetic population is generated for (the demo loader, once, before its localities). */
export async function addPlace(db: Db, place: { id: string; name: string; postcodeArea: string; seed: number }): Promise<void> {
  await db.insertInto('places').values({ id: place.id, name: place.name, postcode_area: place.postcodeArea, seed: place.seed }).execute();
}

/** The place's name, or undefined before a place is loaded. */
export async function placeName(db: Db): Promise<string | undefined> {
  return (await db.selectFrom('places').select('name').executeTakeFirst())?.name;
}

/** Every locality's name, by id. */
export async function localityNamesById(db: Db): Promise<Map<string, string>> {
  return new Map((await db.selectFrom('localities').select(['id', 'name']).execute()).map((l) => [l.id, l.name]));
}
