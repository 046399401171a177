// Read models over the ledger: budget versus spend with a year-end forecast, whole-system cost
// of a person (and their household), cost per person and per outcome for pathways and cohorts,
// outcome payment schedules, personal budgets. Aggregates suppress per-person figures under 5.
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { preparedQuery } from '../platform/db.ts';
import { currentNeedPairs, householdMemberCount, personById } from '../people/index.ts';
import { serviceNameOf, servicesWithOrganisation, servicesWithOrganisationSql } from '../network/index.ts';
import { localityNameById, personRecordsHomedIn } from '../place/index.ts';
import { suppressSmall } from '../platform/disclosure.ts';
import { financialYearOf, goalLabels, monthsOfYear, pathwayLabels } from './goals.ts';

export const FORECAST_METHOD =
  'Spend to date plus the average of the last three months with spend recorded, for each month left in the year (run-rate).';

/** Pure: the year-end forecast from monthly actuals (April first) and the months elapsed. */
export function forecastYearEnd(monthly: readonly number[], elapsed: number): { forecast: number; runRate: number; series: number[] } {
  const actual = monthly.slice(0, elapsed);
  const toDate = actual.reduce((s, v) => s + v, 0);
  const last = actual.slice(-3);
  const runRate = last.length === 0 ? 0 : Math.round(last.reduce((s, v) => s + v, 0) / last.length);
  const series: number[] = [];
  let cumulative = 0;
  for (let i = 0; i < 12; i++) {
    cumulative += i < elapsed ? (monthly[i] ?? 0) : runRate;
    series.push(cumulative);
  }
  return { forecast: toDate + runRate * (12 - elapsed), runRate, series };
}

export const pseudonym = (personId: string): string =>
  createHash('sha256').update(`joinery-budgets:${personId}`).digest('hex').slice(0, 10).toUpperCase();

/** The financial year of the latest spend in the ledger (the data's "now", not the clock's). */
export async function latestSpendDate(db: Kysely<Database>): Promise<string | null> {
  const row = (
    await sql<{
      d: string | null;
    }>`select max(occurred_on)::text as d from ledger_transactions where kind in ('spend', 'personal_budget_spend', 'outcome_payment')`.execute(
      db,
    )
  ).rows[0];
  return row?.d ?? null;
}

const spendKinds = sql`('spend', 'outcome_payment')`;

export interface AllocationRow {
  accountId: string;
  targetKind: string;
  targetId: string;
  label: string;
  budgetPence: number;
  usedPence: number;
  remainingPence: number;
  forecastPence: number;
  variancePence: number;
}

