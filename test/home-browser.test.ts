// Issue 21, findings 8 and 11, in Chromium with axe: a journey per role whose pages changed
// (practitioner, coordinator, administrator, manager), each step asserting what the person sees
// and passing axe (WCAG 2.2 AA, no serious or critical problems). Each role's home page is
// photographed at 1280 and 375 pixels wide (test-results/home-pages/), never wider than the
// screen; at 1280 the header navigation is one row (every item at the same height), at 375 it
// is behind the Menu button and its items stack when opened.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { createApiToken } from '../src/interop/tokens.ts';

const shots = path.join(import.meta.dirname, '..', 'test-results', 'home-pages');

async function h1(page: Page): Promise<string> {
  return ((await page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();
}

async function accessible(page: Page, where: string): Promise<void> {
  assert.deepEqual(await seriousAccessibilityProblems(page), [], `axe on ${where}`);
}

/** The home page at 1280 and 375 pixels: photographed, no sideways scrolling, the navigation on one row or behind Menu. */
async function checkHomeLayout(page: Page, role: string): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(new URL('/home', page.url()).toString());
    await page.screenshot({ path: path.join(shots, `${role}-${width}.png`), fullPage: true });
    const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(scrollWidth <= width, `${role} home at ${width}px is not wider than the screen (${scrollWidth}px)`);
    const items = page.locator('.govuk-service-navigation__item');
    const count = await items.count();
    assert.ok(count >= 3, `${role} has navigation`);
    if (width === 1280) {
      const tops = new Set<number>();
      for (let i = 0; i < count; i++) tops.add(Math.round((await items.nth(i).boundingBox())!.y));
      assert.equal(tops.size, 1, `${role}'s navigation is one row at 1280px (item tops ${[...tops].join(', ')})`);
      assert.equal(await page.getByRole('button', { name: 'Menu' }).isVisible(), false, 'no Menu button on a wide screen');
    } else {
      const menu = page.getByRole('button', { name: 'Menu' });
      assert.ok(await menu.isVisible(), `${role}: at 375px the navigation is behind a Menu button`);
      assert.equal(await items.first().isVisible(), false, 'the items are hidden until Menu is pressed');
      await menu.click();
      assert.equal(await menu.getAttribute('aria-expanded'), 'true');
      let previous = -1;
      for (let i = 0; i < count; i++) {
        const box = (await items.nth(i).boundingBox())!;
        assert.ok(box.y > previous, `${role}: the items stack at 375px`);
        assert.ok(box.x + box.width <= width, `${role}: item ${i} fits the screen`);
        previous = box.y;
      }
      assert.ok(Number(await page.evaluate('document.documentElement.scrollWidth')) <= width, `${role}: the open menu fits the screen`);
      await menu.click();
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe(
  'home pages, administration and manager pages in the browser (issue 21, findings 8 and 11)',
  { skip: !browserAvailable() && 'Chromium not installed' },
  () => {
    let server: TestServer;
    let browser: Browser;
    const db = () => server.database.db;
    before(async () => {
      server = await startTestServer();
      browser = await launchBrowser();
      // A plan of someone the coordinator works with is due for review.
      const coordinator = await db()
        .selectFrom('users')
        .select('practitioner_id')
        .where('username', '=', 'coordinator')
        .executeTakeFirstOrThrow();
      await sql`update plans set next_review_on = current_date - 3 where id = (
      select pl.id from plans pl where pl.status = 'active' and exists (select 1 from care_relationships r where r.person_id = pl.person_id and r.ended_at is null and r.practitioner_id = ${coordinator.practitioner_id})
      order by pl.id limit 1)`.execute(db());
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('a practitioner whose team receives referrals: inbox first, then their caseload, searched and paged', async () => {
      const page = await openPage(browser);
      await page.setViewportSize({ width: 1280, height: 900 });
      await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
      assert.equal(await h1(page), 'Your work');
      const headings = (await page.getByRole('heading', { level: 2 }).allTextContents()).map((t) => t.trim());
      assert.equal(headings[0], 'Referrals waiting for your team', `the inbox comes first: ${headings.join(' | ')}`);
      assert.ok(headings.includes('Your caseload'));
      const caseloadCount = (await page.locator('#caseload-count').textContent()) ?? '';
      const total = /of ([\d,]+) people/.exec(caseloadCount)?.[1];
      assert.match(caseloadCount, /^Showing 1 to 25 of [\d,]+ people with current needs/);
      await accessible(page, 'the practitioner home page');

      // Page 2 of the caseload.
      await page.getByRole('link', { name: /Next/ }).click();
      await page.waitForLoadState('load');
      assert.match((await page.locator('#caseload-count').textContent()) ?? '', new RegExp(`^Showing 26 to \\d+ of ${total} people`));

      // Search the caseload for someone on it.
      const someone = ((await page.locator('#caseload tbody a.govuk-link').first().textContent()) ?? '').trim();
      const family = someone.split(' ').at(-1)!;
      await page.getByLabel('Search your caseload by name').fill(family);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForLoadState('load');
      assert.match((await page.locator('#caseload-count').textContent()) ?? '', new RegExp(`matching “${family}”`));
      assert.ok(
        (await page.locator('#caseload tbody a.govuk-link').allTextContents()).some((n) => n.trim() === someone),
        `${someone} is found`,
      );
      assert.equal(await page.getByLabel('Search your caseload by name').inputValue(), family, 'the search box keeps what was typed');
      await accessible(page, 'the caseload search');

      // From the inbox panel to the team's inbox.
      await page.getByRole('link', { name: 'Clear the search' }).click();
      await page.waitForLoadState('load');
      await page
        .getByRole('button', { name: "Go to your team's inbox" })
        .or(page.getByRole('link', { name: "Go to your team's inbox" }))
        .click();
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).pathname, '/referrals/inbox');
      assert.equal(new URL(page.url()).searchParams.get('status'), 'waiting');
      await checkHomeLayout(page, 'practitioner');
      await closePage(page);
    });

    test('a coordinator sees plans due for review and opens one', async () => {
      const page = await openPage(browser);
      await page.setViewportSize({ width: 1280, height: 900 });
      await signInAs(page, server.url, 'coordinator', DEMO_PASSWORD);
      assert.equal(await h1(page), 'Your work');
      const reviews = page.locator('#reviews');
      assert.ok(await reviews.isVisible(), 'plans due for review are on the home page');
      assert.match((await reviews.textContent()) ?? '', /Overdue\s+by 3 days/);
      await accessible(page, 'the coordinator home page');
      const person = ((await reviews.locator('tbody a.govuk-link').first().textContent()) ?? '').replace(': review the plan', '').trim();
      await reviews.locator('tbody a.govuk-link').first().click();
      await page.waitForLoadState('load');
      assert.match(new URL(page.url()).pathname, /^\/people\/[^/]+\/plan$/);
      assert.ok((await page.content()).includes(person), `the plan of ${person} opens`);
      await checkHomeLayout(page, 'coordinator');
      await closePage(page);
    });

    test('an administrator creates an account, the person sets their password, and a token is revoked; feeds are visible', async () => {
      const page = await openPage(browser);
      await page.setViewportSize({ width: 1280, height: 900 });
      await signInAs(page, server.url, 'admin', DEMO_PASSWORD);
      assert.equal(await h1(page), 'System administration');
      await checkHomeLayout(page, 'admin');
      await page.getByRole('link', { name: 'Accounts', exact: true }).click();
      await page.waitForLoadState('load');
      assert.equal(await h1(page), 'Accounts');
      assert.match((await page.locator('#accounts-count').textContent()) ?? '', /^Showing 1 to \d+ of \d+ accounts/);
      await accessible(page, 'the accounts page');

      await page
        .getByRole('button', { name: 'Create an account' })
        .or(page.getByRole('link', { name: 'Create an account' }))
        .click();
      await page.waitForLoadState('load');
      assert.equal(await h1(page), 'Create an account');
      await page.getByLabel('First name').fill('Robin');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForLoadState('load');
      assert.match(await page.title(), /^Error: /);
      assert.ok(await page.locator('.govuk-error-summary').isVisible());
      assert.equal(await page.getByLabel('First name').inputValue(), 'Robin', 'what was typed is kept');
      await accessible(page, 'the new-account form with errors');
      await page.getByLabel('Last name').fill('Okafor');
      await page.getByLabel('Username').fill('robin.okafor');
      await page.getByLabel('Practitioner', { exact: true }).check();
      const team = await db()
        .selectFrom('teams')
        .innerJoin('organisations', 'organisations.id', 'teams.organisation_id')
        .select(['teams.id', 'teams.organisation_id'])
        .orderBy('teams.id')
        .executeTakeFirstOrThrow();
      await page.getByLabel('Organisation', { exact: true }).selectOption(team.organisation_id);
      await page.getByLabel('Team (practitioners)').selectOption(team.id);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForLoadState('load');
      assert.ok(await page.getByRole('heading', { name: 'Account created' }).isVisible());
      const link = ((await page.locator('#password-link').textContent()) ?? '').trim();
      assert.match(link, /\/set-password\/[A-Za-z0-9_-]{40,}$/);
      await accessible(page, 'the account-created page');

      // The new starter opens the link in their own browser and sets a password.
      const starter = await openPage(browser);
      await starter.setViewportSize({ width: 375, height: 800 });
      await starter.goto(link);
      assert.equal(await h1(starter), 'Set your password');
      await accessible(starter, 'the set-password page');
      await starter.getByLabel('New password').fill('a long pass phrase to remember');
      await starter.getByLabel('Type the password again').fill('a long pass phrase to remember');
      await starter.getByRole('button', { name: 'Set password' }).click();
      await starter.waitForLoadState('load');
      assert.ok(await starter.getByRole('heading', { name: 'Your password is set' }).isVisible());
      await signInAs(starter, server.url, 'robin.okafor', 'a long pass phrase to remember');
      assert.equal(await h1(starter), 'Your work');
      await closePage(starter);

      // A token is revoked.
      const token = await createApiToken(
        db(),
        (await db().selectFrom('users').select('id').where('username', '=', 'gp').executeTakeFirstOrThrow()).id,
        'surgery system',
      );
      await page.getByRole('link', { name: 'API tokens' }).click();
      await page.waitForLoadState('load');
      assert.equal(await h1(page), 'API tokens');
      await accessible(page, 'the API tokens page');
      await page.getByRole('button', { name: 'Revoke the token surgery system of gp' }).click();
      await page.waitForLoadState('load');
      assert.match((await page.locator('.govuk-notification-banner').textContent()) ?? '', /The token is revoked/);
      assert.notEqual(
        (await db().selectFrom('api_tokens').select('revoked_at').where('id', '=', token.id).executeTakeFirstOrThrow()).revoked_at,
        null,
      );

      await page.getByRole('link', { name: 'Feeds', exact: true }).click();
      await page.waitForLoadState('load');
      assert.equal(await h1(page), 'Feed health');
      assert.ok((await page.locator('table tbody tr').count()) > 5, 'a row for each feed');
      await accessible(page, 'the feed health page');
      await closePage(page);
    });

    test('a manager: residents explained, from an outcome to its services and on to one, waits in working days, round money', async () => {
      const page = await openPage(browser);
      await page.setViewportSize({ width: 1280, height: 900 });
      await signInAs(page, server.url, 'manager', DEMO_PASSWORD);
      assert.match((await page.locator('#residents-hint').textContent()) ?? '', /Residents are people living at an address/);
      await checkHomeLayout(page, 'manager');
      await page.getByRole('link', { name: 'Needs and inequalities' }).click();
      await page.waitForLoadState('load');
      assert.match((await page.locator('#residents-hint').textContent()) ?? '', /Residents are people living at an address/);
      assert.ok(await page.locator('svg[aria-labelledby^="demand-months"]').isVisible(), 'the demand chart is drawn');
      assert.equal(await page.locator('#demand-months-table tbody tr').count(), 12);
      assert.ok(await page.locator('#demand-table').getByText('Target wait (working days)').isVisible());
      await accessible(page, 'the needs assessment');

      const outcome = page.locator('#outcomes-table tbody a.govuk-link').first();
      const label = ((await outcome.textContent()) ?? '').replace(': services contributing', '').trim();
      await outcome.click();
      await page.waitForLoadState('load');
      assert.equal(await h1(page), label);
      assert.ok(await page.getByRole('heading', { name: 'Services contributing to this outcome' }).isVisible());
      await accessible(page, "an outcome's services");
      await page.locator('a[href^="/insight/services/"]').first().click();
      await page.waitForLoadState('load');
      assert.ok(await page.locator('svg[aria-labelledby^="service-months"]').isVisible());
      await accessible(page, "a service's demand");

      await page.getByRole('link', { name: 'Pathway flow' }).click();
      await page.waitForLoadState('load');
      assert.ok(await page.getByText(/All waits are in working days/).isVisible());
      await accessible(page, 'the pathway flow');
      await page.getByRole('link', { name: 'Pooled budgets' }).click();
      await page.waitForLoadState('load');
      const ticks = await page.locator('svg[aria-labelledby^="budget-vs-spend"] text.tick--y').allTextContents();
      assert.ok(ticks.length >= 3 && ticks.every((t) => /^£(0|\d+(\.\d+)?[km])$/.test(t)), `round amounts: ${ticks.join(', ')}`);
      await accessible(page, 'the pooled budgets');
      await closePage(page);
    });
  },
);
