// Builds the shared-record view a reader may see from everything held, applying the access
// decision per category: items from other agencies are withheld unless the decision allows
// them, and for sensitive categories even the fact that something is withheld is not shown.
// The person page and the household page show it (web, records); it lives with the categories
// and the decision it applies.
import {
  categoryLabels,
  categoryOfEvent,
  categoryOfNeed,
  categoryOfOrganisationKind,
  silentlyWithheld,
  type Category,
} from './categories.ts';
import type { CategoryDecision } from './policy.ts';
import { visibleToReader } from './visibility.ts';
import type { AgencyHolding } from '../linkage/index.ts';
import type { NeedItem, TimelineItem } from '../people/index.ts';

export interface RecordSection {
  category: Category;
  label: string;
  needs: NeedItem[];
  events: TimelineItem[];
  /** Items held by other agencies that this reader may not see (0 where even that is withheld). */
  withheld: number;
  reason: string;
}

export interface SharedRecordView {
  sections: RecordSection[];
  agencies: AgencyHolding[];
  /** Agencies not listed because being known to them is itself withheld information. */
  agenciesWithheld: number;
}

export function buildSharedRecord(
  decisions: Partial<Record<Category, CategoryDecision>>,
  ownOrganisationId: string | null,
  held: { needs: NeedItem[]; events: TimelineItem[]; agencies: AgencyHolding[] },
): SharedRecordView {
  const sections = new Map<Category, RecordSection>();
  const sectionFor = (category: Category): RecordSection => {
    let section = sections.get(category);
    if (!section) {
      section = {
        category,
        label: categoryLabels[category],
        needs: [],
        events: [],
        withheld: 0,
        reason: decisions[category]?.reason ?? '',
      };
      sections.set(category, section);
    }
    return section;
  };
  for (const need of held.needs) {
    const category = categoryOfNeed(need.code);
    if (visibleToReader(decisions, category, need.organisationId, ownOrganisationId)) sectionFor(category).needs.push(need);
    else if (!silentlyWithheld.has(category) && decisions[category]) sectionFor(category).withheld += 1;
  }
  for (const event of held.events) {
    const category = categoryOfEvent(event.type);
    if (visibleToReader(decisions, category, event.organisationId, ownOrganisationId)) sectionFor(category).events.push(event);
    else if (!silentlyWithheld.has(category) && decisions[category]) sectionFor(category).withheld += 1;
  }
  const agencies = held.agencies.filter((a) =>
    visibleToReader(decisions, categoryOfOrganisationKind(a.kind), a.organisationId, ownOrganisationId),
  );
  const order = Object.keys(categoryLabels) as Category[];
  return {
    sections: order.map((c) => sections.get(c)).filter((s): s is RecordSection => s !== undefined),
    agencies,
    agenciesWithheld: held.agencies.length - agencies.length,
  };
}