export async function budgetOverview(db: Kysely<Database>, fundId: string, requestedYear?: number) {
  const latest = await latestSpendDate(db);
  const latestYear = latest ? financialYearOf(latest) : new Date().getUTCFullYear();
  const year = requestedYear ?? latestYear;
  const months = monthsOfYear(year);
  const elapsed = year < latestYear ? 12 : year > latestYear ? 0 : months.indexOf((latest ?? '').slice(0, 7)) + 1;

  const fund = await db.selectFrom('funds').selectAll().where('id', '=', fundId).executeTakeFirst();
  if (!fund) return undefined;
  const contributions = (
    await sql<{ id: string; name: string; pence: number }>`
    select p.id, p.name, sum(c.amount_pence)::bigint as pence from fund_changes c
    join fund_change_decisions d on d.change_id = c.id and d.decision = 'approved'
    join budget_partners p on p.id = c.partner_id
    where c.fund_id = ${fundId} and c.financial_year = ${year} and c.kind = 'contribution'
    group by p.id, p.name order by pence desc`.execute(db)
  ).rows.map((r) => ({ ...r, pence: Number(r.pence) }));
  const contributed = contributions.reduce((s, c) => s + c.pence, 0);

  // Each allocation account: budget from approved changes, used by every other entry, by month.
  const allocationRows = (
    await sql<{
      id: string;
      target_kind: string;
      target_id: string;
      service_name: string | null;
      locality_name: string | null;
      budget: number;
      used: number;
    }>`
    select a.id, a.target_kind, a.target_id,
      case when a.target_kind = 'service' then ${serviceNameOf('a.target_id')} end as service_name,
      case when a.target_kind = 'locality' then ${localityNameById('a.target_id')} end as locality_name,
      coalesce(sum(p.amount_pence) filter (where t.kind in ('allocation', 'contribution')), 0)::bigint as budget,
      coalesce(-sum(p.amount_pence) filter (where t.kind not in ('allocation', 'contribution')), 0)::bigint as used
    from ledger_accounts a
    left join ledger_postings p on p.account_id = a.id left join ledger_transactions t on t.id = p.transaction_id
    where a.kind = 'allocation' and a.fund_id = ${fundId} and a.financial_year = ${year}
    group by a.id, a.target_kind, a.target_id order by a.id`.execute(db)
  ).rows;
  const allocationMonthly = (
    await sql<{ id: string; month: string; used: number }>`
    select a.id, to_char(t.occurred_on, 'YYYY-MM') as month, -sum(p.amount_pence)::bigint as used
    from ledger_accounts a join ledger_postings p on p.account_id = a.id join ledger_transactions t on t.id = p.transaction_id
    where a.kind = 'allocation' and a.fund_id = ${fundId} and a.financial_year = ${year} and t.kind not in ('allocation', 'contribution')
    group by a.id, month`.execute(db)
  ).rows;
  const monthlyOf = new Map<string, number[]>();
  for (const r of allocationMonthly) {
    const list = monthlyOf.get(r.id) ?? new Array(12).fill(0);
    const i = months.indexOf(r.month);
    if (i >= 0) list[i] += Number(r.used);
    monthlyOf.set(r.id, list);
  }
  const allocations: AllocationRow[] = allocationRows
    .map((r) => {
      const budget = Number(r.budget);
      const used = Number(r.used);
      const { forecast } = forecastYearEnd(monthlyOf.get(r.id) ?? new Array(12).fill(0), elapsed);
      const label =
        r.target_kind === 'service'
          ? (r.service_name ?? 'Other services')
          : r.target_kind === 'locality'
            ? `${r.locality_name ?? 'Unknown'} locality`
            : (pathwayLabels[r.target_id] ?? r.target_id);
      return {
        accountId: r.id,
        targetKind: r.target_kind,
        targetId: r.target_id,
        label,
        budgetPence: budget,
        usedPence: used,
        remainingPence: budget - used,
        forecastPence: forecast,
        variancePence: budget - forecast,
      };
    })
    .sort((a, b) => b.budgetPence - a.budgetPence);

  // Actual spend (money leaving the fund for services and outcomes), by month.
  const spendMonthly = (
    await sql<{ month: string; pence: number }>`
    select to_char(t.occurred_on, 'YYYY-MM') as month, sum(p.amount_pence)::bigint as pence
    from ledger_postings p join ledger_accounts a on a.id = p.account_id join ledger_transactions t on t.id = p.transaction_id
    where a.kind in ${spendKinds} and a.fund_id = ${fundId} and t.financial_year = ${year}
    group by month`.execute(db)
  ).rows;
  const monthly = new Array(12).fill(0) as number[];
  for (const r of spendMonthly) {
    const i = months.indexOf(r.month);
    if (i >= 0) monthly[i] = (monthly[i] ?? 0) + Number(r.pence);
  }
  const { forecast, runRate, series } = forecastYearEnd(monthly, elapsed);
  const budgetTotal = allocations.reduce((s, a) => s + a.budgetPence, 0);
  let cumulative = 0;
  const monthRows = months.map((m, i) => {
    cumulative += monthly[i] ?? 0;
    return {
      month: m,
      spentPence: i < elapsed ? (monthly[i] ?? 0) : null,
      cumulativePence: i < elapsed ? cumulative : null,
      forecastCumulativePence: series[i] ?? 0,
      budgetProfilePence: Math.round((budgetTotal * (i + 1)) / 12),
    };
  });

  // Spend by the agency that delivered it, and by locality with people counted.
  const byService = (
    await sql<{ service: string | null; organisation: string | null; pence: number; people: number }>`
    select s.name as service, s.organisation_name as organisation, sum(p.amount_pence)::bigint as pence, count(distinct p.person_id)::int as people
    from ledger_postings p join ledger_accounts a on a.id = p.account_id join ledger_transactions t on t.id = p.transaction_id
    left join ${servicesWithOrganisation} s on s.id = p.service_id
    where a.kind in ${spendKinds} and a.fund_id = ${fundId} and t.financial_year = ${year}
    group by s.name, s.organisation_name order by pence desc`.execute(db)
  ).rows.map((r) => ({ ...r, pence: Number(r.pence) }));
  const byLocality = (
    await sql<{ locality: string | null; pence: number; people: number; residents: number }>`
    select ${localityNameById('p.locality_id')} as locality, sum(p.amount_pence)::bigint as pence, count(distinct p.person_id)::int as people,
      ${personRecordsHomedIn('p.locality_id')}::int as residents
    from ledger_postings p join ledger_accounts a on a.id = p.account_id join ledger_transactions t on t.id = p.transaction_id
    where a.kind in ${spendKinds} and a.fund_id = ${fundId} and t.financial_year = ${year}
    group by p.locality_id order by locality`.execute(db)
  ).rows.map((r) => {
    const people = suppressSmall(r.people);
    return {
      locality: r.locality ?? 'Not known',
      pence: Number(r.pence),
      people,
      residents: r.residents,
      perPersonPence: people === null || people === 0 ? null : Math.round(Number(r.pence) / people),
    };
  });
  const spent = monthly.reduce((s, v) => s + v, 0);
  // Pooled money has no single owner: each partner's share of spend is its share of contributions.
  const byPartner = contributions.map((c) => ({
    ...c,
    spentPence: contributed === 0 ? 0 : Math.round((spent * c.pence) / contributed),
    forecastPence: contributed === 0 ? 0 : Math.round((forecast * c.pence) / contributed),
  }));
  return {
    fund,
    year,
    elapsed,
    latest,
    months: monthRows,
    allocations,
    byService,
    byLocality,
    byPartner,
    runRatePence: runRate,
    totals: {
      contributedPence: contributed,
      budgetPence: budgetTotal,
      unallocatedPence: contributed - budgetTotal,
      spentPence: spent,
      forecastPence: forecast,
      variancePence: budgetTotal - forecast,
    },
  };
}

