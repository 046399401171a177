// Issue 21, "everyday work without dead ends", over HTTP: who looked (grouped, summarised, only
// what was shown), emergency access reachable from a search that cannot be used to enumerate
// people, feedback after every form (success banners, "Error:" titles), GOV.UK dates, plain
// labels, person search by written dates and with a count, the sharing summary, corrections that
// change the record, a complete download, and the privacy officer's view of emergency accesses.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, type TestServer } from './support/server.ts';

const textOf = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

describe('everyday work without dead ends (issue 21)', () => {
  let server: TestServer;
  let citizenId: string;
  let practitionerName: string;
  let practitionerOrg: string;
  before(async () => {
    server = await startTestServer({ people: 2000, seed: 3 });
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    const practitioner = await db.selectFrom('users').select(['display_name', 'organisation_id']).where('username', '=', 'practitioner').executeTakeFirstOrThrow();
    practitionerName = practitioner.display_name;
    practitionerOrg = practitioner.organisation_id!;
  });
  after(async () => { await server?.close(); });

  async function get(cookie: string, url: string) {
    return server.app.inject({ method: 'GET', url, headers: { cookie } });
  }

  test('who looked: one line per reader, each kind of information once, only what was shown, repeated looks summarised', async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    let shown = '';
    for (let i = 0; i < 3; i++) {
      const page = await get(practitioner, `/people/${citizenId}`);
      assert.equal(page.statusCode, 200);
      shown = page.body;
    }
    // The demo citizen asked for police, courts and probation information not to be shared.
    const criminalJusticeShown = shown.includes('<h2 class="govuk-heading-m">Police, courts and probation</h2>');
    const citizen = await signIn(server.app, 'citizen');
    const own = await get(citizen, `/people/${citizenId}`);
    const section = own.body.slice(own.body.indexOf('Who looked'), own.body.indexOf('</ul>', own.body.indexOf('Who looked')));
    const lines = section.split('<li').slice(1).map(textOf).filter((l) => l.includes(practitionerName) && l.includes('looked at your record'));
    assert.equal(lines.length, 1, `one line for the practitioner's three looks: ${lines.join(' | ')}`);
    const line = lines[0]!;
    assert.match(line, /3 times/);
    for (const word of ['plans', 'health', 'housing', 'about me', 'basic details', 'social care', 'money', 'school']) {
      assert.ok(line.split(word).length - 1 <= 1, `"${word}" at most once in: ${line}`);
    }
    if (!criminalJusticeShown) assert.doesNotMatch(line, /criminal justice|police|probation/i, 'nothing of it was shown, so it is not said to have been looked at');
    assert.ok(line.split(' ').length < 60, `a short line: ${line}`);
  });

  test('person search understands a date of birth written out, as people say it', async () => {
    const db = server.database.db;
    const person = await db.selectFrom('persons').select(['birth_date', 'given_name', 'family_name']).where('id', '=', citizenId).executeTakeFirstOrThrow();
    const written = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${person.birth_date}T12:00:00Z`));
    const practitioner = await signIn(server.app, 'practitioner');
    for (const q of [written, `${person.family_name} ${written}`]) {
      const page = await get(practitioner, `/search?q=${encodeURIComponent(q)}`);
      assert.equal(page.statusCode, 200, q);
      assert.ok(page.body.includes(`/people/${citizenId}"`), `"${q}" finds the person`);
    }
  });

  test('a search that many people match says how many, suggests how to narrow it, and pages through them', async () => {
    const db = server.database.db;
    // Thirty people the practitioner's organisation works with share an unusual family name.
    const people = (await sql<{ id: string }>`select id from persons where merged_into is null and id <> ${citizenId} order by id limit 30`.execute(db)).rows;
    await db.updateTable('persons').set({ family_name: 'Quorndon' }).where('id', 'in', people.map((p) => p.id)).execute();
    await db.insertInto('care_relationships').values(people.map((p) => ({
      person_id: p.id, organisation_id: practitionerOrg, team_id: null, practitioner_id: null, kind: 'network' as const, role_label: null, reason: 'search test', ended_at: null, recorded_by: null,
    }))).execute();
    const practitioner = await signIn(server.app, 'practitioner');
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
    const audited = Number((await sql<{ n: number }>`select count(*) as n from audit_events where action = 'search' and person_id in (${sql.join(people.map((p) => p.id))})`.execute(db)).rows[0]!.n);
    assert.equal(audited, 30);
  });
});
