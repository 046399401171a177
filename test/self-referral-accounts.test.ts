// Following a request for help made without signing in, over HTTP with a real SMTP server: the
// confirmation offers an account, the address typed gets a link that works once, the account it
// makes sees its own requests (every step, told by email, and what was typed) and talks with the
// receiving team, on PGlite and PostgreSQL. The stranger attack: someone who typed a neighbour's name, date of birth and
// postcode with their own email address gets an account that sees nothing of the neighbour's
// record ("We need to confirm who you are"), and attackers (another resident, another
// organisation's practitioner, someone not signed in, a guessed reference) read and write nothing.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { linkIn, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { testDatabaseTargets } from '../src/testing.ts';

const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const dob = (iso: string) => ({
  'dob-day': String(Number(iso.slice(8, 10))),
  'dob-month': String(Number(iso.slice(5, 7))),
  'dob-year': iso.slice(0, 4),
});
const PASSWORD = 'a long enough passphrase';

for (const target of await testDatabaseTargets()) {
  describe(`accounts that follow a request made without signing in, on ${target.kind}`, () => {
    let server: TestServer;
    let mailbox: TestSmtpServer;
    let serviceId: string;
    let receiver: string;
    let otherOrg: string;
    let citizen: string;
    let neighbour: {
      id: string;
      given_name: string;
      family_name: string;
      birth_date: string;
      postcode: string;
      nhs_number: string | null;
      phone: string | null;
    };
    let strangerReferral = '';
    let address = 0;
    const nextAddress = () => `10.9.${Math.floor(++address / 250)}.${(address % 250) + 1}`;
    const db = () => server.database.db;

    before(async () => {
      mailbox = await startSmtpServer();
      server = await startTestServer({ people: 1200, seed: 5, database: await target.open(), env: { SMTP_URL: mailbox.url } });
      const citizenPerson = (await db().selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow())
        .person_id!;
      // The neighbour is the demo resident, who has a citizen account of their own: the worst case.
      neighbour = (
        await sql<typeof neighbour>`
        select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, h.postcode, p.nhs_number, p.phone
        from persons p join households h on h.id = p.household_id where p.id = ${citizenPerson}`.execute(db())
      ).rows[0]!;
      const row = (
        await sql<{ id: string; organisation_id: string; practitioner_id: string }>`
        select s.id, s.organisation_id, p.id as practitioner_id from services s join practitioners p on p.team_id = s.team_id
        where s.accepts_self_referral and coalesce(s.min_age, 0) <= 18 and coalesce(s.max_age, 200) >= 90 and cardinality(s.locality_ids) = 0
        order by s.id, p.id limit 1`.execute(db())
      ).rows[0]!;
      serviceId = row.id;
      await createAccount(db(), {
        username: 'sra-receiver',
        displayName: 'Receiving Practitioner',
        role: 'practitioner',
        password: DEMO_PASSWORD,
        practitionerId: row.practitioner_id,
        organisationId: row.organisation_id,
      });
      receiver = await signIn(server.app, 'sra-receiver');
      const other = (
        await sql<{
          id: string;
          organisation_id: string;
        }>`select id, organisation_id from practitioners where organisation_id <> ${row.organisation_id} order by id limit 1`.execute(db())
      ).rows[0]!;
      await createAccount(db(), {
        username: 'sra-other-org',
        displayName: 'Other Organisation',
        role: 'practitioner',
        password: DEMO_PASSWORD,
        practitionerId: other.id,
        organisationId: other.organisation_id,
      });
      otherOrg = await signIn(server.app, 'sra-other-org');
      citizen = await signIn(server.app, 'citizen');
    });
    after(async () => {
      await server?.close();
      await mailbox?.close();
    });

    /** A visitor's CSRF cookie and token, and a refer-yourself form's submission key. */
    async function visitor() {
      const page = await server.app.inject({ method: 'GET', url: `/services/${serviceId}/refer-yourself` });
      const csrf = page.cookies.find((c) => c.name === 'joinery_csrf')!;
      return {
        cookie: `joinery_csrf=${csrf.value}`,
        token: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!,
        submission: /name="submission" value="([^"]+)"/.exec(page.body)![1]!,
      };
    }
    async function post(url: string, values: Record<string, string>, cookie: string, token: string) {
      return server.app.inject({
        method: 'POST',
        url,
        remoteAddress: nextAddress(),
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ ...values, _csrf: token }),
      });
    }
    async function signedInPost(url: string, values: Record<string, string>, cookie: string, page: string) {
      return post(url, values, cookie, await csrfTokenFor(server.app, cookie, page));
    }
    /** Someone not signed in asks for help, presses "Email me a link", and returns the sent page, the reference and the link. */
    async function askAndOfferAccount(details: Record<string, string>) {
      const v = await visitor();
      const sent = await post(
        `/services/${serviceId}/refer-yourself`,
        {
          preferred_contact: 'email',
          help: 'I need help managing at home.',
          urgency: 'routine',
          onward_consent: 'yes',
          phone: '',
          submission: v.submission,
          ...details,
        },
        v.cookie,
        v.token,
      );
      assert.equal(sent.statusCode, 302, sent.body.slice(0, 300));
      const confirmation = await server.app.inject({ method: 'GET', url: sent.headers.location!, headers: { cookie: v.cookie } });
      assert.match(textOf(confirmation.body), /Create an account to follow this request/);
      const key = new URL(sent.headers.location!, 'http://x').searchParams.get('key')!;
      const offered = await post(`/services/${serviceId}/refer-yourself/sent/account?key=${key}`, {}, v.cookie, v.token);
      assert.equal(offered.statusCode, 302);
      const after = await server.app.inject({ method: 'GET', url: offered.headers.location!, headers: { cookie: v.cookie } });
      assert.match(textOf(after.body), /We have emailed you a link to create your account/);
      const d = await db()
        .selectFrom('referral_self_details')
        .select(['referral_id', 'reference'])
        .where('submission_key', '=', key)
        .executeTakeFirstOrThrow();
      const emails = await mailbox.waitFor(details.email!);
      const email = emails.at(-1)!;
      assert.equal(email.subject, `Create your Joinery account to follow your request ${d.reference}`);
      return {
        referralId: d.referral_id,
        reference: d.reference,
        link: new URL(linkIn(email, '/my-requests/create-account/')).pathname,
        email,
        key,
        visitor: v,
      };
    }
    async function createAccountWith(link: string, username: string) {
      const page = await server.app.inject({ method: 'GET', url: link });
      assert.equal(page.statusCode, 200);
      const csrf = page.cookies.find((c) => c.name === 'joinery_csrf')!;
      const cookie = `joinery_csrf=${csrf.value}`;
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      return post(link, { username, password: PASSWORD, confirm: PASSWORD }, cookie, token);
    }

    test("the stranger attack: an account made from a request typed in a neighbour's name sees nothing of the neighbour's record", async () => {
      const asked = await askAndOfferAccount({
        given_name: neighbour.given_name,
        family_name: neighbour.family_name,
        ...dob(neighbour.birth_date),
        postcode: neighbour.postcode,
        email: 'stranger@example.net',
      });
      // The email carries no personal details: only the reference and the link.
      for (const secret of [neighbour.given_name, neighbour.family_name, neighbour.birth_date, neighbour.postcode])
        assert.ok(!asked.email.text.includes(secret), `the email does not say ${secret}`);
      const filed = await db().selectFrom('referrals').select('person_id').where('id', '=', asked.referralId).executeTakeFirstOrThrow();
      strangerReferral = asked.referralId;

      const made = await createAccountWith(asked.link, 'stranger');
      assert.equal(made.statusCode, 302);
      assert.match(made.headers.location!, /^\/sign-in\?next=/);
      const account = await db()
        .selectFrom('users')
        .select(['id', 'person_id', 'role', 'email'])
        .where('username', '=', 'stranger')
        .executeTakeFirstOrThrow();
      assert.equal(account.person_id, null, 'the account is tied to the request, not to the person it was filed against');
      assert.equal(account.email, 'stranger@example.net');
      // The link works once.
      const again = await createAccountWith(asked.link, 'stranger-two').catch(() => undefined);
      assert.ok(!again || again.statusCode === 410);
      const reused = await server.app.inject({ method: 'GET', url: asked.link });
      assert.equal(reused.statusCode, 410);
      assert.match(reused.body, /This link has expired/);
      assert.equal((await db().selectFrom('users').select('id').where('username', '=', 'stranger-two').execute()).length, 0);

      const stranger = await signIn(server.app, 'stranger', PASSWORD);
      const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie: stranger } });
      assert.equal(home.statusCode, 302);
      assert.equal(home.headers.location, '/my-requests');
      const secrets = [neighbour.nhs_number, neighbour.phone].filter((s): s is string => Boolean(s));
      for (const url of [
        '/my-record',
        '/my-record/messages',
        '/my-record/sharing',
        '/my-record/about-me',
        '/my-record/communication-needs',
        '/my-referrals',
        `/people/${filed.person_id}`,
        `/people/${neighbour.id}`,
        `/referrals/${asked.referralId}`,
      ]) {
        const page = await server.app.inject({ method: 'GET', url, headers: { cookie: stranger } });
        assert.ok(page.statusCode === 403 || page.statusCode === 404, `${url} answers ${page.statusCode}`);
        for (const secret of secrets) assert.ok(!page.body.includes(secret), `${url} shows nothing of the record`);
        if (url.startsWith('/my-')) assert.match(textOf(page.body), /We need to confirm who you are before you can see your record/, url);
      }
      // Its requests: the request it made, with only what was typed.
      const mine = await server.app.inject({ method: 'GET', url: '/my-requests', headers: { cookie: stranger } });
      assert.equal(mine.statusCode, 200);
      assert.ok(mine.body.includes(asked.reference));
      const one = await server.app.inject({ method: 'GET', url: `/my-requests/${asked.reference}`, headers: { cookie: stranger } });
      assert.equal(one.statusCode, 200);
      assert.match(textOf(one.body), /Sent/);
      assert.ok(one.body.includes('stranger@example.net'));
      for (const secret of secrets) assert.ok(!one.body.includes(secret), 'nothing from the record it was filed against');
      // The neighbour's own account is untouched and still theirs.
      const neighbourAccount = await db()
        .selectFrom('users')
        .select('person_id')
        .where('username', '=', 'citizen')
        .executeTakeFirstOrThrow();
      assert.equal(neighbourAccount.person_id, neighbour.id);
      // The access decision itself grants the account nothing on the neighbour's record.
      const { decideRecordAccess } = await import('../src/consent/index.ts');
      const user = {
        id: account.id,
        username: 'stranger',
        displayName: 'x',
        role: 'citizen' as const,
        personId: null,
        practitionerId: null,
        organisationId: null,
        teamId: null,
      };
      const decision = await decideRecordAccess(db(), {
        actor: user,
        personId: filed.person_id,
        categories: ['demographics', 'health'],
        purpose: 'self',
        action: 'read',
      });
      assert.equal(decision.byCategory.demographics.scope, 'none');
      assert.equal(decision.byCategory.health.scope, 'none');
    });

    test('the team and the one who asked talk about the request; every step is emailed; attackers read and write nothing', async () => {
      const asked = await askAndOfferAccount({
        given_name: 'Perpetua',
        family_name: 'Quillfeather',
        ...dob('1971-03-09'),
        postcode: 'RV1 1AA',
        email: 'perpetua@example.org',
      });
      assert.equal((await createAccountWith(asked.link, 'perpetua')).statusCode, 302);
      const perpetua = await signIn(server.app, 'perpetua', PASSWORD);

      // The receiving team acknowledges: the account is emailed that there is news (no details).
      const before = mailbox.to('perpetua@example.org').length;
      const ack = await signedInPost(`/referrals/${asked.referralId}/acknowledge`, {}, receiver, `/referrals/${asked.referralId}`);
      assert.equal(ack.statusCode, 302);
      const stepMail = (await mailbox.waitFor('perpetua@example.org', before + 1)).at(-1)!;
      assert.ok(!stepMail.text.includes('Quillfeather'), 'the email carries no personal details');
      const page = await server.app.inject({ method: 'GET', url: `/my-requests/${asked.reference}`, headers: { cookie: perpetua } });
      assert.match(textOf(page.body), /Acknowledged/);

      // The team writes from the referral's page; the account is told, and reads it.
      const referralPage = await server.app.inject({ method: 'GET', url: `/referrals/${asked.referralId}`, headers: { cookie: receiver } });
      assert.match(textOf(referralPage.body), /Messages with the person who asked/);
      const blank = await signedInPost(
        `/referrals/${asked.referralId}/messages`,
        { message: '   ' },
        receiver,
        `/referrals/${asked.referralId}`,
      );
      assert.equal(blank.statusCode, 400);
      assert.match(blank.body, /govuk-error-summary/);
      const wrote = await signedInPost(
        `/referrals/${asked.referralId}/messages`,
        { message: 'Can we call you on Tuesday morning?' },
        receiver,
        `/referrals/${asked.referralId}`,
      );
      assert.equal(wrote.statusCode, 302);
      await mailbox.waitFor('perpetua@example.org', before + 2);
      const withMessage = await server.app.inject({ method: 'GET', url: `/my-requests/${asked.reference}`, headers: { cookie: perpetua } });
      assert.ok(withMessage.body.includes('Can we call you on Tuesday morning?'));
      // The same request and its conversation in Welsh, for one who chose Cymraeg.
      const welsh = textOf(
        (
          await server.app.inject({
            method: 'GET',
            url: `/my-requests/${asked.reference}`,
            headers: { cookie: `${perpetua}; joinery_lang=cy` },
          })
        ).body,
      );
      assert.match(welsh, /Negeseuon gyda /);
      assert.match(welsh, /Beth ddywedoch chi wrthyn nhw/);
      assert.match(welsh, /Anfon neges/);
      assert.doesNotMatch(welsh, /Messages with |What you told them|The person who asked|Send message/);
      const welshList = textOf(
        (await server.app.inject({ method: 'GET', url: '/my-requests', headers: { cookie: `${perpetua}; joinery_lang=cy` } })).body,
      );
      assert.match(welshList, /Eich ceisiadau am help/);
      assert.match(welshList, /Gofynnwyd ar \d{1,2} \p{L}+ \d{4}, cyfeirnod /u);
      // Assigned to the receiving practitioner, who is emailed when the person replies.
      const receiverPractitioner = (
        await db().selectFrom('users').select(['practitioner_id']).where('username', '=', 'sra-receiver').executeTakeFirstOrThrow()
      ).practitioner_id!;
      await db().updateTable('users').set({ email: 'sra-receiver@example.org' }).where('username', '=', 'sra-receiver').execute();
      assert.equal(
        (
          await signedInPost(
            `/referrals/${asked.referralId}/assign`,
            { practitioner: receiverPractitioner },
            receiver,
            `/referrals/${asked.referralId}`,
          )
        ).statusCode,
        302,
      );
      const replied = await signedInPost(
        `/my-requests/${asked.reference}/messages`,
        { message: 'Yes, after 10 please.' },
        perpetua,
        `/my-requests/${asked.reference}`,
      );
      assert.equal(replied.statusCode, 302);
      const told = (await mailbox.waitFor('sra-receiver@example.org')).at(-1)!;
      assert.ok(!told.text.includes('after 10'), 'the practitioner is told there is a reply, not what it says');
      const seen = await server.app.inject({ method: 'GET', url: `/referrals/${asked.referralId}`, headers: { cookie: receiver } });
      assert.ok(seen.body.includes('Yes, after 10 please.'));

      // First contact, accept and complete: each step is emailed.
      const count = mailbox.to('perpetua@example.org').length;
      assert.equal(
        (await signedInPost(`/referrals/${asked.referralId}/accept`, {}, receiver, `/referrals/${asked.referralId}`)).statusCode,
        302,
      );
      await mailbox.waitFor('perpetua@example.org', count + 1);

      // Attackers: another resident, another organisation's practitioner, someone not signed in, a guessed reference.
      const guessed = asked.reference.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      for (const [who, cookie] of [
        ['another resident', citizen],
        ['another organisation', otherOrg],
      ] as const) {
        const read = await server.app.inject({ method: 'GET', url: `/my-requests/${asked.reference}`, headers: { cookie } });
        assert.ok(read.statusCode === 403 || read.statusCode === 404, `${who} cannot read the request (${read.statusCode})`);
        assert.ok(!read.body.includes('Tuesday morning'));
      }
      const citizenWrite = await signedInPost(
        `/my-requests/${asked.reference}/messages`,
        { message: 'injected' },
        citizen,
        '/my-referrals',
      );
      assert.equal(citizenWrite.statusCode, 404);
      const otherWrite = await signedInPost(
        `/referrals/${asked.referralId}/messages`,
        { message: 'injected' },
        otherOrg,
        '/referrals/inbox',
      );
      assert.equal(otherWrite.statusCode, 403);
      const otherRead = await server.app.inject({ method: 'GET', url: `/referrals/${asked.referralId}`, headers: { cookie: otherOrg } });
      assert.ok(!otherRead.body.includes('Tuesday morning'));
      const residentWritesAsService = await signedInPost(
        `/referrals/${asked.referralId}/messages`,
        { message: 'injected' },
        perpetua,
        `/my-requests/${asked.reference}`,
      );
      assert.equal(residentWritesAsService.statusCode, 403);
      const anonymous = await server.app.inject({ method: 'GET', url: `/my-requests/${asked.reference}` });
      assert.equal(anonymous.statusCode, 302, 'someone not signed in is sent to sign in');
      const anonWrite = await post(
        `/my-requests/${asked.reference}/messages`,
        { message: 'injected' },
        asked.visitor.cookie,
        asked.visitor.token,
      );
      assert.equal(anonWrite.statusCode, 302);
      assert.match(anonWrite.headers.location!, /^\/sign-in/);
      const guess = await server.app.inject({ method: 'GET', url: `/my-requests/${guessed}`, headers: { cookie: perpetua } });
      assert.equal(guess.statusCode, 404);
      const noCsrf = await server.app.inject({
        method: 'POST',
        url: `/my-requests/${asked.reference}/messages`,
        headers: { cookie: perpetua, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ message: 'no token' }),
      });
      assert.equal(noCsrf.statusCode, 403);
      const messages = await db().selectFrom('referral_messages').select('body').where('referral_id', '=', asked.referralId).execute();
      assert.deepEqual(
        messages.map((m) => m.body),
        ['Can we call you on Tuesday morning?', 'Yes, after 10 please.'],
        'no attacker wrote anything',
      );
    });

    test('a request made signed in, or with no email address, offers no account link', async () => {
      const v = await visitor();
      const sent = await post(
        `/services/${serviceId}/refer-yourself`,
        {
          given_name: 'Phoneonly',
          family_name: 'Person',
          ...dob('1980-01-01'),
          postcode: 'RV1 1AA',
          email: '',
          phone: '01632 960 001',
          preferred_contact: 'phone',
          help: 'I need help managing at home.',
          urgency: 'routine',
          onward_consent: 'yes',
          submission: v.submission,
        },
        v.cookie,
        v.token,
      );
      const page = await server.app.inject({ method: 'GET', url: sent.headers.location!, headers: { cookie: v.cookie } });
      assert.doesNotMatch(textOf(page.body), /Create an account to follow this request/);
      const key = new URL(sent.headers.location!, 'http://x').searchParams.get('key')!;
      const forced = await post(`/services/${serviceId}/refer-yourself/sent/account?key=${key}`, {}, v.cookie, v.token);
      assert.match(forced.headers.location!, /account_link_not_possible/);
      assert.equal(
        (
          await db()
            .selectFrom('referral_account_links as l')
            .innerJoin('referral_self_details as d', 'd.referral_id', 'l.referral_id')
            .select('l.token_hash')
            .where('d.submission_key', '=', key)
            .execute()
        ).length,
        0,
      );
    });

    /** The receiving practitioner records first contact today, by phone. */
    async function firstContact(referralId: string) {
      const today = new Date();
      for (const step of ['acknowledge', 'accept'])
        await signedInPost(`/referrals/${referralId}/${step}`, {}, receiver, `/referrals/${referralId}`);
      const started = await signedInPost(
        `/referrals/${referralId}/start`,
        {
          'contact-day': String(today.getUTCDate()),
          'contact-month': String(today.getUTCMonth() + 1),
          'contact-year': String(today.getUTCFullYear()),
          method: 'phone',
        },
        receiver,
        `/referrals/${referralId}`,
      );
      assert.equal(started.statusCode, 302, started.body.slice(0, 500));
    }

    test("becoming the person: the receiving practitioner confirms who they are after first contact, never for someone else's organisation or a person with an account", async () => {
      const asked = await askAndOfferAccount({
        given_name: 'Hesper',
        family_name: 'Trevanionmarker',
        ...dob('1966-11-21'),
        postcode: 'RV1 1AA',
        email: 'hesper@example.org',
      });
      assert.equal((await createAccountWith(asked.link, 'hesper')).statusCode, 302);
      const hesper = await signIn(server.app, 'hesper', PASSWORD);
      const identity = (
        await db()
          .selectFrom('referral_self_details')
          .select('identity')
          .where('referral_id', '=', asked.referralId)
          .executeTakeFirstOrThrow()
      ).identity;
      assert.ok(identity === 'new_person' || identity === 'matched', `settled by the person index (${identity})`);
      const url = `/referrals/${asked.referralId}/confirm-identity`;

      // Not before first contact.
      const early = await signedInPost(url, { how: 'in_person_photo_id' }, receiver, `/referrals/${asked.referralId}`);
      assert.equal(early.statusCode, 409);
      await firstContact(asked.referralId);
      const page = await server.app.inject({ method: 'GET', url: `/referrals/${asked.referralId}`, headers: { cookie: receiver } });
      assert.match(textOf(page.body), /I have confirmed this person's identity/);
      // Never while the person index is still deciding who it is about.
      await db().updateTable('referral_self_details').set({ identity: 'review' }).where('referral_id', '=', asked.referralId).execute();
      assert.equal((await signedInPost(url, { how: 'in_person_photo_id' }, receiver, `/referrals/${asked.referralId}`)).statusCode, 409);
      await db().updateTable('referral_self_details').set({ identity }).where('referral_id', '=', asked.referralId).execute();
      // Not by another organisation, the resident themselves, or someone not signed in; and how must be said.
      assert.equal((await signedInPost(url, { how: 'in_person_photo_id' }, otherOrg, '/referrals/inbox')).statusCode, 403);
      assert.equal((await signedInPost(url, { how: 'in_person_photo_id' }, hesper, `/my-requests/${asked.reference}`)).statusCode, 403);
      const anonymous = await post(url, { how: 'in_person_photo_id' }, asked.visitor.cookie, asked.visitor.token);
      assert.match(anonymous.headers.location ?? '', /^\/sign-in/);
      const noHow = await signedInPost(url, {}, receiver, `/referrals/${asked.referralId}`);
      assert.equal(noHow.statusCode, 400);
      assert.match(noHow.body, /Choose how you confirmed who they are/);
      assert.equal(
        (await db().selectFrom('users').select('person_id').where('username', '=', 'hesper').executeTakeFirstOrThrow()).person_id,
        null,
        "still nobody's",
      );

      const confirmed = await signedInPost(url, { how: 'phone_known_details' }, receiver, `/referrals/${asked.referralId}`);
      assert.equal(confirmed.statusCode, 302);
      const person = (await db().selectFrom('referrals').select('person_id').where('id', '=', asked.referralId).executeTakeFirstOrThrow())
        .person_id;
      assert.equal(
        (await db().selectFrom('users').select('person_id').where('username', '=', 'hesper').executeTakeFirstOrThrow()).person_id,
        person,
      );
      const audit = await db()
        .selectFrom('audit_events')
        .select(['reason', 'actor_user_id'])
        .where('action', '=', 'confirm_identity')
        .where('person_id', '=', person)
        .executeTakeFirstOrThrow();
      assert.match(audit.reason ?? '', /by phone, with details only the person would know/);
      // Their account is now their own: their record opens, and their request is still theirs.
      const record = await server.app.inject({ method: 'GET', url: '/my-record', headers: { cookie: hesper } });
      assert.equal(record.statusCode, 302);
      assert.equal(record.headers.location, `/people/${person}`);
      const own = await server.app.inject({ method: 'GET', url: record.headers.location!, headers: { cookie: hesper } });
      assert.equal(own.statusCode, 200);
      assert.match(own.body, /Trevanionmarker/);
      assert.equal(
        (await server.app.inject({ method: 'GET', url: `/my-requests/${asked.reference}`, headers: { cookie: hesper } })).statusCode,
        200,
      );
      // Done once: a second confirmation changes nothing.
      assert.equal((await signedInPost(url, { how: 'in_person_photo_id' }, receiver, `/referrals/${asked.referralId}`)).statusCode, 409);
    });

    test('a request typed in the name of someone who has an account is never tied to them: the practitioner is told to ask them to sign in', async () => {
      assert.ok(strangerReferral, 'the stranger attack ran first');
      // Whatever the index decided for the stranger's request, say it matched the neighbour (the worst case).
      await db().updateTable('referral_self_details').set({ identity: 'matched' }).where('referral_id', '=', strangerReferral).execute();
      await db().updateTable('referrals').set({ person_id: neighbour.id }).where('id', '=', strangerReferral).execute();
      await firstContact(strangerReferral);
      const refused = await signedInPost(
        `/referrals/${strangerReferral}/confirm-identity`,
        { how: 'in_person_photo_id' },
        receiver,
        `/referrals/${strangerReferral}`,
      );
      assert.equal(refused.statusCode, 409);
      assert.match(textOf(refused.body), /This person already has a Joinery account/);
      assert.equal(
        (await db().selectFrom('users').select('person_id').where('username', '=', 'stranger').executeTakeFirstOrThrow()).person_id,
        null,
      );
      assert.equal(
        (await db().selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id,
        neighbour.id,
      );
    });

    test('an account not yet tied to a person asks for help again as someone not signed in would, and follows the new request too', async () => {
      const asked = await askAndOfferAccount({
        given_name: 'Ione',
        family_name: 'Penhallowmarker',
        ...dob('1958-07-30'),
        postcode: 'RV1 1AA',
        email: 'ione@example.org',
      });
      assert.equal((await createAccountWith(asked.link, 'ione')).statusCode, 302);
      const ione = await signIn(server.app, 'ione', PASSWORD);
      const formPage = await server.app.inject({ method: 'GET', url: `/services/${serviceId}/refer-yourself`, headers: { cookie: ione } });
      assert.equal(formPage.statusCode, 200);
      assert.match(formPage.body, /name="given_name"/, 'they say who they are, as anyone not signed in does');
      const submission = /name="submission" value="([^"]+)"/.exec(formPage.body)![1]!;
      const sent = await signedInPost(
        `/services/${serviceId}/refer-yourself`,
        {
          given_name: 'Ione',
          family_name: 'Penhallowmarker',
          ...dob('1958-07-30'),
          postcode: 'RV1 1AA',
          email: 'ione@example.org',
          phone: '',
          preferred_contact: 'email',
          help: 'And now help with the garden too, please.',
          urgency: 'routine',
          onward_consent: 'no',
          submission,
        },
        ione,
        `/services/${serviceId}/refer-yourself`,
      );
      assert.equal(sent.statusCode, 302, sent.body.slice(0, 400));
      const confirmation = await server.app.inject({ method: 'GET', url: sent.headers.location!, headers: { cookie: ione } });
      assert.match(textOf(confirmation.body), /See your requests for help/);
      assert.doesNotMatch(textOf(confirmation.body), /Create an account to follow this request/);
      const second = await db()
        .selectFrom('referral_self_details as d')
        .innerJoin('referrals as r', 'r.id', 'd.referral_id')
        .select(['d.reference', 'd.made_by', 'd.account_id', 'r.relationship_id'])
        .where('d.submission_key', '=', submission)
        .executeTakeFirstOrThrow();
      assert.equal(second.made_by, 'not_signed_in');
      assert.equal(second.relationship_id, null, 'it opens no relationship, as any request from someone unconfirmed');
      const mine = await server.app.inject({ method: 'GET', url: '/my-requests', headers: { cookie: ione } });
      assert.ok(mine.body.includes(asked.reference) && mine.body.includes(second.reference), 'both requests are followed');
    });
  });
}
