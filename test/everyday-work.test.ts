// Issue 21, "everyday work without dead ends", over HTTP: who looked (grouped, summarised, only
// what was shown), emergency access reachable from a search that cannot be used to enumerate
// people, feedback after every form (success banners, "Error:" titles), GOV.UK dates, plain
// labels, person search by written dates and with a count, the sharing summary, corrections that
// change the record, a complete download, and the privacy officer's view of emergency accesses.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, signIn, type TestServer } from './support/server.ts';

const textOf = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

describe('everyday work without dead ends (issue 21)', () => {
  let server: TestServer;
  let citizenId: string;
  let practitionerName: string;
  before(async () => {
    server = await startTestServer({ people: 2000, seed: 3 });
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    const practitioner = await db.selectFrom('users').select(['display_name']).where('username', '=', 'practitioner').executeTakeFirstOrThrow();
    practitionerName = practitioner.display_name;
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
});
