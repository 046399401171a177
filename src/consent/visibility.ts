// The one rule every read surface applies to an item once the access decision is made: an item
// of a category, recorded by an organisation, is shown when the decision for its category covers
// every agency's items, or only the reader's own organisation's and the item is theirs. Person
// pages, cost panels, timelines, exports and counts all use this, so none shows what another hides.
import type { CategoryDecision } from './policy.ts';
import type { Category } from './categories.ts';

export function visibleToReader(
  decisions: Partial<Record<Category, CategoryDecision>>,
  category: Category,
  organisationId: string | null,
  ownOrganisationId: string | null,
): boolean {
  const decision = decisions[category];
  if (!decision) return false;
  if (decision.scope === 'all') return true;
  return decision.scope === 'own_organisation' && organisationId !== null && organisationId === ownOrganisationId;
}