export async function fundsList(db: Kysely<Database>) {
  return db.selectFrom('funds').select(['id', 'name', 'description']).orderBy('id').execute();
}

export interface PersonCost {
  total: number;
  byYearAgency: { year: number; agency: string; pence: number; items: number }[];
  byGoal: { goal: string; pence: number }[];
  recent: { on: string; description: string; agency: string; pence: number }[];
  household: { members: number; pence: number } | null;
}

const sortedByYearAgency = (m: Map<string, { year: number; agency: string; pence: number; items: number }>) =>
  [...m.values()].sort((a, b) => b.year - a.year || b.pence - a.pence);
const sortedByGoal = (m: Map<string, number>) => [...m].map(([goal, pence]) => ({ goal, pence })).sort((a, b) => b.pence - a.pence);
const recentOf = (rows: ReadonlyArray<{ on: string; description: string; agency: string | null; pence: number }>) =>
  rows.slice(0, 10).map((r) => ({ on: r.on, description: r.description, agency: r.agency ?? 'Other', pence: Number(r.pence) }));

/** One ledger posting of a person's spend, newest first: what personCost summarises. */
export interface PersonCostRow {
  year: number;
  agency: string | null;
  goal: string | null;
  on: string;
  description: string;
  pence: number;
  kind: string;
  organisation_id: string | null;
  organisation_kind: string | null;
}

/**
 * The rows of a person's spend, as SQL that other read models can embed in their own query.
 * `person` and `organisations` name SQL parameters: the person, and the agencies whose entries
 * count (a text[]; null: every agency's).
 */
