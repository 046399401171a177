// The data quality reviewer works the linkage review queue in Chromium: opens the oldest item,
// sees both records and the waterfall of the explanation, decides "Same person", and the item
// leaves the queue with the record linked. axe-core checks both pages.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { sql } from 'kysely';
import { receiveSourceRecord } from '../src/linkage/index.ts';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('the linkage review queue', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    // A small place links cleanly in batch; agency records that arrive later with only an initial
    // and a rough birth date are what the index cannot settle alone, so they reach the queue.
    const people = await sql<{ given_name: string; family_name: string; birth_date: string; postcode: string; address_line: string }>`
      select p.given_name, p.family_name, p.birth_date::text as birth_date, h.postcode, h.address_line
      from persons p join households h on h.id = p.household_id order by p.id limit 60`.execute(server.database.db);
    let serial = 0;
    for (const person of people.rows) {
      const result = await receiveSourceRecord(server.database.db, 'TEST-CHARITY', `late-${serial++}`, {
        given_name: person.given_name.slice(0, 1),
        family_name: person.family_name,
        postcode: person.postcode,
        address: person.address_line,
        birth_date: `${person.birth_date.slice(0, 4)}-01-01`,
      });
      if (result.outcome === 'review') break;
    }
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the reviewer decides "Same person" and the record is linked', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'dataquality', DEMO_PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/linkage/review', 'the reviewer lands on the queue');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Records to review');
    const openBefore = Number((await page.getByTestId('open-count').textContent())?.replace(/,/g, ''));
    assert.ok(openBefore > 0, 'the demo place has items to review');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    const first = page.locator('table a.govuk-link').first();
    const linkText = (await first.textContent())?.trim() ?? '';
    const id = Number(/Review (\d+)/.exec(linkText)?.[1]);
    await first.click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Are these the same person?');
    const compare = page.locator('table.joinery-compare');
    assert.equal(await compare.locator('thead th').count(), 3, 'field plus the two records side by side');
    assert.equal(await compare.locator('tbody tr').count(), 9);
    const chart = page.getByRole('img', { name: 'Why these records do or do not match' });
    assert.equal(await chart.count(), 1, 'the waterfall chart is there');
    assert.ok((await chart.locator('rect').count()) >= 4, 'one bar per field plus prior and total');
    assert.ok((await page.content()).includes('Weight of each field'), 'a table of the same figures');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    const item = await server.database.db
      .selectFrom('linkage_reviews')
      .select(['source_record_id', 'candidate_person_id'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    await page.getByLabel('Reason for your decision').fill('Same NHS number; the date of birth has a typing error');
    await page.getByRole('button', { name: 'Same person', exact: true }).click();
    await page.waitForLoadState('load');
    assert.equal(new URL(page.url()).pathname, '/linkage/review');
    assert.ok((await page.content()).includes('Decision saved: same person'));
    const openAfter = Number((await page.getByTestId('open-count').textContent())?.replace(/,/g, ''));
    assert.ok(openAfter < openBefore, 'the queue is shorter');
    const waiting = page.locator('table', { has: page.locator('caption', { hasText: 'Waiting for review' }) });
    assert.equal(await waiting.getByRole('link', { name: `Review ${id}`, exact: true }).count(), 0, 'the item has left the queue');
    const decidedLately = page.locator('table', { has: page.locator('caption', { hasText: 'Decided lately' }) });
    assert.equal(await decidedLately.getByRole('link', { name: `Review ${id}`, exact: true }).count(), 1, 'and is listed as decided');

    const link = await server.database.db
      .selectFrom('record_links')
      .select(['person_id', 'method'])
      .where('source_record_id', '=', item.source_record_id)
      .where('superseded_at', 'is', null)
      .executeTakeFirstOrThrow();
    assert.deepEqual(link, { person_id: item.candidate_person_id, method: 'reviewer' });
    const audit = await server.database.db
      .selectFrom('audit_events')
      .select(['action', 'decision'])
      .where('actor_role', '=', 'data_quality')
      .where('purpose', '=', 'identity_review')
      .execute();
    assert.ok(
      audit.some((row) => row.action === 'read' && row.decision === 'allow'),
      'viewing the records is on the audit record',
    );
    assert.ok(
      audit.some((row) => row.action === 'write'),
      'the decision is on the audit record',
    );
    await closePage(page);
  });

  test('a practitioner cannot open the review queue', async () => {
    const page = await openPage(browser);
    await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
    const response = await page.goto(`${server.url}/linkage/review`);
    assert.equal(response?.status(), 403);
    await closePage(page);
  });
});
