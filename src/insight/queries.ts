// What the dashboards show, read from the precomputed cube (refresh.ts) and passed through
// disclosure control (src/platform/disclosure.ts): every split of a measure is protected as one
// table, because the splits add up to the same total, deciles add up to quintiles, small areas to
// localities and the latest four quarters to the year, and a page could be set beside another.
// Overlapping-set counts (UpSet) are hidden when small and rounded to 5.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { activeFramework } from '../plans/index.ts';
import { isSmall, protectCells, roundToFive, suppressTable, type Sum } from '../platform/disclosure.ts';
import { ageBands, type Dimension } from './refresh.ts';
import { multipleDisadvantageGroups, needCodes, serviceGroups, groupBit, humanise } from './groups.ts';
import { referralFlowByService, referralsSentByMonth, ukDate } from '../referrals/index.ts';
import { serviceRecords, servicesWithOrganisation } from '../network/index.ts';
import { localitiesByName, localitiesOfSmallAreas, smallAreasByDeprivation } from '../place/index.ts';
import { changeInstruments, isShareMeasure } from './felt.ts';
import {
  gapBetween,
  gapTrend,
  meanEstimate,
  proportionEstimate,
  rateEstimate,
  slopeIndex,
  type Gap,
  type GroupEstimate,
  type SlopeIndex,
  type Trend,
} from './stats.ts';

export const dimensionLabels: Record<Dimension | 'small_area', string> = {
  all: 'Everyone',
  quintile: 'Deprivation quintile',
  decile: 'Deprivation decile',
  locality: 'Locality',
  sex: 'Sex',
  ethnicity: 'Ethnicity group',
  age_band: 'Age band',
  disability: 'Disability',
  small_area: 'Small area',
};

type CubeRow = Database['insight_cube'];

async function cube(db: Kysely<Database>, section: string, measure: string | null, dimension: string | null): Promise<CubeRow[]> {
  let q = db.selectFrom('insight_cube').selectAll().where('section', '=', section);
  if (dimension !== null) q = q.where('dimension', '=', dimension);
  if (measure !== null) q = q.where('measure', '=', measure);
  return (await q.execute()).map((r) => ({ ...r, n: Number(r.n), d: Number(r.d), s: Number(r.s), ss: Number(r.ss) }));
}

interface ValueLabel {
  value: string;
  label: string;
}

/** The values of a dimension in display order (quintile 1 = most deprived first), with labels. */
export async function dimensionOrder(db: Kysely<Database>, dimension: Dimension | 'small_area'): Promise<ValueLabel[]> {
  switch (dimension) {
    case 'all':
      return [{ value: 'all', label: 'Everyone' }];
    case 'quintile':
      return [1, 2, 3, 4, 5].map((q) => ({
        value: String(q),
        label: `Quintile ${q}${q === 1 ? ' (most deprived)' : q === 5 ? ' (least deprived)' : ''}`,
      }));
    case 'decile':
      return Array.from({ length: 10 }, (_, i) => ({
        value: String(i + 1),
        label: `Decile ${i + 1}${i === 0 ? ' (most deprived)' : i === 9 ? ' (least deprived)' : ''}`,
      }));
    case 'sex':
      return [
        { value: 'female', label: 'Female' },
        { value: 'male', label: 'Male' },
      ];
    case 'ethnicity':
      return ['asian', 'black', 'mixed', 'white', 'other'].map((v) => ({
        value: v,
        label: v === 'other' ? 'Other ethnic group' : `${v[0]!.toUpperCase()}${v.slice(1)}`,
      }));
    case 'age_band':
      return ageBands.map((b) => ({ value: b, label: b === '75+' ? '75 and over' : b.replace('-', ' to ') }));
    case 'disability':
      return [
        { value: 'yes', label: 'Disabled' },
        { value: 'no', label: 'Not disabled' },
      ];
    case 'locality':
      return (await localitiesByName(db)).map((l) => ({ value: l.id, label: l.name }));
    case 'small_area':
      return (await smallAreasByDeprivation(db)).map((a) => ({ value: a.id, label: `${a.name} (decile ${a.deprivationDecile})` }));
  }
}

export interface CountRow {
  label: string;
  count: number | null;
  share: number | null;
}
export interface CountTable {
  rows: CountRow[];
  total: number | null;
}

