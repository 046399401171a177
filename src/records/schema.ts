// The person's own voice and the network around them: "about me" in their words (every
// version kept), messages to the lead practitioner, feedback on services; and the indexes
// that make finding a person fast and typo-tolerant.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface RecordsTables {
  about_me_versions: {
    id: Generated<number>;
    person_id: string;
    what_matters: string;
    how_to_support: string;
    written_by: string;
    written_by_role: string;
    created_at: Generated<Date>;
  };
  messages: {
    id: Generated<number>;
    person_id: string;
    from_user_id: string;
    from_role: string;
    to_practitioner_id: string | null;
    body: string;
    sent_at: Generated<Date>;
    read_at: Date | null;
  };
  /** Distinct lower-cased names of persons, for typo-tolerant search (kept by triggers). */
  person_names: {
    kind: 'full' | 'family';
    name: string;
  };
  service_feedback: {
    id: Generated<number>;
    service_id: string;
    person_id: string;
    rating: number;
    comment: string | null;
    created_at: Generated<Date>;
  };
}

export const recordsMigrations: Record<string, Migration> = {
  '0090_records': {
    async up(db: Kysely<unknown>) {
      await sql`
        create extension if not exists pg_trgm schema public;
        create index persons_name_trgm on persons using gin ((lower(given_name || ' ' || family_name)) public.gin_trgm_ops);
        create index persons_family_trgm on persons using gin (lower(family_name) public.gin_trgm_ops);
        create index persons_birth_date on persons(birth_date);
        create index households_postcode_key on households(replace(upper(postcode), ' ', ''));
        create table about_me_versions (
          id bigserial primary key,
          person_id text not null references persons(id),
          what_matters text not null,
          how_to_support text not null,
          written_by text not null,
          written_by_role text not null,
          created_at timestamptz not null default now()
        );
        create index about_me_person on about_me_versions(person_id, created_at desc);
        create table messages (
          id bigserial primary key,
          person_id text not null references persons(id),
          from_user_id text not null references users(id),
          from_role text not null,
          to_practitioner_id text references practitioners(id),
          body text not null,
          sent_at timestamptz not null default now(),
          read_at timestamptz
        );
        create index messages_person on messages(person_id, sent_at desc);
        create index messages_to on messages(to_practitioner_id) where read_at is null;
        create table service_feedback (
          id bigserial primary key,
          service_id text not null references services(id),
          person_id text not null references persons(id),
          rating smallint not null check (rating between 1 and 5),
          comment text,
          created_at timestamptz not null default now()
        );
        create index service_feedback_service on service_feedback(service_id);
      `.execute(db);
    },
  },
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
};
