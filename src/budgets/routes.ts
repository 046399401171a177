// Commissioner pages (aggregates only): pooled funds, budget versus spend with forecast,
// approvals, cohort and pathway costs, outcome contracts; CSV export. Citizen: their personal budget.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { safeCsv } from '../platform/csv.ts';
import { decideAccess } from '../consent/index.ts';
import { formatPounds, horizontalBarChart } from '../ui/index.ts';
import { cumulativeChart } from './charts.ts';
import {
  budgetOverview,
  cohortCosts,
  contractSchedule,
  contractsSummary,
  FORECAST_METHOD,
  fundsList,
  latestSpendDate,
  personalBudgetsOf,
} from './queries.ts';
import { decideChange, FundChangeError, pendingChanges, proposeChange, recentDecisions } from './funds.ts';
import { runOutcomeContract } from './outcomes.ts';
import { financialYearLabel, goalLabels, pathwayLabels } from './goals.ts';
import { registerFundingRoutes } from './funding-routes.ts';
import { registerBudgetHolderRoutes } from './budget-holder-routes.ts';
import { formBody, parseForm, trimmedText } from '../platform/forms.ts';
import { changeDecisionForm, fundChangeForm } from './forms.ts';

type Query = Record<string, string | undefined>;
const idPattern = /^[A-Za-z0-9_:-]{1,80}$/;

function yearParam(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const year = Number(raw);
  if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new HttpError(400, 'Choose a financial year from the list.');
  return year;
}

