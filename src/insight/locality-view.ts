// The locality view for a locality's leaders, and the place view comparing localities: the
// population and its deprivation (the place module's figures), new needs by outcome and the access
// measures (time to first contact, referrals accepted) by locality over the latest year with 95%
// confidence intervals (this module's protected aggregates), and the pooled budget allocated to
// each locality with what is used and forecast (the budgets module's figures, through its front
// door). Aggregates only: every count comes already protected by its owner through
// platform/disclosure.ts; nothing here is about a person. It sits here, above place and budgets,
// so the place module stays geography every module may read.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { budgetOverview, fundsList } from '../budgets/index.ts';
import { localityLeadership, populationByLocality, type LocalityLeadership, type LocalityRow } from '../place/index.ts';
import { ensureInsight } from './refresh.ts';
import { inequality, measures, type GroupRow, type MeasureDef } from './queries.ts';

export type Comparison = 'higher' | 'lower' | 'similar' | null;

export interface MeasureFigure extends GroupRow {
  /** How the locality compares with the place: its 95% interval wholly above, wholly below, or overlapping the place's value. */
  comparedWithPlace: Comparison;
}

export interface LocalityBudget {
  fund: string;
  year: number;
  budgetPence: number;
  usedPence: number;
  forecastPence: number;
  variancePence: number;
}

export interface LocalityFigures extends LocalityLeadership {
  population: LocalityRow | null;
  measures: Record<string, MeasureFigure | null>;
  budgets: LocalityBudget[];
}

export interface PlaceComparison {
  measures: MeasureDef[];
  place: Record<string, GroupRow | null>;
  localities: LocalityFigures[];
}

/** Pure: where a locality's interval sits against the place's value. */
export function compareWithPlace(row: GroupRow | null, place: GroupRow | null): Comparison {
  if (!row || row.value === null || row.lower === null || row.upper === null || !place || place.value === null) return null;
  if (row.lower > place.value) return 'higher';
  if (row.upper < place.value) return 'lower';
  return 'similar';
}

/** Every locality's figures side by side (the place view); one locality is picked from it for its own view. */
export async function placeComparison(db: Kysely<Database>): Promise<PlaceComparison> {
  await ensureInsight(db);
  const [leadership, population, list, funds] = await Promise.all([
    localityLeadership(db),
    populationByLocality(db),
    measures(db),
    fundsList(db),
  ]);
  const views = await Promise.all(list.map((m) => inequality(db, m.id, 'locality')));
  const overviews = (await Promise.all(funds.map((f) => budgetOverview(db, f.id)))).filter((o) => o !== undefined);
  const place: Record<string, GroupRow | null> = {};
  list.forEach((m, i) => {
    place[m.id] = views[i]?.split.total ?? null;
  });
  const localities = leadership.map((l): LocalityFigures => {
    const figures: Record<string, MeasureFigure | null> = {};
    list.forEach((m, i) => {
      const row = views[i]?.split.rows.find((r) => r.label === l.locality) ?? null;
      figures[m.id] = row ? { ...row, comparedWithPlace: compareWithPlace(row, place[m.id] ?? null) } : null;
    });
    const budgets = overviews.flatMap((o) =>
      o.allocations
        .filter((a) => a.targetKind === 'locality' && a.targetId === l.localityId)
        .map((a) => ({
          fund: o.fund.name,
          year: o.year,
          budgetPence: a.budgetPence,
          usedPence: a.usedPence,
          forecastPence: a.forecastPence,
          variancePence: a.variancePence,
        })),
    );
    return { ...l, population: population.find((p) => p.locality === l.locality) ?? null, measures: figures, budgets };
  });
  return { measures: list, place, localities };
}
