// Interoperability tables: API tokens for machines, FHIR resource versions, bulk import jobs
// (with a checkpoint per file and the rows they set aside), saved column mappings, and the
// transactional outbox behind signed webhooks.
//
// The outbox is written by triggers, so an event row commits or rolls back with the change
// that caused it, whichever module made the change (referrals, plans, consent, care network).
import { sql, type Generated, type Kysely, type Migration } from 'kysely';
import { subscriptionMigrations, type DeliverySkipColumns, type SubscriptionColumns } from './subscription-schema.ts';

export interface InteropTables {
  api_tokens: {
    id: string;
    /** SHA-256 of the token: a stolen database does not yield live tokens. */
    token_hash: string;
    user_id: string;
    name: string;
    created_at: Generated<Date>;
    expires_at: Date;
    revoked_at: Date | null;
    last_used_at: Date | null;
  };
  /** FHIR versions of resources written through the API; absent means version 1. */
  fhir_meta: {
    resource_type: string;
    resource_id: string;
    version_id: number;
    last_updated: Date;
  };
  import_mappings: {
    source: string;
    name: string;
    /** FHIR-free column mapping: source field name (given_name, ...) → CSV column header. */
    columns: Record<string, string>;
    /** The CSV column holding the agency's own record id. */
    id_column: string;
    created_at: Generated<Date>;
  };
  import_jobs: {
    id: Generated<number>;
    source: string;
    /** csv | ndjson | bundle */
    format: string;
    mapping_name: string | null;
    file_name: string;
    /** SHA-256 of the file: the same file resumes its job, a different file starts a new one. */
    file_hash: string;
    status: Generated<string>;
    /** Checkpoint: input lines (or bundle entries) fully processed, committed with their rows. */
    lines_done: Generated<number>;
    lines_total: number | null;
    records_stored: Generated<number>;
    records_unchanged: Generated<number>;
    records_linked: Generated<number>;
    records_new_person: Generated<number>;
    records_review: Generated<number>;
    /** Rows set aside (quarantined), repeated record ids included. */
    errors: Generated<number>;
    /** Rows set aside because their record id came earlier in the same file. */
    duplicates: Generated<number>;
    /** utf-8, or windows-1252 when some lines were not UTF-8 (read as Windows-1252, with a warning). */
    encoding: Generated<string>;
    warnings: Generated<string[]>;
    /** Why the job stopped, when it failed; cleared when a later run finishes it. */
    failure: string | null;
    /** The process running the job (see platform/process-owner.ts); updated_at is its heartbeat. */
    owner_host: string | null;
    owner_pid: number | null;
    owner_started: string | null;
    started_at: Generated<Date>;
    updated_at: Generated<Date>;
    finished_at: Date | null;
    created_by: string | null;
    /** Records of which something sent was not kept (import_not_kept). */
    records_not_kept: Generated<number>;
  };
  /**
   * What of a FHIR record an import did not keep: the input line, the record id, the paths of the
   * elements sent that a read of the Patient does not return, and why (null: Joinery does not hold them).
   */
  import_not_kept: {
    id: Generated<number>;
    job_id: number;
    line: number;
    record_id: string;
    elements: string[];
    reason: string | null;
  };
  /** Rows an import set aside: the input line, why, and the row as sent (cut to 2,000 characters). */
  import_quarantine: {
    id: Generated<number>;
    job_id: number;
    line: number;
    reason: string;
    row_text: string;
  };
  outbox: {
    id: Generated<number>;
    topic: string;
    resource_type: string;
    resource_id: string;
    payload: unknown;
    created_at: Generated<Date>;
    /** Set when the dispatcher has fanned the event out to every subscription. */
    dispatched_at: Date | null;
  };
  webhook_subscriptions: SubscriptionColumns & {
    id: string;
    url: string;
    secret: string;
    topics: string[];
    active: Generated<boolean>;
    created_by: string | null;
    created_at: Generated<Date>;
  };
  webhook_deliveries: DeliverySkipColumns & {
    id: Generated<number>;
    outbox_id: number;
    subscription_id: string;
    attempts: Generated<number>;
    next_attempt_at: Generated<Date>;
    delivered_at: Date | null;
    last_status: number | null;
    last_error: string | null;
    /** Given up after the last retry. */
    failed_at: Date | null;
  };
}

