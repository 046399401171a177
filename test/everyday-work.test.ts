// Issue 21, "everyday work without dead ends", over HTTP: who looked (grouped, summarised, only
// what was shown), emergency access reachable from a search that cannot be used to enumerate
// people, feedback after every form (success banners, "Error:" titles), GOV.UK dates, plain
// labels, person search by written dates and with a count, the sharing summary, corrections that
// change the record, a complete download, and the privacy officer's view of emergency accesses.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};

const titleOf = (html: string) => /<title[^>]*>([^<]*)<\/title>/.exec(html)?.[1]?.trim() ?? '';
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

describe('everyday work without dead ends (issue 21)', () => {
  let server: TestServer;
  let citizenId: string;
  let practitionerName: string;
  let practitionerOrg: string;
  before(async () => {
    server = await startTestServer({ people: 2000, seed: 3 });
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    const practitioner = await db
      .selectFrom('users')
      .select(['display_name', 'organisation_id'])
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    practitionerName = practitioner.display_name;
    practitionerOrg = practitioner.organisation_id!;
  });
  after(async () => {
    await server?.close();
  });

  // Sign-ins are limited per address per minute: each user signs in once for the whole file.
  const sessions = new Map<string, Promise<string>>();
  const signedIn = (username: string, password?: string) => {
    if (!sessions.has(username)) sessions.set(username, signIn(server.app, username, password));
    return sessions.get(username)!;
  };

  async function get(cookie: string, url: string) {
    return server.app.inject({ method: 'GET', url, headers: { cookie } });
  }

  async function post(cookie: string, url: string, values: Record<string, string | string[]>, tokenPage = '/home') {
    const token = await csrfTokenFor(server.app, cookie, tokenPage);
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...values, _csrf: token }),
    });
  }

  /** Someone the practitioner's organisation has nothing to do with, with an NHS number and a date of birth. */
  async function stranger(offset = 0) {
    return (
      await sql<{ id: string; given_name: string; family_name: string; birth_date: string; nhs_number: string }>`
      select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.nhs_number from persons p
      where p.merged_into is null and p.nhs_number is not null and p.birth_date is not null
        and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
                        where l.person_id = p.id and l.superseded_at is null and o.id = ${practitionerOrg})
        and not exists (select 1 from care_relationships r where r.person_id = p.id and r.organisation_id = ${practitionerOrg})
        and not exists (select 1 from users u where u.person_id = p.id)
        and not exists (select 1 from persons q where q.id <> p.id and q.birth_date = p.birth_date and lower(q.given_name) = lower(p.given_name) and lower(q.family_name) = lower(p.family_name))
      order by p.id offset ${offset} limit 1`.execute(server.database.db)
    ).rows[0]!;
  }

  const dob = (iso: string) => {
    const [year, month, day] = iso.split('-');
    return { 'dob-day': String(Number(day)), 'dob-month': String(Number(month)), 'dob-year': year! };
  };

  test('who looked: one line per reader, each kind of information once, only what was shown, repeated looks summarised', async () => {
    const practitioner = await signedIn('practitioner');
    let shown = '';
    for (let i = 0; i < 3; i++) {
      const page = await get(practitioner, `/people/${citizenId}`);
      assert.equal(page.statusCode, 200);
      shown = page.body;
    }
    // The demo citizen asked for police, courts and probation information not to be shared.
    const criminalJusticeShown = shown.includes('<h2 class="govuk-heading-m">Police, courts and probation</h2>');
    const citizen = await signedIn('citizen');
    const own = await get(citizen, `/people/${citizenId}`);
    const section = own.body.slice(own.body.indexOf('Who looked'), own.body.indexOf('</ul>', own.body.indexOf('Who looked')));
    const lines = section
      .split('<li')
      .slice(1)
      .map(textOf)
      .filter((l) => l.includes(practitionerName) && l.includes('looked at your record'));
    assert.equal(lines.length, 1, `one line for the practitioner's three looks: ${lines.join(' | ')}`);
    const line = lines[0]!;
    assert.match(line, /3 times/);
    for (const word of ['plans', 'health', 'housing', 'about me', 'basic details', 'social care', 'money', 'school']) {
      assert.ok(line.split(word).length - 1 <= 1, `"${word}" at most once in: ${line}`);
    }
    if (!criminalJusticeShown)
      assert.doesNotMatch(line, /criminal justice|police|probation/i, 'nothing of it was shown, so it is not said to have been looked at');
    assert.ok(line.split(' ').length < 60, `a short line: ${line}`);
  });

  test('person search understands a date of birth written out, as people say it', async () => {
    const db = server.database.db;
    const person = await db
      .selectFrom('persons')
      .select(['birth_date', 'given_name', 'family_name'])
      .where('id', '=', citizenId)
      .executeTakeFirstOrThrow();
    const written = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
      new Date(`${person.birth_date}T12:00:00Z`),
    );
    const practitioner = await signedIn('practitioner');
    for (const q of [written, `${person.family_name} ${written}`]) {
      const page = await get(practitioner, `/search?q=${encodeURIComponent(q)}`);
      assert.equal(page.statusCode, 200, q);
      assert.ok(page.body.includes(`/people/${citizenId}"`), `"${q}" finds the person`);
    }
  });

  test('a search that many people match says how many, suggests how to narrow it, and pages through them', async () => {
    const db = server.database.db;
    // Thirty people the practitioner's organisation works with share an unusual family name.
    const people = (
      await sql<{ id: string }>`select id from persons where merged_into is null and id <> ${citizenId} order by id limit 30`.execute(db)
    ).rows;
    await db
      .updateTable('persons')
      .set({ family_name: 'Quorndon' })
      .where(
        'id',
        'in',
        people.map((p) => p.id),
      )
      .execute();
    await db
      .insertInto('care_relationships')
      .values(
        people.map((p) => ({
          person_id: p.id,
          organisation_id: practitionerOrg,
          team_id: null,
          practitioner_id: null,
          kind: 'network' as const,
          role_label: null,
          reason: 'search test',
          ended_at: null,
          recorded_by: null,
        })),
      )
      .execute();
    const practitioner = await signedIn('practitioner');
    const first = await get(practitioner, '/search?q=Quorndon');
    assert.equal(first.statusCode, 200);
    const text = textOf(first.body);
    assert.match(text, /30 people found/);
    assert.match(text, /Showing 1 to 25 of 30/);
    assert.match(text, /add (their )?first name or date of birth/i);
    assert.equal((first.body.match(/href="\/people\/[^"/]+"/g) ?? []).length, 25);
    assert.match(first.body, /href="\/search\?q=Quorndon&amp;page=2"/);
    const second = await get(practitioner, '/search?q=Quorndon&page=2');
    assert.match(textOf(second.body), /Showing 26 to 30 of 30/);
    assert.equal((second.body.match(/href="\/people\/[^"/]+"/g) ?? []).length, 5);
    // Only the names shown are on the record as found in a search.
    const audited = Number(
      (
        await sql<{
          n: number;
        }>`select count(*) as n from audit_events where action = 'search' and person_id in (${sql.join(people.map((p) => p.id))})`.execute(
          db,
        )
      ).rows[0]!.n,
    );
    assert.equal(audited, 30);
  });

  test('emergency access can be reached from search: exact details find one person and offer break-glass with a reason', async () => {
    const practitioner = await signedIn('practitioner');
    const search = await get(practitioner, '/search?q=zzqx');
    assert.match(search.body, /href="\/emergency-access"/, 'the search page leads to emergency access');
    const form = await get(practitioner, '/emergency-access');
    assert.equal(form.statusCode, 200);
    assert.match(textOf(form.body), /NHS number/);
    const target = await stranger();
    // By NHS number and date of birth.
    const found = await post(practitioner, '/emergency-access', { nhs: target.nhs_number, ...dob(target.birth_date) }, '/emergency-access');
    assert.equal(found.statusCode, 200);
    assert.ok(found.body.includes(`${target.given_name} ${target.family_name}`), 'the one exact match is named');
    assert.match(found.body, new RegExp(`action="/people/${target.id}/break-glass"`));
    assert.match(textOf(found.body), /Why do you need emergency access\?/);
    // By name and date of birth, whatever the case.
    const byName = await post(
      practitioner,
      '/emergency-access',
      { 'given-name': target.given_name.toUpperCase(), 'family-name': ` ${target.family_name.toLowerCase()} `, ...dob(target.birth_date) },
      '/emergency-access',
    );
    assert.ok(byName.body.includes(`action="/people/${target.id}/break-glass"`));
    // Break-glass with a reason opens the record.
    const opened = await post(
      practitioner,
      `/people/${target.id}/break-glass`,
      { reason: 'Collapsed at the day centre, need medication history' },
      '/emergency-access',
    );
    assert.equal(opened.statusCode, 302);
    const record = await get(practitioner, `/people/${target.id}`);
    assert.equal(record.statusCode, 200);
    assert.match(record.body, /You are using emergency access/);
    const audited = await server.database.db
      .selectFrom('audit_events')
      .select(['decision', 'reason'])
      .where('action', '=', 'emergency_search')
      .where('person_id', '=', target.id)
      .execute();
    assert.equal(audited.length, 2, 'each emergency search that found the person is on their audit record');
    assert.ok(
      audited.every((a) => !a.reason.includes(target.family_name) && !a.reason.includes(target.nhs_number)),
      'the audit reason carries no details typed',
    );
  });

  test('emergency access search cannot be used to browse or enumerate people', async () => {
    const practitioner = await signedIn('practitioner');
    const target = await stranger(1);
    const other = await stranger(2);
    const misses: Array<Record<string, string>> = [
      { 'given-name': target.given_name, 'family-name': target.family_name.slice(0, -1), ...dob(target.birth_date) },
      {
        'given-name': target.given_name,
        'family-name': target.family_name,
        ...dob(other.birth_date === target.birth_date ? '1900-01-01' : other.birth_date),
      },
      { nhs: other.nhs_number, ...dob(target.birth_date === other.birth_date ? '1900-01-01' : target.birth_date) },
      { 'family-name': target.family_name, ...dob(target.birth_date) },
    ];
    for (const values of misses) {
      const response = await post(practitioner, '/emergency-access', values, '/emergency-access');
      assert.ok([200, 400].includes(response.statusCode), JSON.stringify(values));
      for (const p of [target, other]) {
        assert.ok(
          !response.body.includes(p.given_name + ' ' + p.family_name),
          `no name of anyone not matching exactly (${JSON.stringify(values)})`,
        );
        assert.ok(!response.body.includes(`/people/${p.id}`), 'no link to anyone');
      }
    }
    // Half-filled details are refused with what is missing, keeping what was typed, and say "Error:" in the title.
    const half = await post(
      practitioner,
      '/emergency-access',
      { 'family-name': 'Smith', 'dob-day': '7', 'dob-month': '', 'dob-year': '1999' },
      '/emergency-access',
    );
    assert.equal(half.statusCode, 400);
    assert.match(titleOf(half.body), /^Error: /);
    assert.match(textOf(half.body), /Date of birth must include a month/);
    assert.match(half.body, /value="Smith"/);
    // Only practitioners who may use emergency access can search this way.
    for (const username of ['citizen', 'manager', 'privacy', 'dataquality', 'admin']) {
      const cookie = await signedIn(username);
      assert.equal((await get(cookie, '/emergency-access')).statusCode, 403, username);
      const token = await csrfTokenFor(server.app, cookie, '/directory');
      const refused = await server.app.inject({
        method: 'POST',
        url: '/emergency-access',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ nhs: target.nhs_number, ...dob(target.birth_date), _csrf: token }),
      });
      assert.equal(refused.statusCode, 403, username);
      assert.ok(!refused.body.includes(target.family_name), username);
    }
  });

  test('an emergency search form with problems links each to its box, marks the date boxes, keeps what was typed and searches nothing', async () => {
    const db = server.database.db;
    const practitioner = await signedIn('practitioner');
    const searches = async () =>
      (await db.selectFrom('audit_events').select('seq').where('action', '=', 'emergency_search').execute()).length;
    const before = await searches();
    const half = await post(
      practitioner,
      '/emergency-access',
      { 'given-name': '', 'family-name': 'Smith', 'dob-day': '7', 'dob-month': '', 'dob-year': '99' },
      '/emergency-access',
    );
    assert.equal(half.statusCode, 400);
    const summary = /govuk-error-summary__list">([\s\S]*?)<\/ul>/.exec(half.body)?.[1] ?? '';
    assert.deepEqual(
      [...summary.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]),
      ['given-name', 'dob-month'],
      'the first name, then the first date box that is wrong',
    );
    assert.match(
      half.body,
      /class="govuk-input govuk-date-input__input govuk-input--width-2 govuk-input--error" id="dob-month"/,
      'the month box is marked',
    );
    assert.doesNotMatch(half.body, /govuk-input--error" id="dob-day"/, 'the day box is not');
    assert.match(half.body, /value="Smith"/);
    assert.match(half.body, /id="dob-year" name="dob-year" type="text" value="99"/, 'the year as typed');
    const badNhs = await post(practitioner, '/emergency-access', { nhs: '123 456 7890', ...dob('1980-02-30') }, '/emergency-access');
    assert.equal(badNhs.statusCode, 400);
    assert.ok(badNhs.body.includes('href="#nhs"') && badNhs.body.includes('href="#dob-day"'));
    assert.ok(textOf(badNhs.body).includes('Date of birth must be a real date'));
    assert.match(badNhs.body, /value="123 456 7890"/);
    assert.equal(await searches(), before, 'nothing was searched, so nothing is on the audit record or counts towards the limit');
    const citizen = await signedIn('citizen');
    const refused = await post(citizen, '/emergency-access', { 'family-name': 'Smith' }, '/directory');
    assert.equal(refused.statusCode, 403, 'a resident is refused before the form is read');
    assert.ok(!refused.body.includes('value="Smith"'));
  });

  test('emergency access searches are limited per hour, so guessing cannot be kept up', async () => {
    const gp = await signedIn('gp');
    const target = await stranger(3);
    let last;
    for (let i = 0; i < 11; i++) {
      last = await post(
        gp,
        '/emergency-access',
        { 'given-name': 'Nobody', 'family-name': `Guess${i}`, ...dob('1980-01-01') },
        '/emergency-access',
      );
    }
    assert.equal(last!.statusCode, 429);
    assert.match(textOf(last!.body), /emergency searches in the last hour/);
    const blocked = await post(gp, '/emergency-access', { nhs: target.nhs_number, ...dob(target.birth_date) }, '/emergency-access');
    assert.equal(blocked.statusCode, 429);
    assert.ok(!blocked.body.includes(target.family_name), 'even an exact match is not shown past the limit');
  });

  const banner = (html: string) => {
    const at = html.indexOf('govuk-notification-banner--success');
    return at < 0 ? '' : textOf(html.slice(at, html.indexOf('</div>\n', html.indexOf('govuk-notification-banner__content', at)) + 6));
  };

  async function follow(cookie: string, response: { statusCode: number; headers: Record<string, unknown> }) {
    assert.equal(response.statusCode, 302);
    return get(cookie, String(response.headers.location));
  }

  test('saving and withdrawing a sharing choice, sending a correction, a message or feedback each say it worked', async () => {
    const citizen = await signedIn('citizen');
    const saved = await follow(
      citizen,
      await post(
        citizen,
        '/my-record/sharing',
        { decision: 'permit', category: 'housing', recipient: 'network', purposes: ['direct_care'] },
        '/my-record/sharing',
      ),
    );
    assert.match(banner(saved.body), /Your choice has been saved/);
    const id = (
      await server.database.db
        .selectFrom('consent_directives')
        .select('id')
        .where('person_id', '=', citizenId)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow()
    ).id;
    const withdrawn = await follow(citizen, await post(citizen, `/my-record/sharing/${id}/withdraw`, {}, '/my-record/sharing'));
    assert.match(banner(withdrawn.body), /Your choice has been withdrawn/);
    const plain = await get(citizen, '/my-record/sharing');
    assert.equal(banner(plain.body), '', 'no banner when nothing was just done');
    const corrected = await follow(
      citizen,
      await post(
        citizen,
        '/my-record/corrections',
        { organisation: practitionerOrg, item: 'My phone number', wrong: 'It is an old number', right: '07700 900123' },
        '/my-record/corrections',
      ),
    );
    assert.match(banner(corrected.body), /Your request has been sent/);
    const messaged = await follow(
      citizen,
      await post(
        citizen,
        '/my-record/messages',
        { topic: 'Thursday', body: 'Can we move Thursday to the afternoon?' },
        '/my-record/messages',
      ),
    );
    assert.match(banner(messaged.body), /Your message has been sent/);
    const feedbackPage = await get(citizen, '/my-record/feedback');
    const service = /<option value="([^"]+)">/.exec(feedbackPage.body.slice(feedbackPage.body.indexOf('id="service"')))?.[1];
    assert.ok(service, 'the person uses a service');
    const fed = await follow(citizen, await post(citizen, '/my-record/feedback', { service, rating: '4' }, '/my-record/feedback'));
    assert.match(banner(fed.body), /Thank you/);
  });

  test('every form shown again with errors says "Error:" in the page title, and keeps what was typed', async () => {
    const citizen = await signedIn('citizen');
    const practitioner = await signedIn('practitioner');
    const target = await stranger(4);
    const cases: Array<[string, string, string, Record<string, string | string[]>, string]> = [
      [
        'sharing',
        citizen,
        '/my-record/sharing',
        { decision: 'maybe', category: '*', recipient: 'network', purposes: 'direct_care' },
        '/my-record/sharing',
      ],
      [
        'corrections',
        citizen,
        '/my-record/corrections',
        { organisation: '', item: 'Address typed here', wrong: '' },
        '/my-record/corrections',
      ],
      ['about me', citizen, '/my-record/about-me', { what_matters: '', how_to_support: 'Kept text' }, '/my-record/about-me'],
      ['messages', citizen, '/my-record/messages', { topic: 'Kept topic', body: '' }, '/my-record/messages'],
      ['feedback', citizen, '/my-record/feedback', { service: 'nope', rating: '9', comment: 'Kept comment' }, '/my-record/feedback'],
      [
        'network',
        practitioner,
        `/people/${citizenId}/network`,
        { practitioner: 'nobody', role: 'Kept role', reason: '' },
        `/people/${citizenId}/network`,
      ],
      ['emergency access', practitioner, `/people/${target.id}/break-glass`, { reason: 'short' }, '/search'],
    ];
    for (const [name, cookie, url, values, tokenPage] of cases) {
      const response = await post(cookie, url, values, tokenPage);
      assert.equal(response.statusCode, 400, name);
      assert.match(titleOf(response.body), /^Error: /, `${name}: ${titleOf(response.body)}`);
      assert.match(response.body, /govuk-error-summary/, name);
    }
    const search = await get(practitioner, '/search?q=31/02/1985');
    assert.match(titleOf(search.body), /^Error: /, 'search');
    const corrections = await post(
      citizen,
      '/my-record/corrections',
      { organisation: '', item: 'Address typed here', wrong: '' },
      '/my-record/corrections',
    );
    assert.match(corrections.body, /value="Address typed here"/);
  });

  test('a sharing choice can end on a date given as day, month and year, checked like any GOV.UK date', async () => {
    const citizen = await signedIn('citizen');
    const page = await get(citizen, '/my-record/sharing');
    assert.doesNotMatch(page.body, /type="date"/, 'no browser date picker');
    for (const part of ['day', 'month', 'year']) assert.match(page.body, new RegExp(`name="until-${part}"`));
    const year = String(new Date().getUTCFullYear() + 1);
    const bad = await post(
      citizen,
      '/my-record/sharing',
      {
        decision: 'permit',
        category: 'housing',
        recipient: 'network',
        purposes: 'direct_care',
        'until-day': '31',
        'until-month': '2',
        'until-year': year,
      },
      '/my-record/sharing',
    );
    assert.equal(bad.statusCode, 400);
    assert.match(textOf(bad.body), /The end date must be a real date/);
    assert.match(bad.body, /name="until-day"[^>]*value="31"|value="31"[^>]*name="until-day"/, 'the day typed is kept');
    const good = await post(
      citizen,
      '/my-record/sharing',
      {
        decision: 'permit',
        category: 'housing',
        recipient: 'network',
        purposes: 'direct_care',
        'until-day': '7',
        'until-month': '11',
        'until-year': year,
      },
      '/my-record/sharing',
    );
    assert.equal(good.statusCode, 302);
    const stored = await server.database.db
      .selectFrom('consent_directives')
      .select('valid_until')
      .where('person_id', '=', citizenId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(stored.valid_until?.toISOString().slice(0, 10), `${year}-11-07`);
    const shown = await get(citizen, '/my-record/sharing');
    assert.match(textOf(shown.body), new RegExp(`until 7 November ${year}`));
  });

  test('what each service holds is shown with plain labels and dates written out', async () => {
    const citizen = await signedIn('citizen');
    const page = await get(citizen, `/people/${citizenId}`);
    assert.equal(page.statusCode, 200);
    const held = textOf(page.body.slice(page.body.indexOf('What each service holds')));
    assert.match(
      held,
      /Date of birth \d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}/,
    );
    assert.match(held, /Last name /);
    assert.doesNotMatch(held, /birth date|family name|given name|nhs number|\d{4}-\d{2}-\d{2}/);
  });

  test('the sharing page starts with who can see what now, for each service, and why; old choices are folded away', async () => {
    const db = server.database.db;
    const citizen = await signedIn('citizen');
    // Everything shared with the network, but criminal justice information kept private.
    assert.equal(
      (
        await post(
          citizen,
          '/my-record/sharing',
          { decision: 'permit', category: '*', recipient: 'network', purposes: ['direct_care', 'care_coordination'] },
          '/my-record/sharing',
        )
      ).statusCode,
      302,
    );
    assert.equal(
      (
        await post(
          citizen,
          '/my-record/sharing',
          { decision: 'deny', category: 'criminal_justice', recipient: 'network', purposes: ['direct_care', 'care_coordination'] },
          '/my-record/sharing',
        )
      ).statusCode,
      302,
    );
    const page = await get(citizen, '/my-record/sharing');
    assert.equal(page.statusCode, 200);
    const body = textOf(page.body);
    assert.ok(
      body.indexOf('Who can see what now') >= 0 && body.indexOf('Who can see what now') < body.indexOf('Your choices in force'),
      'the summary comes first',
    );
    const summary = body.slice(body.indexOf('Who can see what now'), body.indexOf('Your choices in force'));
    const org = (await db.selectFrom('organisations').select('name').where('id', '=', practitionerOrg).executeTakeFirstOrThrow()).name;
    const line = summary.slice(summary.indexOf(org), summary.indexOf(org) + 600);
    assert.ok(summary.includes(org), "the practitioner's organisation is listed");
    assert.match(line, /Can see [^.]*health[^.]*: you agreed to share it\./);
    assert.match(line, /Only what they recorded themselves of criminal justice: you asked for it not to be shared with them\./);
    const inForce = Number(
      (
        await sql<{
          n: number;
        }>`select count(*) as n from consent_directives where person_id = ${citizenId} and withdrawn_at is null and (valid_until is null or valid_until > now())`.execute(
          db,
        )
      ).rows[0]!.n,
    );
    assert.equal((page.body.match(/>Withdraw<span/g) ?? []).length, inForce, 'only choices in force are listed to withdraw');
    const earlier = Number(
      (
        await sql<{
          n: number;
        }>`select count(*) as n from consent_directives where person_id = ${citizenId} and (withdrawn_at is not null or valid_until <= now())`.execute(
          db,
        )
      ).rows[0]!.n,
    );
    if (earlier > 0) assert.match(body, new RegExp(`Earlier choices, withdrawn or ended \\(${earlier}\\)`));
  });

  test("a correction marked corrected changes the service's record, keeps the old value in its history, and tells the person what changed", async () => {
    const db = server.database.db;
    const citizen = await signedIn('citizen');
    const practitioner = await signedIn('practitioner');
    const record = (
      await sql<{ id: number; fields: Record<string, string> }>`
      select s.id, s.fields from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
      where l.person_id = ${citizenId} and l.superseded_at is null and o.id = ${practitionerOrg} order by s.id limit 1`.execute(db)
    ).rows[0]!;
    const oldPhone = record.fields.phone ?? '';
    assert.equal(
      (
        await post(
          citizen,
          '/my-record/corrections',
          { organisation: practitionerOrg, item: 'My phone number', wrong: 'It is an old number', right: '07700 900456' },
          '/my-record/corrections',
        )
      ).statusCode,
      302,
    );
    const request = await db
      .selectFrom('correction_requests')
      .select('id')
      .where('person_id', '=', citizenId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const inbox = await get(practitioner, '/corrections');
    assert.match(inbox.body, new RegExp(`<option value="${record.id}:phone"`), 'the practitioner chooses the field of their own record');
    // Corrected without saying what to change: refused, nothing changes, and the form says why.
    const vague = await post(practitioner, `/corrections/${request.id}`, { outcome: 'corrected', note: 'Done' }, '/corrections');
    assert.equal(vague.statusCode, 400);
    assert.match(titleOf(vague.body), /^Error: /);
    assert.match(textOf(vague.body), /Choose which part of your record to correct/);
    // Another organisation's record cannot be reached by sending its id.
    const foreign = (
      await sql<{ id: number }>`
      select s.id from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
      where l.person_id = ${citizenId} and l.superseded_at is null and o.id <> ${practitionerOrg} order by s.id limit 1`.execute(db)
    ).rows[0];
    if (foreign) {
      const refused = await post(
        practitioner,
        `/corrections/${request.id}`,
        { outcome: 'corrected', note: 'Done', target: `${foreign.id}:phone`, value: '07700 900456' },
        '/corrections',
      );
      assert.equal(refused.statusCode, 400);
      const untouched = await db.selectFrom('source_records').select('fields').where('id', '=', foreign.id).executeTakeFirstOrThrow();
      assert.notEqual(untouched.fields.phone, '07700 900456');
    }
    const answered = await post(
      practitioner,
      `/corrections/${request.id}`,
      { outcome: 'corrected', note: 'Updated our record', target: `${record.id}:phone`, value: '07700 900456' },
      '/corrections',
    );
    assert.equal(answered.statusCode, 302);
    const stored = await db.selectFrom('source_records').select('fields').where('id', '=', record.id).executeTakeFirstOrThrow();
    assert.equal(stored.fields.phone, '07700 900456', 'the stored value changed');
    const history = await db
      .selectFrom('source_record_history')
      .select('fields')
      .where('source_record_id', '=', record.id)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(history.fields.phone ?? '', oldPhone, "the old value is kept in the record's history");
    const mine = textOf((await get(citizen, '/my-record/corrections')).body);
    assert.match(
      mine,
      new RegExp(
        `they corrected their record: Phone changed from “${oldPhone ? oldPhone.replace(/[+]/g, '\\+') : 'nothing'}” to “07700 900456”`,
      ),
    );
    const page = textOf((await get(citizen, `/people/${citizenId}`)).body);
    assert.match(page.slice(page.indexOf('What each service holds')), /Phone 07700 900456/);
    const again = await post(practitioner, `/corrections/${request.id}`, { outcome: 'declined', note: 'changed my mind' }, '/corrections');
    assert.equal(again.statusCode, 409, 'an answered request cannot be answered twice');
  });

  test("the person's download holds about me, plans, referrals, messages and budget too, through the access decision", async () => {
    const db = server.database.db;
    const citizen = await signedIn('citizen');
    assert.equal(
      (
        await post(
          citizen,
          '/my-record/about-me',
          { what_matters: 'My allotment and my neighbours', how_to_support: 'Call after ten' },
          '/my-record/about-me',
        )
      ).statusCode,
      302,
    );
    assert.equal(
      (await post(citizen, '/my-record/messages', { topic: 'Letters', body: 'Please send letters in large print' }, '/my-record/messages'))
        .statusCode,
      302,
    );
    const data = (await get(citizen, '/my-record/download.json')).json();
    assert.ok(
      data.aboutMe.some((v: { whatMatters: string }) => v.whatMatters === 'My allotment and my neighbours'),
      'about me, every version',
    );
    assert.ok(
      data.messages.some((m: { message: string }) => m.message === 'Please send letters in large print'),
      'messages',
    );
    const referrals = Number(
      (await sql<{ n: number }>`select count(*) as n from referrals where person_id = ${citizenId}`.execute(db)).rows[0]!.n,
    );
    assert.ok(referrals > 0, 'the demo citizen has referrals');
    assert.equal(data.referrals.length, referrals, 'every referral');
    assert.ok(data.referrals[0].service && data.referrals[0].status && Array.isArray(data.referrals[0].history));
    const plans = Number(
      (await sql<{ n: number }>`select count(*) as n from plan_members where person_id = ${citizenId}`.execute(db)).rows[0]!.n,
    );
    assert.ok(plans > 0, 'the demo citizen has a plan');
    assert.equal(data.plans.length, plans);
    assert.ok(Array.isArray(data.plans[0].goals) && data.plans[0].title);
    const budgets = Number(
      (await sql<{ n: number }>`select count(*) as n from personal_budgets where person_id = ${citizenId}`.execute(db)).rows[0]!.n,
    );
    assert.equal(data.personalBudgets.length, budgets);
    const bundle = (await get(citizen, '/my-record/download.fhir.json')).json();
    const types = new Set(bundle.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType));
    for (const type of ['CarePlan', 'ServiceRequest', 'Communication']) assert.ok(types.has(type), `the FHIR Bundle has ${type}`);
  });

  test("a proxy's download holds only what the access decision lets them see", async () => {
    const db = server.database.db;
    const pair = await db
      .selectFrom('proxies as x')
      .select(['x.id', 'x.person_id', 'x.proxy_person_id'])
      .where('x.kind', '=', 'parent')
      .where('x.revoked_at', 'is', null)
      .orderBy('x.id')
      .executeTakeFirstOrThrow();
    // A proxy whose scope leaves out "about me", plans and money.
    await db
      .updateTable('proxies')
      .set({ scope: ['demographics', 'health'] })
      .where('id', '=', pair.id)
      .execute();
    await db
      .insertInto('about_me_versions')
      .values({
        person_id: pair.person_id,
        what_matters: 'Football on Saturdays',
        how_to_support: '',
        written_by: 'seed',
        written_by_role: 'citizen',
      })
      .execute();
    const { createAccount } = await import('../src/auth/accounts.ts');
    await createAccount(db, {
      username: 'proxy-download',
      displayName: 'Parent',
      role: 'citizen',
      password: 'a long parent passphrase',
      personId: pair.proxy_person_id,
    });
    const cookie = await signedIn('proxy-download', 'a long parent passphrase');
    const data = (await get(cookie, `/my-record/download.json?for=${pair.person_id}`)).json();
    assert.deepEqual([data.aboutMe, data.plans, data.personalBudgets, data.messages], [[], [], [], []]);
    assert.ok(!JSON.stringify(data).includes('Football on Saturdays'));
  });

  test('the privacy officer sees what was viewed during each emergency access, and the reviews already done', async () => {
    const db = server.database.db;
    const practitioner = await signedIn('practitioner');
    const target = await stranger(5);
    assert.equal(
      (
        await post(
          practitioner,
          `/people/${target.id}/break-glass`,
          { reason: 'Found wandering, confused, need his medication list' },
          '/search',
        )
      ).statusCode,
      302,
    );
    let shown = '';
    for (let i = 0; i < 2; i++) shown = (await get(practitioner, `/people/${target.id}`)).body;
    const privacy = await signedIn('privacy');
    const list = await get(privacy, '/privacy');
    const card = textOf(list.body.slice(list.body.indexOf(`${target.given_name} ${target.family_name}`)));
    const during = card.slice(0, card.indexOf('Was it appropriate?'));
    assert.match(during, /Opened the person page 2 times/);
    assert.match(during, /basic details \(name, date of birth, address\)/);
    const shownHealth = shown.includes('<h2 class="govuk-heading-m">Health (GP, hospital');
    if (shownHealth) assert.match(during, /health/);
    else assert.doesNotMatch(during, /\bhealth\b/);
    const grant = await db.selectFrom('break_glass_grants').select('id').where('person_id', '=', target.id).executeTakeFirstOrThrow();
    const reviewed = await post(
      privacy,
      `/privacy/break-glass/${grant.id}`,
      { outcome: 'appropriate', note: 'Confirmed with the ward' },
      '/directory',
    );
    assert.equal(reviewed.statusCode, 302);
    const after = await get(privacy, String(reviewed.headers.location));
    assert.match(banner(after.body), /Your review has been recorded/);
    const completed = textOf(after.body.slice(after.body.indexOf('Completed reviews')));
    assert.ok(after.body.indexOf('Completed reviews') > 0, 'completed reviews are listed');
    assert.ok(completed.includes(`${target.given_name} ${target.family_name}`));
    assert.match(completed, /Appropriate/);
    assert.match(completed, /Confirmed with the ward/);
    assert.match(completed, /Found wandering, confused, need his medication list/);
  });
});
