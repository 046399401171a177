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
};