/** One measure's counts over a period, every way the pages split them. */
interface Margins {
  total: number;
  /** Dimension → value → count. */
  by: Map<string, Map<string, number>>;
  /** Quarter → quintile → count, for the quarters that make up the year in `by`. */
  quarters: Map<string, Map<string, number>>;
}

interface ProtectedMargins {
  total: number | null;
  cell(dimension: string, value: string): number | null;
  quarter(period: string, value: string): number | null;
}

const splitOf = (m: Map<string, Map<string, number>>, key: string) => {
  let v = m.get(key);
  if (!v) {
    v = new Map();
    m.set(key, v);
  }
  return v;
};

/**
 * Protects all of a measure's splits as one table. The sums stated are the ones that hold: each
 * dimension's values add up to the total, deciles to their quintile ((decile + 1) / 2, as
 * refresh.ts defines it), small areas to their locality, quarters to the year. Every page reads
 * its cells from here, so the same figure is hidden on every page that could show it.
 */
function protectMargins(m: Margins, localityOf: ReadonlyMap<string, string>): ProtectedMargins {
  const values = [m.total];
  const index = new Map<string, number>();
  const add = (key: string, n: number) => {
    index.set(key, values.length);
    values.push(n);
  };
  for (const [dimension, split] of m.by) for (const [value, n] of split) add(`${dimension}|${value}`, n);
  for (const [period, split] of m.quarters) for (const [value, n] of split) add(`q|${period}|${value}`, n);
  const sums: Sum[] = [];
  const sumIfHolds = (total: number | undefined, parts: Array<number | undefined>) => {
    const ps = parts.filter((p): p is number => p !== undefined);
    if (total === undefined || ps.length === 0 || values[total] !== ps.reduce((a, p) => a + values[p]!, 0)) return;
    sums.push({ total, parts: ps });
  };
  for (const [dimension, split] of m.by)
    sumIfHolds(
      0,
      [...split.keys()].map((v) => index.get(`${dimension}|${v}`)),
    );
  const nested = (fine: string, coarse: string, parent: (value: string) => string | undefined) => {
    for (const v of m.by.get(coarse)?.keys() ?? [])
      sumIfHolds(
        index.get(`${coarse}|${v}`),
        [...(m.by.get(fine)?.keys() ?? [])].filter((f) => parent(f) === v).map((f) => index.get(`${fine}|${f}`)),
      );
  };
  nested('decile', 'quintile', (d) => String((Number(d) + 1) >> 1));
  nested('small_area', 'locality', (a) => localityOf.get(a));
  for (const q of m.by.get('quintile')?.keys() ?? [])
    sumIfHolds(
      index.get(`quintile|${q}`),
      [...m.quarters.keys()].map((p) => index.get(`q|${p}|${q}`)),
    );
  const p = protectCells(values, sums);
  const at = (key: string) => {
    const i = index.get(key);
    return i === undefined ? 0 : p.cells[i]!;
  };
  return {
    total: p.cells[0]!,
    cell: (dimension, value) => (dimension === 'all' ? p.cells[0]! : at(`${dimension}|${value}`)),
    quarter: (period, value) => at(`q|${period}|${value}`),
  };
}

/** Each small area's locality (place's). */
const localities = (db: Kysely<Database>): Promise<Map<string, string>> => localitiesOfSmallAreas(db);

/** Residents by every dimension and small area, protected as one table. */
function protectedPopulation(rows: readonly CubeRow[], localityOf: ReadonlyMap<string, string>): ProtectedMargins {
  const by = new Map<string, Map<string, number>>();
  for (const r of rows) if (r.dimension !== 'all') splitOf(by, r.dimension).set(r.value, r.n);
  const total = rows.find((r) => r.dimension === 'all')?.n ?? 0;
  return protectMargins({ total, by, quarters: new Map() }, localityOf);
}

/** Residents by one dimension, suppressed. */
export async function populationBy(db: Kysely<Database>, dimension: Dimension | 'small_area'): Promise<CountTable> {
  const [order, all, localityOf] = await Promise.all([
    dimensionOrder(db, dimension),
    cube(db, 'population', 'residents', null),
    localities(db),
  ]);
  const t = protectedPopulation(all, localityOf);
  const rows = all.filter((r) => r.dimension === dimension);
  // Values outside the expected list (e.g. "unknown") still count towards the total.
  const extra = rows.filter((r) => !order.some((o) => o.value === r.value)).map((r) => ({ value: r.value, label: humanise(r.value) }));
  const values = [...order, ...extra];
  const cells = values.map((o) => t.cell(dimension, o.value));
  return {
    rows: values.map((o, i) => ({
      label: o.label,
      count: cells[i]!,
      share: cells[i] !== null && t.total ? Math.round((cells[i]! / t.total) * 1000) / 10 : null,
    })),
    total: t.total,
  };
}

