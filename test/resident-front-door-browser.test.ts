// Issue 20's front door, the whole journey in Chromium at 375 px with axe on every page: a resident
// not signed in finds a service on /services (searching by need), refers themselves giving an
// email address, asks for an account, follows the link from the email a real SMTP server received,
// signs in and sees their request "Sent"; the receiving practitioner acknowledges it and writes to
// them; the resident is emailed about the step, sees it "Acknowledged", reads the message and
// replies; the practitioner sees the reply. The account never shows a record (who they are is not
// confirmed), only the request and its conversation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { DEMO_PASSWORD, startTestServer, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { linkIn, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { createAccount } from '../src/auth/accounts.ts';

const EMAIL = 'ffion.resident@example.org';
const PASSWORD = 'harbour kettle lantern';

describe(
  "a resident's front door, from finding a service to talking with it (issue 20)",
  { skip: !browserAvailable() && 'Chromium not installed' },
  () => {
    let server: TestServer;
    let mailbox: TestSmtpServer;
    let browser: Browser;
    let service: { id: string; name: string; organisation_id: string; practitioner_id: string; need: string; need_name: string };

    before(async () => {
      mailbox = await startSmtpServer();
      server = await startTestServer({ people: 800, env: { SMTP_URL: mailbox.url } });
      browser = await launchBrowser();
      const db = server.database.db;
      // A service open to adults anywhere who ask themselves, and one of the needs it is listed under.
      service = (
        await sql<typeof service>`
      select s.id, s.name, s.organisation_id, p.id as practitioner_id, t.code as need, t.name as need_name
      from services s join practitioners p on p.team_id = s.team_id
      join directory_service_terms st on st.service_id = s.id join directory_taxonomy_terms t on t.id = st.term_id and t.parent_id is not null
      where s.accepts_self_referral and coalesce(s.min_age, 0) <= 18 and coalesce(s.max_age, 200) >= 90 and cardinality(s.locality_ids) = 0
      order by s.id, p.id, t.code limit 1`.execute(db)
      ).rows[0]!;
      assert.ok(service, 'a service open to self-referral for adults anywhere, listed under a need');
      await createAccount(db, {
        username: 'front-door-receiver',
        displayName: 'Gwen Practitioner',
        role: 'practitioner',
        password: DEMO_PASSWORD,
        practitionerId: service.practitioner_id,
        organisationId: service.organisation_id,
      });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      await mailbox?.close();
    });

    async function phone(): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
      return context.newPage();
    }
    /** axe finds nothing serious, and the page does not scroll sideways at 375 px. */
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
    const heading = async (page: Page) => (await page.getByRole('heading', { level: 1 }).textContent())?.replace(/\s+/g, ' ').trim();
    const text = async (page: Page) => (await page.locator('main').innerText()).replace(/\s+/g, ' ');
    const press = async (page: Page, role: 'link' | 'button', name: string | RegExp) => {
      await page.getByRole(role, { name }).first().click();
      await page.waitForLoadState('load');
    };

    test('find, refer yourself, create an account from the email, follow the request and talk with the service', async () => {
      // Not signed in: find the service by need.
      const resident = await phone();
      await resident.goto(`${server.url}/services`);
      assert.equal(await heading(resident), 'Find a service');
      await check(resident, 'the public directory');
      await resident.getByLabel('What do you need help with?').selectOption(service.need);
      await resident.getByLabel('Words to search for').fill(service.name);
      await resident.getByLabel('You can refer yourself').check();
      await press(resident, 'button', 'Search');
      assert.match(resident.url(), new RegExp(`need=${service.need}`));
      await check(resident, 'the search results');
      await press(resident, 'link', service.name);
      assert.equal(await heading(resident), service.name);
      await press(resident, 'button', 'Refer yourself');
      assert.equal(await heading(resident), `Ask ${service.name} for help`);

      // They refer themselves, giving an email address.
      await resident.getByLabel('First name').fill('Ffion');
      await resident.getByLabel('Last name').fill('Llewellyn-Hart');
      await resident.getByLabel('Day').fill('3');
      await resident.getByLabel('Month').fill('4');
      await resident.getByLabel('Year').fill('1968');
      await resident.getByLabel('Postcode').fill('rv9 9zz');
      await resident.getByRole('textbox', { name: /Email address/ }).fill(EMAIL);
      await resident.getByRole('radio', { name: 'Email' }).check();
      await resident.getByLabel(/What help do you need/).fill('Since my operation I cannot manage the stairs or the shopping.');
      await resident.getByRole('radio', { name: 'In the next few weeks' }).check();
      await resident.getByRole('radio', { name: 'Yes' }).check();
      await check(resident, 'the refer-yourself form, filled in');
      await press(resident, 'button', 'Send my request');
      assert.equal(await heading(resident), 'Your request has been sent');
      const reference = /SR-[A-Z0-9]{4}-[A-Z0-9]{4}/.exec(await text(resident))?.[0];
      assert.ok(reference, 'the confirmation gives a reference');
      assert.match(await text(resident), /Create an account to follow this request/);
      await check(resident, 'the confirmation');

      // They ask for an account; the link comes by email.
      await press(resident, 'button', 'Email me a link to create an account');
      assert.match(await text(resident), /We have emailed you a link to create your account/);
      await check(resident, 'the confirmation, link sent');
      const [invite] = await mailbox.waitFor(EMAIL);
      assert.equal(invite!.subject, `Create your Joinery account to follow your request ${reference}`);
      assert.ok(!invite!.text.includes('Llewellyn-Hart'), 'no personal details in the email');
      await resident.goto(linkIn(invite!, '/my-requests/create-account/'));
      assert.equal(await heading(resident), 'Create your account to follow your request');
      await check(resident, 'the create-account page');
      await resident.getByLabel('Choose a username').fill('ffion');
      await resident.getByLabel('Choose a password').fill(PASSWORD);
      await resident.getByLabel('Type the password again').fill('harbour kettle lanterns');
      await press(resident, 'button', 'Create my account');
      assert.match((await resident.locator('.govuk-error-summary').textContent()) ?? '', /do not match/);
      await check(resident, 'the create-account page with its error');
      assert.equal(await resident.getByLabel('Choose a username').inputValue(), 'ffion', 'what was typed is kept');
      await resident.getByLabel('Choose a password').fill(PASSWORD);
      await resident.getByLabel('Type the password again').fill(PASSWORD);
      await press(resident, 'button', 'Create my account');

      // They sign in and see their request, sent.
      assert.equal(new URL(resident.url()).pathname, '/sign-in');
      await resident.getByLabel('Username').fill('ffion');
      await resident.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await press(resident, 'button', 'Sign in');
      assert.equal(new URL(resident.url()).pathname, `/my-requests/${reference}`);
      assert.equal(
        await heading(resident),
        `${service.name}, ${(await server.database.db.selectFrom('organisations').select('name').where('id', '=', service.organisation_id).executeTakeFirstOrThrow()).name}`,
      );
      let mine = await text(resident);
      assert.match(mine, /Sent/);
      assert.match(mine, /No messages yet/);
      await check(resident, 'their request');
      // Their account shows no record until who they are is confirmed.
      await resident.goto(`${server.url}/my-record`);
      assert.equal(await heading(resident), 'We need to confirm who you are before you can see your record');
      await check(resident, 'the "confirm who you are" page');

      // The receiving practitioner acknowledges and writes to them.
      const practitioner = await phone();
      await signInAs(practitioner, server.url, 'front-door-receiver', DEMO_PASSWORD);
      await practitioner.goto(`${server.url}/referrals/inbox?status=open`);
      await press(practitioner, 'link', 'Ffion Llewellyn-Hart (as given)');
      await press(practitioner, 'button', 'Acknowledge');
      assert.match(await text(practitioner), /Referral acknowledged/);
      assert.match(await text(practitioner), /Messages with the person who asked/);
      await practitioner.getByLabel('Write to the person who asked').fill('Thank you. Could we visit you at home on Thursday morning?');
      await press(practitioner, 'button', 'Send message');
      assert.match(await text(practitioner), /Message sent/);
      await check(practitioner, 'the self-referral with its conversation');

      // The resident is emailed about the step and the message, sees the step and reads the message.
      const emails = await mailbox.waitFor(EMAIL, 3);
      assert.ok(
        emails.slice(1).every((e) => !e.text.includes('Thursday') && !e.text.includes('Llewellyn-Hart')),
        'notifications carry no details',
      );
      await resident.goto(`${server.url}/my-requests`);
      assert.match(await text(resident), new RegExp(`${reference}`));
      assert.match(await text(resident), /Acknowledged/);
      await check(resident, 'your requests');
      await press(resident, 'link', `See request ${reference} and its messages`);
      mine = await text(resident);
      assert.match(mine, /Acknowledged/);
      assert.match(mine, /Could we visit you at home on Thursday morning\?/);
      await resident.getByLabel(/Write to/).fill('Yes, Thursday suits me. Please ring the bell twice.');
      await press(resident, 'button', 'Send message');
      assert.match(await text(resident), /Message sent/);
      assert.match(await text(resident), /Please ring the bell twice/);
      await check(resident, 'their request with the conversation');

      // The practitioner sees the reply.
      await practitioner.reload();
      assert.match(await text(practitioner), /Please ring the bell twice/);
      await resident.context().close();
      await practitioner.context().close();
    });
  },
);
