// A Welsh-language journey in Chromium on a 375 px phone screen (issue 20): a resident chooses
// Cymraeg on the sign-in page, signs in, and goes from home to their record, who looked and their
// messages, reading Welsh headings and Welsh dates on pages marked lang="cy", with axe-core finding
// nothing serious and nothing wider than the screen; switching back to English works and is
// remembered.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, signIn, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems } from './support/browser.ts';

const PHONE = { width: 375, height: 812 };
const WELSH_DATE =
  /\b\d{1,2} (Ionawr|Chwefror|Mawrth|Ebrill|Mai|Mehefin|Gorffennaf|Awst|Medi|Hydref|Tachwedd|Rhagfyr|Ion|Chw|Maw|Ebr|Meh|Gor|Hyd|Tach|Rhag) \d{4}\b/;
const ENGLISH_DATE =
  /\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec) \d{4}\b/;

describe('a Welsh-language journey (issue 20)', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer({ people: 1500, seed: 4 });
    browser = await launchBrowser();
    // A practitioner looks at the resident's record first, so "who looked" has a line to read.
    const db = server.database.db;
    const citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow())
      .person_id!;
    const practitioner = await signIn(server.app, 'practitioner');
    const looked = await server.app.inject({ method: 'GET', url: `/people/${citizenId}`, headers: { cookie: practitioner } });
    assert.equal(looked.statusCode, 200);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const htmlLang = (page: Page) => page.evaluate<string>('document.documentElement.lang');
  const h1 = async (page: Page) => (await page.getByRole('heading', { level: 1 }).textContent())?.trim();
  const mainText = async (page: Page) => (await page.locator('main').textContent()) ?? '';

  /** What every step checks: the page says it is Welsh, axe finds nothing serious, nothing is wider than the phone. */
  async function checkPage(page: Page, step: string, lang = 'cy'): Promise<void> {
    assert.equal(await htmlLang(page), lang, `${step}: <html lang>`);
    assert.deepEqual(await seriousAccessibilityProblems(page), [], `${step}: axe`);
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= PHONE.width, `${step}: the page is ${width} px wide on a ${PHONE.width} px screen`);
  }

  /** Follows a link in the service navigation, opening the menu ("Dewislen") first as a phone shows it collapsed. */
  async function menu(page: Page, menuName: string, name: string): Promise<void> {
    const link = page.getByRole('navigation', { name: menuName }).getByRole('link', { name, exact: true });
    if (!(await link.isVisible())) await page.getByRole('button', { name: menuName }).click();
    await link.click();
  }

  test('a resident reads their home page, record, who looked and messages in Welsh, then goes back to English', async () => {
    const context = await browser.newContext({ viewport: PHONE, locale: 'en-GB' });
    const page = await context.newPage();

    await page.goto(`${server.url}/sign-in`);
    assert.equal(await htmlLang(page), 'en', 'an English browser gets English first');
    assert.equal(await h1(page), 'Sign in to Joinery');
    await page.getByRole('link', { name: 'Cymraeg' }).click();
    assert.equal(await h1(page), 'Mewngofnodi i Joinery');
    assert.equal(await page.title(), 'Mewngofnodi – Joinery');
    assert.ok(await page.getByRole('link', { name: 'English' }).isVisible(), 'the way back to English is on the page');
    await checkPage(page, 'sign-in');

    // Signing in in Welsh, wrong first: the error is Welsh too.
    await page.getByLabel('Enw defnyddiwr').fill('citizen');
    await page.getByRole('button', { name: 'Mewngofnodi' }).click();
    assert.ok(await page.getByRole('heading', { name: 'Mae problem wedi codi' }).isVisible());
    assert.match(await mainText(page), /Rhowch eich enw defnyddiwr a'ch cyfrinair/);
    await checkPage(page, 'sign-in with an error');
    await page.getByLabel('Cyfrinair', { exact: true }).fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Dangos cyfrinair' }).click();
    assert.equal(
      await page.getByLabel('Cyfrinair', { exact: true }).getAttribute('type'),
      'text',
      'the Welsh "Dangos" button shows the password',
    );
    await page.getByRole('button', { name: 'Mewngofnodi' }).click();
    await page.waitForURL(/\/home$/);

    // Home.
    assert.match((await h1(page)) ?? '', /^Helo, /);
    assert.ok(await page.getByRole('heading', { name: 'Eich manylion' }).isVisible());
    assert.ok(await page.getByRole('heading', { name: 'Pwy sydd wedi edrych ar eich cofnod' }).isVisible());
    assert.match(await mainText(page), WELSH_DATE, 'dates on the home page are Welsh');
    assert.doesNotMatch(await mainText(page), ENGLISH_DATE);
    await checkPage(page, 'home');

    // Their record, and who looked at it.
    await menu(page, 'Dewislen', 'Fy nghofnod');
    await page.waitForURL(/\/people\//);
    assert.ok(await page.getByText('Eich cofnod', { exact: true }).isVisible(), 'the caption says it is their record');
    assert.ok(await page.getByRole('heading', { name: 'Manylion', exact: true }).isVisible());
    assert.ok(await page.getByRole('heading', { name: 'Pwy sydd wedi edrych', exact: true }).isVisible());
    const looked = page.locator('li', { hasText: 'edrychodd ar eich cofnod' }).first();
    const line = (await looked.textContent()) ?? '';
    assert.match(line, /\(ymarferydd\) yn /, 'who looked, in Welsh');
    assert.match(line, WELSH_DATE, 'when, in Welsh');
    assert.match(line, /manylion sylfaenol/, 'what they saw, in Welsh');
    assert.match(await mainText(page), /Dyddiad geni/);
    assert.doesNotMatch(await mainText(page), ENGLISH_DATE);
    await checkPage(page, 'their record');

    // Messages, from the home page.
    await menu(page, 'Dewislen', 'Hafan');
    await page.getByRole('link', { name: 'Anfon neges at eich prif ymarferydd' }).click();
    await page.waitForURL(/\/my-record\/messages/);
    assert.equal(await h1(page), 'Negeseuon');
    await checkPage(page, 'messages');
    // Writing to the lead practitioner in Welsh: a mistake first, then sent.
    await page.getByRole('button', { name: 'Anfon neges' }).click();
    assert.ok(await page.getByRole('heading', { name: 'Mae problem wedi codi' }).isVisible());
    assert.match(await mainText(page), /Rhowch beth yw pwnc eich neges/);
    await checkPage(page, 'messages with an error');
    await page.getByLabel("Am beth mae'n sôn?").fill('Ymweliad dydd Iau');
    await page.getByLabel(/Eich neges at /).fill("Bore da. A allwch chi ddod ar ôl deg o'r gloch, os gwelwch yn dda?");
    await page.getByRole('button', { name: 'Anfon neges' }).click();
    await page.waitForURL(/\/my-record\/messages\/\d+/);
    assert.ok(await page.getByRole('heading', { name: "Mae eich neges wedi'i hanfon" }).isVisible(), 'the success banner, in Welsh');
    assert.equal(await h1(page), 'Ymweliad dydd Iau');
    assert.match(await mainText(page), /Yn aros ers llai nag awr/);
    assert.match(await mainText(page), WELSH_DATE, 'when it was sent, in Welsh');
    await checkPage(page, 'the conversation');

    // The choice outlives the page: a fresh visit is still Welsh.
    await page.goto(`${server.url}/home`);
    assert.match((await h1(page)) ?? '', /^Helo, /);

    // Back to English, and that is remembered too.
    await page.getByRole('link', { name: 'English' }).click();
    assert.match((await h1(page)) ?? '', /^Hello, /);
    await checkPage(page, 'home in English', 'en');
    assert.match(await mainText(page), ENGLISH_DATE);
    await page.goto(`${server.url}/my-record`);
    assert.equal(await htmlLang(page), 'en');
    assert.ok(await page.getByText('Your record', { exact: true }).isVisible());
    const cookies = await context.cookies();
    assert.equal(cookies.find((c) => c.name === 'joinery_lang')?.value, 'en');
    await context.close();
  });

  test('a browser that asks for Welsh gets Welsh before any choice', async () => {
    const context = await browser.newContext({ viewport: PHONE, locale: 'cy-GB' });
    const page = await context.newPage();
    await page.goto(`${server.url}/sign-in`);
    assert.equal(await h1(page), 'Mewngofnodi i Joinery');
    await checkPage(page, 'sign-in for a Welsh browser');
    await context.close();
  });
});
