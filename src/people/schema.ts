// People and households: the person record the network shares, with history kept; and the
// distinct names and name indexes that find a person by a misspelt name (records' search embeds them).
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
  /** Distinct lower-cased names of persons, for typo-tolerant search (kept by triggers). */
  person_names: {
    kind: 'full' | 'family';
    name: string;
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
  // The name index (0091, 0157, 0158) was registered by the records module, whose search uses it;
  // it acts on persons, so it is people's now, under the same names and SQL: a database that ran
  // them does not run them again. Migrations run in name order, so 0091 still follows 0090_records,
  // which creates pg_trgm.
  // Finding a person by a misspelt name without touching every person who shares a common
  // name's trigrams: the distinct names (full and family, lower-cased) are a small table with
  // their own trigram index; fuzzy matching runs over names, and people are then fetched by
  // exact name through b-tree indexes, best-matching name first. Triggers keep the names in step
  // with persons (statement-level, so bulk loads pay once per statement, in a fixed order so
  // concurrent writers cannot deadlock); names no longer used simply match nobody.
  '0091_person_name_search': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table person_names (
          kind text not null check (kind in ('full', 'family')),
          name text not null,
          primary key (kind, name)
        );
        insert into person_names (kind, name)
          select 'full', lower(given_name || ' ' || family_name) from persons
          union select 'family', lower(family_name) from persons;
        create index person_names_trgm on person_names using gin (name public.gin_trgm_ops);
        create index persons_full_name on persons ((lower(given_name || ' ' || family_name)), id);
        create index persons_family_given on persons ((lower(family_name)), given_name, id);
        create function person_names_note() returns trigger language plpgsql as $$
        begin
          insert into person_names (kind, name)
            select distinct k.kind, k.name
            from new_rows n
            cross join lateral (values ('full', lower(n.given_name || ' ' || n.family_name)), ('family', lower(n.family_name))) as k(kind, name)
            order by 1, 2
          on conflict do nothing;
          return null;
        end $$;
        create trigger persons_names_insert after insert on persons referencing new table as new_rows
          for each statement execute function person_names_note();
        create trigger persons_names_update after update on persons referencing new table as new_rows
          for each statement execute function person_names_note();
      `.execute(db);
    },
  },
  // The names a misspelt name could be, through the names' trigram index. pg_trgm declares its
  // similarity operator as cheap as an equality, so the planner read every distinct name and
  // scored each (a sequential scan of 40,000 names at 200,000 people) rather than use the index,
  // which was 5-10 times cheaper for every name tried. A function of its own, run
  // with sequential scans off for its one statement, so no setting of the extension's (shared by
  // every schema in the database) has to change.
  '0157_records_name_match_through_index': {
    async up(db: Kysely<unknown>) {
      await sql`
        create function person_names_matching(q text) returns table (kind text, name text, s real)
          language sql stable set enable_seqscan = off
          as $$ select n.kind, n.name, public.similarity(n.name, q) from person_names n where n.name operator(public.%) q $$;
      `.execute(db);
    },
  },
  // The people of one name, read in the order of the name indexes (persons_full_name,
  // persons_family_given) and stopping at n. Inside the search the planner knows the name only
  // as a parameter, expects an average name's few hundred people, and so fetched every Smith
  // (12,000 at 200,000 people) to sort them: 96 ms against 4 ms read in index order. Functions,
  // so sorting and bitmap scans are off for these statements alone.
  '0158_records_people_by_name_in_index_order': {
    async up(db: Kysely<unknown>) {
      await sql`
        create function persons_by_full_name(q text, n int) returns setof text
          language sql stable set enable_sort = off set enable_bitmapscan = off
          as $$ select p.id from persons p where lower(p.given_name || ' ' || p.family_name) = q and p.merged_into is null order by p.id limit n $$;
        create function persons_by_family_name(q text, n int) returns setof text
          language sql stable set enable_sort = off set enable_bitmapscan = off
          as $$ select p.id from persons p where lower(p.family_name) = q and p.merged_into is null order by p.given_name, p.id limit n $$;
      `.execute(db);
    },
  },
  // The trigram index on family names (0090) serves no query any more: person search matches
  // misspelt names through person_names (0091, 0157) and scores with similarity() on the few
  // people it fetches, and the caseload's name filter uses the full name's index. Every new person
  // still paid for it: measured at 200,000 people, inserting 10,000 people with new names took
  // 4.5 s with it and 3.8-4.1 s without (load 7 from other work; twice), where a messy feed
  // makes a new person of about half its records. The full name's index stays for the caseload.
  '0161_people_drop_unused_family_name_trigram': {
    async up(db: Kysely<unknown>) {
      await sql`drop index if exists persons_family_trgm`.execute(db);
    },
  },
};