export function registerBudgetRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;
  const helpers = { gbp: formatPounds, fyLabel: financialYearLabel };
  // Who pays for one person's care package (issue 22): practitioners and the person, per the access decision.
  registerFundingRoutes(app);
  registerBudgetHolderRoutes(app);

  async function overviewPage(request: FastifyRequest, fundId: string, year: number | undefined) {
    if (!idPattern.test(fundId)) throw new HttpError(404, 'There is no such fund.');
    const overview = await budgetOverview(db, fundId, year);
    if (!overview) throw new HttpError(404, 'There is no such fund.');
    return overview;
  }

  app.get('/budgets', async (request, reply) => {
    const user = requireRole(request, 'manager');
    const query = request.query as Query;
    const funds = await fundsList(db);
    if (funds.length === 0)
      return reply.view('budgets-overview.njk', viewContext(request, reply, { title: 'Pooled budgets', funds, ...helpers }));
    const fundId = query.fund ?? funds[0]?.id ?? '';
    const overview = await overviewPage(request, fundId, yearParam(query.year));
    const latest = await latestSpendDate(db);
    const years = latest
      ? [overview.year - 1, overview.year, overview.year + 1].filter((y) => y <= Number(latest.slice(0, 4)))
      : [overview.year];
    const chart = cumulativeChart({
      id: 'budget-vs-spend',
      months: overview.months.map((m) => m.month),
      title: `${overview.fund.name}: cumulative spend against budget, ${financialYearLabel(overview.year)}`,
      description: `Budget ${formatPounds(overview.totals.budgetPence)}; spent to date ${formatPounds(overview.totals.spentPence)}; forecast for the year ${formatPounds(overview.totals.forecastPence)}. The table below gives every month.`,
      series: [
        { label: 'Budget, spread evenly', values: overview.months.map((m) => m.budgetProfilePence), colour: '#505a5f' },
        { label: 'Actual spend to date', values: overview.months.map((m) => m.cumulativePence), colour: '#1d70b8' },
        {
          label: 'Forecast (run-rate of the last 3 months)',
          values: overview.months.map((m, i) => (i >= overview.elapsed - 1 ? m.forecastCumulativePence : null)),
          colour: '#d4351c',
          dashed: true,
        },
      ],
    });
    const serviceChart = horizontalBarChart({
      id: 'spend-by-service',
      title: 'Spend by service, £ thousands',
      description: 'Spend from the fund this year by the service that delivered it.',
      data: overview.byService
        .slice(0, 10)
        .map((s) => ({ label: (s.service ?? 'Direct payments').slice(0, 28), value: Math.round(s.pence / 100_000) })),
      unit: 'k',
    });
    const [pending, decisions, contracts] = await Promise.all([pendingChanges(db), recentDecisions(db, 8), contractsSummary(db)]);
    return reply.view(
      'budgets-overview.njk',
      viewContext(request, reply, {
        title: 'Pooled budgets',
        funds,
        fundId,
        overview,
        chart,
        serviceChart,
        years,
        pending,
        decisions,
        contracts,
        forecastMethod: FORECAST_METHOD,
        userId: user.id,
        pathwayOptions: Object.entries(pathwayLabels).map(([value, text]) => ({ value, text })),
        ...helpers,
        error: query.error,
        done: query.done,
      }),
    );
  });

  app.get('/budgets/export.csv', async (request, reply) => {
    requireRole(request, 'manager');
    const query = request.query as Query;
    const overview = await overviewPage(request, query.fund ?? '', yearParam(query.year));
    const view = query.view ?? 'allocations';
    const pounds = (pence: number | null) => (pence === null ? 'suppressed' : (pence / 100).toFixed(2));
    let rows: (string | number)[][];
    if (view === 'allocations')
      rows = [
        ['allocation', 'kind', 'budget_gbp', 'used_gbp', 'remaining_gbp', 'forecast_gbp', 'variance_gbp'],
        ...overview.allocations.map((a) => [
          a.label,
          a.targetKind,
          pounds(a.budgetPence),
          pounds(a.usedPence),
          pounds(a.remainingPence),
          pounds(a.forecastPence),
          pounds(a.variancePence),
        ]),
      ];
    else if (view === 'months')
      rows = [
        ['month', 'spent_gbp', 'cumulative_gbp', 'forecast_cumulative_gbp', 'budget_profile_gbp'],
        ...overview.months.map((m) => [
          m.month,
          m.spentPence === null ? '' : pounds(m.spentPence),
          m.cumulativePence === null ? '' : pounds(m.cumulativePence),
          pounds(m.forecastCumulativePence),
          pounds(m.budgetProfilePence),
        ]),
      ];
    else if (view === 'services')
      rows = [
        ['service', 'organisation', 'spent_gbp'],
        ...overview.byService.map((s) => [s.service ?? 'Direct payments', s.organisation ?? '', pounds(s.pence)]),
      ];
    else if (view === 'localities')
      rows = [
        ['locality', 'spent_gbp', 'people', 'per_person_gbp'],
        ...overview.byLocality.map((l) => [
          l.locality,
          pounds(l.pence),
          l.people === null ? 'suppressed' : l.people,
          pounds(l.perPersonPence),
        ]),
      ];
    else if (view === 'partners')
      rows = [
        ['partner', 'contribution_gbp', 'share_of_spend_gbp', 'share_of_forecast_gbp'],
        ...overview.byPartner.map((p) => [p.name, pounds(p.pence), pounds(p.spentPence), pounds(p.forecastPence)]),
      ];
    else throw new HttpError(400, 'Choose allocations, months, services, localities or partners.');
    const name = `${overview.fund.id}-${overview.year}-${view}.csv`;
    return reply.header('content-disposition', `attachment; filename="${name}"`).type('text/csv; charset=utf-8').send(safeCsv(rows));
  });

  app.post('/budgets/changes', async (request, reply) => {
    const user = requireRole(request, 'manager');
    const body = formBody(request);
    const form = parseForm(fundChangeForm, body);
    // A refused change is said on the fund's page, as the use case's refusals are.
    const fundId = form.ok ? form.value.fundId : trimmedText.parse(body.fund);
    if (!form.ok) return reply.redirect(`/budgets?fund=${encodeURIComponent(fundId)}&error=${encodeURIComponent(form.errors[0]!.text)}`);
    try {
      await proposeChange(db, { id: user.id, name: user.displayName }, form.value);
    } catch (error) {
      if (error instanceof FundChangeError)
        return reply.redirect(`/budgets?fund=${encodeURIComponent(fundId)}&error=${encodeURIComponent(error.message)}`);
      throw error;
    }
    return reply.redirect(`/budgets?fund=${encodeURIComponent(fundId)}&done=proposed`);
  });

  app.post('/budgets/changes/:id/decision', async (request, reply) => {
    const user = requireRole(request, 'manager');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such change.');
    const { decision } = changeDecisionForm.parse(formBody(request));
    const latest = (await latestSpendDate(db)) ?? new Date().toISOString().slice(0, 10);
    try {
      await db.transaction().execute((trx) => decideChange(trx, { id: user.id, name: user.displayName }, id, decision, latest));
    } catch (error) {
      if (error instanceof FundChangeError) return reply.redirect(`/budgets?error=${encodeURIComponent(error.message)}`);
      throw error;
    }
    return reply.redirect(`/budgets?done=${decision}`);
  });

  app.get('/budgets/cohorts', async (request, reply) => {
    requireRole(request, 'manager');
    const costs = await cohortCosts(db);
    const chart = horizontalBarChart({
      id: 'cost-per-outcome',
      title: 'Cost per outcome achieved, by pathway (£)',
      description: 'All spend on the pathway divided by the outcomes its contracts have evidenced. Suppressed where fewer than 5 outcomes.',
      data: costs.pathways.map((p) => ({
        label: p.label.slice(0, 28),
        value: p.perOutcomePence === null ? null : Math.round(p.perOutcomePence / 100),
      })),
    });
    return reply.view(
      'budgets-cohorts.njk',
      viewContext(request, reply, { title: 'Cost per person and per outcome', costs, chart, ...helpers }),
    );
  });

  app.get('/budgets/contracts/:id', async (request, reply) => {
    requireRole(request, 'manager');
    const id = (request.params as { id: string }).id;
    if (!idPattern.test(id)) throw new HttpError(404, 'There is no such contract.');
    const schedule = await contractSchedule(db, id);
    if (!schedule) throw new HttpError(404, 'There is no such contract.');
    return reply.view(
      'budgets-contract.njk',
      viewContext(request, reply, { title: schedule.contract.name, schedule, goalLabels, done: (request.query as Query).done, ...helpers }),
    );
  });

  app.post('/budgets/contracts/:id/evaluate', async (request, reply) => {
    const user = requireRole(request, 'manager');
    const id = (request.params as { id: string }).id;
    if (!idPattern.test(id)) throw new HttpError(404, 'There is no such contract.');
    const asOf = (await latestSpendDate(db)) ?? new Date().toISOString().slice(0, 10);
    const run = await db
      .transaction()
      .execute((trx) => runOutcomeContract(trx, id, asOf, user.id))
      .catch(() => {
        throw new HttpError(404, 'There is no such contract.');
      });
    return reply.redirect(`/budgets/contracts/${encodeURIComponent(id)}?done=${run.newlyPosted}`);
  });

  app.get('/my-record/budget', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    if (!user.personId) throw new HttpError(403, 'This account is not linked to a person record.');
    const decision = await decideAccess(db, {
      actor: user,
      personId: user.personId,
      category: 'finances',
      purpose: 'self',
      action: 'read',
    });
    if (!decision.allowed) throw new HttpError(403, decision.reason);
    const budgets = await personalBudgetsOf(db, user.personId);
    return reply.view('budgets-personal.njk', viewContext(request, reply, { title: 'Your personal budget', budgets, ...helpers }));
  });
}
