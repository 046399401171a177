// The service directory's own tables: what Open Referral UK describes and the network tables
// (organisations, services) do not hold. Ids here are already ORUK UUIDs; organisations and
// services keep their network ids and map to UUIDs through ids.ts.
import { sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely';

export interface DirectoryTables {
  directory_taxonomies: { id: string; name: string; description: string; uri: string | null; version: string | null };
  directory_taxonomy_terms: {
    id: string;
    taxonomy_id: string | null;
    /** The term itself: for our need taxonomy a NeedCode (e.g. "mental_health"), or a group code. */
    code: string | null;
    name: string;
    description: string;
    parent_id: string | null;
    taxonomy: string | null;
    term_uri: string | null;
    sort: Generated<number>;
  };
  directory_service_terms: { service_id: string; term_id: string; attribute_id: string; link_type: string | null; sort: number };
  directory_service_details: {
    service_id: string;
    /** The service's ORUK id (ids.ts), indexed for lookups by the public API. */
    oruk_id: string;
    status: string;
    url: string | null;
    email: string | null;
    fees: string | null;
    accreditations: string | null;
    assured_date: string | null;
    assurer_email: string | null;
    alert: string | null;
    last_modified: ColumnType<Date | null, Date | string | null, Date | string | null>;
  };
  directory_organisation_details: {
    organisation_id: string;
    oruk_id: string;
    description: string;
    logo: string | null;
    uri: string | null;
    parent_organization_id: string | null;
  };
  directory_locations: {
    id: string;
    organisation_id: string | null;
    location_type: string;
    name: string | null;
    description: string | null;
    latitude: number | null;
    longitude: number | null;
    external_identifier: string | null;
    external_identifier_type: string | null;
    /** ORUK accessibility objects as JSON text, kept as given. */
    accessibility: string;
  };
  directory_addresses: {
    id: string;
    location_id: string;
    attention: string | null;
    address_1: string;
    city: string;
    region: string | null;
    state_province: string;
    postal_code: string;
    country: string;
    address_type: string;
    sort: number;
  };
  directory_service_at_locations: { id: string; service_id: string; location_id: string };
  directory_schedules: {
    id: string;
    service_id: string | null;
    service_at_location_id: string | null;
    valid_from: string | null;
    valid_to: string | null;
    dtstart: string | null;
    freq: string | null;
    interval: number | null;
    byday: string | null;
    bymonthday: string | null;
    description: string | null;
    opens_at: string | null;
    closes_at: string | null;
    schedule_link: string | null;
    attending_type: string | null;
    notes: string | null;
    sort: number;
  };
  directory_contacts: { id: string; service_id: string; name: string | null; title: string | null; email: string | null; sort: number };
  directory_phones: { id: string; contact_id: string; number: string; description: string | null; sort: number };
  directory_service_areas: {
    id: string;
    service_id: string;
    name: string | null;
    extent: string | null;
    extent_type: string | null;
    uri: string | null;
    service_area: string | null;
    locality_id: string | null;
    sort: number;
  };
  directory_cost_options: {
    id: string;
    service_id: string;
    option: string | null;
    amount: number | null;
    amount_description: string | null;
    valid_from: string | null;
    valid_to: string | null;
    sort: number;
  };
}

export const directoryMigrations: Record<string, Migration> = {
  '0020_directory': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table directory_taxonomies (
          id text primary key,
          name text not null,
          description text not null,
          uri text,
          version text
        );
        create table directory_taxonomy_terms (
          id text primary key,
          taxonomy_id text references directory_taxonomies(id),
          code text,
          name text not null,
          description text not null,
          parent_id text,
          taxonomy text,
          term_uri text,
          sort integer not null default 0
        );
        create index directory_taxonomy_terms_parent on directory_taxonomy_terms(parent_id);
        create index directory_taxonomy_terms_code on directory_taxonomy_terms(code);
        create table directory_service_terms (
          service_id text not null references services(id) on delete cascade,
          term_id text not null references directory_taxonomy_terms(id),
          attribute_id text not null unique,
          link_type text,
          sort integer not null default 0,
          primary key (service_id, term_id)
        );
        create index directory_service_terms_term on directory_service_terms(term_id);
        create table directory_service_details (
          service_id text primary key references services(id) on delete cascade,
          oruk_id text not null unique,
          status text not null check (status in ('active', 'inactive', 'defunct', 'temporarily closed')),
          url text,
          email text,
          fees text,
          accreditations text,
          assured_date text,
          assurer_email text,
          alert text,
          last_modified timestamptz
        );
        create table directory_organisation_details (
          organisation_id text primary key references organisations(id) on delete cascade,
          oruk_id text not null unique,
          description text not null,
          logo text,
          uri text,
          parent_organization_id text
        );
        create table directory_locations (
          id text primary key,
          organisation_id text references organisations(id) on delete set null,
          location_type text not null check (location_type in ('physical', 'postal', 'virtual')),
          name text,
          description text,
          latitude double precision check (latitude between -90 and 90),
          longitude double precision check (longitude between -180 and 180),
          external_identifier text,
          external_identifier_type text,
          accessibility text not null default '[]'
        );
        create index directory_locations_organisation on directory_locations(organisation_id);
        create index directory_locations_lat_lon on directory_locations(latitude, longitude);
        create table directory_addresses (
          id text primary key,
          location_id text not null references directory_locations(id) on delete cascade,
          attention text,
          address_1 text not null,
          city text not null,
          region text,
          state_province text not null,
          postal_code text not null,
          country text not null,
          address_type text not null,
          sort integer not null default 0
        );
        create index directory_addresses_location on directory_addresses(location_id);
        create table directory_service_at_locations (
          id text primary key,
          service_id text not null references services(id) on delete cascade,
          location_id text not null references directory_locations(id) on delete cascade,
          unique (service_id, location_id)
        );
        create index directory_service_at_locations_location on directory_service_at_locations(location_id);
        create table directory_schedules (
          id text primary key,
          service_id text references services(id) on delete cascade,
          service_at_location_id text references directory_service_at_locations(id) on delete cascade,
          valid_from text,
          valid_to text,
          dtstart text,
          freq text,
          interval integer,
          byday text,
          bymonthday text,
          description text,
          opens_at text,
          closes_at text,
          schedule_link text,
          attending_type text,
          notes text,
          sort integer not null default 0
        );
        create index directory_schedules_service on directory_schedules(service_id);
        create table directory_contacts (
          id text primary key,
          service_id text not null references services(id) on delete cascade,
          name text,
          title text,
          email text,
          sort integer not null default 0
        );
        create index directory_contacts_service on directory_contacts(service_id);
        create table directory_phones (
          id text primary key,
          contact_id text not null references directory_contacts(id) on delete cascade,
          number text not null,
          description text,
          sort integer not null default 0
        );
        create index directory_phones_contact on directory_phones(contact_id);
        create table directory_service_areas (
          id text primary key,
          service_id text not null references services(id) on delete cascade,
          name text,
          extent text,
          extent_type text,
          uri text,
          service_area text,
          locality_id text references localities(id) on delete set null,
          sort integer not null default 0
        );
        create index directory_service_areas_service on directory_service_areas(service_id);
        create table directory_cost_options (
          id text primary key,
          service_id text not null references services(id) on delete cascade,
          option text,
          amount double precision,
          amount_description text,
          valid_from text,
          valid_to text,
          sort integer not null default 0
        );
        create index directory_cost_options_service on directory_cost_options(service_id);
      `.execute(db);
    },
  },
};
