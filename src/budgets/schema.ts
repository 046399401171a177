// Pooled budgets: partners, funds, approved changes, a double-entry append-only ledger in pence,
// personal budgets, and payment-by-outcomes contracts with their payment lines.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface BudgetsTables {
  budget_partners: { id: string; name: string; kind: string; organisation_id: string | null };
  funds: { id: string; name: string; description: string; host_partner_id: string };
  /** A proposed change to a contribution or an allocation: takes effect only when a second person approves it. */
  fund_changes: {
    id: Generated<number>;
    fund_id: string;
    financial_year: number;
    kind: 'contribution' | 'allocation';
    partner_id: string | null;
    target_kind: 'service' | 'pathway' | 'locality' | null;
    target_id: string | null;
    amount_pence: number;
    reason: string;
    proposed_by: string;
    proposed_by_name: string;
    proposed_at: Generated<Date>;
  };
  fund_change_decisions: {
    change_id: number;
    decision: 'approved' | 'rejected';
    decided_by: string;
    decided_by_name: string;
    decided_at: Generated<Date>;
    transaction_id: string | null;
  };
  ledger_accounts: {
    id: string;
    kind: string;
    name: string;
    fund_id: string | null;
    financial_year: number | null;
    partner_id: string | null;
    target_kind: string | null;
    target_id: string | null;
    service_id: string | null;
    person_id: string | null;
  };
  ledger_transactions: {
    /** The idempotency key: deterministic for generated lines, so re-running posts nothing twice. */
    id: string;
    kind: string;
    occurred_on: string;
    financial_year: number;
    description: string;
    reverses_transaction_id: string | null;
    evidence: unknown;
    recorded_by: string;
    recorded_at: Generated<Date>;
  };
  ledger_postings: {
    id: Generated<number>;
    transaction_id: string;
    account_id: string;
    /** Signed pence: debits positive, credits negative; a transaction's postings sum to zero. */
    amount_pence: number;
    person_id: string | null;
    household_id: string | null;
    service_id: string | null;
    locality_id: string | null;
    pathway_code: string | null;
    goal_code: string | null;
  };
  personal_budgets: {
    id: string;
    person_id: string;
    fund_id: string;
    financial_year: number;
    amount_pence: number;
    account_id: string;
    agreed_on: string;
    recorded_by: string;
  };
  personal_budget_choices: {
    id: Generated<number>;
    personal_budget_id: string;
    description: string;
    provider: string;
    service_id: string | null;
    monthly_pence: number;
    chosen_on: string;
  };
  outcome_contracts: {
    id: string;
    name: string;
    provider_organisation_id: string | null;
    provider_name: string;
    fund_id: string;
    pathway_code: string;
    starts_on: string;
    ends_on: string;
  };
  outcome_rate_cards: {
    id: string;
    contract_id: string;
    goal_code: string;
    rule: 'attendance_above' | 'tenancy_sustained';
    threshold: number | null;
    months: number | null;
    amount_pence: number;
    description: string;
  };
  outcome_enrolments: { contract_id: string; person_id: string; enrolled_on: string };
  outcome_measurements: {
    id: Generated<number>;
    person_id: string;
    measure: string;
    value: number | null;
    measured_on: string;
    source: string;
  };
  outcome_payment_lines: {
    id: string;
    contract_id: string;
    rate_card_id: string;
    person_id: string;
    goal_code: string;
    amount_pence: number;
    achieved_on: string;
    evidence: unknown;
    transaction_id: string;
    evaluated_at: Generated<Date>;
  };
  /** Who may decide or dispute funding for a partner (migration 0062): a practitioner of its organisation, appointed. */
  budget_holders: { id: Generated<number>; user_id: string; partner_id: string; appointed_by: string; appointed_at: Generated<Date> };
  budget_holder_endings: { holder_id: number; ended_by: string; ended_at: Generated<Date> };
  /** A case-level "who pays" decision for one person's care package (migration 0062); its shares are versioned. */
  funding_decisions: {
    id: string;
    person_id: string;
    package: string;
    weekly_pence: number;
    starts_on: string;
    ends_on: string;
    recorded_by: string;
    recorded_at: Generated<Date>;
  };
  funding_decision_versions: {
    decision_id: string;
    version: number;
    evidence: string;
    decided_by: string;
    decided_by_name: string;
    decided_by_organisation_id: string | null;
    decided_on: string;
    reason: string;
    commitment_pence: number;
    transaction_id: string;
    recorded_at: Generated<Date>;
  };
  funding_shares: { decision_id: string; version: number; partner_id: string; basis_points: number; amount_pence: number };
  funding_disputes: {
    id: Generated<number>;
    decision_id: string;
    version: number;
    partner_id: string;
    reason: string;
    raised_by: string;
    raised_by_name: string;
    raised_at: Generated<Date>;
  };
  funding_dispute_resolutions: {
    dispute_id: number;
    outcome: 'upheld' | 'changed';
    reason: string;
    resolved_by: string;
    resolved_by_name: string;
    new_version: number | null;
    resolved_at: Generated<Date>;
  };
  /** A budget the household holds together (migration 0063), spent only while every adult member agrees. */
  household_budgets: {
    id: string;
    household_id: string;
    fund_id: string;
    financial_year: number;
    amount_pence: number;
    account_id: string;
    purpose: string;
    agreed_on: string;
    recorded_by: string;
    recorded_by_name: string;
    recorded_at: Generated<Date>;
  };
  /** Each adult's agreement, and any withdrawal, in order: the latest row per person is their word now. */
  household_budget_agreements: {
    id: Generated<number>;
    budget_id: string;
    person_id: string;
    agrees: boolean;
    evidence: string;
    recorded_for: 'person' | 'practitioner';
    recorded_by: string;
    recorded_by_name: string;
    recorded_at: Generated<Date>;
  };
}