export const personCostRowsSql = (person: string, organisations: string) => `
  select t.financial_year as year, coalesce(s.organisation_name, case when a.kind = 'outcome_payment' then 'Outcome payments' else 'Direct payment (your choice)' end) as agency,
    p.goal_code as goal, t.occurred_on::text as on, t.description, p.amount_pence::bigint as pence, t.kind, s.organisation_id, s.organisation_kind
  from ledger_postings p join ledger_accounts a on a.id = p.account_id join ledger_transactions t on t.id = p.transaction_id
  left join ${servicesWithOrganisationSql} s on s.id = p.service_id
  where p.person_id = ${person} and a.kind in ('spend', 'outcome_payment') and (${organisations}::text[] is null or s.organisation_id = any(${organisations}::text[]))
  order by t.occurred_on desc, t.id`;

const PERSON_COST_SQL = personCostRowsSql('$1', '$2');

/** The parameter personCostRowsSql expects for the agencies whose entries count. */
export const costOrganisations = (organisationIds: readonly string[] | 'all') => (organisationIds === 'all' ? null : [...organisationIds]);

/** Totals by year and agency, by goal, and the latest items, from a person's spend rows (newest first). */
export function summarisePersonCost(rows: readonly PersonCostRow[]): Omit<PersonCost, 'household'> {
  const byYearAgency = new Map<string, { year: number; agency: string; pence: number; items: number }>();
  const byGoal = new Map<string, number>();
  let total = 0;
  for (const r of rows) {
    const pence = Number(r.pence);
    total += pence;
    const key = `${r.year}|${r.agency}`;
    const entry = byYearAgency.get(key) ?? { year: r.year, agency: r.agency ?? 'Other', pence: 0, items: 0 };
    entry.pence += pence;
    entry.items += 1;
    byYearAgency.set(key, entry);
    const goal = r.goal ? (goalLabels[r.goal] ?? r.goal) : 'Not linked to a goal';
    byGoal.set(goal, (byGoal.get(goal) ?? 0) + pence);
  }
  return { total, byYearAgency: sortedByYearAgency(byYearAgency), byGoal: sortedByGoal(byGoal), recent: recentOf(rows) };
}

/**
 * Whole-system cost of one person across agencies; `organisationIds` limits it to those agencies' entries.
 * `household: false` skips the household total for callers that do not show it.
 */
export async function personCost(
  db: Kysely<Database>,
  personId: string,
  organisationIds: readonly string[] | 'all',
  options: { household?: boolean } = {},
): Promise<PersonCost> {
  const rows = await preparedQuery<PersonCostRow>(db, 'joinery_person_cost', PERSON_COST_SQL, [
    personId,
    costOrganisations(organisationIds),
  ]);
  const summary = summarisePersonCost(rows);
  let household: PersonCost['household'] = null;
  if (options.household === false) return { ...summary, household };
  const householdId = (await personById(db, personId))?.householdId ?? null;
  // The household total sums other people's costs: only for those who may see every agency's spend.
  if (householdId && organisationIds === 'all') {
    const [members, h] = await Promise.all([
      householdMemberCount(db, householdId),
      sql<{ pence: number }>`
        select coalesce(sum(p.amount_pence), 0)::bigint as pence
        from ledger_postings p join ledger_accounts a on a.id = p.account_id where p.household_id = ${householdId} and a.kind in ${spendKinds}`
        .execute(db)
        .then((r) => r.rows[0]),
    ]);
    if (h && members > 1) household = { members, pence: Number(h.pence) };
  }
  return { ...summary, household };
}

export interface CohortCost {
  code: string;
  label: string;
  pence: number;
  people: number | null;
  perPersonPence: number | null;
  outcomes: number | null;
  perOutcomePence: number | null;
}

