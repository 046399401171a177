// In Chromium with axe, on a 375 px screen: the data-quality officer's review jobs (issue 21).
// The queue names agencies; an item writes dates and comparisons in words; "Not the same person"
// without a reason comes back with an error summary and the reason can be added; the decision
// is confirmed and the decided item shows who decided what and when; the two people of another
// item are merged from a confirmation page naming both, and the merge is undone from the
// person's merge history. No dead end, no page wider than the screen, and no person page opens.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { lateRecordsInReview, type ReviewFixture } from './support/linkage.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe("the data-quality officer's review jobs on a phone (issue 21)", { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let agencyName: string;
  const items: ReviewFixture[] = [];
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    const db = server.database.db;
    agencyName = (await db.selectFrom('organisations').select('name').where('source_code', '=', 'HA01').executeTakeFirstOrThrow()).name;
    items.push(...(await lateRecordsInReview(db, 3, 'dqb-late')));
    // The third item's record is linked to a person who has another agency's record too.
    const third = items[2]!;
    const other = await db
      .insertInto('source_records')
      .values({ source: 'HOUS', source_id: `dqb-other-${third.reviewId}`, fields: third.fields })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('record_links')
      .values({ source_record_id: other.id, person_id: third.personId, method: 'test_fixture', match_probability: 1, superseded_at: null })
      .execute();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const fitsTheScreen = async (page: Page, where: string) => {
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 375, `${where}: the page is ${width} px wide on a 375 px screen`);
    assert.deepEqual(await seriousAccessibilityProblems(page), [], where);
  };
  const go = async (page: Page, click: () => Promise<void>) => {
    await Promise.all([page.waitForNavigation(), click()]);
  };
  const h1 = async (page: Page) => (await page.getByRole('heading', { level: 1 }).textContent())?.replace(/\s+/g, ' ').trim();
  const banner = (page: Page) => page.locator('.govuk-notification-banner--success');

  test('decide an item, see the decision, merge two people and undo it', async () => {
    const db = server.database.db;
    const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
    const page = await context.newPage();
    await signInAs(page, server.url, 'dataquality', DEMO_PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/linkage/review');
    assert.ok((await page.locator('table').first().textContent())?.includes(agencyName), 'the queue names the agency');
    await fitsTheScreen(page, 'the queue');

    // An item: dates and comparisons in words.
    const [first, , third] = items as [(typeof items)[0], (typeof items)[0], (typeof items)[0]];
    await go(page, () => page.getByRole('link', { name: `Review ${first.reviewId}`, exact: true }).click());
    assert.equal(await h1(page), 'Are these the same person?');
    const compare = page.locator('table.joinery-compare');
    assert.ok((await compare.textContent())?.includes(`1 January ${first.fields.birth_date.slice(0, 4)}`), 'the date of birth written out');
    assert.ok((await compare.textContent())?.includes(`Record held by ${agencyName}`));
    const weights = page.locator('table', { has: page.locator('caption', { hasText: 'Weight of each field' }) });
    assert.doesNotMatch((await weights.textContent()) ?? '', /\belse\b|damerau|jaro/);
    await fitsTheScreen(page, 'an item');

    // "Not the same person" without a reason: the form again with an error summary, not a dead end.
    await go(page, () => page.getByRole('button', { name: 'Not the same person' }).click());
    assert.match(await page.title(), /^Error: /);
    const summary = page.locator('.govuk-error-summary');
    assert.match((await summary.textContent()) ?? '', /Give a reason why these are not the same person/);
    await summary.getByRole('link').click();
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'reason', 'the error links to the reason');
    await fitsTheScreen(page, 'the item with its error');
    await page.getByLabel('Reason for your decision').fill('Different person in the same household');
    await go(page, () => page.getByRole('button', { name: 'Not the same person' }).click());
    assert.match((await banner(page).textContent()) ?? '', /Decision saved: not the same person/);
    await go(page, () =>
      banner(page)
        .getByRole('link', { name: `See review ${first.reviewId} and its decision` })
        .click(),
    );
    assert.equal(await h1(page), 'Decided: not the same person');
    const decidedText = (await page.locator('main').textContent()) ?? '';
    assert.ok(
      decidedText.includes('Dana Quinn') ||
        decidedText.includes(
          (await db.selectFrom('users').select('display_name').where('username', '=', 'dataquality').executeTakeFirstOrThrow())
            .display_name,
        ),
      'who decided',
    );
    assert.ok(decidedText.includes('Different person in the same household'), 'why');
    assert.match(decidedText, /\d{1,2} [A-Z][a-z]+ \d{4} at \d{1,2}:\d{2}(am|pm)/, 'when');
    await fitsTheScreen(page, 'the decided item');

    // Merge the two people of the third item, from a confirmation page naming both.
    const candidate = (
      await db.selectFrom('linkage_reviews').select('candidate_person_id').where('id', '=', third.reviewId).executeTakeFirstOrThrow()
    ).candidate_person_id;
    const nameOf = async (id: string) => {
      const p = await db.selectFrom('persons').select(['given_name', 'family_name']).where('id', '=', id).executeTakeFirstOrThrow();
      return `${p.given_name} ${p.family_name}`;
    };
    const [currentName, candidateName] = [await nameOf(third.personId), await nameOf(candidate)];
    await page.goto(`${server.url}/linkage/review/${third.reviewId}`);
    await go(page, () => page.getByRole('link', { name: 'Merge the two people' }).click());
    assert.equal(await h1(page), `Merge ${currentName} into ${candidateName}?`);
    assert.match((await page.getByTestId('merge-consequences').textContent()) ?? '', /will be linked to/);
    await fitsTheScreen(page, 'the merge confirmation');
    await go(page, () => page.getByRole('button', { name: 'Merge these people' }).click());
    assert.match((await page.locator('.govuk-error-summary').textContent()) ?? '', /Give a reason why these are one person/);
    await page.getByLabel('Why are they one person?').fill('Same tenancy reference on both housing files');
    await go(page, () => page.getByRole('button', { name: 'Merge these people' }).click());
    assert.match((await banner(page).textContent()) ?? '', new RegExp(`${currentName} is merged into ${candidateName}`));
    await fitsTheScreen(page, 'the merge');

    // Undo it from the person's merge history.
    await go(page, () => page.locator('.govuk-summary-list').getByRole('link', { name: 'merge history' }).first().click());
    assert.equal(await h1(page), candidateName);
    await fitsTheScreen(page, 'the merge history');
    await go(page, () => page.getByRole('link', { name: /^Undo/ }).first().click());
    assert.equal(await h1(page), `Undo the merge of ${currentName} into ${candidateName}?`);
    await page.getByLabel('Why undo it?').fill('The tenancy reference was copied in error');
    await fitsTheScreen(page, 'the un-merge confirmation');
    await go(page, () => page.getByRole('button', { name: 'Undo the merge' }).click());
    assert.match((await banner(page).textContent()) ?? '', /Merge \d+ undone/);
    await fitsTheScreen(page, 'the undone merge');

    // Still no door to a person's record.
    const refused = await page.goto(`${server.url}/people/${candidate}`);
    assert.equal(refused?.status(), 403);
    await context.close();
  });
});
