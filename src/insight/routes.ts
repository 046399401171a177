// Insight pages. Managers and commissioners: the joint needs assessment, the inequality
// dashboard, case-finding rules and how many each finds per team (counts only, never rows about a
// person), CSV exports and a printable board report. Practitioners: their team's case-finding
// worklist, from which they open a person only through the access decision on the person page.
import type { FastifyInstance } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { safeCsv } from '../platform/csv.ts';
import { appendAudit } from '../audit/index.ts';
import { horizontalBarChart, monthlyColumnsAgainstLine } from '../ui/index.ts';
import { dimensions, ensureInsight, lastRefresh, refreshInsight, type Dimension } from './refresh.ts';
import {
  demandAndCapacity,
  demandByMonth,
  dimensionLabels,
  headlines,
  inequality,
  measures,
  needsAssessment,
  overlaps,
  populationBy,
  servicesForOutcome,
  type GroupRow,
  type InequalityView,
  type MonthDemand,
} from './queries.ts';
import { ciLineChart, estimateChart, upsetChart } from './charts.ts';
import { ensureCaseFindingRun, runCaseFinding, worklistFor, worklistSummary, loadRules } from './casefind.ts';
import type { Predicate } from './rules.ts';
import { RESIDENTS_HINT } from '../place/index.ts';
import { organisationById, practitionersByIds, serviceRecords } from '../network/index.ts';
import { registerFairnessRoutes } from './fairness-routes.ts';
import { registerTargetRoutes } from './targets-routes.ts';
import { registerFeltRoutes } from './felt-routes.ts';
import { registerLocalityRoutes } from './locality-routes.ts';

type Query = Record<string, string | undefined>;

// A function, not a constant: place's locality pages (through place's front door, which refresh.ts
// imports for the definition of a resident) load this file while refresh.ts is still loading.
const splitDimensions = () => dimensions.filter((d) => d !== 'all');

function dimensionParam(raw: string | undefined, fallback: Dimension = 'quintile'): Dimension {
  if (raw === undefined || raw === '') return fallback;
  if (!(splitDimensions() as readonly string[]).includes(raw)) throw new HttpError(400, 'Choose a way to split the figures from the list.');
  return raw as Dimension;
}

const fmt = (v: number | null | undefined, d = 1): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? 'suppressed'
    : v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
const count = (v: number | null | undefined): string => (v === null || v === undefined ? 'suppressed' : v.toLocaleString('en-GB'));

function describePredicate(p: Predicate): string {
  switch (p.kind) {
    case 'age_between':
      return p.max === undefined ? `aged ${p.min} or over` : p.min === undefined ? `aged ${p.max} or under` : `aged ${p.min} to ${p.max}`;
    case 'known_to_groups':
      return `known to at least ${p.atLeast} of: ${p.groups.map((g) => g.replace(/_/g, ' ')).join(', ')}`;
    case 'current_need':
      return `${p.atLeast > 1 ? `at least ${p.atLeast} current needs` : 'a current need'} among: ${p.codes.map((c) => c.replace(/_/g, ' ')).join(', ')}`;
    case 'event_count':
      return `at least ${p.atLeast} × ${p.types.map((t) => t.replace(/_/g, ' ')).join(' or ')} in the last ${p.withinDays} days`;
    case 'latest_value_below':
      return `latest ${p.type.replace(/_/g, ' ')} value below ${p.below} (within ${p.withinDays} days)`;
    case 'any_of':
      return `at least ${p.atLeast} of: ${p.of.map(describePredicate).join('; ')}`;
    case 'no_coordinator':
      return 'no named coordinator or lead practitioner';
    case 'not_enrolled':
      return `not enrolled in ${p.modelId.replace(/-/g, ' ')}`;
    case 'no_active_plan':
      return 'no active shared care plan';
  }
}