function cohortRow(code: string, label: string, pence: number, people: number, outcomes: number): CohortCost {
  const p = suppressSmall(people);
  const o = suppressSmall(outcomes);
  return {
    code,
    label,
    pence,
    people: p,
    perPersonPence: p ? Math.round(pence / p) : null,
    outcomes: o,
    perOutcomePence: o ? Math.round(pence / o) : null,
  };
}

/** Cost per person and per outcome achieved: by pathway, and for cohorts of people sharing a current need. */
export async function cohortCosts(
  db: Kysely<Database>,
  year?: number,
): Promise<{ pathways: CohortCost[]; needs: CohortCost[]; year: number | null }> {
  const yearFilter = year === undefined ? sql`true` : sql`t.financial_year = ${year}`;
  const pathways = (
    await sql<{ code: string; pence: number; people: number; outcomes: number }>`
    select p.pathway_code as code, sum(p.amount_pence)::bigint as pence, count(distinct p.person_id)::int as people,
      (select count(*) from outcome_payment_lines l join outcome_contracts c on c.id = l.contract_id where c.pathway_code = p.pathway_code)::int as outcomes
    from ledger_postings p join ledger_accounts a on a.id = p.account_id join ledger_transactions t on t.id = p.transaction_id
    where a.kind in ${spendKinds} and p.pathway_code is not null and ${yearFilter}
    group by p.pathway_code order by pence desc`.execute(db)
  ).rows;
  const needs = (
    await sql<{ code: string; pence: number; people: number; outcomes: number }>`
    with cohort as (${currentNeedPairs}),
    cost as (select p.person_id, sum(p.amount_pence)::bigint as pence from ledger_postings p join ledger_accounts a on a.id = p.account_id
      join ledger_transactions t on t.id = p.transaction_id where a.kind in ${spendKinds} and p.person_id is not null and ${yearFilter} group by p.person_id),
    achieved as (select person_id, count(*) as n from outcome_payment_lines group by person_id)
    select c.code, coalesce(sum(cost.pence), 0)::bigint as pence, count(*)::int as people, coalesce(sum(achieved.n), 0)::int as outcomes
    from cohort c left join cost on cost.person_id = c.person_id left join achieved on achieved.person_id = c.person_id
    group by c.code order by pence desc`.execute(db)
  ).rows;
  return {
    year: year ?? null,
    pathways: pathways.map((r) => cohortRow(r.code, pathwayLabels[r.code] ?? r.code, Number(r.pence), r.people, r.outcomes)),
    needs: needs.map((r) => cohortRow(r.code, r.code.replace(/_/g, ' '), Number(r.pence), r.people, r.outcomes)),
  };
}

export async function contractsSummary(db: Kysely<Database>) {
  const rows = (
    await sql<{ id: string; name: string; provider_name: string; pathway_code: string; enrolled: number; lines: number; pence: number }>`
    select c.id, c.name, c.provider_name, c.pathway_code,
      (select count(*) from outcome_enrolments e where e.contract_id = c.id)::int as enrolled,
      (select count(*) from outcome_payment_lines l where l.contract_id = c.id)::int as lines,
      (select coalesce(sum(amount_pence), 0) from outcome_payment_lines l where l.contract_id = c.id)::bigint as pence
    from outcome_contracts c order by c.id`.execute(db)
  ).rows;
  return rows.map((r) => ({ ...r, enrolled: suppressSmall(r.enrolled), lines: suppressSmall(r.lines), pence: Number(r.pence) }));
}

