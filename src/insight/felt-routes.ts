// The cohort page (issue 22): for each operating model, the mean assessment score of the people
// on it by quarter over the latest year, as a chart with labelled axes and the table behind it.
// Managers and commissioners only; aggregates from the cube, means hidden for fewer than 5 people.
import type { FastifyInstance } from 'fastify';
import { requireRole, viewContext } from '../platform/http.ts';
import { SUPPRESSION_NOTE } from '../platform/disclosure.ts';
import { ciLineChart } from './charts.ts';
import { cohortsByModel } from './felt.ts';
import { ensureInsight } from './refresh.ts';

const fmt = (v: number | null): string =>
  v === null || !Number.isFinite(v) ? 'suppressed' : v.toLocaleString('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function registerFeltRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;
  app.get('/insight/models', async (request, reply) => {
    requireRole(request, 'manager');
    await ensureInsight(db);
    const { periods, series } = await cohortsByModel(db);
    return reply.view(
      'insight-models.njk',
      viewContext(request, reply, {
        title: 'Cohorts by operating model',
        periods,
        suppressionNote: SUPPRESSION_NOTE,
        series: series.map((s, i) => ({
          heading: `${s.modelName}: ${s.instrumentLabel}`,
          id: `cohort-${i + 1}`,
          chart: ciLineChart({
            id: `cohort-${i + 1}-chart`,
            title: `${s.modelName}: mean ${s.instrumentLabel.toLowerCase()}${s.instrument.includes(':') ? '' : ' score'} by quarter`,
            // A headline question (life satisfaction, for an assessment without a total) reads the other way: higher is better.
            description: s.instrument.includes(':')
              ? `The mean answer (0 to 10) of the people on ${s.modelName} assessed in each quarter, with its 95% confidence interval. Higher means more satisfied with life. The table below gives every figure.`
              : `The mean total score of the people on ${s.modelName} assessed in each quarter, with its 95% confidence interval. Lower scores mean fewer concerns. The table below gives every figure.`,
            points: s.cells.map((c) => ({ label: c.period, value: c.mean, lower: c.lower, upper: c.upper })),
            unit: s.instrument.includes(':') ? 'Mean answer (0 to 10)' : 'Mean total score',
            xTitle: 'Quarter',
          }),
          rows: s.cells.map((c) => ({
            period: c.period,
            people: c.people === null ? 'suppressed' : c.people.toLocaleString('en-GB'),
            mean: c.people === 0 ? 'none assessed' : fmt(c.mean),
            ci: c.lower === null || c.upper === null ? '' : `${fmt(c.lower)} to ${fmt(c.upper)}`,
          })),
        })),
      }),
    );
  });
}
