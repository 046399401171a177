// Locality pages for managers and commissioners (aggregates only): /localities, the place view
// comparing localities on one measure at a time, and /localities/:id, a locality's own view for its
// leaders (lead organisation and partners, population, new needs by outcome, access measures,
// pooled budget). A manager whose organisation leads or partners a locality is pointed to it.
// They read the place's localities, this module's measures and the budgets module's allocations
// (locality-view.ts), so they live here rather than in the place module.
import type { FastifyInstance } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { SUPPRESSION_NOTE } from '../platform/disclosure.ts';
import { formatPounds, horizontalBarChart } from '../ui/index.ts';
import { localitiesOfOrganisation, RESIDENTS_HINT } from '../place/index.ts';
import { placeComparison, type Comparison } from './locality-view.ts';

const fmt = (v: number | null | undefined, d = 1): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? 'suppressed'
    : v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
const count = (v: number | null | undefined): string => (v === null || v === undefined ? 'suppressed' : v.toLocaleString('en-GB'));
const decimalsFor = (unit: string) => (unit === 'per 1,000' ? 2 : 1);
const comparisonWords: Record<Exclude<Comparison, null>, string> = {
  higher: 'Higher than the place',
  lower: 'Lower than the place',
  similar: 'Similar to the place',
};

export function registerLocalityRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  async function mine(organisationId: string | undefined | null) {
    return organisationId ? localitiesOfOrganisation(db, organisationId) : [];
  }

  app.get('/localities', async (request, reply) => {
    const user = requireRole(request, 'manager');
    const data = await placeComparison(db);
    const requested = (request.query as Record<string, string | undefined>).measure;
    const measure =
      data.measures.find((m) => m.id === requested) ?? data.measures.find((m) => m.id === 'access:first_contact_days') ?? data.measures[0]!;
    if (requested && requested !== measure.id) throw new HttpError(400, 'Choose a measure from the list.');
    const d = decimalsFor(measure.unit);
    const ours = await mine(user.organisationId);
    const chart = horizontalBarChart({
      id: 'localities-chart',
      title: `${measure.label} by locality, latest year`,
      description: `Bars show each locality's ${measure.label.toLowerCase()} (${measure.unit}) over the latest year; suppressed localities have no bar. The table below has the same numbers with 95% confidence intervals.`,
      data: data.localities.map((l) => ({ label: l.locality, value: l.measures[measure.id]?.value ?? null })),
      decimals: d,
      axisTitle: `${measure.label} (${measure.unit})`,
    });
    return reply.view(
      'place-localities.njk',
      viewContext(request, reply, {
        title: 'Localities compared',
        data,
        measure,
        chart,
        fmt,
        count,
        d,
        suppressionNote: SUPPRESSION_NOTE,
        residentsHint: RESIDENTS_HINT,
        comparisonWords,
        placeValue: data.place[measure.id] ?? null,
        ours: ours.map((o) => ({ ...o, locality: data.localities.find((l) => l.localityId === o.localityId)?.locality ?? o.localityId })),
        measureOptions: data.measures.map((m) => ({
          value: m.id,
          text: `${m.kind === 'access' ? 'Access' : 'New needs'}: ${m.label}`,
          selected: m.id === measure.id,
        })),
        formatPounds,
      }),
    );
  });

  app.get('/localities/:id', async (request, reply) => {
    const user = requireRole(request, 'manager');
    const id = (request.params as { id?: string }).id ?? '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(404, 'There is no such locality.');
    const data = await placeComparison(db);
    const locality = data.localities.find((l) => l.localityId === id);
    if (!locality) throw new HttpError(404, 'There is no such locality.');
    const role = (await mine(user.organisationId)).find((o) => o.localityId === id)?.role ?? null;
    const rows = data.measures.map((m) => {
      const f = locality.measures[m.id] ?? null;
      const p = data.place[m.id] ?? null;
      const dd = decimalsFor(m.unit);
      return {
        id: m.id,
        kind: m.kind,
        label: m.label,
        unit: m.unit,
        value: fmt(f?.value, dd),
        ci: f && f.value !== null && f.lower !== null ? `${fmt(f.lower, dd)} to ${fmt(f.upper, dd)}` : '',
        count: count(f?.count),
        place: fmt(p?.value, dd),
        compared: f?.comparedWithPlace ? comparisonWords[f.comparedWithPlace] : 'Not shown',
        flag:
          f?.comparedWithPlace === 'higher'
            ? m.higherIsWorse
              ? 'worse'
              : 'better'
            : f?.comparedWithPlace === 'lower'
              ? m.higherIsWorse
                ? 'better'
                : 'worse'
              : null,
      };
    });
    return reply.view(
      'place-locality.njk',
      viewContext(request, reply, {
        title: `${locality.locality} locality`,
        locality,
        role,
        rows,
        count,
        fmt,
        formatPounds,
        suppressionNote: SUPPRESSION_NOTE,
        residentsHint: RESIDENTS_HINT,
        worse: rows.filter((r) => r.flag === 'worse'),
      }),
    );
  });
}