export interface NeedRow {
  code: string;
  label: string;
  outcomes: string[];
  people: number | null;
  per1000: number | null;
}
export interface OutcomeNowRow {
  code: string;
  label: string;
  statement: string;
  people: number | null;
  per1000: number | null;
  needs: string[];
}

/** Current needs recorded by any agency, and the framework's outcomes they map to. */
export async function needsAssessment(
  db: Kysely<Database>,
): Promise<{ needs: NeedRow[]; outcomes: OutcomeNowRow[]; residents: number; anyNeed: number | null; framework: string }> {
  const framework = await activeFramework(db);
  const [needs, outcomes, pop] = await Promise.all([
    cube(db, 'needs', null, 'all'),
    cube(db, 'outcome_now', null, 'all'),
    cube(db, 'population', 'residents', 'all'),
  ]);
  const residents = pop[0]?.n ?? 0;
  const per = (n: number | null) => (n === null || residents === 0 ? null : Math.round((n / residents) * 10_000) / 10);
  const needMap = new Map(needs.map((r) => [r.measure, r.n]));
  const outcomeLabel = new Map(framework.outcomes.map((o) => [o.code, o.label]));
  // People can have several needs: these are not parts of a total, so each is suppressed on its own.
  const needRows = needCodes
    .map((code) => {
      const n = needMap.get(code) ?? 0;
      const shown = n > 0 && n < 5 ? null : n;
      return {
        code,
        label: humanise(code),
        outcomes: (framework.needs[code] ?? []).map((c) => outcomeLabel.get(c) ?? c),
        people: shown,
        per1000: per(shown),
      };
    })
    .sort((a, b) => (b.people ?? 0) - (a.people ?? 0));
  const outMap = new Map(outcomes.map((r) => [r.measure, r.n]));
  const outcomeRows = framework.outcomes.map((o) => {
    const n = outMap.get(o.code) ?? 0;
    const shown = n > 0 && n < 5 ? null : n;
    return {
      code: o.code,
      label: o.label,
      statement: o.statement,
      people: shown,
      per1000: per(shown),
      needs: Object.entries(framework.needs)
        .filter(([, cs]) => cs.includes(o.code))
        .map(([code]) => humanise(code)),
    };
  });
  const anyNeed = needMap.get('any') ?? 0;
  return {
    needs: needRows,
    outcomes: outcomeRows,
    residents,
    anyNeed: anyNeed > 0 && anyNeed < 5 ? null : anyNeed,
    framework: framework.name,
  };
}

export interface Intersection {
  mask: number;
  groups: string[];
  people: number | null;
}
export interface Overlaps {
  sets: Array<{ code: string; label: string; people: number | null }>;
  intersections: Intersection[];
  hidden: number;
  housingAndMentalHealth: number | null;
  threeOrMoreMd: number | null;
  anyMd: number | null;
}

const popcount = (m: number) => {
  let c = 0;
  while (m) {
    c += m & 1;
    m >>>= 1;
  }
  return c;
};

/** Overlaps between the services that know people (exact combinations), for the UpSet chart. */
export async function overlaps(db: Kysely<Database>): Promise<Overlaps> {
  const rows = await cube(db, 'overlap', 'people', 'mask');
  const masks = rows.map((r) => ({ mask: Number(r.value), n: r.n }));
  const sumWhere = (pred: (m: number) => boolean) => masks.filter((m) => pred(m.mask)).reduce((s, m) => s + m.n, 0);
  const sets = serviceGroups.map((g) => ({
    code: g.code,
    label: g.label,
    people: roundToFive(sumWhere((m) => (m & groupBit(g.code)) !== 0)),
  }));
  const shown = masks
    .map((m) => ({
      mask: m.mask,
      groups: serviceGroups.filter((g) => (m.mask & groupBit(g.code)) !== 0).map((g) => g.label),
      people: roundToFive(m.n),
    }))
    .filter((i) => i.people !== null && i.people > 0)
    .sort((a, b) => (b.people ?? 0) - (a.people ?? 0) || popcount(b.mask) - popcount(a.mask));
  const both = groupBit('housing') | groupBit('mental_health');
  const md = multipleDisadvantageGroups.reduce((m, c) => m | groupBit(c), 0);
  return {
    sets,
    intersections: shown,
    hidden: masks.length - shown.length,
    housingAndMentalHealth: roundToFive(sumWhere((m) => (m & both) === both)),
    threeOrMoreMd: roundToFive(sumWhere((m) => popcount(m & md) >= 3)),
    anyMd: roundToFive(sumWhere((m) => (m & md) !== 0)),
  };
}

