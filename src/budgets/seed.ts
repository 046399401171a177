// Demo budgets for a loaded synthetic place: partners, two pooled funds, approved allocations,
// about nineteen months of spend against people and services priced from the agencies' events
// (tariff-like hospital costs, care packages, temporary accommodation, ...), personal budgets
// and two outcome contracts evaluated from recorded measurements. Deterministic: same place,
// same ledger. Everything goes through the ledger's own posting code; people, their records,
// organisations and areas are read through fragments their owning modules export.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import {
  eventsOfTypesSince,
  hasCurrentNeedOf,
  homesOfPeople,
  latestEventDay,
  needsWithCodes,
  personsWithBirthAndHome,
} from '../people/index.ts';
import { organisationKindOf, organisationRecords, serviceRecords } from '../network/index.ts';
import { localitiesOfSmallAreas, localityIdOf, placeName } from '../place/index.ts';
import { sourceCountsOfPeople } from '../linkage/index.ts';
import { ensureAccounts, postTransactions, type AccountInput, type PostingInput, type TransactionInput } from './ledger.ts';
import { allocationAccount, personalBudgetAccount, spendAccount, type TargetKind } from './accounts.ts';
import { recordApprovedChanges, type ChangeInput } from './funds.ts';
import { addMonths, runOutcomeContract } from './outcomes.ts';
import { financialYearOf } from './goals.ts';

