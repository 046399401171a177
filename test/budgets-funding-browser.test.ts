// Who pays in Chromium on a 375 px phone screen: the council's budget holder records a funding
// decision, the NHS budget holder disputes its share, the council changes the split; every page
// passes axe and fits the screen, and the history shows both versions and the dispute.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

const PHONE = { width: 375, height: 812 };

describe('who pays in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let citizenId = '';
  let councilPartner = '';
  let nhsPartner = '';
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    const holders = await db
      .selectFrom('budget_holders as h')
      .innerJoin('users as u', 'u.id', 'h.user_id')
      .select(['u.username', 'h.partner_id'])
      .execute();
    councilPartner = holders.find((h) => h.username === 'practitioner')!.partner_id;
    nhsPartner = holders.find((h) => h.username === 'nhsfunding')!.partner_id;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function phonePage(username: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: PHONE })).newPage();
    await signInAs(page, server.url, username, DEMO_PASSWORD);
    return page;
  }

  async function checkPage(page: Page, step: string): Promise<void> {
    assert.deepEqual(await seriousAccessibilityProblems(page), [], `${step}: axe`);
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= PHONE.width, `${step}: the page is ${width} px wide on a ${PHONE.width} px screen`);
  }

  test('a funding decision is recorded, disputed and changed, with its history kept', async () => {
    const council = await phonePage('practitioner');
    await council.goto(`${server.url}/people/${citizenId}`);
    await council.getByRole('link', { name: 'Who pays for care packages' }).click();
    await council.waitForLoadState('load');
    assert.equal((await council.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Who pays for care');
    await checkPage(council, 'the list');

    await council.getByLabel('Care package').fill('Day service three days a week');
    await council.getByLabel('Weekly cost').fill('300');
    await council.getByLabel('Starts on').fill('2026-07-01');
    await council.getByLabel('Ends on').fill('2026-09-23');
    await council.locator(`#share-${councilPartner}`).fill('80');
    await council.locator(`#share-${nhsPartner}`).fill('20');
    await council
      .getByLabel('Evidence')
      .fill('Care Act assessment: day service meets the need for company and carer breaks; NHS funds the nursing element.');
    await council.getByRole('button', { name: 'Record decision and commit the cost' }).click();
    await council.waitForLoadState('load');
    assert.ok(await council.getByText('Funding decision recorded and its cost committed').isVisible());
    assert.equal((await council.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Day service three days a week');
    // 12 weeks at £300 = £3,600: £2,880 and £720.
    assert.ok(await council.getByRole('cell', { name: '£2,880.00' }).first().isVisible());
    assert.ok(await council.getByRole('cell', { name: '£720.00' }).first().isVisible());
    await checkPage(council, 'the decision');
    const decisionUrl = council.url();

    const nhs = await phonePage('nhsfunding');
    await nhs.goto(decisionUrl);
    await nhs.getByLabel('Why your organisation disputes its share').fill('There is no nursing element: the day service has no nurses.');
    await nhs.getByRole('button', { name: 'Dispute this share' }).click();
    await nhs.waitForLoadState('load');
    assert.ok(await nhs.getByText('Dispute recorded').isVisible());
    await checkPage(nhs, 'after the dispute');

    await council.goto(decisionUrl);
    assert.ok(await council.getByRole('heading', { name: 'Resolve the dispute' }).isVisible());
    await council.getByLabel('Change the shares').check();
    await council.locator(`#share-${councilPartner}`).fill('100');
    await council.locator(`#share-${nhsPartner}`).fill('');
    await council.getByLabel('Why', { exact: true }).fill('Agreed at panel: no nursing in this service, so the council pays it all.');
    await checkPage(council, 'the resolution form');
    await council.getByRole('button', { name: 'Resolve dispute' }).click();
    await council.waitForLoadState('load');
    assert.ok(await council.getByText('Dispute resolved').isVisible());
    assert.ok(await council.getByRole('heading', { name: /Version 2: Changed on dispute/ }).isVisible());
    assert.ok(await council.getByRole('heading', { name: /Version 1: Funding decision/ }).isVisible());
    assert.ok(await council.getByText(/Resolved: shares changed \(version 2\)/).isVisible());
    assert.ok(await council.getByRole('cell', { name: /^Reversal: funding decision changed on dispute/ }).isVisible());
    await checkPage(council, 'the history');
    await council.context().close();
    await nhs.context().close();
  });

  test("the household budget page: the citizen sees each adult's agreement and withdraws their own", async () => {
    const page = await phonePage('citizen');
    await page.goto(`${server.url}/people/${citizenId}/household-budget`);
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Household budget');
    assert.ok(await page.getByText('Yes: every adult agrees').isVisible());
    await checkPage(page, 'the household budget');
    await page.getByLabel('No, withdraw agreement').check();
    await page.getByRole('button', { name: 'Record agreement' }).click();
    await page.waitForLoadState('load');
    assert.ok(await page.getByText('No: not every adult agrees').isVisible());
    await checkPage(page, 'after withdrawing');
    await page.context().close();
  });
});
