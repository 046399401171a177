// Agency source records, stored exactly as received, and the index's links from them to persons.
// A link is never updated in place: a new row supersedes the old one, so merges and un-merges
// keep their history.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface LinkageTables {
  source_records: {
    id: Generated<number>;
    source: string;
    source_id: string;
    received_at: Generated<Date>;
    /** The agency's fields as received (given_name, family_name, birth_date, ...). */
    fields: Record<string, string>;
  };
  record_links: {
    id: Generated<number>;
    source_record_id: number;
    person_id: string;
    linked_at: Generated<Date>;
    /** How the link was made: 'synthetic_truth', 'probabilistic', 'reviewer', 'unmerge'... */
    method: string;
    match_probability: number | null;
    /** Null while current; set when a later link replaces this one. */
    superseded_at: Date | null;
  };
}

export const linkageMigrations: Record<string, Migration> = {
  '0004_source_records': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table source_records (
          id bigserial primary key,
          source text not null,
          source_id text not null,
          received_at timestamptz not null default now(),
          fields jsonb not null,
          unique (source, source_id)
        );
        create table record_links (
          id bigserial primary key,
          source_record_id bigint not null references source_records(id),
          person_id text not null references persons(id),
          linked_at timestamptz not null default now(),
          method text not null,
          match_probability double precision,
          superseded_at timestamptz
        );
        create unique index record_links_current on record_links(source_record_id) where superseded_at is null;
        create index record_links_person on record_links(person_id) where superseded_at is null;
      `.execute(db);
    },
  },
};