const appendOnlyTables = [
  'fund_changes',
  'fund_change_decisions',
  'ledger_accounts',
  'ledger_transactions',
  'ledger_postings',
  'outcome_payment_lines',
];

export const budgetsMigrations: Record<string, Migration> = {
  '0060_budgets': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table budget_partners (
          id text primary key,
          name text not null,
          kind text not null,
          organisation_id text references organisations(id)
        );
        create table funds (
          id text primary key,
          name text not null,
          description text not null,
          host_partner_id text not null references budget_partners(id)
        );
        create table fund_changes (
          id bigserial primary key,
          fund_id text not null references funds(id),
          financial_year integer not null check (financial_year between 2000 and 2100),
          kind text not null check (kind in ('contribution', 'allocation')),
          partner_id text references budget_partners(id),
          target_kind text check (target_kind in ('service', 'pathway', 'locality')),
          target_id text,
          amount_pence bigint not null check (amount_pence <> 0),
          reason text not null,
          proposed_by text not null,
          proposed_by_name text not null,
          proposed_at timestamptz not null default now(),
          check ((kind = 'contribution' and partner_id is not null and target_kind is null)
              or (kind = 'allocation' and partner_id is null and target_kind is not null and target_id is not null))
        );
        create index fund_changes_fund on fund_changes(fund_id, financial_year);
        create table fund_change_decisions (
          change_id bigint primary key references fund_changes(id),
          decision text not null check (decision in ('approved', 'rejected')),
          decided_by text not null,
          decided_by_name text not null,
          decided_at timestamptz not null default now(),
          transaction_id text
        );
        -- Four eyes: whoever proposed a change cannot approve or reject it.
        create function fund_change_second_person() returns trigger language plpgsql as $$
        begin
          if exists (select 1 from fund_changes c where c.id = new.change_id and c.proposed_by = new.decided_by) then
            raise exception 'a change must be decided by someone other than the person who proposed it';
          end if;
          return new;
        end $$;
        create trigger fund_change_decisions_second_person before insert on fund_change_decisions
          for each row execute function fund_change_second_person();

        create table ledger_accounts (
          id text primary key,
          kind text not null check (kind in ('fund', 'partner_contribution', 'allocation', 'service_commitment',
            'commitment_reserve', 'spend', 'personal_budget', 'outcome_payment')),
          name text not null,
          fund_id text references funds(id),
          financial_year integer,
          partner_id text references budget_partners(id),
          target_kind text,
          target_id text,
          service_id text references services(id),
          person_id text references persons(id)
        );
        create table ledger_transactions (
          id text primary key,
          kind text not null,
          occurred_on date not null,
          financial_year integer not null,
          description text not null,
          reverses_transaction_id text unique references ledger_transactions(id),
          evidence jsonb,
          recorded_by text not null,
          recorded_at timestamptz not null default now()
        );
        create index ledger_transactions_year on ledger_transactions(financial_year, occurred_on);
        create table ledger_postings (
          id bigserial primary key,
          transaction_id text not null references ledger_transactions(id),
          account_id text not null references ledger_accounts(id),
          amount_pence bigint not null check (amount_pence <> 0),
          person_id text references persons(id),
          household_id text references households(id),
          service_id text references services(id),
          locality_id text references localities(id),
          pathway_code text,
          goal_code text
        );
        create index ledger_postings_transaction on ledger_postings(transaction_id);
        create index ledger_postings_account on ledger_postings(account_id);
        create index ledger_postings_person on ledger_postings(person_id) where person_id is not null;
        create index ledger_postings_household on ledger_postings(household_id) where household_id is not null;

        -- Double entry, checked by the database per statement: every transaction's postings arrive
        -- together, number at least two and sum to zero; a posted transaction takes no more postings.
        create function ledger_postings_balanced() returns trigger language plpgsql as $$
        begin
          if exists (select 1 from new_postings group by transaction_id having sum(amount_pence) <> 0 or count(*) < 2) then
            raise exception 'a ledger transaction needs at least two postings that sum to zero';
          end if;
          if exists (
            select 1 from ledger_postings p
            join (select distinct transaction_id from new_postings) n on n.transaction_id = p.transaction_id
            where not exists (select 1 from new_postings np where np.id = p.id)) then
            raise exception 'postings cannot be added to a transaction already posted';
          end if;
          return null;
        end $$;
        create trigger ledger_postings_balance after insert on ledger_postings
          referencing new table as new_postings for each statement execute function ledger_postings_balanced();

        create table personal_budgets (
          id text primary key,
          person_id text not null references persons(id),
          fund_id text not null references funds(id),
          financial_year integer not null,
          amount_pence bigint not null check (amount_pence > 0),
          account_id text not null references ledger_accounts(id),
          agreed_on date not null,
          recorded_by text not null
        );
        create index personal_budgets_person on personal_budgets(person_id);
        create table personal_budget_choices (
          id bigserial primary key,
          personal_budget_id text not null references personal_budgets(id),
          description text not null,
          provider text not null,
          service_id text references services(id),
          monthly_pence bigint not null check (monthly_pence >= 0),
          chosen_on date not null
        );
        create index personal_budget_choices_budget on personal_budget_choices(personal_budget_id);

        create table outcome_contracts (
          id text primary key,
          name text not null,
          provider_organisation_id text references organisations(id),
          provider_name text not null,
          fund_id text not null references funds(id),
          pathway_code text not null,
          starts_on date not null,
          ends_on date not null
        );
        create table outcome_rate_cards (
          id text primary key,
          contract_id text not null references outcome_contracts(id),
          goal_code text not null,
          rule text not null check (rule in ('attendance_above', 'tenancy_sustained')),
          threshold double precision,
          months integer,
          amount_pence bigint not null check (amount_pence > 0),
          description text not null
        );
        create table outcome_enrolments (
          contract_id text not null references outcome_contracts(id),
          person_id text not null references persons(id),
          enrolled_on date not null,
          primary key (contract_id, person_id)
        );
        create table outcome_measurements (
          id bigserial primary key,
          person_id text not null references persons(id),
          measure text not null,
          value double precision,
          measured_on date not null,
          source text not null
        );
        create index outcome_measurements_person on outcome_measurements(person_id, measure);
        create table outcome_payment_lines (
          id text primary key,
          contract_id text not null references outcome_contracts(id),
          rate_card_id text not null references outcome_rate_cards(id),
          person_id text not null references persons(id),
          goal_code text not null,
          amount_pence bigint not null check (amount_pence > 0),
          achieved_on date not null,
          evidence jsonb not null,
          transaction_id text not null unique references ledger_transactions(id),
          evaluated_at timestamptz not null default now(),
          unique (rate_card_id, person_id)
        );
        create index outcome_payment_lines_contract on outcome_payment_lines(contract_id);

        -- Append-only: nothing in the ledger is edited or deleted; corrections are reversing entries.
        create function budgets_append_only() returns trigger language plpgsql as $$
        begin
          raise exception '% is append-only: record a reversing entry instead', tg_table_name;
        end $$;
      `.execute(db);
      for (const table of appendOnlyTables) {
        await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
          for each row execute function budgets_append_only()`.execute(db);
        await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
          for each statement execute function budgets_append_only()`.execute(db);
      }
    },
  },
  // A pooled fund never has less than nothing unallocated, whatever writes the ledger. Checked per
  // statement, after locking the fund's accounts, so two approvals at once (on any servers) are
  // checked one after the other. Only postings that take money out of the pool are refused: a
  // contribution to a fund already below zero (from before this check) is still let in.
  '0061_budgets_fund_invariant': {
    async up(db: Kysely<unknown>) {
      await sql`
        create function ledger_fund_not_overdrawn() returns trigger language plpgsql as $$
        declare
          overdrawn text;
        begin
          perform 1 from ledger_accounts a
            where a.kind = 'fund' and a.id in (select account_id from new_postings)
            order by a.id for update;
          select m.account_id into overdrawn
            from (select account_id, sum(amount_pence) as change from new_postings group by account_id) m
            join ledger_accounts a on a.id = m.account_id and a.kind = 'fund'
            where m.change < 0 and (select sum(p.amount_pence) from ledger_postings p where p.account_id = m.account_id) < 0
            limit 1;
          if overdrawn is not null then
            raise exception 'pooled fund account % would have less than nothing unallocated', overdrawn using errcode = 'check_violation';
          end if;
          return null;
        end $$;
        create trigger ledger_postings_fund_not_overdrawn after insert on ledger_postings
          referencing new table as new_postings for each statement execute function ledger_fund_not_overdrawn();
      `.execute(db);
    },
  },
  // Who pays (issue 22): a funding decision splits a person's care package between partners and
  // posts the commitment to the ledger; a partner may dispute its share and someone from another
  // partner resolves it. Nothing here is edited: a change is a new version (and a reversal plus a
  // new posting in the ledger); budget holders end by an ending row.
  '0062_budgets_funding_decisions': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table budget_holders (
          id bigserial primary key,
          user_id text not null references users(id),
          partner_id text not null references budget_partners(id),
          appointed_by text not null,
          appointed_at timestamptz not null default now()
        );
        create index budget_holders_user on budget_holders(user_id);
        create table budget_holder_endings (
          holder_id bigint primary key references budget_holders(id),
          ended_by text not null,
          ended_at timestamptz not null default now()
        );
        create table funding_decisions (
          id text primary key,
          person_id text not null references persons(id),
          package text not null,
          weekly_pence bigint not null check (weekly_pence > 0),
          starts_on date not null,
          ends_on date not null,
          recorded_by text not null,
          recorded_at timestamptz not null default now(),
          check (ends_on > starts_on)
        );
        create index funding_decisions_person on funding_decisions(person_id);
        create table funding_decision_versions (
          decision_id text not null references funding_decisions(id),
          version integer not null check (version >= 1),
          evidence text not null,
          decided_by text not null,
          decided_by_name text not null,
          decided_by_organisation_id text references organisations(id),
          decided_on date not null,
          reason text not null,
          commitment_pence bigint not null check (commitment_pence > 0),
          transaction_id text not null unique references ledger_transactions(id),
          recorded_at timestamptz not null default now(),
          primary key (decision_id, version)
        );
        create table funding_shares (
          decision_id text not null,
          version integer not null,
          partner_id text not null references budget_partners(id),
          basis_points integer not null check (basis_points between 1 and 10000),
          amount_pence bigint not null check (amount_pence >= 0),
          primary key (decision_id, version, partner_id),
          foreign key (decision_id, version) references funding_decision_versions(decision_id, version)
        );
        create table funding_disputes (
          id bigserial primary key,
          decision_id text not null,
          version integer not null,
          partner_id text not null references budget_partners(id),
          reason text not null,
          raised_by text not null,
          raised_by_name text not null,
          raised_at timestamptz not null default now(),
          foreign key (decision_id, version) references funding_decision_versions(decision_id, version)
        );
        create index funding_disputes_decision on funding_disputes(decision_id);
        create table funding_dispute_resolutions (
          dispute_id bigint primary key references funding_disputes(id),
          outcome text not null check (outcome in ('upheld', 'changed')),
          reason text not null,
          resolved_by text not null,
          resolved_by_name text not null,
          new_version integer,
          resolved_at timestamptz not null default now(),
          check ((outcome = 'changed') = (new_version is not null))
        );
        -- Whoever raised a dispute does not resolve it.
        create function funding_dispute_second_person() returns trigger language plpgsql as $$
        begin
          if exists (select 1 from funding_disputes d where d.id = new.dispute_id and d.raised_by = new.resolved_by) then
            raise exception 'a dispute must be resolved by someone other than the person who raised it';
          end if;
          return new;
        end $$;
        create trigger funding_dispute_resolutions_second_person before insert on funding_dispute_resolutions
          for each row execute function funding_dispute_second_person();
      `.execute(db);
      for (const table of [
        'budget_holders',
        'budget_holder_endings',
        'funding_decisions',
        'funding_decision_versions',
        'funding_shares',
        'funding_disputes',
        'funding_dispute_resolutions',
      ]) {
        await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
          for each row execute function budgets_append_only()`.execute(db);
        await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
          for each statement execute function budgets_append_only()`.execute(db);
      }
    },
  },
  // Households in charge (issue 22): a budget the household holds, with each adult's agreement
  // and any withdrawal kept in order (append-only).
  '0063_budgets_household_budgets': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table household_budgets (
          id text primary key,
          household_id text not null references households(id),
          fund_id text not null references funds(id),
          financial_year integer not null,
          amount_pence bigint not null check (amount_pence > 0),
          account_id text not null references ledger_accounts(id),
          purpose text not null,
          agreed_on date not null,
          recorded_by text not null,
          recorded_by_name text not null,
          recorded_at timestamptz not null default now()
        );
        create index household_budgets_household on household_budgets(household_id);
        create table household_budget_agreements (
          id bigserial primary key,
          budget_id text not null references household_budgets(id),
          person_id text not null references persons(id),
          agrees boolean not null,
          evidence text not null,
          recorded_for text not null check (recorded_for in ('person', 'practitioner')),
          recorded_by text not null,
          recorded_by_name text not null,
          recorded_at timestamptz not null default now()
        );
        create index household_budget_agreements_budget on household_budget_agreements(budget_id, person_id, id);
      `.execute(db);
      for (const table of ['household_budgets', 'household_budget_agreements']) {
        await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
          for each row execute function budgets_append_only()`.execute(db);
        await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
          for each statement execute function budgets_append_only()`.execute(db);
      }
    },
  },
};
