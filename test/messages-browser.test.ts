// In Chromium at phone width (375 px), two-way contact end to end (issue 20): a resident records
// that they need a Polish interpreter, then writes to their care team about a topic; their lead
// practitioner sees it waiting on their home page and in their inbox with its age and the
// resident's communication needs, opens it and replies; the resident sees the reply, who wrote it
// and their role, and answers. Every page passes axe and none scrolls sideways.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { sql } from 'kysely';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';

describe('two-way contact at phone width', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer({ people: 2000, seed: 11 });
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
  const click = async (page: Page, role: 'link' | 'button', name: string | RegExp) => {
    await page.getByRole(role, { name }).first().click();
    await page.waitForLoadState('load');
  };

  test("a resident writes, the lead sees it waiting with its age and the resident's needs, replies, and the resident reads it and answers", async () => {
    const db = server.database.db;
    const lead = await db
      .selectFrom('users as u')
      .innerJoin('practitioners as p', 'p.id', 'u.practitioner_id')
      .select(['p.given_name', 'p.family_name', 'p.role'])
      .where('u.username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    const leadName = `${lead.given_name} ${lead.family_name}`;
    const citizen = await db
      .selectFrom('users as u')
      .innerJoin('persons as p', 'p.id', 'u.person_id')
      .select(['p.given_name', 'p.family_name'])
      .where('u.username', '=', 'citizen')
      .executeTakeFirstOrThrow();
    const citizenName = `${citizen.given_name} ${citizen.family_name}`;

    // The resident: communication needs first, from their record.
    const resident = await phone('citizen');
    await resident.goto(`${server.url}/my-record`);
    await click(resident, 'link', 'Record communication needs');
    assert.equal(await heading(resident), 'Communication needs');
    await check(resident, 'the communication needs form');
    // An interpreter without a language: the error summary says so, and what was ticked stays ticked.
    await resident.getByLabel('An interpreter in the preferred language').check();
    await click(resident, 'button', 'Save communication needs');
    assert.ok(await resident.getByText('There is a problem').isVisible());
    assert.ok(await resident.getByLabel('An interpreter in the preferred language').isChecked());
    await check(resident, 'the communication needs form with an error');
    await resident.getByLabel('Preferred language', { exact: true }).selectOption('Polish');
    await resident.getByLabel('Text message').check();
    await resident.getByLabel('Best times to contact').fill('Weekday mornings');
    await click(resident, 'button', 'Save communication needs');
    assert.match(await banner(resident), /Communication needs saved/);
    assert.match(await resident.locator('#communication-needs').innerText(), /Needs an interpreter: Polish/);

    // Then a message about one topic.
    await resident.goto(`${server.url}/home`);
    await resident.locator('main a[href="/my-record/messages"]').first().click();
    await resident.waitForLoadState('load');
    assert.equal(await heading(resident), 'Messages');
    await check(resident, "the resident's messages");
    await click(resident, 'button', 'Send message');
    assert.ok(await resident.getByText('There is a problem').isVisible(), 'nothing typed: the error summary says what');
    await check(resident, 'the new message form with errors');
    await resident.getByLabel('What is it about?').fill("Moving Thursday's visit");
    await resident.getByLabel(/Your message to/).fill("Could we move Thursday's visit to Friday morning?\nI have a hospital appointment.");
    await click(resident, 'button', 'Send message');
    assert.match(await banner(resident), /Your message has been sent/);
    assert.equal(await heading(resident), "Moving Thursday's visit");
    await check(resident, 'the conversation just started');
    // It has waited two days when the lead practitioner gets to it.
    await db
      .updateTable('message_threads')
      .set({ waiting_since: sql<Date>`now() - interval '2 days 3 hours'` })
      .where('topic', '=', "Moving Thursday's visit")
      .execute();

    // The lead practitioner: the home page counts what waits and leads to the inbox.
    const practitioner = await phone('practitioner');
    assert.match(await practitioner.locator('#messages').innerText(), /1\s*message waiting for an answer/);
    await check(practitioner, 'the practitioner home page');
    await click(practitioner, 'link', 'Read and answer messages, oldest first');
    assert.equal(await heading(practitioner), 'Messages waiting for an answer');
    const row = practitioner.locator('tr', { hasText: "Moving Thursday's visit" });
    assert.match(await row.innerText(), /Waiting 2 days/);
    assert.match(await row.innerText(), /Needs an interpreter: Polish/);
    assert.ok((await row.innerText()).includes(citizenName));
    await check(practitioner, 'the practitioner inbox');
    await click(practitioner, 'link', /Moving Thursday's visit/);
    assert.equal(await heading(practitioner), "Moving Thursday's visit");
    assert.match(await practitioner.locator('#communication-needs').innerText(), /Needs an interpreter: Polish/);
    assert.match(await practitioner.locator('.joinery-message').first().innerText(), /hospital appointment/);
    await check(practitioner, 'the conversation, for the practitioner');
    await practitioner.getByLabel('Reply', { exact: true }).fill('Friday at 10 is fine. I will book a Polish interpreter.');
    await click(practitioner, 'button', 'Send reply');
    assert.match(await banner(practitioner), /Your reply has been sent/);
    await check(practitioner, 'the conversation after replying');
    await practitioner.goto(`${server.url}/messages`);
    assert.equal(await practitioner.locator('tr', { hasText: "Moving Thursday's visit" }).count(), 0, 'answered: no longer waiting');
    // The person page shows the needs to the practitioner, and links to the messages.
    await practitioner.goto(`${server.url}/home`);
    await practitioner.goto(
      `${server.url}/people/${(await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id}`,
    );
    assert.match(await practitioner.locator('#communication-needs').innerText(), /Needs an interpreter: Polish/);
    await check(practitioner, 'the person page with communication needs');

    // The resident reads the reply, who wrote it and in what role, and answers.
    await resident.goto(`${server.url}/my-record/messages`);
    const conversation = resident.locator('li', { hasText: "Moving Thursday's visit" });
    assert.match(await conversation.innerText(), /New reply/);
    await click(resident, 'link', "Moving Thursday's visit");
    const reply = resident.locator('.joinery-message--team');
    assert.match(await reply.innerText(), /Friday at 10 is fine/);
    assert.ok((await reply.innerText()).includes(leadName), 'the reply names who wrote it');
    assert.ok((await reply.innerText()).toLowerCase().includes(lead.role.replace(/_/g, ' ')), 'and their role');
    await check(resident, 'the conversation with a reply');
    await resident.getByLabel('Reply', { exact: true }).fill('Thank you, Friday at 10 then.');
    await click(resident, 'button', 'Send reply');
    assert.match(await banner(resident), /Your message has been sent/);
    assert.equal(await resident.locator('.joinery-message').count(), 3, 'three messages, in order');
    assert.match(await resident.locator('.joinery-message').last().innerText(), /Thank you, Friday at 10 then\./);
    await check(resident, 'the conversation after answering');
  });
});
