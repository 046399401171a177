// Questions revealed by an answer (GOV.UK conditional reveal) on the assessment form. GOV.UK
// Frontend shows and hides them; it also marks each radio that reveals one with aria-expanded,
// which ARIA does not allow on a radio (axe reports it as critical, and the Design System lists
// it as a known issue). The revealed question follows its answer in reading order, so the
// attribute is taken off whenever Frontend sets it; nothing else on the page is touched.
/* global document, Element, MutationObserver */
const radios = '.govuk-radios__input[aria-expanded]';
const strip = (element) => element.removeAttribute('aria-expanded');
document.querySelectorAll(radios).forEach(strip);
new MutationObserver((changes) => {
  for (const change of changes) if (change.target instanceof Element && change.target.matches(radios)) strip(change.target);
}).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-expanded'] });
