// Amounts of money as people read them on a page: whole pounds with thousands separators, from
// the pence the modules keep (£12,345). Any module's pages may use it; it knows nothing of budgets.

const poundsFormat = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

/** Pence as whole pounds, e.g. 1234567 → "£12,346". */
export function formatPounds(pence: number): string {
  return `£${poundsFormat.format(pence / 100)}`;
}
