// In Chromium at phone width (375 px), the everyday referral jobs end to end (issue 21): a
// practitioner refers from a directory service page, choosing the person among people they work
// with; a service the person is too old for says so instead of taking the referral; the receiving
// organisation sees who the referral is about although another of its teams runs the service,
// acknowledges, accepts and records the first contact with its day and how (a date in the future
// is refused, keeping what was typed), and completes it; another referral is declined without
// handing it on, and the referrer and the person see why. Each step asserts what the user sees,
// every page passes axe, and none scrolls sideways.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { ukDate } from '../src/referrals/working-days.ts';

describe('referral jobs at phone width', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
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

  async function phone(username: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
    const page = await context.newPage();
    await signInAs(page, server.url, username, DEMO_PASSWORD);
    return page;
  }

  /** Passes axe and fits a 375 px screen without scrolling sideways. */
  async function check(page: Page, what: string) {
    assert.deepEqual(await seriousAccessibilityProblems(page), [], `${what} passes axe`);
    const width = JSON.parse(
      String(
        await page.evaluate(
          'JSON.stringify({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
        ),
      ),
    ) as { scroll: number; client: number };
    assert.ok(width.scroll <= width.client, `${what} does not scroll sideways at 375 px (${width.scroll} > ${width.client})`);
  }

  const heading = async (page: Page) => (await page.getByRole('heading', { level: 1 }).textContent())?.trim();
  const banner = async (page: Page) => (await page.locator('.govuk-notification-banner--success').innerText()).replace(/\s+/g, ' ').trim();
  /** The service navigation: at phone width it is behind the Menu button. */
  const nav = async (page: Page, name: string) => {
    const menu = page.getByRole('button', { name: 'Menu' });
    if (await menu.isVisible()) await menu.click();
    await page.locator('.govuk-service-navigation').getByRole('link', { name, exact: true }).click();
    await page.waitForLoadState('load');
  };
  const click = async (page: Page, role: 'link' | 'button', name: string | RegExp) => {
    await page.getByRole(role, { name }).first().click();
    await page.waitForLoadState('load');
  };

  test('refer from the directory, receive, record first contact and complete; decline without handing on; everyone named and told', async () => {
    const db = server.database.db;
    const citizen = await db
      .selectFrom('users as u')
      .innerJoin('persons as p', 'p.id', 'u.person_id')
      .select(['p.id', 'p.given_name', 'p.family_name'])
      .where('u.username', '=', 'citizen')
      .executeTakeFirstOrThrow();
    const name = `${citizen.given_name} ${citizen.family_name}`;
    const housingOrg = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'housing').executeTakeFirstOrThrow())
      .organisation_id!;
    const primary = await db
      .selectFrom('services as s')
      .innerJoin('organisations as o', 'o.id', 's.organisation_id')
      .select(['s.id', 's.name', 's.min_age', 's.max_age'])
      .where('o.kind', '=', 'school')
      .where('s.name', '=', 'Attendance support')
      .where('s.max_age', '<=', 11)
      .orderBy('s.id')
      .executeTakeFirstOrThrow();

    // The referrer: from the directory, a service the person is too old for says so and offers no referral.
    const referrer = await phone('practitioner');
    await referrer.goto(`${server.url}/directory/services/${primary.id}`);
    await check(referrer, 'a directory service page');
    await click(referrer, 'link', 'Refer someone to this service');
    assert.equal(await heading(referrer), 'Who are you referring?');
    await check(referrer, 'choosing the person');
    await referrer.getByLabel('Name, date of birth, NHS number or postcode').fill(name);
    await click(referrer, 'button', 'Find the person');
    const tooOld = referrer.locator('.joinery-people-list li', { hasText: name });
    assert.match(
      (await tooOld.textContent()) ?? '',
      new RegExp(`Cannot be referred here: Attendance support is for people aged ${primary.min_age} to ${primary.max_age}`),
    );
    assert.equal(await tooOld.getByRole('link').count(), 0, 'no referral is offered to a service the person is too old for');
    await check(referrer, 'a person who does not fit the service');
    await click(referrer, 'link', 'Back to Attendance support');

    // Then a service that fits, found through the directory's search.
    await nav(referrer, 'Services');
    await referrer.getByLabel('Words to search for').fill('Tenancy sustainment');
    await click(referrer, 'button', 'Search');
    await click(referrer, 'link', 'Tenancy sustainment');
    assert.equal(await heading(referrer), 'Tenancy sustainment');
    await click(referrer, 'link', 'Refer someone to this service');
    await referrer.getByLabel('Name, date of birth, NHS number or postcode').fill(name);
    await click(referrer, 'button', 'Find the person');
    await click(referrer, 'link', `Refer ${name}`);
    assert.equal(await heading(referrer), 'Refer to a service');
    assert.equal((await referrer.locator('.govuk-caption-l').textContent())?.trim(), name, 'the form names the person');
    assert.match(
      (await referrer.locator('#service option:checked').textContent()) ?? '',
      /^Tenancy sustainment/,
      'the service chosen on the directory page is chosen',
    );
    assert.equal((await referrer.locator('#service optgroup').count()) > 3, true, 'services are grouped by organisation');
    await check(referrer, 'the referral form');
    // Nothing filled in: the error summary says what, and the service stays chosen.
    await click(referrer, 'button', 'Send referral');
    assert.ok(await referrer.getByText('There is a problem').isVisible());
    assert.match((await referrer.locator('#service option:checked').textContent()) ?? '', /^Tenancy sustainment/);
    await check(referrer, 'the referral form with an error');
    await referrer.getByLabel('Why are you referring?').fill('Rent arrears are building up and the tenancy is at risk.');
    await referrer.getByLabel('Soon', { exact: true }).check();
    await referrer.getByLabel('Yes, they agree').check();
    await referrer.getByLabel('Housing and homelessness').check();
    await click(referrer, 'button', 'Send referral');
    assert.match(await banner(referrer), /Referral sent to Tenancy sustainment .* must acknowledge it by/);
    assert.match(await banner(referrer), new RegExp(`You and ${name} will see every step`));
    const referralPath = new URL(referrer.url()).pathname;
    await check(referrer, 'the sent referral');
    await click(referrer, 'link', 'Referrals you sent');
    assert.ok(await referrer.locator(`a[href="${referralPath}"]`, { hasText: name }).first().isVisible(), 'the sent list names the person');
    await check(referrer, 'referrals you sent');

    // The receiving organisation: Tenancy sustainment is another housing team's service, yet the
    // housing officer sees who it is about and what was shared, and takes it through.
    const receiver = await phone('housing');
    await nav(receiver, 'Referrals');
    assert.equal(await heading(receiver), 'Referral inbox');
    await check(receiver, 'the inbox');
    await receiver.getByLabel('Status').selectOption('open');
    await click(receiver, 'button', 'Apply filters');
    assert.equal(await receiver.getByText(/Name withheld|Name not shown/).count(), 0, "no open referral's name is withheld");
    assert.ok(
      await receiver.locator(`a[href="${referralPath}"]`, { hasText: name }).first().isVisible(),
      'the new referral is named in the inbox',
    );
    await receiver.locator(`a[href="${referralPath}"]`).first().click();
    await receiver.waitForLoadState('load');
    assert.equal((await receiver.locator('.govuk-caption-l').textContent())?.trim(), name, 'the receiver sees who it is about');
    assert.ok(await receiver.getByText('Housing and homelessness').first().isVisible(), 'and what was shared');
    await click(receiver, 'button', 'Acknowledge');
    assert.match(await banner(receiver), /Referral acknowledged/);
    await check(receiver, 'an acknowledged referral');
    await click(receiver, 'button', 'Accept');
    assert.match(await banner(receiver), /Referral accepted/);
    await check(receiver, 'an accepted referral with the first contact form');
    // A date in the future is refused, and what was typed is kept.
    const later = ukDate(new Date(Date.now() + 3 * 86_400_000));
    await receiver.getByLabel('Day').fill(String(Number(later.slice(8, 10))));
    await receiver.getByLabel('Month').fill(String(Number(later.slice(5, 7))));
    await receiver.getByLabel('Year').fill(later.slice(0, 4));
    await receiver.getByLabel('Phone call').check();
    await click(receiver, 'button', 'Record first contact');
    assert.ok(await receiver.getByText('There is a problem').isVisible());
    assert.ok(
      await receiver.locator('.govuk-error-summary').getByText('The date of first contact must be today or in the past').isVisible(),
    );
    assert.equal(await receiver.getByLabel('Year').inputValue(), later.slice(0, 4), 'what was typed is kept');
    await check(receiver, 'the first contact form with an error');
    const today = ukDate(new Date());
    await receiver.getByLabel('Day').fill(String(Number(today.slice(8, 10))));
    await receiver.getByLabel('Month').fill(String(Number(today.slice(5, 7))));
    await receiver.getByLabel('Year').fill(today.slice(0, 4));
    await receiver.getByLabel('Phone call').check();
    await click(receiver, 'button', 'Record first contact');
    assert.match(await banner(receiver), /First contact recorded/);
    assert.ok(
      await receiver
        .locator('.joinery-timeline')
        .getByText(/Phone call on \d{1,2} \w+ \d{4}/)
        .isVisible(),
      'the history says when and how',
    );
    await receiver.getByLabel('Outcome, for the referrer and the person (optional)').fill('Arrears plan agreed with the landlord.');
    await click(receiver, 'button', 'Mark as completed');
    assert.match(await banner(receiver), /Referral completed/);
    await check(receiver, 'a completed referral');

    // Declining without handing on: the person said no. The reason is required.
    await receiver.goto(`${server.url}/referrals/ref-demo-citizen-1`);
    assert.equal((await receiver.locator('.govuk-caption-l').textContent())?.trim(), name);
    await receiver.locator('#decline-onward').selectOption('none');
    await click(receiver, 'button', 'Decline referral');
    assert.ok(await receiver.locator('.govuk-error-summary').getByText('Say why your service cannot help').isVisible());
    assert.equal(await receiver.locator('#decline-onward').inputValue(), 'none', 'the choice not to hand on is kept');
    await check(receiver, 'the decline form with an error');
    const reason = 'They told us they have found a new tenancy and do not want this support.';
    await receiver.getByLabel('Why your service cannot help').fill(reason);
    await click(receiver, 'button', 'Decline referral');
    assert.match(await banner(receiver), /Referral declined.*not handed on/i);
    assert.ok(await receiver.getByText('Not handed on to another service.', { exact: true }).isVisible());
    await check(receiver, 'a referral declined without handing on');

    // The referrer sees it declined, why, and that it went nowhere else: no silent drop.
    await referrer.goto(`${server.url}/referrals/sent`);
    assert.ok(
      await referrer
        .locator('tr', { has: referrer.locator('a[href="/referrals/ref-demo-citizen-1"]') })
        .getByText('Not handed on')
        .isVisible(),
    );
    await referrer.locator('a[href="/referrals/ref-demo-citizen-1"]').first().click();
    await referrer.waitForLoadState('load');
    assert.ok(await referrer.getByText(`Declined: ${reason}`).isVisible());
    assert.ok(await referrer.getByText(/Not handed on to another service\. If the person still needs help/).isVisible());
    await check(referrer, "the referrer's view of a declined referral");

    // The person sees both: the completed one step by step, and the declined one with its reason.
    const person = await phone('citizen');
    await nav(person, 'My referrals');
    const completed = person.locator('.govuk-summary-card', { hasText: 'Tenancy sustainment' });
    for (const step of ['Sent', 'Acknowledged', 'Accepted', 'First contact made', 'Completed'])
      assert.ok(await completed.getByText(step, { exact: true }).first().isVisible(), `the person sees "${step}"`);
    assert.ok(await completed.getByText(/Phone call on/).isVisible());
    const declined = person.locator('.govuk-summary-card', { hasText: 'Housing options and homelessness prevention' });
    assert.ok(await declined.getByText(reason, { exact: false }).first().isVisible(), 'the person sees why it was declined');
    assert.ok(await declined.getByText(/did not hand you on to another service/).isVisible());
    await check(person, 'my referrals');
    for (const page of [referrer, receiver, person]) await page.context().close();
    assert.ok(housingOrg);
  });
});
