// Progressive enhancement on every page: GOV.UK Frontend's components, and tables that scroll
// sideways inside their own box on a narrow screen instead of widening the page (joinery.css).
/* global document */
import { initAll } from '/govuk/govuk-frontend.min.js';
initAll();

for (const table of document.querySelectorAll('table.govuk-table')) {
  if (table.closest('.joinery-table-scroll') || table.classList.contains('joinery-table--stack')) continue;
  const box = document.createElement('div');
  box.className = 'joinery-table-scroll';
  // A labelled, focusable region, so a keyboard can scroll it and a screen reader names it.
  box.setAttribute('role', 'region');
  box.setAttribute('aria-label', table.querySelector('caption')?.textContent?.trim() || 'Table');
  box.tabIndex = 0;
  table.before(box);
  box.append(table);
}