export interface ServiceDemand {
  serviceId: string;
  service: string;
  organisation: string;
  referralsIn: number | null;
  waiting: number | null;
  accepted: number | null;
  completed: number | null;
  capacity: number;
  utilisation: number | null;
  /** The service's promise: first contact within this many working days of a referral. */
  targetDays: number;
  /** Referrals whose first contact is known or whose target date has passed, and of them those seen by the target date. */
  measured: number | null;
  seenWithin: number | null;
  /** Percentage seen within the target: shown only when both its counts are. */
  seenWithinShare: number | null;
  /** Needs the service addresses (need codes). */
  needs: string[];
}

/**
 * Demand and capacity per service over the 12 months to `asOf`: referrals in, waiting now,
 * accepted, completed, against yearly capacity; and the service's target wait (first contact
 * within so many working days) with the share of referrals seen within it. Listed by name: an
 * order by demand would bound each suppressed count between its neighbours'.
 */
export async function demandAndCapacity(
  db: Kysely<Database>,
  asOf: Date = new Date(),
): Promise<{
  rows: ServiceDemand[];
  totals: Omit<ServiceDemand, 'serviceId' | 'service' | 'organisation' | 'utilisation' | 'targetDays' | 'seenWithinShare' | 'needs'>;
}> {
  const today = ukDate(asOf);
  const rows = (
    await sql<{
      id: string;
      service: string;
      organisation: string;
      capacity: number;
      target: number;
      needs: string[];
      referrals_in: number;
      waiting: number;
      accepted: number;
      completed: number;
      measured: number;
      within: number;
    }>`
    select s.id, s.name as service, s.organisation_name as organisation, s.capacity_per_month * 12 as capacity, s.first_contact_within_days as target, s.needs,
      f.referrals_in, f.waiting, f.accepted, f.completed, f.measured, f.within
    from ${servicesWithOrganisation} s join ${referralFlowByService(asOf, today)} f on f.service_id = s.id
    order by s.name, s.organisation_name`.execute(db)
  ).rows;
  const col = (pick: (r: (typeof rows)[number]) => number) => suppressTable(rows.map((r) => Number(pick(r))));
  const [inT, waitT, accT, compT, measT, withinT] = [
    col((r) => r.referrals_in),
    col((r) => r.waiting),
    col((r) => r.accepted),
    col((r) => r.completed),
    col((r) => r.measured),
    col((r) => r.within),
  ];
  return {
    rows: rows.map((r, i) => {
      const [measured, within] = [measT.cells[i]!, withinT.cells[i]!];
      return {
        serviceId: r.id,
        service: r.service,
        organisation: r.organisation,
        referralsIn: inT.cells[i]!,
        waiting: waitT.cells[i]!,
        accepted: accT.cells[i]!,
        completed: compT.cells[i]!,
        capacity: Number(r.capacity),
        utilisation: inT.cells[i] !== null && Number(r.capacity) > 0 ? Math.round((inT.cells[i]! / Number(r.capacity)) * 100) : null,
        targetDays: Number(r.target),
        needs: r.needs ?? [],
        measured,
        seenWithin: within,
        // The share gives away the count of those not seen in time, so that must be shown-able too.
        seenWithinShare:
          measured !== null && within !== null && measured > 0 && !isSmall(measured - within)
            ? Math.round((within / measured) * 100)
            : null,
      };
    }),
    totals: {
      referralsIn: inT.total,
      waiting: waitT.total,
      accepted: accT.total,
      completed: compT.total,
      capacity: rows.reduce((s, r) => s + Number(r.capacity), 0),
      measured: measT.total,
      seenWithin: withinT.total,
    },
  };
}

export interface MonthDemand {
  month: string;
  referrals: number | null;
  capacity: number;
  partial: boolean;
}

