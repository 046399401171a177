// People and households: the person record the network shares, with history kept.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface PeopleTables {
  households: {
    id: string;
    small_area_id: string;
    postcode: string;
    address_line: string;
    composition: string;
    tenure: string;
  };
  /** Address history: every address a household has had, never overwritten. */
  household_addresses: {
    id: Generated<number>;
    household_id: string;
    address_line: string;
    postcode: string;
    from_date: string | null;
    to_date: string | null;
  };
  /** Who moved whom from which household to which, and when (a household's membership history). */
  household_moves: {
    id: Generated<number>;
    person_id: string;
    /** Null when the person had no household before. */
    from_household_id: string | null;
    to_household_id: string;
    moved_at: Generated<Date>;
    moved_by: string;
  };
  persons: {
    id: string;
    household_id: string | null;
    given_name: string;
    middle_name: string | null;
    family_name: string;
    birth_family_name: string | null;
    birth_date: string | null;
    sex: string | null;
    ethnicity_group: string | null;
    disability: boolean;
    nhs_number: string | null;
    phone: string | null;
    email: string | null;
    created_at: Generated<Date>;
  };
  /**
   * Family relationships: related_person_id is the person's `type` (their parent, carer...). Rows
   * are never deleted: an ended one keeps when and by whom (null for relationships from agencies' data).
   */
  relationships: {
    person_id: string;
    related_person_id: string;
    type: string;
    recorded_at: Generated<Date | null>;
    recorded_by: Generated<string | null>;
    ended_at: Generated<Date | null>;
    ended_by: Generated<string | null>;
  };
  needs: {
    id: Generated<number>;
    person_id: string;
    code: string;
    organisation_id: string;
    recorded_at: string;
    severity: number;
    current: boolean;
  };
  person_events: {
    id: Generated<number>;
    person_id: string;
    organisation_id: string;
    type: string;
    at: Date;
    value: number | null;
  };
}

export const peopleMigrations: Record<string, Migration> = {
  '0003_people': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table households (
          id text primary key,
          small_area_id text not null references small_areas(id),
          postcode text not null,
          address_line text not null,
          composition text not null,
          tenure text not null
        );
        create index households_small_area on households(small_area_id);
        create table household_addresses (
          id bigserial primary key,
          household_id text not null references households(id),
          address_line text not null,
          postcode text not null,
          from_date date,
          to_date date
        );
        create index household_addresses_household on household_addresses(household_id);
        create table persons (
          id text primary key,
          household_id text references households(id),
          given_name text not null,
          middle_name text,
          family_name text not null,
          birth_family_name text,
          birth_date date,
          sex text check (sex in ('female', 'male')),
          ethnicity_group text,
          disability boolean not null default false,
          nhs_number text check (nhs_number ~ '^[0-9]{10}$'),
          phone text,
          email text,
          created_at timestamptz not null default now()
        );
        create index persons_household on persons(household_id);
        create index persons_nhs_number on persons(nhs_number) where nhs_number is not null;
        create index persons_family_birth on persons(lower(family_name), birth_date);
        create table relationships (
          person_id text not null references persons(id),
          related_person_id text not null references persons(id),
          type text not null,
          primary key (person_id, related_person_id, type)
        );
        create table needs (
          id bigserial primary key,
          person_id text not null references persons(id),
          code text not null,
          organisation_id text not null references organisations(id),
          recorded_at date not null,
          severity smallint not null check (severity between 1 and 3),
          current boolean not null
        );
        create index needs_person on needs(person_id);
        create index needs_code on needs(code) where current;
        create table person_events (
          id bigserial primary key,
          person_id text not null references persons(id),
          organisation_id text not null references organisations(id),
          type text not null,
          at timestamptz not null,
          value double precision
        );
        create index person_events_person_at on person_events(person_id, at desc);
      `.execute(db);
    },
  },
  '0008_people_relationship_history': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table relationships add column recorded_at timestamptz;
        alter table relationships add column recorded_by text references users(id);
        alter table relationships add column ended_at timestamptz;
        alter table relationships add column ended_by text references users(id);
        alter table relationships add constraint relationships_ended_by check ((ended_at is null) = (ended_by is null));
      `.execute(db);
    },
  },
  '0009_people_household_moves': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table household_moves (
          id bigserial primary key,
          person_id text not null references persons(id),
          from_household_id text references households(id),
          to_household_id text not null references households(id),
          moved_at timestamptz not null default now(),
          moved_by text not null references users(id)
        );
        create index household_moves_person on household_moves(person_id, moved_at);
        create index household_moves_to on household_moves(to_household_id);
      `.execute(db);
    },
  },
};
