// A list a page at a time: addresses keep the filters, page numbers show gaps, and "Showing" counts
// the rows actually on the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageHref, pageItems, pagination, showing } from './pagination.ts';

test('a page address keeps non-empty filters and leaves out page 1', () => {
  const href = pageHref('/caseload', { q: 'smith', team: '' }, '#results');
  assert.equal(href(1), '/caseload?q=smith#results');
  assert.equal(href(3), '/caseload?q=smith&page=3#results');
  assert.equal(pageHref('/tokens', {})(1), '/tokens');
});

test('page numbers show the first, the last and the neighbours, with gaps between', () => {
  const items = pageItems(5, 12, (n) => `/p${n}`);
  assert.deepEqual(
    items.map((item) => (item.ellipsis ? '…' : item.number)),
    [1, '…', 4, 5, 6, '…', 12],
  );
  assert.equal(items.find((item) => item.current)?.number, 5);
  assert.deepEqual(
    pageItems(1, 2, String).map((item) => item.number),
    [1, 2],
  );
});

test('one page needs no pagination; the first and last pages have no way further', () => {
  assert.equal(pagination(1, 1, String), null);
  const first = pagination(1, 3, (n) => `/p${n}`)!;
  assert.equal(first.previous, undefined);
  assert.equal(first.next?.href, '/p2');
  assert.equal(first.items, undefined);
  const last = pagination(3, 3, (n) => `/p${n}`, { numbered: true, landmarkLabel: 'Caseload pages' })!;
  assert.equal(last.next, undefined);
  assert.equal(last.items?.length, 3);
  assert.equal(last.landmarkLabel, 'Caseload pages');
});

test('"Showing" counts from the first row on the page to the last one there', () => {
  assert.deepEqual(showing(1, 25, 0, 0), { from: 0, to: 0 });
  assert.deepEqual(showing(1, 25, 290, 25), { from: 1, to: 25 });
  assert.deepEqual(showing(12, 25, 290, 15), { from: 276, to: 290 });
});