/** The 12 calendar months to the one holding `asOf` (UK time), oldest first, as YYYY-MM. */
export function lastTwelveMonths(asOf: Date): string[] {
  const [y, m] = ukDate(asOf).split('-').map(Number) as [number, number];
  return Array.from({ length: 12 }, (_, i) => {
    const d = new Date(Date.UTC(y, m - 12 + i, 1));
    return d.toISOString().slice(0, 7);
  });
}

/**
 * Referrals received each calendar month (UK time) over the last 12, against capacity a month:
 * for every service, or one. The months add up to the year, so they are protected as one table
 * with their total; the current month is marked as partial.
 */
export async function demandByMonth(
  db: Kysely<Database>,
  serviceId: string | null,
  asOf: Date = new Date(),
): Promise<{ months: MonthDemand[]; total: number | null; capacityPerMonth: number }> {
  const months = lastTwelveMonths(asOf);
  const from = `${months[0]}-01`;
  const counts = await referralsSentByMonth(db, from, serviceId);
  const capacity = [...(await serviceRecords(db, serviceId === null ? undefined : [serviceId])).values()].reduce(
    (sum, s) => sum + s.capacityPerMonth,
    0,
  );
  const byMonth = new Map(counts.map((c) => [c.month, Number(c.n)]));
  const t = suppressTable(months.map((m) => byMonth.get(m) ?? 0));
  const current = ukDate(asOf).slice(0, 7);
  return {
    months: months.map((m, i) => ({ month: m, referrals: t.cells[i]!, capacity, partial: m === current })),
    total: t.total,
    capacityPerMonth: capacity,
  };
}

export interface OutcomeServices {
  code: string;
  label: string;
  statement: string;
  people: number | null;
  per1000: number | null;
  /** Needs mapped to the outcome, with their labels. */
  needs: Array<{ code: string; label: string }>;
  /** Services addressing any of those needs, with their demand figures and which of the needs they address. */
  services: Array<ServiceDemand & { addresses: string[] }>;
  /** Services addressing the needs that have had no referrals (not in the demand figures). */
  quietServices: Array<{ serviceId: string; service: string; organisation: string; targetDays: number; addresses: string[] }>;
}

/** From an outcome to the services contributing to it: those addressing the needs that map to it. */
export async function servicesForOutcome(
  db: Kysely<Database>,
  code: string,
  asOf: Date = new Date(),
): Promise<OutcomeServices | undefined> {
  const framework = await activeFramework(db);
  const outcome = framework.outcomes.find((o) => o.code === code);
  if (!outcome) return undefined;
  const needs = Object.entries(framework.needs)
    .filter(([, codes]) => codes.includes(code))
    .map(([need]) => need)
    .sort();
  const [assessment, demand, all] = await Promise.all([
    needsAssessment(db),
    demandAndCapacity(db, asOf),
    sql<{ id: string; name: string; organisation: string; needs: string[]; first_contact_within_days: number }>`
      select s.id, s.name, s.organisation_name as organisation, s.needs, s.first_contact_within_days
      from ${servicesWithOrganisation} s order by s.name, s.organisation_name`
      .execute(db)
      .then((r) => r.rows),
  ]);
  const now = assessment.outcomes.find((o) => o.code === code);
  const addresses = (serviceNeeds: string[] | null) => needs.filter((n) => (serviceNeeds ?? []).includes(n));
  const contributing = all.filter((s) => addresses(s.needs).length > 0);
  const withDemand = new Map(demand.rows.map((r) => [r.serviceId, r]));
  return {
    code,
    label: outcome.label,
    statement: outcome.statement,
    people: now?.people ?? null,
    per1000: now?.per1000 ?? null,
    needs: needs.map((n) => ({ code: n, label: humanise(n) })),
    services: contributing
      .filter((s) => withDemand.has(s.id))
      .map((s) => ({ ...withDemand.get(s.id)!, addresses: addresses(s.needs).map(humanise) })),
    quietServices: contributing
      .filter((s) => !withDemand.has(s.id))
      .map((s) => ({
        serviceId: s.id,
        service: s.name,
        organisation: s.organisation,
        targetDays: Number(s.first_contact_within_days),
        addresses: addresses(s.needs).map(humanise),
      })),
  };
}

// -------------------------------------------------------------------------------------------
// Inequalities

export interface MeasureDef {
  id: string;
  label: string;
  kind: 'outcome' | 'access' | 'felt';
  unit: string;
  higherIsWorse: boolean;
  description: string;
}