/** FNV-1a: a stable pseudo-random number per string, so the seed never depends on order. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const SEED_PROPOSER = { id: 'seed:finance-lead', name: 'Fran Lead (pooled fund finance lead)' };
const SEED_APPROVER = { id: 'seed:joint-board', name: 'Joint commissioning board' };
const SYSTEM = 'seed:ledger';

interface EventRow {
  id: number;
  person_id: string;
  type: string;
  on: string;
  org: string;
  kind: string;
  age: number | null;
  household_id: string | null;
  locality_id: string | null;
}
interface Cost {
  pence: number;
  goal: string;
}

const flatCosts: Record<string, Cost> = {
  ae_attendance: { pence: 24_000, goal: 'urgent_needs_safe_at_home' },
  mental_health_crisis: { pence: 115_000, goal: 'physical_mental_wellbeing' },
  drug_treatment_start: { pence: 260_000, goal: 'physical_mental_wellbeing' },
  social_care_assessment: { pence: 35_000, goal: 'right_advice_right_time' },
  tenancy_start: { pence: 120_000, goal: 'suitable_accommodation' },
  probation_supervision_start: { pence: 90_000, goal: 'services_work_together' },
  charity_support_session: { pence: 6_500, goal: 'connected_community' },
  safeguarding_concern: { pence: 48_000, goal: 'urgent_needs_safe_at_home' },
};

// The agencies' events the demo prices (each a spend, a care package or a personal budget).
const pricedEvents = [
  'ae_attendance',
  'hospital_admission',
  'hospital_discharge',
  'mental_health_crisis',
  'drug_treatment_start',
  'social_care_assessment',
  'care_package_start',
  'homeless_presentation',
  'tenancy_start',
  'probation_supervision_start',
  'charity_support_session',
  'safeguarding_concern',
];

const monthEnd = (month: string): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`;
};

export interface BudgetSeedSummary {
  transactions: number;
  postings: number;
  personalBudgets: number;
  outcomeLines: number;
  spendPence: number;
  seconds: number;
}

export async function seedBudgets(db: Kysely<Database>): Promise<BudgetSeedSummary> {
  const started = performance.now();
  if (await db.selectFrom('funds').select('id').limit(1).executeTakeFirst()) throw new Error('budgets are already loaded');
  const latest = await latestEventDay(db);
  if (!latest) throw new Error('load a place before its budgets');
  const asOf = latest;
  const currentYear = financialYearOf(asOf);
  const firstYear = currentYear - 1;
  const windowStart = `${firstYear}-04-01`;
  const years = [firstYear, currentYear];

  // Partners and funds.
  const orgs = (await organisationRecords(db)).map((o) => ({ id: o.id, name: o.name, kind: o.kind }));
  const firstOf = (kind: string) => orgs.find((o) => o.kind === kind);
  const council = firstOf('council_adult_social_care');
  const association = firstOf('housing_association');
  const charity = firstOf('charity');
  const place = (await placeName(db)) ?? 'the place';
  const partners = [
    { id: 'icb', name: `NHS ${place} Integrated Care Board`, kind: 'nhs', organisation_id: null, share: 0.46 },
    { id: 'council', name: `${place} Council`, kind: 'local_authority', organisation_id: council?.id ?? null, share: 0.38 },
    {
      id: 'housing',
      name: association?.name ?? 'Housing association',
      kind: 'housing_association',
      organisation_id: association?.id ?? null,
      share: 0.09,
    },
    { id: 'pcc', name: 'Police and Crime Commissioner', kind: 'police_crime_commissioner', organisation_id: null, share: 0.07 },
    { id: 'foundation', name: `${place} Community Foundation`, kind: 'charitable_foundation', organisation_id: null, share: 0 },
  ];
  await db
    .insertInto('budget_partners')
    .values(partners.map(({ share: _share, ...p }) => p))
    .execute();
  await db
    .insertInto('funds')
    .values([
      {
        id: 'better-lives',
        name: 'Better Lives pooled fund',
        description:
          'Health, care, housing and justice partners pool money for adults and families, spent once against people, services and outcomes.',
        host_partner_id: 'council',
      },
      {
        id: 'childrens-zone',
        name: "Children's Zone fund",
        description: 'Link workers and partner charities for children identified early, paid partly by results.',
        host_partner_id: 'council',
      },
    ])
    .execute();
  const zoneShares = [
    { id: 'council', share: 0.5 },
    { id: 'icb', share: 0.3 },
    { id: 'foundation', share: 0.2 },
  ];

  // Each organisation's first service is where its spend is recorded.
  const serviceOf = new Map<string, string>();
  for (const s of (await serviceRecords(db)).values()) if (!serviceOf.has(s.organisationId)) serviceOf.set(s.organisationId, s.id);

  const events = (
    await sql<EventRow>`
    select e.id, e.person_id, e.type, (e.at at time zone 'Europe/London')::date::text as on, e.organisation_id as org,
      ${organisationKindOf('e.organisation_id')} as kind,
      date_part('year', age((e.at at time zone 'Europe/London')::date, p.birth_date))::int as age, p.household_id,
      ${localityIdOf(sql`p.small_area_id`)} as locality_id
    from ${eventsOfTypesSince(pricedEvents, windowStart)} e join ${personsWithBirthAndHome} p on p.person_id = e.person_id
    order by e.person_id, e.at, e.id`.execute(db)
  ).rows;
  const multiple = new Set(
    (
      await sql<{ person_id: string }>`
    select person_id from ${needsWithCodes(['homelessness', 'substance_misuse', 'offending', 'mental_health'], { current: true })} n
    group by person_id having count(distinct code) >= 2`.execute(db)
    ).rows.map((r) => r.person_id),
  );

  const accounts = new Map<string, AccountInput>();
  const txs: TransactionInput[] = [];
  const account = (a: AccountInput) => {
    accounts.set(a.id, a);
    return a.id;
  };
  const dimsOf = (e: { person_id: string; household_id: string | null; locality_id: string | null }) => ({
    personId: e.person_id,
    householdId: e.household_id,
    localityId: e.locality_id,
  });

  function spend(
    id: string,
    on: string,
    description: string,
    fundId: string,
    serviceId: string | null,
    target: { kind: TargetKind; id: string },
    pence: number,
    dims: Partial<PostingInput>,
    goal: string,
    pathway: string | null = null,
  ) {
    if (on < windowStart || on > asOf || pence <= 0) return;
    const year = financialYearOf(on);
    const d = { ...dims, serviceId, goalCode: goal, pathwayCode: pathway ?? (target.kind === 'pathway' ? target.id : null) };
    txs.push({
      id,
      kind: 'spend',
      occurredOn: on,
      description,
      recordedBy: SYSTEM,
      postings: [
        { accountId: account(spendAccount(fundId, serviceId)), amountPence: pence, ...d },
        { accountId: account(allocationAccount(fundId, year, target.kind, target.id)), amountPence: -pence, ...d },
      ],
    });
  }

  // Personal budgets: a quarter of adults with a care package take it as a direct payment.
  const citizen = (
    await sql<{ id: string }>`
    select p.person_id as id from ${sourceCountsOfPeople(3)} s join ${personsWithBirthAndHome} p on p.person_id = s.person_id
    where p.birth_date between date '1956-01-01' and date '2000-01-01' and ${hasCurrentNeedOf('p.person_id')}
    order by s.sources desc, p.person_id limit 1`.execute(db)
  ).rows[0]?.id;
  const personalBudgets: {
    id: string;
    personId: string;
    year: number;
    amount: number;
    agreedOn: string;
    choices: { description: string; provider: string; serviceId: string | null; monthly: number }[];
  }[] = [];
  const dayService = charity ? (serviceOf.get(charity.id) ?? null) : null;
  function personalBudget(
    e: { person_id: string; household_id: string | null; locality_id: string | null },
    startOn: string,
    monthly: number,
    months: string[],
  ) {
    for (const year of years) {
      const inYear = months.filter((m) => financialYearOf(`${m}-01`) === year);
      if (inYear.length === 0) continue;
      const agreedOn = startOn > `${year}-04-01` ? startOn : `${year}-04-01`;
      const id = `pb-${e.person_id}-${year}`;
      const choices = [
        {
          description: 'A personal assistant I employ, for help at home and getting out',
          provider: 'Employed directly',
          serviceId: null,
          monthly: Math.round(monthly * 0.7),
        },
        {
          description: 'Day opportunities and short breaks',
          provider: charity?.name ?? 'Community charity',
          serviceId: dayService,
          monthly: monthly - Math.round(monthly * 0.7),
        },
      ];
      const amount = monthly * (12 - ((Number(agreedOn.slice(5, 7)) + 8) % 12));
      personalBudgets.push({ id, personId: e.person_id, year, amount, agreedOn, choices });
      const pbAccount = account(personalBudgetAccount(id, 'better-lives', year, e.person_id));
      const dims = { ...dimsOf(e), pathwayCode: 'personal_budgets', goalCode: 'information_advice_choice' };
      txs.push({
        id: `pb-transfer:${id}`,
        kind: 'personal_budget',
        occurredOn: agreedOn,
        recordedBy: SYSTEM,
        description: 'Personal budget agreed',
        postings: [
          { accountId: pbAccount, amountPence: amount, ...dims },
          { accountId: account(allocationAccount('better-lives', year, 'pathway', 'personal_budgets')), amountPence: -amount, ...dims },
        ],
      });
      for (const m of inYear) {
        const on = monthEnd(m) > asOf ? asOf : monthEnd(m);
        if (on < agreedOn) continue;
        txs.push({
          id: `pb-spend:${id}:${m}`,
          kind: 'personal_budget_spend',
          occurredOn: on,
          recordedBy: SYSTEM,
          description: 'Personal budget spend',
          postings: [
            ...choices.map((c) => ({
              accountId: account(spendAccount('better-lives', c.serviceId)),
              amountPence: c.monthly,
              ...dims,
              serviceId: c.serviceId,
              goalCode: 'complex_needs_at_home',
            })),
            { accountId: pbAccount, amountPence: -monthly, ...dims },
          ],
        });
      }
    }
  }

  const asOfMonth = asOf.slice(0, 7);
  let citizenHasBudget = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as EventRow;
    const serviceId = serviceOf.get(e.org) ?? null;
    const dims = dimsOf(e);
    const h = hash(`${e.id}`);
    const inMultiple = multiple.has(e.person_id);
    const serviceTarget = { kind: 'service' as const, id: serviceId ?? 'other' };
    switch (e.type) {
      case 'hospital_admission': {
        let stay = 2;
        for (let j = i + 1; j < events.length && (events[j] as EventRow).person_id === e.person_id; j++) {
          const next = events[j] as EventRow;
          if (next.type === 'hospital_discharge') {
            stay = Math.max(0, Math.round((Date.parse(next.on) - Date.parse(e.on)) / 86_400_000));
            break;
          }
        }
        spend(
          `spend:${e.id}`,
          e.on,
          'Non-elective hospital spell',
          'better-lives',
          serviceId,
          serviceTarget,
          290_000 + 42_000 * Math.max(0, stay - 2),
          dims,
          'timely_specialist_help',
        );
        break;
      }
      case 'hospital_discharge':
        break;
      case 'care_package_start': {
        const weekly = 15_000 + (h % 50_000);
        const monthly = Math.round((weekly * 52) / 12);
        const months: string[] = [];
        const duration = 3 + (h % 22);
        for (let k = 0; k < duration; k++) {
          const m = addMonths(`${e.on.slice(0, 7)}-01`, k).slice(0, 7);
          if (m > asOfMonth) break;
          months.push(m);
        }
        if ((e.age ?? 0) >= 18 && (h % 4 === 0 || e.person_id === citizen)) {
          if (e.person_id === citizen) citizenHasBudget = true;
          personalBudget(e, e.on, monthly, months);
        } else {
          for (const m of months)
            spend(
              `pkg:${e.id}:${m}`,
              monthEnd(m) > asOf ? asOf : monthEnd(m),
              'Home care package',
              'better-lives',
              serviceId,
              serviceTarget,
              monthly,
              dims,
              'complex_needs_at_home',
            );
        }
        break;
      }
      case 'homeless_presentation': {
        const nights = 14 + (h % 77);
        spend(
          `spend:${e.id}`,
          e.on,
          `Temporary accommodation, ${nights} nights`,
          'better-lives',
          serviceId,
          inMultiple ? { kind: 'pathway', id: 'multiple_disadvantage' } : serviceTarget,
          nights * 4_500,
          dims,
          'suitable_accommodation',
        );
        // Housing first: a support worker for a year after the presentation.
        for (let k = 1; k <= 12; k++) {
          const m = addMonths(`${e.on.slice(0, 7)}-01`, k).slice(0, 7);
          const providerService = association ? (serviceOf.get(association.id) ?? null) : null;
          spend(
            `hf:${e.id}:${m}`,
            monthEnd(m),
            'Housing first support worker',
            'better-lives',
            providerService,
            { kind: 'pathway', id: 'housing_first' },
            30_000,
            dims,
            'suitable_accommodation',
            'housing_first',
          );
        }
        break;
      }
      case 'charity_support_session':
        spend(
          `spend:${e.id}`,
          e.on,
          'Community support session',
          'better-lives',
          serviceId,
          { kind: 'locality', id: e.locality_id ?? 'unknown' },
          flatCosts.charity_support_session?.pence ?? 0,
          dims,
          'connected_community',
        );
        break;
      default: {
        const cost = flatCosts[e.type];
        if (!cost) break;
        const target =
          inMultiple && ['drug_treatment_start', 'probation_supervision_start', 'mental_health_crisis', 'tenancy_start'].includes(e.type)
            ? { kind: 'pathway' as const, id: 'multiple_disadvantage' }
            : serviceTarget;
        spend(`spend:${e.id}`, e.on, e.type.replace(/_/g, ' '), 'better-lives', serviceId, target, cost.pence, dims, cost.goal);
      }
    }
  }
  // The demo citizen manages a personal budget whatever their story, so the portal has one to show.
  if (citizen && !citizenHasBudget) {
    const home = (await homesOfPeople(db, [citizen])).get(citizen);
    const where = home && {
      household_id: home.householdId,
      locality_id: home.smallAreaId ? ((await localitiesOfSmallAreas(db, [home.smallAreaId])).get(home.smallAreaId) ?? null) : null,
    };
    const months: string[] = [];
    for (let k = 0; k < 24; k++) {
      const m = addMonths(`${currentYear}-04-01`, k).slice(0, 7);
      if (m > asOfMonth) break;
      months.push(m);
    }
    personalBudget(
      { person_id: citizen, household_id: where?.household_id ?? null, locality_id: where?.locality_id ?? null },
      `${currentYear}-04-01`,
      52_000,
      months,
    );
  }

  // Children's zone: children whose attendance is a need, enrolled at the start of a school year, with a link worker.
  const zoneStart = `${firstYear}-09-01`;
  const children = (
    await sql<{ id: string; household_id: string | null; locality_id: string | null }>`
    select distinct p.person_id as id, p.household_id, ${localityIdOf(sql`p.small_area_id`)} as locality_id
    from ${personsWithBirthAndHome} p join ${needsWithCodes(['child_school_attendance'], { current: true })} n on n.person_id = p.person_id
    where p.birth_date between (${zoneStart}::date - interval '15 years') and (${zoneStart}::date - interval '5 years')
    order by id`.execute(db)
  ).rows;
  const zoneService = charity ? (serviceOf.get(charity.id) ?? null) : null;
  for (const c of children) {
    for (let k = 0; k < 24; k++) {
      const m = addMonths(zoneStart, k).slice(0, 7);
      spend(
        `cz:${c.id}:${m}`,
        monthEnd(m),
        "Children's zone link worker",
        'childrens-zone',
        zoneService,
        { kind: 'pathway', id: 'childrens_zone' },
        15_000,
        { personId: c.id, householdId: c.household_id, localityId: c.locality_id },
        'children_thrive_at_school',
      );
    }
  }

  await ensureAccounts(db, [...accounts.values()]);
  await postTransactions(db, txs);
  if (personalBudgets.length > 0) {
    await db
      .insertInto('personal_budgets')
      .values(
        personalBudgets.map((b) => ({
          id: b.id,
          person_id: b.personId,
          fund_id: 'better-lives',
          financial_year: b.year,
          amount_pence: b.amount,
          account_id: `personal_budget:${b.id}`,
          agreed_on: b.agreedOn,
          recorded_by: SYSTEM,
        })),
      )
      .execute();
    await db
      .insertInto('personal_budget_choices')
      .values(
        personalBudgets.flatMap((b) =>
          b.choices.map((c) => ({
            personal_budget_id: b.id,
            description: c.description,
            provider: c.provider,
            service_id: c.serviceId,
            monthly_pence: c.monthly,
            chosen_on: b.agreedOn,
          })),
        ),
      )
      .execute();
  }

  // Outcome contracts, evaluated from the measurements now in the record.
  await db
    .insertInto('outcome_contracts')
    .values([
      {
        id: 'cz-attendance',
        name: "Children's zone: school attendance",
        provider_organisation_id: charity?.id ?? null,
        provider_name: charity?.name ?? 'Partner charity',
        fund_id: 'childrens-zone',
        pathway_code: 'childrens_zone',
        starts_on: zoneStart,
        ends_on: `${currentYear + 1}-08-31`,
      },
      {
        id: 'hf-tenancy',
        name: 'Housing first: tenancies kept',
        provider_organisation_id: association?.id ?? null,
        provider_name: association?.name ?? 'Housing association',
        fund_id: 'better-lives',
        pathway_code: 'housing_first',
        starts_on: windowStart,
        ends_on: `${currentYear + 1}-03-31`,
      },
    ])
    .execute();
  await db
    .insertInto('outcome_rate_cards')
    .values([
      {
        id: 'cz-attendance-90',
        contract_id: 'cz-attendance',
        goal_code: 'children_thrive_at_school',
        rule: 'attendance_above',
        threshold: 90,
        months: null,
        amount_pence: 120_000,
        description: "A child's term attendance rises from below 90% to 90% or more",
      },
      {
        id: 'hf-tenancy-6m',
        contract_id: 'hf-tenancy',
        goal_code: 'suitable_accommodation',
        rule: 'tenancy_sustained',
        threshold: null,
        months: 6,
        amount_pence: 250_000,
        description: 'A tenancy kept for 6 months',
      },
      {
        id: 'hf-tenancy-12m',
        contract_id: 'hf-tenancy',
        goal_code: 'independence_after_crisis',
        rule: 'tenancy_sustained',
        threshold: null,
        months: 12,
        amount_pence: 150_000,
        description: 'A tenancy kept for 12 months',
      },
    ])
    .execute();
  if (children.length > 0)
    await db
      .insertInto('outcome_enrolments')
      .values(children.map((c) => ({ contract_id: 'cz-attendance', person_id: c.id, enrolled_on: zoneStart })))
      .execute();
  const presentations = new Map<string, string>();
  for (const e of events)
    if (e.type === 'homeless_presentation' && (e.age ?? 0) >= 18 && !presentations.has(e.person_id)) presentations.set(e.person_id, e.on);
  if (presentations.size > 0)
    await db
      .insertInto('outcome_enrolments')
      .values([...presentations].map(([person_id, on]) => ({ contract_id: 'hf-tenancy', person_id, enrolled_on: on })))
      .execute();
  const zoneRun = await db.transaction().execute((trx) => runOutcomeContract(trx, 'cz-attendance', asOf, SYSTEM));
  const tenancyRun = await db.transaction().execute((trx) => runOutcomeContract(trx, 'hf-tenancy', asOf, SYSTEM));

  // Budgets: each allocation set near what it turned out to need (a year's run-rate for the
  // current year), so budget versus spend shows real variances; partners contribute by share.
  const used = (
    await sql<{
      id: string;
      fund_id: string;
      financial_year: number;
      target_kind: TargetKind;
      target_id: string;
      used: number;
      months: number;
    }>`
    select a.id, a.fund_id, a.financial_year, a.target_kind, a.target_id, -sum(p.amount_pence)::bigint as used,
      count(distinct to_char(t.occurred_on, 'YYYY-MM'))::int as months
    from ledger_accounts a join ledger_postings p on p.account_id = a.id join ledger_transactions t on t.id = p.transaction_id
    where a.kind = 'allocation' group by a.id order by a.id`.execute(db)
  ).rows;
  const elapsed = ((Number(asOf.slice(5, 7)) + 8) % 12) + 1;
  const changes: ChangeInput[] = [];
  const round = (pence: number) => Math.max(100_000, Math.round(pence / 100_000) * 100_000);
  for (const u of used) {
    const factor = 0.9 + (hash(u.id) % 21) / 100; // 0.90 to 1.10
    const annual = u.financial_year === currentYear ? (Number(u.used) / elapsed) * 12 : Number(u.used);
    changes.push({
      fundId: u.fund_id,
      financialYear: u.financial_year,
      kind: 'allocation',
      targetKind: u.target_kind,
      targetId: u.target_id,
      amountPence: round(annual * factor),
      reason: 'Annual allocation agreed by the joint commissioning board',
    });
  }
  for (const fundId of ['better-lives', 'childrens-zone']) {
    for (const year of years) {
      const allocated = changes.filter((c) => c.fundId === fundId && c.financialYear === year).reduce((s, c) => s + c.amountPence, 0);
      const total = round(allocated * 1.02);
      const shares = fundId === 'better-lives' ? partners.filter((p) => p.share > 0) : zoneShares;
      let left = total;
      shares.forEach((p, i) => {
        const amount = i === shares.length - 1 ? left : round(total * p.share);
        left -= amount;
        // In a very small place the rounded shares can use the whole total up: nothing is left to contribute.
        if (amount > 0)
          changes.push({
            fundId,
            financialYear: year,
            kind: 'contribution',
            partnerId: p.id,
            amountPence: amount,
            reason: `${year === currentYear ? 'This' : 'Last'} year's agreed contribution`,
          });
      });
    }
  }
  for (const year of years)
    await recordApprovedChanges(
      db,
      changes.filter((c) => c.financialYear === year),
      SEED_PROPOSER,
      SEED_APPROVER,
      `${year}-04-01`,
    );
  const counts = (
    await sql<{
      t: number;
      p: number;
      s: number;
    }>`select (select count(*) from ledger_transactions)::int as t, (select count(*) from ledger_postings)::int as p,
    (select coalesce(sum(p.amount_pence), 0)::bigint from ledger_postings p join ledger_accounts a on a.id = p.account_id where a.kind in ('spend', 'outcome_payment')) as s`.execute(
      db,
    )
  ).rows[0];
  return {
    transactions: counts?.t ?? 0,
    postings: counts?.p ?? 0,
    personalBudgets: personalBudgets.length,
    outcomeLines: zoneRun.lines.length + tenancyRun.lines.length,
    spendPence: Number(counts?.s ?? 0),
    seconds: (performance.now() - started) / 1000,
  };
}