export const interopMigrations: Record<string, Migration> = {
  '0080_interop': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table api_tokens (
          id text primary key,
          token_hash text not null unique,
          user_id text not null references users(id),
          name text not null,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          revoked_at timestamptz,
          last_used_at timestamptz
        );
        create index api_tokens_user on api_tokens(user_id);
        create table fhir_meta (
          resource_type text not null,
          resource_id text not null,
          version_id integer not null,
          last_updated timestamptz not null,
          primary key (resource_type, resource_id)
        );
        create table import_mappings (
          source text not null,
          name text not null,
          columns jsonb not null,
          id_column text not null,
          created_at timestamptz not null default now(),
          primary key (source, name)
        );
        create table import_jobs (
          id bigserial primary key,
          source text not null,
          format text not null check (format in ('csv', 'ndjson', 'bundle')),
          mapping_name text,
          file_name text not null,
          file_hash text not null,
          status text not null default 'running' check (status in ('running', 'done', 'failed')),
          lines_done bigint not null default 0,
          lines_total bigint,
          records_stored bigint not null default 0,
          records_unchanged bigint not null default 0,
          records_linked bigint not null default 0,
          records_new_person bigint not null default 0,
          records_review bigint not null default 0,
          errors bigint not null default 0,
          started_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          finished_at timestamptz,
          created_by text
        );
        create unique index import_jobs_file on import_jobs(source, file_hash);
        create table import_errors (
          id bigserial primary key,
          job_id bigint not null references import_jobs(id),
          line bigint not null,
          message text not null
        );
        create index import_errors_job on import_errors(job_id, line);
        create table outbox (
          id bigserial primary key,
          topic text not null,
          resource_type text not null,
          resource_id text not null,
          payload jsonb not null,
          created_at timestamptz not null default now(),
          dispatched_at timestamptz
        );
        create index outbox_pending on outbox(id) where dispatched_at is null;
        create table webhook_subscriptions (
          id text primary key,
          url text not null,
          secret text not null,
          topics text[] not null,
          active boolean not null default true,
          created_by text,
          created_at timestamptz not null default now()
        );
        create table webhook_deliveries (
          id bigserial primary key,
          outbox_id bigint not null references outbox(id),
          subscription_id text not null references webhook_subscriptions(id),
          attempts integer not null default 0,
          next_attempt_at timestamptz not null default now(),
          delivered_at timestamptz,
          last_status integer,
          last_error text,
          failed_at timestamptz,
          unique (outbox_id, subscription_id)
        );
        create index webhook_deliveries_due on webhook_deliveries(next_attempt_at) where delivered_at is null and failed_at is null;

        -- Events carry references and states only, never personal details: a receiver reads
        -- the resource through the FHIR API, where the access decision applies.
        create function interop_referral_outbox() returns trigger language plpgsql as $$
        begin
          if tg_op = 'INSERT' then
            insert into outbox (topic, resource_type, resource_id, payload)
              select 'referral.status', 'ServiceRequest', n.id, jsonb_build_object('status', n.status, 'previousStatus', null)
              from new_rows n;
          else
            insert into outbox (topic, resource_type, resource_id, payload)
              select 'referral.status', 'ServiceRequest', n.id, jsonb_build_object('status', n.status, 'previousStatus', o.status)
              from new_rows n join old_rows o on o.id = n.id where n.status is distinct from o.status;
          end if;
          return null;
        end $$;
        create trigger referrals_outbox_insert after insert on referrals referencing new table as new_rows
          for each statement execute function interop_referral_outbox();
        create trigger referrals_outbox_update after update on referrals referencing old table as old_rows new table as new_rows
          for each statement execute function interop_referral_outbox();

        create function interop_plan_outbox() returns trigger language plpgsql as $$
        begin
          insert into outbox (topic, resource_type, resource_id, payload)
            select 'plan.changed', 'CarePlan', n.plan_id, jsonb_build_object('change', n.kind)
            from new_rows n;
          return null;
        end $$;
        create trigger plan_events_outbox after insert on plan_events referencing new table as new_rows
          for each statement execute function interop_plan_outbox();

        create function interop_consent_outbox() returns trigger language plpgsql as $$
        begin
          insert into outbox (topic, resource_type, resource_id, payload)
            select 'consent.changed', 'Consent', n.id::text,
              jsonb_build_object('change', case when tg_op = 'INSERT' then 'recorded' when n.withdrawn_at is not null then 'withdrawn' else 'updated' end)
            from new_rows n;
          return null;
        end $$;
        create trigger consent_directives_outbox_insert after insert on consent_directives referencing new table as new_rows
          for each statement execute function interop_consent_outbox();
        create trigger consent_directives_outbox_update after update on consent_directives referencing new table as new_rows
          for each statement execute function interop_consent_outbox();

        create function interop_network_outbox() returns trigger language plpgsql as $$
        begin
          insert into outbox (topic, resource_type, resource_id, payload)
            select 'care_network.changed', 'EpisodeOfCare', n.id::text,
              jsonb_build_object('change', case when n.ended_at is not null then 'ended' else 'started' end, 'kind', n.kind)
            from new_rows n;
          return null;
        end $$;
        create trigger care_relationships_outbox_insert after insert on care_relationships referencing new table as new_rows
          for each statement execute function interop_network_outbox();
        create trigger care_relationships_outbox_update after update on care_relationships referencing new table as new_rows
          for each statement execute function interop_network_outbox();
      `.execute(db);
    },
  },
  // Quarantine rather than block: the row errors table becomes the rows set aside, with the row
  // as sent; a job records its duplicates, encoding and warnings, why it failed, and which
  // process runs it (so a job whose process died can be failed and resumed).
  '0085_interop_import_quarantine': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table import_errors rename to import_quarantine;
        alter index import_errors_job rename to import_quarantine_job;
        alter table import_quarantine rename column message to reason;
        alter table import_quarantine add column row_text text not null default '';
        alter table import_jobs
          add column duplicates bigint not null default 0,
          add column encoding text not null default 'utf-8',
          add column warnings jsonb not null default '[]',
          add column failure text,
          add column owner_host text,
          add column owner_pid integer,
          add column owner_started text;
        create index import_jobs_running on import_jobs(id) where status = 'running';
      `.execute(db);
    },
  },
  // FHIR Subscriptions on the webhooks (subscription-schema.ts).
  ...subscriptionMigrations,
  // An import of FHIR Patients keeps each as sent, as the FHIR API does (fhir/imported-patients.ts),
  // and says per record what it did not keep rather than drop it silently.
  '0162_interop_import_not_kept': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table import_not_kept (
          id bigserial primary key,
          job_id bigint not null references import_jobs(id),
          line bigint not null,
          record_id text not null,
          elements text[] not null,
          reason text
        );
        create index import_not_kept_job on import_not_kept(job_id, line);
        alter table import_jobs add column records_not_kept bigint not null default 0;
      `.execute(db);
    },
  },
};