export async function measures(db: Kysely<Database>): Promise<MeasureDef[]> {
  const framework = await activeFramework(db);
  return [
    {
      id: 'access:first_contact_days',
      label: 'Time to first contact',
      kind: 'access',
      unit: 'days',
      higherIsWorse: true,
      description: "Mean days from a referral being sent to the person's first contact with the service.",
    },
    {
      id: 'access:acceptance',
      label: 'Referral acceptance',
      kind: 'access',
      unit: '%',
      higherIsWorse: false,
      description: 'Referrals accepted, as a percentage of referrals decided (accepted or declined).',
    },
    ...framework.outcomes.map((o) => ({
      id: `outcome:${o.code}`,
      label: o.label,
      kind: 'outcome' as const,
      unit: 'per 1,000',
      higherIsWorse: true,
      description: `New needs threatening "${o.statement}": residents per 1,000 with a need mapped to this outcome first recorded by any agency in the period.`,
    })),
    // Outcomes people feel (felt.ts): a mean per person (or goal), in the quarter of the latest assessment or review.
    ...Object.entries(changeInstruments).map(([id, label]) => ({
      id: `felt:change:${id}`,
      label: `Assessment score improvement: ${label}`,
      kind: 'felt' as const,
      unit: 'points',
      higherIsWorse: false,
      description: `For people assessed two or more times with the ${label.toLowerCase()}, the mean fall in total score (concerns) from their first to their latest assessment, counted in the quarter of the latest. Positive means fewer concerns.`,
    })),
    {
      id: 'felt:goal',
      label: 'Goal attainment',
      kind: 'felt' as const,
      unit: 'points',
      higherIsWorse: false,
      description:
        "The mean attainment (0 not started, 10 achieved) agreed with the person for each of their plan goals at the goal's latest review, counted in the quarter of that review.",
    },
    {
      id: 'felt:gas',
      label: 'Goals at or above expected',
      kind: 'felt' as const,
      unit: '%',
      higherIsWorse: false,
      description:
        "Of plan goals rated on the goal attainment scale (−2 to +2) at a review, the percentage at or above the outcome expected when the goal was set (0 or more) at the goal's latest rating, counted in the quarter of that review.",
    },
    // Person-reported, one for each place goal: the share of people who agree with its statement.
    ...framework.outcomes.map((o) => ({
      id: `felt:said:${o.code}`,
      label: `People who say “${o.statement.replace(/\.$/, '')}”`,
      kind: 'felt' as const,
      unit: '%',
      higherIsWorse: false,
      description: `Of people asked at a plan review or in their feedback on a service how far “${o.statement}” is true for them, the percentage who agree or strongly agree at their latest answer, counted in the quarter of that answer.`,
    })),
  ];
}

export interface GroupRow {
  label: string;
  value: number | null;
  lower: number | null;
  upper: number | null;
  count: number | null;
  denominator: number | null;
}
export interface PeriodRow {
  period: string;
  sii: SlopeIndex | null;
  gap: Gap | null;
  quintiles: GroupRow[];
  suppressed: boolean;
}
export interface InequalityView {
  measure: MeasureDef;
  dimension: Dimension;
  periods: PeriodRow[];
  /** The split by the chosen dimension over the latest year (last four quarters). */
  split: { label: string; rows: GroupRow[]; total: GroupRow | null; sii: SlopeIndex | null; gap: Gap | null };
  trend: Trend;
  headline: string;
}

function estimateFor(measure: MeasureDef, label: string, n: number, d: number, s: number, ss: number, population: number): GroupEstimate {
  if (measure.id === 'access:acceptance' || (measure.kind === 'felt' && isShareMeasure(measure.id.slice(5))))
    return proportionEstimate(label, n, d);
  if (measure.id === 'access:first_contact_days' || measure.kind === 'felt') return { ...meanEstimate(label, n, s, ss), population: n };
  return rateEstimate(label, n, population);
}

/** A group's row: shown only when both its count and what it is out of may be shown (each gives the other away beside the value). */
function groupRow(e: GroupEstimate, count: number | null, denominator: number | null): GroupRow {
  if (count === null || denominator === null)
    return { label: e.label, value: null, lower: null, upper: null, count: null, denominator: null };
  if (e.value === null) return { label: e.label, value: null, lower: null, upper: null, count, denominator };
  const se = Math.sqrt(e.variance ?? 0);
  return { label: e.label, value: e.value, lower: e.value - 1.96 * se, upper: e.value + 1.96 * se, count, denominator };
}

