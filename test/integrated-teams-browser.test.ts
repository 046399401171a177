// In Chromium with axe, on a 375 px screen: a member of the integrated Multiple Disadvantage Team
// from the mental health trust opens the team from the navigation, sees who is in it and the
// shared worklist, picks up a plan action on duty cover, is told so, and opens the person's plan
// through the team. The manager's members page too. No serious or critical accessibility
// problems, and no page wider than the screen.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('a team member picks up an action on duty cover', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const phone = async () => (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
  const fitsTheScreen = async (page: Page, where: string) => {
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 375, `${where}: the page is ${width} px wide on a 375 px screen`);
    assert.deepEqual(await seriousAccessibilityProblems(page), [], where);
  };

  test('from the navigation to the team, pick up the first action, then open the plan', async () => {
    const page = await phone();
    await signInAs(page, server.url, 'teammember', DEMO_PASSWORD);
    await page.goto(`${server.url}/teams`);
    await fitsTheScreen(page, 'your teams');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Multiple Disadvantage Team' }).click()]);
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Multiple Disadvantage Team');
    await fitsTheScreen(page, 'the team page');
    const pickUp = page.getByRole('button', { name: /^Pick up: / }).first();
    const label = (await pickUp.getAttribute('aria-label')) ?? '';
    const planHref = await page.locator('li', { has: pickUp }).getByRole('link').first().getAttribute('href');
    assert.ok(planHref, "the action links to the person's plan");
    await Promise.all([page.waitForNavigation(), pickUp.click()]);
    assert.ok(
      (await page.locator('.govuk-notification-banner--success').textContent())?.includes('Action picked up'),
      'the page says what happened',
    );
    assert.equal(await page.getByRole('button', { name: label, exact: true }).count(), 0, 'the action left the shared worklist');
    await fitsTheScreen(page, 'the team page after picking up');
    // The person's plan opens through the team.
    await page.goto(`${server.url}${planHref}`);
    assert.match(page.url(), /\/people\/[^/]+\/plan/);
    assert.ok((await page.getByText('History of this plan').count()) > 0, 'the plan is shown');
    assert.ok(
      (await page.getByText(/picked up by .+ on duty cover for the team/i).count()) > 0,
      'its history says who picked the action up',
    );
    await fitsTheScreen(page, 'the plan, opened through the team');
  });

  test("the manager's members page", async () => {
    const page = await phone();
    await signInAs(page, server.url, 'coordinator', DEMO_PASSWORD);
    await page.goto(`${server.url}/teams/team-md-integrated/members`);
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Team members');
    await fitsTheScreen(page, 'the members page');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Add member' }).click()]);
    assert.ok((await page.locator('.govuk-error-summary').textContent())?.includes('Choose a practitioner'), 'a refused form says why');
    await fitsTheScreen(page, 'the members page with an error');
  });
});