function inequalityCharts(view: InequalityView, decimals: number) {
  const unit = view.measure.unit;
  const split = estimateChart({
    id: 'split-chart',
    unit,
    decimals,
    axisTitle: `${view.measure.label} (${unit})`,
    title: `${view.measure.label} by ${view.split.label.toLowerCase()}, latest year`,
    description: `Each dot is the group's value in ${unit} with a line for its 95% confidence interval. Groups with fewer than 5 are suppressed. The table beside the chart has the same numbers.`,
    data: view.split.rows.map((r) => ({ label: r.label, value: r.value, lower: r.lower, upper: r.upper })),
  });
  const trend = ciLineChart({
    id: 'sii-chart',
    unit: `Slope index of inequality (${unit})`,
    xTitle: 'Quarter',
    title: `Slope index of inequality in ${view.measure.label.toLowerCase()} by quarter`,
    description:
      'The line is the slope index of inequality each quarter (the modelled gap between the most and least deprived); the shaded band is its 95% confidence interval. The dashed line is no gap. The table below has the same numbers.',
    points: view.periods.map((p) => ({
      label: p.period,
      value: p.sii?.estimate ?? null,
      lower: p.sii?.lower ?? null,
      upper: p.sii?.upper ?? null,
    })),
  });
  return { split, trend };
}

const rowText = (r: GroupRow, d: number) => ({
  label: r.label,
  value: fmt(r.value, d),
  ci: r.value === null || r.lower === null ? '' : `${fmt(r.lower, d)} to ${fmt(r.upper, d)}`,
  count: count(r.count),
  denominator: count(r.denominator),
});

/** Referrals received each month against capacity: the chart (its table is beside it on the page). */
function monthsChart(id: string, what: string, months: MonthDemand[]): string {
  return monthlyColumnsAgainstLine({
    id,
    title: `Referrals received each month against capacity, ${what}`,
    description: `Columns are referrals received in each of the last 12 months (the last month so far); the line is capacity, the referrals a month the services say they can take. Months of fewer than 5 are suppressed (marked s). The table below has the same numbers.`,
    data: months.map((m) => ({ month: m.month, value: m.referrals, line: m.capacity })),
    valueTitle: 'Referrals received a month',
    columnLabel: 'Referrals received',
    lineLabel: 'Capacity (referrals a month)',
  });
}