const quarterIndex = (q: string) => {
  const [y, n] = q.split('-Q');
  return Number(y) * 4 + Number(n) - 1;
};

/** Splits, gaps and the slope index by quarter for one measure, and the split by one dimension over the latest year. */
export async function inequality(
  db: Kysely<Database>,
  measureId: string,
  dimension: Dimension,
  quarters = 8,
): Promise<InequalityView | undefined> {
  const all = await measures(db);
  const measure = all.find((m) => m.id === measureId);
  if (!measure) return undefined;
  const kind = measure.kind;
  const code = measureId.slice(kind.length + 1);
  const section = kind === 'outcome' ? 'outcome_quarter' : kind === 'felt' ? 'felt' : 'access';
  const [rows, popRows, localityOf, order, refresh] = await Promise.all([
    cube(db, section, code, null),
    cube(db, 'population', 'residents', null),
    localities(db),
    dimensionOrder(db, dimension),
    db.selectFrom('insight_refreshes').select('latest_date').orderBy('id', 'desc').limit(1).executeTakeFirst(),
  ]);
  const population = protectedPopulation(popRows, localityOf);
  const qRows = rows.filter((r) => r.dimension === 'quintile');
  // Complete quarters only: the quarter holding the latest data is still filling up.
  const latest = refresh?.latest_date ? String(refresh.latest_date).slice(0, 10) : null;
  const latestQ = latest ? `${latest.slice(0, 4)}-Q${Math.floor((Number(latest.slice(5, 7)) - 1) / 3) + 1}` : null;
  const periods = [...new Set(qRows.map((r) => r.period))]
    .filter((p) => !latestQ || quarterIndex(p) < quarterIndex(latestQ))
    .sort()
    .slice(-quarters);
  const lastYear = new Set(periods.slice(-4));
  const popOf = (d: string) => new Map(popRows.filter((r) => r.dimension === d).map((r) => [r.value, r.n]));

  // The latest year, every dimension, and its quarters by quintile: counts and (for access measures) what they are out of, each protected as one table.
  const year = rows.filter((r) => lastYear.has(r.period));
  const margins = (pick: (r: CubeRow) => number): ProtectedMargins => {
    const by = new Map<string, Map<string, number>>();
    const byQuarter = new Map<string, Map<string, number>>();
    let total = 0;
    for (const r of year) {
      if (r.dimension === 'all') total += pick(r);
      else {
        const split = splitOf(by, r.dimension);
        split.set(r.value, (split.get(r.value) ?? 0) + pick(r));
      }
      if (r.dimension === 'quintile') splitOf(byQuarter, r.period).set(r.value, pick(r));
    }
    return protectMargins({ total, by, quarters: byQuarter }, localityOf);
  };
  const counts = margins((r) => r.n);
  // Outcome rates are out of residents (protected with the population); first contact times and felt means are out of their own count.
  const outOf: ProtectedMargins =
    kind === 'outcome'
      ? population
      : code === 'first_contact_days' || (kind === 'felt' && !isShareMeasure(code))
        ? counts
        : margins((r) => r.d);
  const shownIn = (m: ProtectedMargins, period: string, q: string, n: number) =>
    lastYear.has(period) ? m.quarter(period, q) : isSmall(n) ? null : n;

  const popQuintile = popOf('quintile');
  const periodRows: PeriodRow[] = periods.map((period) => {
    const estimates = [1, 2, 3, 4, 5].map((q) => {
      const r = qRows.find((x) => x.period === period && x.value === String(q));
      return estimateFor(measure, `Quintile ${q}`, r?.n ?? 0, r?.d ?? 0, r?.s ?? 0, r?.ss ?? 0, popQuintile.get(String(q)) ?? 0);
    });
    const shown = estimates.map((e, i) =>
      groupRow(
        e,
        shownIn(counts, period, String(i + 1), e.count),
        kind === 'outcome' ? population.cell('quintile', String(i + 1)) : shownIn(outOf, period, String(i + 1), Math.round(e.denominator)),
      ),
    );
    const safe = shown.every((r) => r.count !== null && r.denominator !== null);
    return {
      period,
      quintiles: shown,
      suppressed: !safe,
      sii: safe ? slopeIndex(estimates) : null,
      gap: safe ? gapBetween(estimates[0]!, estimates[4]!) : null,
    };
  });
  // The split over the latest four complete quarters.
  const popDim = popOf(dimension);
  const sumFor = (value: string) =>
    year
      .filter((r) => r.dimension === dimension && r.value === value)
      .reduce((a, r) => ({ n: a.n + r.n, d: a.d + r.d, s: a.s + r.s, ss: a.ss + r.ss }), { n: 0, d: 0, s: 0, ss: 0 });
  // Rates over a year of quarters: people per 1,000 per year.
  const estimates = order.map((o) => {
    const a = sumFor(o.value);
    return estimateFor(measure, o.label, a.n, a.d, a.s, a.ss, popDim.get(o.value) ?? 0);
  });
  const splitRows = estimates.map((e, i) => groupRow(e, counts.cell(dimension, order[i]!.value), outOf.cell(dimension, order[i]!.value)));
  const totals = year
    .filter((r) => r.dimension === dimension)
    .reduce((a, r) => ({ n: a.n + r.n, d: a.d + r.d, s: a.s + r.s, ss: a.ss + r.ss }), { n: 0, d: 0, s: 0, ss: 0 });
  const totalPop = [...popDim.values()].reduce((s, n) => s + n, 0);
  const total = groupRow(estimateFor(measure, 'Everyone', totals.n, totals.d, totals.s, totals.ss, totalPop), counts.total, outOf.total);
  const anyHidden = splitRows.some((r) => r.count === null || r.denominator === null);
  const ordered = dimension === 'quintile' || dimension === 'decile';
  const trend = gapTrend(
    periodRows.filter((p) => p.sii).map((p) => ({ period: quarterIndex(p.period), estimate: p.sii!.estimate, se: p.sii!.se })),
  );
  return {
    measure,
    dimension,
    periods: periodRows,
    trend,
    headline: headline(measure, trend, periodRows),
    split: {
      label: dimensionLabels[dimension],
      rows: splitRows,
      total,
      sii: ordered && !anyHidden ? slopeIndex(estimates) : null,
      gap: ordered && !anyHidden ? gapBetween(estimates[0]!, estimates[estimates.length - 1]!) : null,
    },
  };
}

