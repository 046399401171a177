// The tables behind FHIR Bulk Data $export: a job (who asked, with which token, for what, and
// how far it has got), the NDJSON files it produced and their contents in chunks. Kept in the
// database rather than on one server's disk, so any process can answer a status poll or a
// download, and a job survives a restart: its cursor (type and last id written) commits with
// each chunk, and a leased worker picks it up where it stopped.
import { sql, type Kysely, type Migration } from 'kysely';

export interface BulkTables {
  fhir_export_jobs: {
    id: string;
    /** The account that asked; its token is the only one that may poll and download. */
    owner_user_id: string;
    /** SHA-256 of the bearer token that asked (never the token itself). */
    token_hash: string;
    /** The account as it was when it asked (role, organisation, team): the actor of every decision. */
    actor: unknown;
    level: 'system' | 'patient' | 'group';
    group_id: string | null;
    /** The Group's members the asker could see at kick-off (group exports only). */
    members: string[] | null;
    types: string[];
    since: Date | null;
    request: string;
    status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
    transaction_time: Date;
    /** Where the job is: the type being written (an index into types) and the last id written of it. */
    type_index: number;
    cursor_id: string | null;
    /** The file being filled for the current type, and how many resources it holds. */
    current_file: number | null;
    current_count: number;
    files_made: number;
    resources_done: number;
    leased_by: string | null;
    leased_until: Date | null;
    failure: string | null;
    created_at: Date;
    updated_at: Date;
    finished_at: Date | null;
    expires_at: Date;
  };
  fhir_export_files: {
    job_id: string;
    file_no: number;
    /** A resource type, or OperationOutcome for the error file. */
    resource_type: string;
    kind: 'output' | 'error';
    count: number;
  };
  /** What a job's rows must also match, when it asked for more than its types and date. */
  fhir_export_job_filters: {
    job_id: string;
    /** _typeFilter: per type, the searches (query strings) a resource must match one of to be exported. */
    type_filters: unknown;
    /** A SMART app's patient/ scope: only this person's records are exported. */
    confined_to: string | null;
  };
  fhir_export_chunks: {
    job_id: string;
    file_no: number;
    seq: number;
    ndjson: string;
  };
}

export const bulkMigrations: Record<string, Migration> = {
  '0144_fhir_bulk_export': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table fhir_export_jobs (
          id text primary key,
          owner_user_id text not null,
          token_hash text not null,
          actor jsonb not null,
          level text not null check (level in ('system', 'patient', 'group')),
          group_id text,
          members text[],
          types text[] not null,
          since timestamptz,
          request text not null,
          status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed', 'cancelled')),
          transaction_time timestamptz not null default now(),
          type_index integer not null default 0,
          cursor_id text,
          current_file integer,
          current_count integer not null default 0,
          files_made integer not null default 0,
          resources_done bigint not null default 0,
          leased_by text,
          leased_until timestamptz,
          failure text,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          finished_at timestamptz,
          expires_at timestamptz not null
        );
        create index fhir_export_jobs_pending on fhir_export_jobs(created_at) where status in ('queued', 'running');
        create index fhir_export_jobs_owner on fhir_export_jobs(owner_user_id, status);
        create table fhir_export_files (
          job_id text not null references fhir_export_jobs(id) on delete cascade,
          file_no integer not null,
          resource_type text not null,
          kind text not null check (kind in ('output', 'error')),
          count integer not null default 0,
          primary key (job_id, file_no)
        );
        create table fhir_export_chunks (
          job_id text not null,
          file_no integer not null,
          seq integer not null,
          ndjson text not null,
          primary key (job_id, file_no, seq),
          foreign key (job_id, file_no) references fhir_export_files(job_id, file_no) on delete cascade
        );
      `.execute(db);
    },
  },
  // _typeFilter and SMART apps' patient/ scopes: what a job's rows must also match. A table of its
  // own (no foreign key): this number sorts before 0144's, so on a new database it runs first.
  // Deleted with its job (bulk-export.ts).
  '0140_fhir_export_filters': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table fhir_export_job_filters (
          job_id text primary key,
          type_filters jsonb not null default '{}'::jsonb,
          confined_to text
        );
      `.execute(db);
    },
  },
};
