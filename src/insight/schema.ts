// Insight tables: pseudonymised analytic facts (no names, no person ids), the precomputed cube
// the dashboards read, case-finding rules as data, and the worklists they produce for teams.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';
import { defaultRules } from './rules.ts';
import { shippedRegister } from './register.ts';

export interface InsightTables {
  insight_settings: { key: string; value: string };
  /** One row per resident: who they are in aggregate terms, keyed by an HMAC pseudonym. */
  insight_person_facts: {
    pkey: string;
    small_area_id: string;
    locality_id: string;
    decile: number;
    quintile: number;
    age_band: string;
    sex: string;
    ethnicity_group: string;
    disability: boolean;
    groups_mask: number;
    needs_mask: number;
  };
  /** One row per resident and need code: when any agency first recorded it. */
  insight_need_facts: { pkey: string; need_code: string; first_quarter: string; current: boolean };
  /** One row per referral: the access measures, keyed by the pseudonym of the person referred. */
  insight_referral_facts: {
    pkey: string;
    service_id: string;
    quarter: string;
    decided: boolean;
    accepted: boolean;
    first_contact_days: number | null;
  };
  /** Precomputed aggregates: counts (n), denominators (d), sums (s) and sums of squares (ss). */
  insight_cube: {
    section: string;
    measure: string;
    dimension: string;
    value: string;
    period: string;
    n: number;
    d: number;
    s: number;
    ss: number;
  };
  insight_refreshes: {
    id: Generated<number>;
    started_at: Date;
    finished_at: Date;
    people: number;
    seconds: number;
    latest_date: string | null;
  };
  /** Case-finding rules as data: a definition in the small predicate language (rules.ts). */
  insight_rules: {
    id: string;
    name: string;
    description: string;
    definition: unknown;
    active: boolean;
    created_at: Generated<Date>;
    /** The public register (0073): plain English, and the need the fairness check compares against ({ label, codes }). */
    looks_for: string | null;
    why: string | null;
    who_sees: string | null;
    need: unknown;
  };
  insight_runs: {
    id: Generated<number>;
    started_at: Date;
    finished_at: Date | null;
    rules: number;
    entries: number;
    seconds: number | null;
  };
  /** Targets commissioners set for measures (0074): each setting is a new row, the latest per measure is the one in force. */
  insight_targets: {
    id: Generated<number>;
    measure_id: string;
    value: number;
    by_date: string;
    reason: string | null;
    set_by: string;
    set_at: Generated<Date>;
  };
  /** A worklist entry: which team should look, and the facts that matched. The person is opened only through the access decision. */
  insight_worklist: {
    id: Generated<number>;
    run_id: number;
    rule_id: string;
    person_id: string;
    pkey: string;
    organisation_id: string | null;
    team_id: string | null;
    facts: unknown;
    found_at: Date;
    status: 'open' | 'done' | 'dismissed';
  };
}

export const insightMigrations: Record<string, Migration> = {
  '0070_insight': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table insight_settings (key text primary key, value text not null);
        create table insight_person_facts (
          pkey text primary key,
          small_area_id text not null,
          locality_id text not null,
          decile smallint not null,
          quintile smallint not null,
          age_band text not null,
          sex text not null,
          ethnicity_group text not null,
          disability boolean not null,
          groups_mask integer not null,
          needs_mask integer not null
        );
        create table insight_need_facts (pkey text not null, need_code text not null, first_quarter text not null, current boolean not null, primary key (pkey, need_code));
        create table insight_referral_facts (pkey text not null, service_id text not null, quarter text not null, decided boolean not null, accepted boolean not null, first_contact_days double precision);
        create table insight_cube (section text not null, measure text not null, dimension text not null, value text not null, period text not null,
          n double precision not null, d double precision not null default 0, s double precision not null default 0, ss double precision not null default 0);
        create index insight_cube_lookup on insight_cube(section, measure, dimension);
        create table insight_refreshes (id bigserial primary key, started_at timestamptz not null, finished_at timestamptz not null, people integer not null, seconds double precision not null, latest_date date);
        create table insight_rules (id text primary key, name text not null, description text not null, definition jsonb not null, active boolean not null default true, created_at timestamptz not null default now());
        create table insight_runs (id bigserial primary key, started_at timestamptz not null, finished_at timestamptz, rules integer not null, entries integer not null, seconds double precision);
        create table insight_worklist (
          id bigserial primary key,
          run_id bigint not null references insight_runs(id),
          rule_id text not null references insight_rules(id),
          person_id text not null references persons(id),
          pkey text not null,
          organisation_id text references organisations(id),
          team_id text references teams(id),
          facts jsonb not null,
          found_at timestamptz not null,
          status text not null default 'open' check (status in ('open', 'done', 'dismissed'))
        );
        create index insight_worklist_team on insight_worklist(team_id, status);
        create index insight_worklist_org on insight_worklist(organisation_id, status);
        create index insight_worklist_rule on insight_worklist(rule_id, run_id);
      `.execute(db);
      for (const r of defaultRules) {
        await sql`insert into insight_rules (id, name, description, definition) values (${r.id}, ${r.name}, ${r.description}, ${JSON.stringify(r.definition)}::jsonb)`.execute(
          db,
        );
      }
    },
  },
  '0071_insight_event_type_index': {
    async up(db: Kysely<unknown>) {
      // Case-finding counts events of a few types in a window across the whole population.
      await sql`create index if not exists person_events_type_at on person_events(type, at)`.execute(db);
    },
  },
  '0072_insight_worklist_person': {
    async up(db: Kysely<unknown>) {
      // A rerun checks each match against that person's earlier entries for the rule.
      await sql`create index insight_worklist_person on insight_worklist(person_id, rule_id)`.execute(db);
    },
  },
  '0073_insight_rule_register': {
    async up(db: Kysely<unknown>) {
      // The public register of rules: what each looks for, why, who sees the result, and the need
      // it is meant to find (the fairness check compares who it flags against who has that need).
      await sql`alter table insight_rules add column looks_for text, add column why text, add column who_sees text, add column need jsonb`.execute(
        db,
      );
      for (const [id, r] of Object.entries(shippedRegister)) {
        await sql`update insight_rules set looks_for = ${r.looksFor}, why = ${r.why}, who_sees = ${r.whoSees}, need = ${JSON.stringify(r.need)}::jsonb where id = ${id}`.execute(
          db,
        );
      }
    },
  },
  '0074_insight_targets': {
    async up(db: Kysely<unknown>) {
      // Targets for measures, set by commissioners and shown against the actual figures. Never
      // edited: a new target is a new row, so the history of what was asked for is kept.
      await sql`
        create table insight_targets (
          id bigserial primary key,
          measure_id text not null,
          value double precision not null,
          by_date date not null,
          reason text,
          set_by text not null references users(id),
          set_at timestamptz not null default now()
        );
        create index insight_targets_measure on insight_targets(measure_id, set_at desc);
      `.execute(db);
    },
  },
};