const fmt = (v: number, d = 1) => v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });

/** The plain-English answer to "is the gap narrowing?". */
export function headline(measure: MeasureDef, trend: Trend, periods: PeriodRow[]): string {
  const unit = measure.unit === '%' ? ' percentage points' : measure.unit === 'days' ? ' days' : ` ${measure.unit}`;
  if (trend.verdict === 'not enough data')
    return `Not enough quarters with safe figures to say whether the gap in ${measure.label.toLowerCase()} is narrowing (${trend.periods} of the ${periods.length} quarters could be used).`;
  const last = [...periods].reverse().find((p) => p.sii);
  const direction =
    trend.meanGap >= 0
      ? measure.higherIsWorse
        ? 'the most deprived fare worse'
        : 'the most deprived fare better'
      : measure.higherIsWorse
        ? 'the least deprived fare worse'
        : 'the least deprived fare better';
  const change = `The slope index changed by ${fmt(trend.slope.estimate, 2)}${unit} a quarter (95% confidence interval ${fmt(trend.slope.lower, 2)} to ${fmt(trend.slope.upper, 2)}) over ${trend.periods} quarters.`;
  const lastText = last
    ? ` In ${last.period} the slope index was ${fmt(last.sii!.estimate)}${unit} (${fmt(last.sii!.lower)} to ${fmt(last.sii!.upper)}): ${direction}.`
    : '';
  const verdict =
    trend.verdict === 'narrowing'
      ? 'Yes: the gap is narrowing.'
      : trend.verdict === 'widening'
        ? 'No: the gap is widening.'
        : 'Not clearly: the gap shows no clear change.';
  return `${verdict} ${change}${lastText}`;
}

/** Every measure's trend verdict, for the headline panel and the board report. */
export async function headlines(
  db: Kysely<Database>,
): Promise<Array<{ measure: MeasureDef; verdict: Trend['verdict']; text: string; latestSii: SlopeIndex | null; period: string | null }>> {
  const list = await measures(db);
  const out = [];
  for (const m of list) {
    const view = await inequality(db, m.id, 'quintile');
    if (!view) continue;
    const last = [...view.periods].reverse().find((p) => p.sii) ?? null;
    out.push({ measure: m, verdict: view.trend.verdict, text: view.headline, latestSii: last?.sii ?? null, period: last?.period ?? null });
  }
  return out;
}
