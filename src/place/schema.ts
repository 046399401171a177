// Place geography: localities, small areas (LSOA-like) with deprivation, postcodes.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface PlaceTables {
  places: { id: string; name: string; postcode_area: string; seed: number; created_at: Generated<Date> };
  localities: { id: string; place_id: string; name: string };
  small_areas: {
    id: string;
    code: string;
    name: string;
    locality_id: string;
    deprivation_decile: number;
    lat: number;
    lon: number;
    target_population: number;
  };
  postcodes: { postcode: string; small_area_id: string; lat: number; lon: number };
  /**
   * Locality care organisations (issue 22): each locality's lead organisation and its partners.
   * One lead per locality; who leads differs from locality to locality.
   */
  locality_organisations: { locality_id: string; organisation_id: string; role: 'lead' | 'partner'; since: string };
}

export const placeMigrations: Record<string, Migration> = {
  '0001_place': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table places (
          id text primary key,
          name text not null,
          postcode_area text not null,
          seed integer not null,
          created_at timestamptz not null default now()
        );
        create table localities (
          id text primary key,
          place_id text not null references places(id),
          name text not null
        );
        create table small_areas (
          id text primary key,
          code text not null unique,
          name text not null,
          locality_id text not null references localities(id),
          deprivation_decile smallint not null check (deprivation_decile between 1 and 10),
          lat double precision not null,
          lon double precision not null,
          target_population integer not null
        );
        create index small_areas_locality on small_areas(locality_id);
        create table postcodes (
          postcode text primary key,
          small_area_id text not null references small_areas(id),
          lat double precision not null,
          lon double precision not null
        );
        create index postcodes_small_area on postcodes(small_area_id);
      `.execute(db);
    },
  },
  '0130_place_locality_organisations': {
    async up(db: Kysely<unknown>) {
      // A locality's lead organisation (at most one) and partners: the locality care organisation.
      await sql`
        create table locality_organisations (
          locality_id text not null references localities(id),
          organisation_id text not null references organisations(id),
          role text not null check (role in ('lead', 'partner')),
          since date not null,
          primary key (locality_id, organisation_id)
        );
        create unique index locality_organisations_one_lead on locality_organisations(locality_id) where role = 'lead';
        create index locality_organisations_organisation on locality_organisations(organisation_id);
      `.execute(db);
    },
  },
};
