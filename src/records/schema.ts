// The person's own voice and the network around them: "about me" in their words (every
// version kept), conversations with their care team (threads by topic, answered or waiting),
// their communication needs, feedback on services; and (0090) the first indexes that make finding
// a person fast and typo-tolerant (the name index is people's: people/schema.ts).
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
  /** A conversation on one topic between the person (or their proxy) and their care team. */
  message_threads: {
    id: Generated<number>;
    person_id: string;
    topic: string;
    /** The lead practitioner's organisation and team when the conversation started: who it was written to. */
    organisation_id: string | null;
    team_id: string | null;
    started_by: string;
    started_at: Generated<Date>;
    last_message_at: Generated<Date>;
    /** Since when the person's words have waited for an answer; null once answered (or marked "no reply needed"). */
    waiting_since: Date | null;
  };
  messages: {
    id: Generated<number>;
    thread_id: number;
    person_id: string;
    from_user_id: string;
    from_role: string;
    /** A message, or a practitioner's note that no written reply is needed (with its reason as the body). */
    kind: Generated<'message' | 'no_reply_needed'>;
    to_practitioner_id: string | null;
    body: string;
    sent_at: Generated<Date>;
    /** When the person (or their proxy) first saw a practitioner's message; null for their own. */
    read_at: Date | null;
  };
  /** How the person wants to be communicated with; every version kept, the latest is current. */
  communication_needs: {
    id: Generated<number>;
    person_id: string;
    language: string | null;
    interpreter: boolean;
    bsl: boolean;
    easy_read: boolean;
    large_print: boolean;
    contact_method: 'email' | 'phone' | 'text' | 'letter' | null;
    contact_times: string | null;
    recorded_by: string;
    recorded_by_role: string;
    recorded_by_organisation_id: string | null;
    recorded_at: Generated<Date>;
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
  // Conversations by topic. Earlier messages (one stream per person, which nobody could answer)
  // become one conversation per person, "Messages sent before conversations", addressed to the
  // organisation and team of the practitioner they went to, and waiting for an answer since the
  // first of them: none was ever answered. Reading no longer marks anything; answering does.
  '0092_records_message_threads': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table message_threads (
          id bigserial primary key,
          person_id text not null references persons(id),
          topic text not null,
          organisation_id text references organisations(id),
          team_id text references teams(id),
          started_by text not null references users(id),
          started_at timestamptz not null default now(),
          last_message_at timestamptz not null default now(),
          waiting_since timestamptz
        );
        create index message_threads_person on message_threads(person_id, last_message_at desc);
        create index message_threads_waiting on message_threads(waiting_since) where waiting_since is not null;
        alter table messages add column thread_id bigint references message_threads(id);
        alter table messages add column kind text not null default 'message' check (kind in ('message', 'no_reply_needed'));
        insert into message_threads (person_id, topic, organisation_id, team_id, started_by, started_at, last_message_at, waiting_since)
          select distinct on (m.person_id) m.person_id, 'Messages sent before conversations', pr.organisation_id, pr.team_id, m.from_user_id,
                 first_value(m.sent_at) over w, last_value(m.sent_at) over w, first_value(m.sent_at) over w
          from messages m left join practitioners pr on pr.id = m.to_practitioner_id
          window w as (partition by m.person_id order by m.sent_at, m.id rows between unbounded preceding and unbounded following)
          order by m.person_id, m.sent_at desc, m.id desc;
        update messages m set thread_id = t.id, read_at = null from message_threads t where t.person_id = m.person_id;
        alter table messages alter column thread_id set not null;
        create index messages_thread on messages(thread_id, sent_at, id);
      `.execute(db);
    },
  },
  '0093_records_communication_needs': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table communication_needs (
          id bigserial primary key,
          person_id text not null references persons(id),
          language text,
          interpreter boolean not null default false,
          bsl boolean not null default false,
          easy_read boolean not null default false,
          large_print boolean not null default false,
          contact_method text check (contact_method in ('email', 'phone', 'text', 'letter')),
          contact_times text,
          recorded_by text not null references users(id),
          recorded_by_role text not null,
          recorded_by_organisation_id text references organisations(id),
          recorded_at timestamptz not null default now()
        );
        create index communication_needs_person on communication_needs(person_id, recorded_at desc, id desc);
      `.execute(db);
    },
  },
};