const monthLabel = (month: string) =>
  new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${month}-01T00:00:00Z`));

export function registerInsightRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  async function needsPage(by: Dimension | 'small_area') {
    await ensureInsight(db);
    const [population, assessment, overlap, demand, refreshed, months] = await Promise.all([
      populationBy(db, by),
      needsAssessment(db),
      overlaps(db),
      demandAndCapacity(db),
      lastRefresh(db),
      demandByMonth(db, null),
    ]);
    const populationChart = horizontalBarChart({
      id: 'population-chart',
      title: `Residents by ${dimensionLabels[by].toLowerCase()}`,
      description:
        'Bars show residents in each group; groups of fewer than 5 are suppressed. The table beside the chart has the same numbers.',
      data: population.rows.slice(0, 40).map((r) => ({ label: r.label, value: r.count })),
      axisTitle: 'Residents',
    });
    const outcomesChart = horizontalBarChart({
      id: 'outcomes-chart',
      title: 'Residents with a current need, by outcome in the framework',
      description:
        'Residents per 1,000 with a current need recorded by any agency that maps to each outcome. The table beside the chart has the same numbers.',
      data: assessment.outcomes.map((o) => ({ label: o.label, value: o.per1000 })),
      decimals: 1,
      axisTitle: 'Residents with a current need, per 1,000',
    });
    const demandChart = monthsChart('demand-months', 'all services', months.months);
    const upset = upsetChart({
      id: 'overlap-chart',
      title: 'People known to each combination of services',
      description:
        'UpSet chart. Each column is one exact combination of services (dots joined below the bar); the bar is the number of people known to exactly that combination. Bars on the left are everyone known to each service. Counts are rounded to the nearest 5 and combinations with fewer than 5 people are not shown. The table below has the same numbers.',
      data: { sets: overlap.sets, intersections: overlap.intersections },
    });
    return {
      population,
      assessment,
      overlap,
      overlapTop: overlap.intersections.slice(0, 14),
      demand,
      refreshed,
      populationChart,
      outcomesChart,
      upset,
      by,
      dimensionLabel: dimensionLabels[by],
      months,
      demandChart,
    };
  }

  app.get('/insight', async (request, reply) => {
    requireRole(request, 'manager');
    const query = request.query as Query;
    const by = query.by === 'small_area' ? 'small_area' : dimensionParam(query.by);
    const data = await needsPage(by);
    return reply.view(
      'insight-needs.njk',
      viewContext(request, reply, {
        title: 'Joint needs assessment',
        ...data,
        count,
        fmt,
        residentsHint: RESIDENTS_HINT,
        monthLabel,
        dimensionOptions: [...splitDimensions(), 'small_area'].map((d) => ({
          value: d,
          text: dimensionLabels[d as Dimension],
          selected: d === by,
        })),
      }),
    );
  });

  app.get('/insight/outcomes/:code', async (request, reply) => {
    requireRole(request, 'manager');
    const code = (request.params as { code?: string }).code ?? '';
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(code)) throw new HttpError(404, 'There is no such outcome in the framework.');
    await ensureInsight(db);
    const outcome = await servicesForOutcome(db, code);
    if (!outcome) throw new HttpError(404, 'There is no such outcome in the framework.');
    return reply.view(
      'insight-outcome.njk',
      viewContext(request, reply, { title: `${outcome.label}: services contributing`, outcome, count, fmt }),
    );
  });

  app.get('/insight/services/:id', async (request, reply) => {
    requireRole(request, 'manager');
    const id = (request.params as { id?: string }).id ?? '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(404, 'There is no such service.');
    const record = (await serviceRecords(db, [id])).get(id);
    const organisation = record ? await organisationById(db, record.organisationId) : undefined;
    const service =
      record && organisation
        ? {
            id: record.id,
            name: record.name,
            description: record.description,
            organisation: organisation.name,
            first_contact_within_days: record.firstContactWithinDays,
            acknowledge_within_days: record.acknowledgeWithinDays,
            capacity_per_month: record.capacityPerMonth,
          }
        : undefined;
    if (!service) throw new HttpError(404, 'There is no such service.');
    const [months, demand] = await Promise.all([demandByMonth(db, id), demandAndCapacity(db)]);
    const row = demand.rows.find((r) => r.serviceId === id) ?? null;
    return reply.view(
      'insight-service.njk',
      viewContext(request, reply, {
        title: `${service.name}: demand and waits`,
        service,
        months,
        row,
        count,
        fmt,
        monthLabel,
        chart: monthsChart('service-months', service.name, months.months),
      }),
    );
  });

  async function inequalityPage(query: Query) {
    await ensureInsight(db);
    const list = await measures(db);
    const measureId = query.measure ?? list.find((m) => m.kind === 'outcome')?.id ?? list[0]!.id;
    if (!list.some((m) => m.id === measureId)) throw new HttpError(400, 'Choose a measure from the list.');
    const by = dimensionParam(query.by);
    const view = (await inequality(db, measureId, by))!;
    const d = view.measure.unit === '%' || view.measure.unit === 'days' ? 1 : 2;
    return {
      view,
      charts: inequalityCharts(view, d),
      list,
      by,
      d,
      splitRows: view.split.rows.map((r) => rowText(r, d)),
      splitTotal: view.split.total ? rowText(view.split.total, d) : null,
      periods: view.periods.map((p) => ({
        period: p.period,
        suppressed: p.suppressed,
        sii: p.sii ? fmt(p.sii.estimate, d) : 'not shown',
        siiCi: p.sii ? `${fmt(p.sii.lower, d)} to ${fmt(p.sii.upper, d)}` : '',
        abs: p.gap ? fmt(p.gap.absolute.estimate, d) : 'not shown',
        absCi: p.gap ? `${fmt(p.gap.absolute.lower, d)} to ${fmt(p.gap.absolute.upper, d)}` : '',
        rel: p.gap?.relative ? fmt(p.gap.relative.estimate, 2) : 'not shown',
        relCi: p.gap?.relative ? `${fmt(p.gap.relative.lower, 2)} to ${fmt(p.gap.relative.upper, 2)}` : '',
        q: p.quintiles.map((r) => fmt(r.value, d)),
      })),
      splitSii: view.split.sii
        ? `${fmt(view.split.sii.estimate, d)} (95% CI ${fmt(view.split.sii.lower, d)} to ${fmt(view.split.sii.upper, d)})`
        : null,
      splitGap: view.split.gap
        ? {
            abs: `${fmt(view.split.gap.absolute.estimate, d)} (95% CI ${fmt(view.split.gap.absolute.lower, d)} to ${fmt(view.split.gap.absolute.upper, d)})`,
            rel: view.split.gap.relative
              ? `${fmt(view.split.gap.relative.estimate, 2)} (95% CI ${fmt(view.split.gap.relative.lower, 2)} to ${fmt(view.split.gap.relative.upper, 2)})`
              : 'not defined',
          }
        : null,
      measureOptions: list.map((m) => ({
        value: m.id,
        text: `${m.kind === 'access' ? 'Access' : m.kind === 'felt' ? 'Outcome people feel' : 'Outcome'}: ${m.label}`,
        selected: m.id === measureId,
      })),
      dimensionOptions: splitDimensions().map((dd) => ({ value: dd, text: dimensionLabels[dd], selected: dd === by })),
    };
  }

  app.get('/insight/inequalities', async (request, reply) => {
    requireRole(request, 'manager');
    const data = await inequalityPage(request.query as Query);
    const all = await headlines(db);
    return reply.view(
      'insight-inequalities.njk',
      viewContext(request, reply, {
        title: 'Is the gap narrowing?',
        ...data,
        headlines: all.map((h) => ({ ...h, sii: h.latestSii ? fmt(h.latestSii.estimate, 2) : 'not shown' })),
      }),
    );
  });

  app.get('/insight/report', async (request, reply) => {
    requireRole(request, 'manager');
    const needs = await needsPage('quintile');
    const all = await headlines(db);
    const measure = all.find((h) => h.measure.kind === 'outcome')?.measure.id;
    const ineq = await inequalityPage({ measure, by: 'quintile' });
    const access = await inequalityPage({ measure: 'access:first_contact_days', by: 'quintile' });
    const summary = await worklistSummary(db);
    return reply.view(
      'insight-report.njk',
      viewContext(request, reply, {
        title: 'Board report: needs, access and inequalities',
        ...needs,
        ineq,
        access,
        count,
        fmt,
        generatedAt: new Date(),
        residentsHint: RESIDENTS_HINT,
        headlines: all.map((h) => ({ ...h, sii: h.latestSii ? fmt(h.latestSii.estimate, 2) : 'not shown' })),
        rules: summary.rules,
      }),
    );
  });

  app.post('/insight/refresh', async (request, reply) => {
    requireRole(request, 'manager');
    await refreshInsight(db);
    return reply.redirect('/insight');
  });

  app.get('/insight/export/:table', async (request, reply) => {
    requireRole(request, 'manager');
    const table = (request.params as { table: string }).table;
    const query = request.query as Query;
    await ensureInsight(db);
    const cell = (v: number | null) => (v === null ? 'suppressed' : v);
    let rows: Array<Array<string | number>>;
    if (table === 'population.csv') {
      const by = query.by === 'small_area' ? 'small_area' : dimensionParam(query.by);
      const t = await populationBy(db, by);
      rows = [
        [dimensionLabels[by], 'residents', 'percent'],
        ...t.rows.map((r) => [r.label, cell(r.count), cell(r.share)]),
        ['Total', cell(t.total), ''],
      ];
    } else if (table === 'needs.csv') {
      const a = await needsAssessment(db);
      rows = [
        ['kind', 'code', 'label', 'outcomes', 'people', 'per_1000'],
        ...a.outcomes.map((o) => ['outcome', o.code, o.label, '', cell(o.people), cell(o.per1000)]),
        ...a.needs.map((n) => ['need', n.code, n.label, n.outcomes.join('; '), cell(n.people), cell(n.per1000)]),
      ];
    } else if (table === 'overlaps.csv') {
      const o = await overlaps(db);
      rows = [
        ['combination', 'people_rounded_to_5'],
        ...o.sets.map((s) => [`${s.label} (any)`, cell(s.people)]),
        ...o.intersections.map((i) => [i.groups.join(' + '), cell(i.people)]),
      ];
    } else if (table === 'demand.csv') {
      const d = await demandAndCapacity(db);
      rows = [
        [
          'service',
          'organisation',
          'referrals_in_12m',
          'waiting_now',
          'accepted_12m',
          'completed_12m',
          'capacity_12m',
          'target_first_contact_working_days',
          'measured_12m',
          'seen_within_target_12m',
          'seen_within_target_percent',
        ],
        ...d.rows.map((r) => [
          r.service,
          r.organisation,
          cell(r.referralsIn),
          cell(r.waiting),
          cell(r.accepted),
          cell(r.completed),
          r.capacity,
          r.targetDays,
          cell(r.measured),
          cell(r.seenWithin),
          cell(r.seenWithinShare),
        ]),
      ];
    } else if (table === 'inequality.csv') {
      const data = await inequalityPage(query);
      rows = [
        [
          'section',
          'period_or_group',
          'value',
          'ci_lower',
          'ci_upper',
          'count',
          'denominator',
          'sii',
          'sii_lower',
          'sii_upper',
          'absolute_gap',
          'relative_gap',
        ],
        ...data.view.split.rows.map((r) => [
          'split_latest_year',
          r.label,
          cell(r.value),
          cell(r.lower),
          cell(r.upper),
          cell(r.count),
          cell(r.denominator),
          '',
          '',
          '',
          '',
          '',
        ]),
        ...data.view.periods.map((p) => [
          'quarter',
          p.period,
          '',
          '',
          '',
          '',
          '',
          cell(p.sii?.estimate ?? null),
          cell(p.sii?.lower ?? null),
          cell(p.sii?.upper ?? null),
          cell(p.gap?.absolute.estimate ?? null),
          cell(p.gap?.relative?.estimate ?? null),
        ]),
      ];
    } else throw new HttpError(404, 'There is no such export.');
    return reply
      .header('content-disposition', `attachment; filename="insight-${table}"`)
      .type('text/csv; charset=utf-8')
      .send(safeCsv(rows));
  });

  app.get('/insight/casefinding', async (request, reply) => {
    requireRole(request, 'manager');
    const [summary, rules] = await Promise.all([worklistSummary(db), loadRules(db)]);
    return reply.view(
      'insight-casefinding.njk',
      viewContext(request, reply, {
        title: 'Case-finding',
        count,
        lastRun: summary.lastRun,
        rules: summary.rules.map((r) => ({
          ...r,
          teams: summary.byTeam.filter((t) => t.ruleId === r.id),
          conditions: (rules.find((x) => x.id === r.id)?.definition.all ?? []).map(describePredicate),
          assignTo: (rules.find((x) => x.id === r.id)?.definition.assignTo.organisationKinds ?? [])
            .map((k) => k.replace(/_/g, ' '))
            .join(', then '),
        })),
      }),
    );
  });

  app.post('/insight/casefinding/run', async (request, reply) => {
    requireRole(request, 'manager');
    await runCaseFinding(db);
    return reply.redirect('/insight/casefinding');
  });

  app.get('/insight/worklist', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    if (!user.organisationId) throw new HttpError(403, 'This account is not linked to an organisation.');
    const teamId = user.practitionerId
      ? ((await practitionersByIds(db, [user.practitionerId])).get(user.practitionerId)?.teamId ?? null)
      : null;
    // The rules run on a schedule (joinery insight casefind) or when a manager asks; the first visit runs them once.
    await ensureCaseFindingRun(db);
    const entries = await worklistFor(db, { organisationId: user.organisationId, teamId });
    // Entries carry no names, but the list points at people: each is on the audit record.
    if (entries.length > 0) {
      await appendAudit(
        db,
        ...entries.map((e) => ({
          actorUserId: user.id,
          actorRole: user.role,
          actorOrganisationId: user.organisationId,
          action: 'list' as const,
          personId: e.personId,
          category: 'demographics',
          purpose: 'direct_care',
          decision: 'allow' as const,
          reason: `case-finding worklist: ${e.ruleId}`,
        })),
      );
    }
    return reply.view('insight-worklist.njk', viewContext(request, reply, { title: 'People to reach out to', entries }));
  });

  registerFairnessRoutes(app);
  registerTargetRoutes(app);
  registerFeltRoutes(app);
  // The locality pages: the place view comparing localities, and each locality's own view (locality-routes.ts).
  registerLocalityRoutes(app);
}