/** A contract's rate card with what each outcome earned, and its payments totalled by month. */
export async function contractSchedule(db: Kysely<Database>, contractId: string) {
  const contract = await db.selectFrom('outcome_contracts').selectAll().where('id', '=', contractId).executeTakeFirst();
  if (!contract) return undefined;
  const cards = await db.selectFrom('outcome_rate_cards').selectAll().where('contract_id', '=', contractId).orderBy('id').execute();
  const lines = await db
    .selectFrom('outcome_payment_lines')
    .select(['id', 'rate_card_id', 'person_id', 'goal_code', 'amount_pence', 'achieved_on', 'evidence'])
    .where('contract_id', '=', contractId)
    .orderBy('achieved_on')
    .orderBy('id')
    .execute();
  const perCard = cards.map((c) => {
    const mine = lines.filter((l) => l.rate_card_id === c.id);
    return {
      ...c,
      amount_pence: Number(c.amount_pence),
      count: suppressSmall(mine.length),
      pence: mine.reduce((s, l) => s + Number(l.amount_pence), 0),
    };
  });
  return {
    contract,
    cards: perCard,
    // Commissioners see what was paid each month, never a line per person: a pseudonym beside an
    // attendance figure and its dates is enough to find a child in a school. The per-person
    // evidence stays in the ledger for audit.
    months: paymentsByMonth(lines.map((l) => ({ achievedOn: l.achieved_on, pence: Number(l.amount_pence) }))),
    totalPence: lines.reduce((s, l) => s + Number(l.amount_pence), 0),
  };
}

/** Outcome payments totalled by month, newest first; the number of outcomes hidden when 1 to 4. */
export function paymentsByMonth(
  lines: ReadonlyArray<{ achievedOn: string | Date; pence: number }>,
): Array<{ month: string; outcomes: number | null; pence: number }> {
  const byMonth = new Map<string, { outcomes: number; pence: number }>();
  for (const line of lines) {
    const month = (line.achievedOn instanceof Date ? line.achievedOn.toISOString() : String(line.achievedOn)).slice(0, 7);
    const entry = byMonth.get(month) ?? { outcomes: 0, pence: 0 };
    entry.outcomes += 1;
    entry.pence += line.pence;
    byMonth.set(month, entry);
  }
  return [...byMonth.entries()]
    .sort((a, b) => (a[0] < b[0] ? 1 : -1))
    .map(([month, e]) => ({ month, outcomes: suppressSmall(e.outcomes), pence: e.pence }));
}

export function describeEvidence(evidence: unknown): string {
  const e = (evidence ?? {}) as Record<string, unknown>;
  const part = (o: unknown) => (o && typeof o === 'object' ? (o as Record<string, unknown>) : {});
  if (e.baseline) {
    const b = part(e.baseline);
    const a = part(e.achieved);
    return `Attendance ${String(b.value)}% (${String(b.on)}, ${String(b.source)}) before enrolment on ${String(e.enrolledOn)}; ${String(a.value)}% by ${String(a.on)} (${String(a.source)}).`;
  }
  if (e.tenancyStart) {
    const t = part(e.tenancyStart);
    return `Tenancy started ${String(t.on)} (${String(t.source)}); ${String(e.checked)}.`;
  }
  return JSON.stringify(e);
}

export async function personalBudgetsOf(db: Kysely<Database>, personId: string) {
  const budgets = await db
    .selectFrom('personal_budgets')
    .selectAll()
    .where('person_id', '=', personId)
    .orderBy('financial_year', 'desc')
    .execute();
  const result = [];
  for (const b of budgets) {
    const choices = await db
      .selectFrom('personal_budget_choices')
      .select(['description', 'provider', 'monthly_pence', 'chosen_on'])
      .where('personal_budget_id', '=', b.id)
      .orderBy('id')
      .execute();
    const spend = (
      await sql<{ on: string; pence: number }>`
      select t.occurred_on::text as on, -p.amount_pence::bigint as pence from ledger_postings p join ledger_transactions t on t.id = p.transaction_id
      where p.account_id = ${b.account_id} and t.kind <> 'personal_budget' order by t.occurred_on desc`.execute(db)
    ).rows.map((r) => ({ on: r.on, pence: Number(r.pence) }));
    const spent = spend.reduce((s, r) => s + r.pence, 0);
    result.push({
      id: b.id,
      year: b.financial_year,
      amountPence: Number(b.amount_pence),
      agreedOn: b.agreed_on,
      choices: choices.map((c) => ({ ...c, monthly_pence: Number(c.monthly_pence) })),
      spend,
      spentPence: spent,
      remainingPence: Number(b.amount_pence) - spent,
    });
  }
  return result;
}
