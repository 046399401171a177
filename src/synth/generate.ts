// The synthetic place generator: a fixed frame (geography and organisations) and a stream of
// households with their people, relationships, agency records, needs and events.
// Deterministic: the same seed and size always give the same place.

import { buildSourceRecords } from './agency-records.ts';
import { GenContext } from './context.ts';
import { buildHousehold } from './household.ts';
import { buildActivity } from './needs-events.ts';
import { streamFor } from './random.ts';
import type { GenerateOptions, HouseholdBundle, Need, PlaceEvent, PlaceFrame } from './types.ts';

export { createPlaceFrame } from './frame.ts';

/**
 * Households until the target number of people is reached, area by area: each small area gets
 * households until the running total reaches its share of the target. Each household draws from
 * its own random stream (seed, household number).
 */
export function* generateHouseholds(frame: PlaceFrame, opts: GenerateOptions): Generator<HouseholdBundle> {
  const ctx = new GenContext(frame, opts);
  let cumulativeTarget = 0;
  for (let areaIndex = 0; areaIndex < frame.smallAreas.length; areaIndex++) {
    cumulativeTarget += frame.smallAreas[areaIndex].targetPopulation;
    const areaTarget = Math.min(cumulativeTarget, opts.people);
    while (ctx.personCount < areaTarget) {
      const rng = streamFor(opts.seed, ctx.householdCount + 1);
      const draft = buildHousehold(ctx, rng, areaIndex);
      const activities = buildActivity(ctx, draft, rng);
      const sourceRecords = buildSourceRecords(ctx, draft, rng, activities);
      const needs: Need[] = [];
      const events: PlaceEvent[] = [];
      for (const a of activities) {
        for (const n of a.recordedNeeds) needs.push(n);
        for (const e of a.events) events.push(e);
      }
      yield {
        household: draft.household,
        people: draft.residents.map((r) => r.person),
        relationships: draft.relationships,
        sourceRecords,
        needs,
        events,
      };
    }
  }
}
