// The notification choices, emergency access, target and directory listing forms given what no browser of theirs
// sends (issue 23): empty bodies, a field sent twice, 10,000-character values and broken percent
// escapes. Each is answered with a 400 page whose GOV.UK error summary links the field's message
// to the field, never a 500, with what was typed shown again, and nothing is kept.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';

const LONG = 'a'.repeat(10_000);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const htmlOf = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Asserts a 400 page whose error summary links each message to its field. */
function assertRefused(response: { statusCode: number; body: string }, problems: Record<string, string>, what: string) {
  assert.equal(response.statusCode, 400, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
  const summary = /<div class="govuk-error-summary"[\s\S]*?<\/ul>/.exec(response.body)?.[0] ?? '';
  assert.ok(summary, `${what}: an error summary`);
  for (const [href, message] of Object.entries(problems))
    assert.match(summary, new RegExp(`href="#${href}"[^>]*>\\s*${escapeRegExp(htmlOf(message))}\\s*</a>`), `${what}: ${href}`);
}

for (const target of await testDatabaseTargets()) {
  describe(`page forms given bad input on ${target.kind}`, () => {
    let server: TestServer;
    const db = () => server.database.db;
    const sessions: Record<string, string> = {};

    before(async () => {
      server = await startTestServer({ people: 300, seed: 23, database: await target.open() });
      for (const username of ['citizen', 'practitioner', 'manager']) sessions[username] = await signIn(server.app, username);
    });
    after(async () => {
      await server?.close();
    });

    /** Posts a raw urlencoded body (so fields can repeat and escapes can break) as `username`, with a good CSRF token. */
    async function post(username: string, url: string, raw: string) {
      const cookie = sessions[username]!;
      const token = await csrfTokenFor(server.app, cookie, '/account');
      return server.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `${raw}${raw ? '&' : ''}_csrf=${encodeURIComponent(token)}`,
      });
    }

    test('"Notifications": missing, repeated, huge or garbled choices get their messages and nothing is saved', async () => {
      const citizen = (await db().selectFrom('users').select('id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).id;
      await db().updateTable('users').set({ email: 'citizen@example.org' }).where('id', '=', citizen).execute();
      const how = { channels: 'Choose how we should tell you, or choose not to be told' };
      const often = { frequency: 'Choose how often we should tell you' };
      assertRefused(await post('citizen', '/account/notifications', ''), { ...how, ...often }, 'empty');
      assertRefused(
        await post('citizen', '/account/notifications', 'channels=email&frequency=daily&frequency=immediate'),
        often,
        'frequency twice',
      );
      assertRefused(
        await post('citizen', '/account/notifications', 'channels=none&channels=email&frequency=daily'),
        { channels: 'Choose email or text message, or choose not to be told, not both' },
        'none and email',
      );
      assertRefused(await post('citizen', '/account/notifications', `channels=${LONG}&frequency=${LONG}`), { ...how, ...often }, 'huge');
      assertRefused(
        await post('citizen', '/account/notifications', 'channels=%FF%FE%&frequency=%C3%28'),
        { ...how, ...often },
        'broken escapes',
      );
      const kept = await db().selectFrom('notification_preferences').select('user_id').where('user_id', '=', citizen).execute();
      assert.equal(kept.length, 0, 'no choice was saved');
    });

    test('emergency access: a reason missing, sent twice, huge or garbled is refused with its message and shown again', async () => {
      const person = (await sql<{ id: string }>`select id from persons where merged_into is null order by id limit 1`.execute(db()))
        .rows[0]!;
      const url = `/people/${person.id}/break-glass`;
      const message = { reason: 'Say why you need emergency access, in 10 to 500 characters' };
      assertRefused(await post('practitioner', url, ''), message, 'empty');
      // Sent twice, the two once made one reason ("aaaaaa,bbbbbb") long enough to open the record.
      assertRefused(await post('practitioner', url, 'reason=aaaaaa&reason=bbbbbb'), message, 'twice');
      const huge = await post('practitioner', url, `reason=${LONG}`);
      assertRefused(huge, message, '10,000 characters');
      assert.ok(huge.body.includes(LONG), 'what was typed is shown again');
      const short = await post('practitioner', url, 'reason=%FF%FE%');
      assertRefused(short, message, 'broken escapes');
      assert.match(short.body, /<textarea[^>]*id="reason"[^>]*>%FF%FE%<\/textarea>/, 'what was typed is shown again');
      const opened = await sql<{ n: number }>`select count(*)::int as n from break_glass_grants where person_id = ${person.id}`.execute(
        db(),
      );
      assert.equal(opened.rows[0]!.n, 0, 'no emergency access was started');
    });

    test('"Set a target": missing, repeated, huge or garbled fields get their messages and no target is set', async () => {
      const count = async () => (await sql<{ n: number }>`select count(*)::int as n from insight_targets`.execute(db())).rows[0]!.n;
      const before = await count();
      const needed = {
        measure: 'Choose the measure the target is for',
        value: 'Enter the target',
        'by-day': 'Enter the date the target is to be reached by',
      };
      assertRefused(await post('manager', '/insight/targets', ''), needed, 'empty');
      assertRefused(
        await post(
          'manager',
          '/insight/targets',
          'measure=a&measure=b&value=1&value=2&by-day=1&by-day=2&by-month=1&by-month=2&by-year=2030&by-year=2031',
        ),
        needed,
        'every field twice',
      );
      assertRefused(
        await post('manager', '/insight/targets', `measure=${LONG}&value=${LONG}&by-day=${LONG}&by-month=1&by-year=2030&reason=${LONG}`),
        {
          measure: 'Choose the measure the target is for',
          value: 'The target must be a number, like 5 or 12.5',
          'by-day': 'The date to reach it by must be a real date',
          reason: 'The reason must be 500 characters or fewer',
        },
        '10,000 characters',
      );
      assertRefused(
        await post('manager', '/insight/targets', 'measure=%FF%FE%&value=%C3%28&by-day=1&by-month=%E2%82&by-year=20'),
        {
          measure: 'Choose the measure the target is for',
          value: 'The target must be a number, like 5 or 12.5',
          'by-day': 'Year must include 4 numbers',
        },
        'broken escapes',
      );
      assert.equal(await count(), before, 'no target was set');
    });

    test('"Edit the listing": missing, repeated, huge or garbled fields get their messages and the listing is not changed', async () => {
      const organisationId = (
        await db().selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
      ).organisation_id!;
      const service = await db()
        .selectFrom('services')
        .select('id')
        .where('organisation_id', '=', organisationId)
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const url = `/directory/services/${service.id}/edit`;
      const listing = async () => ({
        service: await db()
          .selectFrom('services')
          .select(['description', 'accepts_self_referral', 'last_checked_at'])
          .where('id', '=', service.id)
          .executeTakeFirstOrThrow(),
        details: await db().selectFrom('directory_service_details').selectAll().where('service_id', '=', service.id).execute(),
        schedules: await db()
          .selectFrom('directory_schedules')
          .select(['byday', 'opens_at', 'closes_at'])
          .where('service_id', '=', service.id)
          .execute(),
        audit: (
          await sql<{
            n: number;
          }>`select count(*)::int as n from audit_events where reason like ${`Updated the directory listing of %(${service.id})%`}`.execute(
            db(),
          )
        ).rows[0]!.n,
      });
      const before = await listing();
      assertRefused(
        await post('practitioner', url, ''),
        {
          description: 'Enter a description of the service',
          phone: 'Enter a phone number or an email address, so people know how to get in touch',
          selfReferral: 'Select whether people can refer themselves',
          cost: 'Select whether the service is free',
        },
        'empty',
      );
      // Sent twice, each field once kept its first value and saved it.
      assertRefused(
        await post(
          'practitioner',
          url,
          'description=Advice&description=Other&phone=01632+960+001&phone=01632+960+002&email=a%40example.org&email=b%40example.org' +
            '&url=https%3A%2F%2Fa.example&url=https%3A%2F%2Fb.example&selfReferral=yes&selfReferral=no&cost=paid&cost=free' +
            '&costDescription=%C2%A32&costDescription=%C2%A33&days0=MO&opens0=09%3A00&opens0=10%3A00&closes0=17%3A00&notes0=a&notes0=b',
        ),
        {
          description: 'Enter a description of the service',
          phone: 'Enter a phone number, like 01632 960 001',
          email: 'Enter an email address in the correct format, like name@example.org',
          url: 'Enter a website address starting with https://',
          selfReferral: 'Select whether people can refer themselves',
          cost: 'Select whether the service is free',
          costDescription: 'Enter what the service costs',
          opens0: 'Opening times 1: enter the opening time on the 24-hour clock, like 09:00',
          notes0: 'Opening times 1: the note must be 200 characters or fewer, written once',
        },
        'every field twice',
      );
      // 10,000 characters were once cut to the field's length and saved.
      const huge = await post(
        'practitioner',
        url,
        `description=${LONG}&phone=${LONG}&email=${LONG}&url=${LONG}&selfReferral=${LONG}&cost=paid&costDescription=${LONG}` +
          `&days0=${LONG}&opens0=${LONG}&closes0=${LONG}&notes0=${LONG}`,
      );
      assertRefused(
        huge,
        {
          description: 'The description must be 2000 characters or fewer',
          phone: 'Enter a phone number, like 01632 960 001',
          email: 'Enter an email address in the correct format, like name@example.org',
          url: 'Enter a website address starting with https://',
          selfReferral: 'Select whether people can refer themselves',
          costDescription: 'What it costs must be 300 characters or fewer',
          'days0-MO': 'Opening times 1: select at least one day',
          opens0: 'Opening times 1: enter the opening time on the 24-hour clock, like 09:00',
          closes0: 'Opening times 1: enter the closing time on the 24-hour clock, like 17:00',
          notes0: 'Opening times 1: the note must be 200 characters or fewer, written once',
        },
        '10,000 characters',
      );
      assert.match(huge.body, new RegExp(`<textarea[^>]*id="description"[^>]*>${LONG}</textarea>`), 'what was typed is shown again');
      const garbled = await post(
        'practitioner',
        url,
        'description=%FF%FE%&phone=%C3%28&email=%E2%82&url=%FF&selfReferral=%FF&cost=free&days0=MO&opens0=%FF%FE%&closes0=17%3A00',
      );
      assertRefused(
        garbled,
        {
          phone: 'Enter a phone number, like 01632 960 001',
          email: 'Enter an email address in the correct format, like name@example.org',
          url: 'Enter a website address starting with https://',
          selfReferral: 'Select whether people can refer themselves',
          opens0: 'Opening times 1: enter the opening time on the 24-hour clock, like 09:00',
        },
        'broken escapes',
      );
      assert.match(garbled.body, /<textarea[^>]*id="description"[^>]*>%FF%FE%<\/textarea>/, 'what was typed is shown again');
      assert.match(garbled.body, /<input[^>]*id="opens0"[^>]*value="%FF%FE%"/, 'what was typed is shown again');
      assert.deepEqual(await listing(), before, 'the listing was not changed and no change was audited');
    });
  });
}
