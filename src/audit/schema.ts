// The audit log: append-only and hash-chained (HMAC with a key kept outside the database), so any
// edit or deletion is detectable.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface AuditTables {
  audit_events: {
    seq: Generated<number>;
    at: Date;
    actor_user_id: string | null;
    actor_role: string | null;
    actor_organisation_id: string | null;
    action: string;
    person_id: string | null;
    category: string | null;
    purpose: string | null;
    decision: string;
    reason: string;
    prev_hash: string;
    hash: string;
  };
  audit_chain_head: {
    id: number;
    last_seq: number;
    last_hash: string;
    /** First event hashed with the audit key; events before it have plain SHA-256 hashes. */
    keyed_from: number;
    /** Names this log in checkpoints, so one database's checkpoints are not taken for another's. */
    log_id: string;
  };
}

export const auditMigrations: Record<string, Migration> = {
  '0006_audit': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table audit_events (
          seq bigint primary key,
          at timestamptz not null,
          actor_user_id text,
          actor_role text,
          actor_organisation_id text,
          action text not null,
          person_id text,
          category text,
          purpose text,
          decision text not null,
          reason text not null,
          prev_hash text not null,
          hash text not null
        );
        create index audit_events_person on audit_events(person_id, at desc) where person_id is not null;
        create table audit_chain_head (
          id integer primary key check (id = 1),
          last_seq bigint not null,
          last_hash text not null
        );
        insert into audit_chain_head (id, last_seq, last_hash) values (1, 0, repeat('0', 64));
        -- Append-only: the database itself refuses edits and deletions of audit events.
        create function audit_events_append_only() returns trigger language plpgsql as $$
        begin
          raise exception 'audit events are append-only';
        end $$;
        create trigger audit_events_no_update before update or delete on audit_events
          for each row execute function audit_events_append_only();
      `.execute(db);
    },
  },
  '0015_audit_keyed_chain': {
    async up(db: Kysely<unknown>) {
      // From here on events are HMAC-chained with the audit key; those already written keep
      // their plain hashes, and the first keyed event's HMAC covers the last plain one.
      // TRUNCATE skips row triggers, so it gets its own refusal (a superuser can still drop it:
      // the key and the checkpoints are what catch them).
      await sql`
        alter table audit_chain_head add column keyed_from bigint;
        update audit_chain_head set keyed_from = last_seq + 1;
        alter table audit_chain_head alter column keyed_from set not null;
        alter table audit_chain_head add column log_id text not null default gen_random_uuid()::text;
        create trigger audit_events_no_truncate before truncate on audit_events
          for each statement execute function audit_events_append_only();
      `.execute(db);
    },
  },
  '0016_audit_emergency_searches': {
    async up(db: Kysely<unknown>) {
      // Each emergency search first counts the searcher's searches in the last hour. A partial
      // index keeps that a lookup among emergency searches only, and costs nothing on the
      // appends every other page makes.
      await sql`create index audit_events_emergency_searches on audit_events(actor_user_id, at) where action = 'emergency_search'`.execute(
        db,
      );
    },
  },
};
