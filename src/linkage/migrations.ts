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
  /** Earlier versions of a source record: an agency's update never loses the old fields. */
  source_record_history: {
    id: Generated<number>;
    source_record_id: number;
    fields: Record<string, string>;
    received_at: Date;
    replaced_at: Generated<Date>;
  };
  /** Trained linkage models (JSON); the newest is the one online matching uses. */
  linkage_models: {
    id: Generated<number>;
    created_at: Generated<Date>;
    model: unknown;
    summary: unknown;
  };
  /** Uncertain pairs for a person to decide: a source record against a candidate person. */
  linkage_reviews: {
    id: Generated<number>;
    source_record_id: number;
    candidate_person_id: string;
    /** The candidate's record that matched best: a source record, or null for the person's spine entry. */
    compared_record_id: number | null;
    probability: number;
    /** Why it is here: 'uncertain' (review band) or 'ambiguous' (two persons compete). */
    reason: string;
    created_at: Generated<Date>;
    status: Generated<string>;
    decided_by: string | null;
    decided_at: Date | null;
    decision_reason: string | null;
  };
  /** Remembered decisions: must-link / cannot-link between a source record and a person. */
  linkage_decisions: {
    id: Generated<number>;
    source_record_id: number;
    person_id: string;
    kind: 'must_link' | 'cannot_link';
    review_id: number | null;
    decided_by: string;
    decided_at: Generated<Date>;
    reason: string;
  };
  person_merges: {
    id: Generated<number>;
    survivor_id: string;
    merged_id: string;
    merged_by: string;
    merged_at: Generated<Date>;
    reason: string;
    /** Highest row id per registered person table when the merge happened (bigserial ids only grow). */
    high_water: Record<string, number>;
    unmerged_at: Date | null;
    unmerged_by: string | null;
    unmerge_reason: string | null;
    /** The review item a data-quality reviewer merged from, if any (0017). */
    review_id: number | null;
  };
  /** Which current link each merge replaced, and with which. */
  person_merge_links: {
    merge_id: number;
    source_record_id: number;
    from_link_id: number;
    to_link_id: number;
  };
  /** Rows of person-owned tables (needs, events, later modules' tables) moved by a merge. */
  person_reassignments: {
    id: Generated<number>;
    merge_id: number;
    table_name: string;
    row_id: string;
    from_person_id: string;
    to_person_id: string;
    reassigned_at: Generated<Date>;
    reverted_at: Date | null;
  };
  /** Things a person must check after an un-merge: a row or record whose owner is unclear. */
  person_flags: {
    id: Generated<number>;
    person_id: string;
    merge_id: number | null;
    table_name: string;
    row_id: string;
    reason: string;
    created_at: Generated<Date>;
    resolved_at: Date | null;
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
  '0010_person_index': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table persons add column merged_into text references persons(id);
        alter table persons add column origin text not null default 'spine';
        -- Persons the index creates from agency records have no household: keep the records' address.
        alter table persons add column linkage_postcode text;
        alter table persons add column linkage_address text;
        create table source_record_history (
          id bigserial primary key,
          source_record_id bigint not null references source_records(id),
          fields jsonb not null,
          received_at timestamptz not null,
          replaced_at timestamptz not null default now()
        );
        create index source_record_history_record on source_record_history(source_record_id);
        create table linkage_models (
          id bigserial primary key,
          created_at timestamptz not null default now(),
          model jsonb not null,
          summary jsonb not null
        );
        create table linkage_reviews (
          id bigserial primary key,
          source_record_id bigint not null references source_records(id),
          candidate_person_id text not null references persons(id),
          compared_record_id bigint references source_records(id),
          probability double precision not null,
          reason text not null,
          created_at timestamptz not null default now(),
          status text not null default 'open' check (status in ('open', 'same', 'different', 'withdrawn')),
          decided_by text,
          decided_at timestamptz,
          decision_reason text
        );
        create unique index linkage_reviews_open on linkage_reviews(source_record_id, candidate_person_id) where status = 'open';
        create index linkage_reviews_queue on linkage_reviews(created_at, id) where status = 'open';
        create table linkage_decisions (
          id bigserial primary key,
          source_record_id bigint not null references source_records(id),
          person_id text not null references persons(id),
          kind text not null check (kind in ('must_link', 'cannot_link')),
          review_id bigint references linkage_reviews(id),
          decided_by text not null,
          decided_at timestamptz not null default now(),
          reason text not null
        );
        create index linkage_decisions_record on linkage_decisions(source_record_id);
        create table person_merges (
          id bigserial primary key,
          survivor_id text not null references persons(id),
          merged_id text not null references persons(id),
          merged_by text not null,
          merged_at timestamptz not null default now(),
          reason text not null,
          high_water jsonb not null,
          unmerged_at timestamptz,
          unmerged_by text,
          unmerge_reason text,
          check (survivor_id <> merged_id)
        );
        create unique index person_merges_active on person_merges(merged_id) where unmerged_at is null;
        create table person_merge_links (
          merge_id bigint not null references person_merges(id),
          source_record_id bigint not null references source_records(id),
          from_link_id bigint not null references record_links(id),
          to_link_id bigint not null references record_links(id),
          primary key (merge_id, source_record_id)
        );
        create index person_merge_links_to on person_merge_links(to_link_id);
        create table person_reassignments (
          id bigserial primary key,
          merge_id bigint not null references person_merges(id),
          table_name text not null,
          row_id text not null,
          from_person_id text not null references persons(id),
          to_person_id text not null references persons(id),
          reassigned_at timestamptz not null default now(),
          reverted_at timestamptz
        );
        create index person_reassignments_merge on person_reassignments(merge_id);
        create index person_reassignments_row on person_reassignments(table_name, row_id);
        create table person_flags (
          id bigserial primary key,
          person_id text not null references persons(id),
          merge_id bigint references person_merges(id),
          table_name text not null,
          row_id text not null,
          reason text not null,
          created_at timestamptz not null default now(),
          resolved_at timestamptz
        );
        create index person_flags_open on person_flags(person_id) where resolved_at is null;
      `.execute(db);
    },
  },
  '0012_record_links_checked_per_statement': {
    // A link must name a stored record and a person, but as foreign keys those checks take a
    // row lock on the record and on the person for every link: a bulk import then rewrote a
    // page of persons (and its WAL) per record, two thirds of the cost of storing a link.
    // Records and persons are never deleted (corrections and merges keep both), so the locks
    // guard nothing: the checks run once per statement instead, and deleting or renumbering a
    // record or a person that has links is refused outright.
    async up(db: Kysely<unknown>) {
      await sql`
        alter table record_links drop constraint record_links_person_id_fkey;
        alter table record_links drop constraint record_links_source_record_id_fkey;
        create function record_links_targets_exist() returns trigger language plpgsql as $$
        begin
          if exists (select 1 from new_links n where not exists (select 1 from persons p where p.id = n.person_id)) then
            raise foreign_key_violation using message = 'a record link names a person who does not exist';
          end if;
          if exists (select 1 from new_links n where not exists (select 1 from source_records s where s.id = n.source_record_id)) then
            raise foreign_key_violation using message = 'a record link names a source record that does not exist';
          end if;
          return null;
        end $$;
        create trigger record_links_targets_insert after insert on record_links
          referencing new table as new_links for each statement execute function record_links_targets_exist();
        create trigger record_links_targets_update after update on record_links
          referencing new table as new_links for each statement execute function record_links_targets_exist();
        create function keep_linked() returns trigger language plpgsql as $$
        begin
          if tg_op = 'UPDATE' and new.id = old.id then
            return new;
          end if;
          -- Waits for link inserts in flight, so none can name this row unseen.
          lock table record_links in share mode;
          -- One branch per table: plpgsql plans a statement only when it runs (the ids' types differ).
          if tg_table_name = 'persons' then
            if exists (select 1 from record_links where person_id = old.id) then
              raise foreign_key_violation using message = 'a person with links cannot be deleted or renumbered';
            end if;
          elsif exists (select 1 from record_links where source_record_id = old.id) then
            raise foreign_key_violation using message = 'a source record with links cannot be deleted or renumbered';
          end if;
          return case when tg_op = 'DELETE' then old else new end;
        end $$;
        create trigger persons_keep_linked before delete or update of id on persons
          for each row execute function keep_linked();
        create trigger source_records_keep_linked before delete or update of id on source_records
          for each row execute function keep_linked();
      `.execute(db);
    },
  },
  '0017_linkage_merge_review': {
    // A merge made from a review item names it, so the decided item can show the merge and the
    // merge its review (both pages link to each other, and the merge can be undone from there).
    async up(db: Kysely<unknown>) {
      await sql`
        alter table person_merges add column review_id bigint references linkage_reviews(id);
        create index person_merges_review on person_merges(review_id) where review_id is not null;
        create index person_merges_survivor on person_merges(survivor_id);
      `.execute(db);
    },
  },
};
