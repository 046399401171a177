// The public directory as a resident meets it, without signing in: every filter of /services,
// a service's page with how to get in touch and its typical wait (only once enough referrals
// stand behind it), and nothing personal or internal in the HTML. Then the write side: an
// organisation keeps its own listing (edit, "checked, still right", the stale prompt), audited,
// and nobody else can: another organisation's practitioner, a resident, a commissioner, an
// administrator of no organisation, someone not signed in, or a form without its CSRF token.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { writtenDate } from '../src/platform/dates.ts';
import { addWorkingDays, isWorkingDay, middayUk, ukDate } from '../src/referrals/working-days.ts';

const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
/** The service names of a results page, in order. */
/** The stale-listings banner's HTML ('' when there is none). */
const staleBanner = (html: string) => /Listings to check[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '';
const namesOf = (html: string) =>
  [...html.matchAll(/<h3 class="govuk-summary-card__title"><a class="govuk-link" href="[^"]+">([^<]+)<\/a>/g)].map((m) =>
    m[1]!.replace(/&#39;/g, "'").replace(/&amp;/g, '&'),
  );

for (const target of await testDatabaseTargets()) {
  describe(`the public directory on ${target.kind}`, () => {
    let server: TestServer;
    const db = () => server.database.db;
    const page = async (url: string, cookie = '') => {
      const response = await server.app.inject({ method: 'GET', url, headers: { cookie } });
      return { status: response.statusCode, html: response.body, text: textOf(response.body), location: response.headers.location };
    };
    const serviceNamed = async (name: string) =>
      db().selectFrom('services').select(['id', 'organisation_id']).where('name', '=', name).orderBy('id').executeTakeFirstOrThrow();

    before(async () => {
      server = await startTestServer({ database: await target.open() });
    });
    after(async () => {
      await server?.close();
    });

    test('anyone reaches it without signing in: from the sign-in page and the header', async () => {
      const signInPage = await page('/sign-in');
      assert.match(signInPage.html, /<a class="govuk-link" href="\/services">Find a local service without signing in<\/a>/);
      assert.match(signInPage.html, /<a class="govuk-service-navigation__link" href="\/services"[^>]*>\s*Find a service\s*<\/a>/);
      const services = await page('/services');
      assert.equal(services.status, 200);
      assert.match(services.text, /Find a service/);
      assert.match(services.text, /You do not need to sign in/);
      assert.match(services.text, /\d+ services found/);
    });

    test('search by need, words, age, cost, opening and self-referral each narrow the list', async () => {
      assert.deepEqual(namesOf((await page('/services?need=domestic_abuse')).html).sort(), [
        'Independent domestic violence advisers',
        'Refuge',
      ]);
      const words = namesOf((await page('/services?q=counselling')).html);
      assert.ok(words.includes('Youth counselling'), 'words find a service by its description');
      assert.ok(
        words.every((n) => /counselling|Talking/i.test(n)),
        `only counselling services: ${words.join(', ')}`,
      );

      const child = namesOf((await page('/services?age=8&need=group_money')).html);
      assert.ok(child.includes('Young carers club'), 'an 8-year-old carer finds the young carers club');
      assert.ok(!child.includes('Carers assessment'), 'not the adult carers assessment');

      const paid = namesOf((await page('/services?cost=paid')).html);
      assert.ok(paid.includes('Day centre and outreach') && paid.includes('Temporary accommodation'), `paid: ${paid.join(', ')}`);
      assert.ok(!paid.includes('Befriending'));
      const free = namesOf((await page('/services?cost=free&need=homelessness')).html);
      assert.ok(!free.includes('Day centre and outreach') && free.includes('Housing advice'), `free: ${free.join(', ')}`);

      const saturday = namesOf((await page('/services?open=SA&need=substance_misuse')).html);
      assert.ok(saturday.includes('Recovery community'), 'open on Saturdays');
      assert.ok(!saturday.includes('Drug and alcohol treatment'), 'a weekday-only service is not open on Saturday');
      const evenings = namesOf((await page('/services?open=evenings&need=mental_health')).html);
      assert.ok(evenings.includes('Crisis café') && !evenings.includes('Community mental health team'), `evenings: ${evenings.join(', ')}`);
      const weekends = namesOf((await page('/services?open=weekends&need=financial_hardship')).html);
      assert.ok(
        weekends.includes('Emergency food parcels') && !weekends.includes('Welfare benefits and debt advice'),
        `weekends: ${weekends.join(', ')}`,
      );

      const self = await page('/services?self=yes&need=group_children');
      const selfNames = namesOf(self.html);
      assert.ok(selfNames.includes('Early help') && !selfNames.includes('Child protection'), `self-referral: ${selfNames.join(', ')}`);
      assert.equal(
        (self.html.match(/>\s*You can refer yourself\s*</g) ?? []).length,
        selfNames.length + 1,
        'every result says so (and the filter itself)',
      );
      assert.match(self.html, /id="self" name="self" type="checkbox" value="yes" checked/);
    });

    test('postcode and distance: nearest first, within the distance, kept in the page addresses', async () => {
      const postcode = (
        await db().selectFrom('organisations').select('postcode').where('kind', '=', 'council_housing').executeTakeFirstOrThrow()
      ).postcode;
      const near = await page(
        `/services?postcode=${encodeURIComponent(postcode.toLowerCase().replace(' ', ''))}&distance=1&need=homelessness`,
      );
      assert.equal(near.status, 200);
      assert.match(near.text, new RegExp(`Services covering ${postcode}, nearest first`));
      assert.match(near.html, new RegExp(`id="postcode"[^>]*value="${postcode}"`), 'the postcode is kept, tidied');
      const distances = [...near.text.matchAll(/Distance (less than 0\.1|[\d.]+) miles away/g)].map((m) =>
        m[1] === 'less than 0.1' ? 0 : Number(m[1]),
      );
      assert.ok(distances.length > 0 && distances.every((d) => d <= 1), `within a mile: ${distances.join(', ')}`);
      assert.deepEqual(
        distances,
        [...distances].sort((a, b) => a - b),
        'nearest first',
      );
      const all = await page('/services');
      assert.match(all.html, /href="\/services\?page=2"/, 'pages keep to /services');
      const paged = await page(`/services?postcode=${encodeURIComponent(postcode)}`);
      if (/page=2/.test(paged.html))
        assert.match(
          paged.html,
          new RegExp(`href="/services\\?postcode=${encodeURIComponent(postcode).replace('%20', '\\+')}&amp;page=2"`),
        );
    });

    test('a postcode not in the place gets an error summary, keeps what was typed, and lists nothing', async () => {
      const bad = await page('/services?postcode=ZZ99+9ZZ&need=mental_health&self=yes');
      assert.equal(bad.status, 200);
      assert.match(bad.html, /govuk-error-summary/);
      assert.match(bad.html, /<a href="#postcode">Enter a postcode in this place/);
      assert.match(bad.html, /id="postcode"[^>]*value="ZZ99 9ZZ"/);
      assert.match(bad.html, /<option value="mental_health" selected>/);
      assert.doesNotMatch(bad.text, /services found/);
      assert.match(bad.html, /<title>Error: Find a service/);
      const distanceOnly = await page('/services?distance=3');
      assert.match(distanceOnly.html, /<a href="#postcode">Enter a postcode to search by distance/);
      const unknownNeed = await page('/services?need=everything&cost=cheap&open=someday');
      assert.match(unknownNeed.text, /Choose a need from the list/);
      assert.match(unknownNeed.text, /Choose free or paid from the list/);
      assert.match(unknownNeed.text, /Choose when the service is open from the list/);
    });

    test('a service shows how to get in touch, when it was checked, and Refer yourself where it accepts self-referral', async () => {
      const refuge = await serviceNamed('Refuge');
      const { status, html, text } = await page(`/services/${refuge.id}`);
      assert.equal(status, 200);
      assert.match(text, /How to get in touch Contact Referrals and enquiries/);
      assert.match(text, /Phone: 01632 960\d{3}/);
      assert.match(text, /Opening times Every day, 24 hours/);
      assert.match(text, /Cost Free/);
      assert.match(text, /Typical wait/);
      assert.match(text, /Last checked by Safe Haven Domestic Abuse Service on \d{1,2} [A-Z][a-z]+ \d{4}\./);
      assert.match(
        html,
        new RegExp(`<a href="/services/${refuge.id}/refer-yourself" role="button"[^>]*class="govuk-button govuk-button--start"`),
      );
      const protection = await serviceNamed('Child protection');
      const other = await page(`/services/${protection.id}`);
      assert.doesNotMatch(other.html, /refer-yourself/);
      assert.match(other.text, /This service takes referrals from professionals/);
      assert.equal((await page('/services/no-such-service')).status, 404);
      assert.equal((await page('/services/%3Cscript%3E')).status, 404);
    });

    test('no personal data and nothing internal: no capacity, clocks, practitioners or people', async () => {
      const practitioners = await db().selectFrom('practitioners').select(['given_name', 'family_name', 'email']).execute();
      const people = await db().selectFrom('persons').select(['given_name', 'family_name']).limit(500).execute();
      const refuge = await serviceNamed('Refuge');
      for (const url of ['/services', '/services?page=2', '/services?self=yes', `/services/${refuge.id}`]) {
        const { html, text } = await page(url);
        assert.doesNotMatch(text, /Capacity|new referrals a month|Referral clocks|Acknowledged within/, `${url} shows no internal figures`);
        assert.doesNotMatch(html, /Refer someone to this service/);
        for (const p of practitioners) {
          assert.ok(!text.includes(`${p.given_name} ${p.family_name}`) && !html.includes(p.email), `${url} names no practitioner`);
        }
        for (const p of people) assert.ok(!text.includes(`${p.given_name} ${p.family_name}`), `${url} names no person`);
      }
      // A signed-in practitioner keeps the referral facts and the way to refer.
      const cookie = await signIn(server.app, 'practitioner');
      const staff = await page(`/directory/services/${refuge.id}`, cookie);
      assert.match(staff.text, /Referral clocks Acknowledged within/);
      assert.match(staff.text, /Capacity/);
      assert.match(staff.html, /Refer someone to this service/);
    });

    test('the typical wait is the median of the last six months, shown only once five referrals stand behind it', async () => {
      // A service with no first contacts in the last six months.
      const since = new Date();
      since.setUTCMonth(since.getUTCMonth() - 6);
      const quiet = await db()
        .selectFrom('services')
        .select(['id', 'organisation_id', 'team_id', 'name'])
        .where(
          'id',
          'not in',
          db().selectFrom('referrals').select('service_id').where('sent_at', '>=', since).where('first_contact_on', 'is not', null),
        )
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const template = await db().selectFrom('referrals').select('id').orderBy('id').executeTakeFirstOrThrow();
      const columns = (
        await sql<{ column_name: string }>`select column_name from information_schema.columns
        where table_name = 'referrals' and table_schema = current_schema()`.execute(db())
      ).rows.map((r) => r.column_name);
      let day = ukDate(new Date(Date.now() - 45 * 86_400_000));
      while (!isWorkingDay(day)) day = addWorkingDays(day, 1);
      const addReferral = async (sentOn: string, workingDays: number) => {
        const contactOn = addWorkingDays(sentOn, workingDays);
        const overrides: Record<string, unknown> = {
          id: randomUUID(),
          service_id: quiet.id,
          organisation_id: quiet.organisation_id,
          team_id: quiet.team_id,
          sent_at: middayUk(sentOn),
          first_contact_at: middayUk(contactOn),
          first_contact_on: contactOn,
          status: 'in_progress',
          onward_from_id: null,
          onward_referral_id: null,
          journey_id: null,
          step_code: null,
        };
        const values = columns.map((c) => (c in overrides ? sql`${overrides[c]}` : sql.ref(c)));
        await sql`insert into referrals (${sql.join(columns.map((c) => sql.ref(c)))})
          select ${sql.join(values)} from referrals where id = ${template.id}`.execute(db());
      };
      for (const days of [2, 3, 4, 10]) await addReferral(day, days);
      // One from long ago does not count, however slow.
      await addReferral(ukDate(new Date(Date.now() - 300 * 86_400_000)), 40);
      const four = await page(`/services/${quiet.id}`);
      assert.match(four.text, /Typical wait Not known yet Shown once at least 5 people have been contacted in 6 months/);
      await addReferral(day, 3);
      const five = await page(`/services/${quiet.id}`);
      assert.match(five.text, /Typical wait About 3 working days from asking to first contact/);
    });

    describe('an organisation keeps its own listing', () => {
      let practitioner: { cookie: string; organisationId: string };
      let own: { id: string; organisation_id: string };
      let otherCookie: string;

      before(async () => {
        const cookie = await signIn(server.app, 'practitioner');
        const user = await db()
          .selectFrom('users')
          .select('organisation_id')
          .where('username', '=', 'practitioner')
          .executeTakeFirstOrThrow();
        practitioner = { cookie, organisationId: user.organisation_id! };
        own = await db()
          .selectFrom('services')
          .select(['id', 'organisation_id'])
          .where('organisation_id', '=', practitioner.organisationId)
          .orderBy('id')
          .executeTakeFirstOrThrow();
        const other = await db()
          .selectFrom('practitioners')
          .select(['id', 'organisation_id'])
          .where('organisation_id', '<>', practitioner.organisationId)
          .orderBy('id')
          .executeTakeFirstOrThrow();
        await createAccount(db(), {
          username: 'elsewhere',
          displayName: 'Another Organisation',
          role: 'practitioner',
          password: DEMO_PASSWORD,
          practitionerId: other.id,
          organisationId: other.organisation_id,
        });
        otherCookie = await signIn(server.app, 'elsewhere');
      });

      const post = async (cookie: string, url: string, values: Record<string, string | string[]>, tokenPage = '/directory') => {
        const token = cookie ? await csrfTokenFor(server.app, cookie, tokenPage) : '';
        const body = new URLSearchParams();
        for (const [k, v] of Object.entries({ ...values, _csrf: token })) for (const one of [v].flat()) body.append(k, one);
        return server.app.inject({
          method: 'POST',
          url,
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: body.toString(),
        });
      };
      const goodForm = {
        description: 'Weekly advice sessions, and help on the phone.',
        phone: '01632 960 999',
        email: 'advice@example.org',
        url: 'https://www.example.org/advice',
        selfReferral: 'yes',
        cost: 'paid',
        costDescription: 'Sessions £2; free for anyone on benefits',
        days0: ['MO', 'WE'],
        opens0: '9:30',
        closes0: '13:00',
        notes0: 'Drop in',
        days1: ['SA'],
        opens1: '10:00',
        closes1: '12:00',
      };

      test('the stale prompt names the listings not checked for six months, and "Checked, still right" clears it', async () => {
        await db()
          .updateTable('services')
          .set({ last_checked_at: new Date(Date.now() - 250 * 86_400_000) })
          .where('id', '=', own.id)
          .execute();
        const before = await page('/directory', practitioner.cookie);
        assert.match(before.text, /Listings to check/);
        assert.match(before.text, /\d+ of your organisation’s services? (has|have) not been checked since/);
        assert.ok(staleBanner(before.html).includes(`href="/directory/services/${own.id}"`), 'the banner links to the stale listing');
        const publicBefore = await page(`/services/${own.id}`);
        assert.match(publicBefore.text, /This listing has not been checked for over 6 months/);

        const checked = await post(practitioner.cookie, `/directory/services/${own.id}/checked`, {}, `/directory/services/${own.id}`);
        assert.equal(checked.statusCode, 303);
        const shown = await page(String(checked.headers.location), practitioner.cookie);
        assert.match(shown.text, /the listing is marked as checked today/);
        const today = writtenDate(new Date());
        assert.match((await page(`/services/${own.id}`)).text, new RegExp(`Last checked by .+ on ${today}\\.`));
        assert.doesNotMatch((await page(`/services/${own.id}`)).text, /has not been checked for over 6 months/);
        assert.ok(
          !staleBanner((await page('/directory', practitioner.cookie)).html).includes(`/directory/services/${own.id}"`),
          'no longer in the banner',
        );
        const audit = await db()
          .selectFrom('audit_events')
          .select(['reason', 'actor_organisation_id', 'person_id'])
          .where('reason', 'like', `Confirmed the directory listing of %(${own.id})%`)
          .execute();
        assert.equal(audit.length, 1);
        assert.equal(audit[0]!.actor_organisation_id, practitioner.organisationId);
        assert.equal(audit[0]!.person_id, null);
      });

      test('its practitioner changes the listing; residents see the change at once', async () => {
        const form = await page(`/directory/services/${own.id}/edit`, practitioner.cookie);
        assert.equal(form.status, 200);
        assert.match(form.text, /Your organisation’s listing/);
        const saved = await post(practitioner.cookie, `/directory/services/${own.id}/edit`, goodForm, `/directory/services/${own.id}/edit`);
        assert.equal(saved.statusCode, 303, saved.body.slice(0, 300));
        const { text, html } = await page(`/services/${own.id}`);
        assert.match(text, /Weekly advice sessions, and help on the phone\./);
        assert.match(text, /Phone: 01632 960 999/);
        assert.match(text, /Email: advice@example\.org/);
        assert.match(text, /Monday and Wednesday, 9:30am to 1pm Drop in/);
        assert.match(text, /Saturday, 10am to midday/);
        assert.match(text, /Cost Charge: Sessions £2; free for anyone on benefits/);
        assert.match(html, /refer-yourself/);
        assert.ok(namesOf((await page('/services?cost=paid&self=yes&open=SA')).html).length >= 1);
        const audit = await db()
          .selectFrom('audit_events')
          .select('reason')
          .where('reason', 'like', `Updated the directory listing of %(${own.id})%`)
          .execute();
        assert.equal(audit.length, 1);
        assert.doesNotMatch(audit[0]!.reason, /01632|advice@/, 'the audit says what changed, not the values');

        // And back: no longer accepting self-referral, free again.
        await post(
          practitioner.cookie,
          `/directory/services/${own.id}/edit`,
          { ...goodForm, selfReferral: 'no', cost: 'free', costDescription: '' },
          `/directory/services/${own.id}/edit`,
        );
        assert.doesNotMatch((await page(`/services/${own.id}`)).html, /refer-yourself/);
        assert.match((await page(`/services/${own.id}`)).text, /Cost Free/);
      });

      test('an administrator of that organisation may keep its listings too', async () => {
        await createAccount(db(), {
          username: 'orgadmin',
          displayName: 'Organisation Admin',
          role: 'admin',
          password: DEMO_PASSWORD,
          organisationId: practitioner.organisationId,
        });
        const admin = await signIn(server.app, 'orgadmin');
        assert.match((await page(`/directory/services/${own.id}`, admin)).html, /Change the listing/);
        const checked = await post(admin, `/directory/services/${own.id}/checked`, {}, `/directory/services/${own.id}`);
        assert.equal(checked.statusCode, 303);
        const by = await db().selectFrom('services').select('last_checked_by').where('id', '=', own.id).executeTakeFirstOrThrow();
        assert.equal(by.last_checked_by, null, "an administrator is no practitioner: the check is theirs, not a practitioner's");
      });

      test('bad input gets an error summary, keeps what was typed, and changes nothing', async () => {
        const before = await db()
          .selectFrom('services')
          .select(['description', 'last_checked_at'])
          .where('id', '=', own.id)
          .executeTakeFirstOrThrow();
        const response = await post(
          practitioner.cookie,
          `/directory/services/${own.id}/edit`,
          {
            ...goodForm,
            description: '',
            email: 'not an email',
            url: 'javascript:alert(1)',
            cost: 'paid',
            costDescription: '',
            opens0: '25:00',
            closes1: '09:00',
          },
          `/directory/services/${own.id}/edit`,
        );
        assert.equal(response.statusCode, 400);
        const text = textOf(response.body);
        for (const message of [
          'Enter a description of the service',
          'Enter an email address in the correct format',
          'Enter a website address starting with https://',
          'Enter what the service costs',
          'Opening times 1: enter the opening time',
          'Opening times 2: the closing time must be after the opening time',
        ]) {
          assert.ok(text.includes(message), `says: ${message}`);
        }
        assert.match(response.body, /govuk-error-summary/);
        assert.match(response.body, /<a href="#description">/);
        assert.match(response.body, /value="not an email"/);
        assert.match(response.body, /value="25:00"/);
        const after = await db()
          .selectFrom('services')
          .select(['description', 'last_checked_at'])
          .where('id', '=', own.id)
          .executeTakeFirstOrThrow();
        assert.deepEqual(after, before);
      });

      test('nobody else can change it: another organisation, a resident, a commissioner, an administrator of no organisation, no sign-in, no CSRF token', async () => {
        const before = await db()
          .selectFrom('services')
          .select(['description', 'accepts_self_referral', 'last_checked_at'])
          .where('id', '=', own.id)
          .executeTakeFirstOrThrow();
        const phonesBefore = await db()
          .selectFrom('directory_phones')
          .innerJoin('directory_contacts as c', 'c.id', 'directory_phones.contact_id')
          .select('number')
          .where('c.service_id', '=', own.id)
          .execute();
        const citizen = await signIn(server.app, 'citizen');
        const manager = await signIn(server.app, 'manager');
        const admin = await signIn(server.app, 'admin');
        for (const [who, cookie] of [
          ['another organisation', otherCookie],
          ['a resident', citizen],
          ['a commissioner', manager],
          ['an administrator of no organisation', admin],
        ] as const) {
          const edit = await post(cookie, `/directory/services/${own.id}/edit`, { ...goodForm, description: 'Taken over' });
          assert.equal(edit.statusCode, 403, `${who} cannot edit`);
          const checked = await post(cookie, `/directory/services/${own.id}/checked`, {});
          assert.equal(checked.statusCode, 403, `${who} cannot mark it checked`);
          assert.equal((await page(`/directory/services/${own.id}/edit`, cookie)).status, 403, `${who} gets no edit form`);
          assert.doesNotMatch(
            (await page(`/directory/services/${own.id}`, cookie)).html,
            /Change the listing|Checked, still right/,
            `${who} is not offered it`,
          );
        }
        const anonymous = await server.app.inject({
          method: 'POST',
          url: `/directory/services/${own.id}/edit`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'description=Taken+over',
        });
        assert.ok([401, 403].includes(anonymous.statusCode), `not signed in: ${anonymous.statusCode}`);
        const noToken = await server.app.inject({
          method: 'POST',
          url: `/directory/services/${own.id}/edit`,
          headers: { cookie: practitioner.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ ...goodForm, description: 'Taken over' } as unknown as Record<string, string>).toString(),
        });
        assert.equal(noToken.statusCode, 403, 'a form without its CSRF token is refused');
        const after = await db()
          .selectFrom('services')
          .select(['description', 'accepts_self_referral', 'last_checked_at'])
          .where('id', '=', own.id)
          .executeTakeFirstOrThrow();
        assert.deepEqual(after, before);
        const phonesAfter = await db()
          .selectFrom('directory_phones')
          .innerJoin('directory_contacts as c', 'c.id', 'directory_phones.contact_id')
          .select('number')
          .where('c.service_id', '=', own.id)
          .execute();
        assert.deepEqual(phonesAfter, phonesBefore);
        // Its own practitioner is offered both.
        assert.match((await page(`/directory/services/${own.id}`, practitioner.cookie)).html, /Change the listing/);
      });
    });
  });
}
