// Issue 21, finding 8, over HTTP: home pages without dead ends. The caseload pages through
// everyone on it and can be searched ("Showing 1 to 25 of N"), each page's names through the access
// decision; a practitioner whose team receives referrals sees their inbox first (how many are
// waiting, since when, a link to it); coordinators see the plans due for review of people they
// work with, only where the access decision lets them see the plan; and residents are counted
// one way on the manager's home page and on the insight pages, with a hint saying how.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';

const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const ukLong = (d: Date | string) =>
  new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' }).format(
    typeof d === 'string' ? new Date(`${d}T12:00:00Z`) : d,
  );
const isoDay = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('home pages without dead ends (issue 21, finding 8)', () => {
  let server: TestServer;
  const db = () => server.database.db;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });
  const get = (cookie: string, url: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });

  async function caseloadSize(username: string): Promise<number> {
    const org = (await db().selectFrom('users').select('organisation_id').where('username', '=', username).executeTakeFirstOrThrow())
      .organisation_id!;
    return Number(
      (
        await sql<{ n: number }>`select count(distinct person_id)::int as n from needs where organisation_id = ${org} and current`.execute(
          db(),
        )
      ).rows[0]!.n,
    );
  }
  const caseloadNames = (html: string) =>
    [...html.slice(html.indexOf('id="caseload"')).matchAll(/<a class="govuk-link" href="\/people\/([^"]+)">([^<]+)<\/a>/g)].map((m) => ({
      id: m[1]!,
      name: m[2]!,
    }));

  test('the caseload pages through everyone on it, saying "Showing 1 to 25 of N"', async () => {
    const total = await caseloadSize('coordinator');
    assert.ok(total > 50, `the coordinator's organisation has more than two pages of people (${total})`);
    const cookie = await signIn(server.app, 'coordinator');
    const first = await get(cookie, '/home');
    assert.equal(first.statusCode, 200);
    assert.match(textOf(first.body), new RegExp(`Showing 1 to 25 of ${total.toLocaleString('en-GB')} people`));
    const page1 = caseloadNames(first.body);
    assert.equal(page1.length, 25);
    assert.match(first.body, /href="\/home\?page=2#caseload"/, 'a link to the next page');
    const second = await get(cookie, '/home?page=2');
    assert.match(textOf(second.body), new RegExp(`Showing 26 to 50 of ${total.toLocaleString('en-GB')} people`));
    const page2 = caseloadNames(second.body);
    assert.equal(page2.length, 25);
    assert.equal(page2.filter((p) => page1.some((q) => q.id === p.id)).length, 0, 'the second page shows other people');
    // Every name shown was decided by the access decision and is on the audit record; names on pages not shown are not.
    const coordinator = await db().selectFrom('users').select('id').where('username', '=', 'coordinator').executeTakeFirstOrThrow();
    const listed = await db()
      .selectFrom('audit_events')
      .select(['person_id', 'reason'])
      .where('actor_user_id', '=', coordinator.id)
      .where('action', '=', 'list')
      .where('purpose', '=', 'direct_care')
      .where('category', '=', 'demographics')
      .execute();
    for (const p of [...page1, ...page2])
      assert.ok(
        listed.some((e) => e.person_id === p.id),
        `${p.id} listed on the audit record`,
      );
    assert.equal(new Set(listed.map((e) => e.person_id)).size, 50, 'only the two pages shown are on the record');
    assert.ok(
      listed.every((e) => !/on your organisation's caseload/.test(e.reason ?? '')),
      "the reasons are the access decision's, not a hand-written one",
    );
    // Past the last page is the last page, not an error or an empty table.
    const last = await get(cookie, '/home?page=999');
    assert.equal(last.statusCode, 200);
    assert.match(textOf(last.body), new RegExp(`of ${total.toLocaleString('en-GB')} people`));
    assert.ok(caseloadNames(last.body).length > 0);
  });

  test('the caseload can be searched by name, keeping what was typed', async () => {
    const cookie = await signIn(server.app, 'coordinator');
    const first = caseloadNames((await get(cookie, '/home')).body)[0]!;
    const family = first.name.split(' ').slice(-1)[0]!;
    const found = await get(cookie, `/home?q=${encodeURIComponent(family.toLowerCase())}`);
    assert.equal(found.statusCode, 200);
    const rows = caseloadNames(found.body);
    assert.ok(
      rows.some((r) => r.id === first.id),
      `${first.name} is found by their family name`,
    );
    assert.ok(
      rows.every((r) => r.name.toLowerCase().includes(family.toLowerCase())),
      'everyone found matches',
    );
    assert.match(found.body, new RegExp(`name="q"[^>]*value="${family.toLowerCase()}"`), 'the search box keeps what was typed');
    assert.match(textOf(found.body), new RegExp(`Showing 1 to ${rows.length} of ${rows.length} (people|person) matching`));
    const none = await get(cookie, '/home?q=zzzzqqq');
    assert.match(textOf(none.body), /Nobody on your caseload matches “zzzzqqq”/);
    assert.match(none.body, /href="\/home#caseload"[^>]*>Clear the search/);
  });

  test('a practitioner whose team receives referrals sees the inbox first: how many wait, since when, and a link', async () => {
    const housing = await db()
      .selectFrom('users')
      .innerJoin('practitioners', 'practitioners.id', 'users.practitioner_id')
      .select(['practitioners.team_id'])
      .where('users.username', '=', 'housing')
      .executeTakeFirstOrThrow();
    const waiting = (
      await sql<{ n: number; oldest: Date }>`
      select count(*)::int as n, min(sent_at) as oldest from referrals where team_id = ${housing.team_id} and status in ('sent', 'received', 'accepted')`.execute(
        db(),
      )
    ).rows[0]!;
    assert.ok(waiting.n > 0, 'the housing team has referrals waiting');
    const cookie = await signIn(server.app, 'housing');
    const home = await get(cookie, '/home');
    const text = textOf(home.body);
    const inboxAt = text.indexOf('Referrals waiting for your team');
    assert.ok(inboxAt >= 0, 'the inbox panel is there');
    assert.ok(inboxAt < text.indexOf('Your caseload'), 'it comes before the caseload');
    assert.match(text, new RegExp(`${waiting.n} referrals? waiting`));
    assert.match(text, new RegExp(`Oldest waiting since ${ukLong(new Date(waiting.oldest))}`));
    assert.match(home.body, new RegExp(`href="/referrals/inbox\\?team=${housing.team_id}&amp;status=waiting"`));
  });

  test('a practitioner whose team receives no referrals sees no inbox panel', async () => {
    const team = (
      await sql<{ id: string; organisation_id: string }>`
      select t.id, t.organisation_id from teams t where not exists (select 1 from services s where s.team_id = t.id) order by t.id limit 1`.execute(
        db(),
      )
    ).rows[0]!;
    await db()
      .insertInto('practitioners')
      .values({
        id: 'pr-home-test',
        organisation_id: team.organisation_id,
        team_id: team.id,
        given_name: 'Noor',
        family_name: 'Inbox',
        role: 'support_worker',
        email: 'noor@example.org',
      })
      .execute();
    await createAccount(db(), {
      username: 'noinbox',
      displayName: 'Noor Inbox',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: 'pr-home-test',
      organisationId: team.organisation_id,
    });
    const home = await get(await signIn(server.app, 'noinbox'), '/home');
    assert.equal(home.statusCode, 200);
    assert.doesNotMatch(textOf(home.body), /Referrals waiting for your team/);
  });

  test('coordinators see plans due for review of people they work with, only where the access decision shows the plan', async () => {
    const coordinator = await db()
      .selectFrom('users')
      .select(['id', 'organisation_id', 'practitioner_id'])
      .where('username', '=', 'coordinator')
      .executeTakeFirstOrThrow();
    // People the coordinator works with: they are in their care network by name.
    const plans = (
      await sql<{ id: string; person_id: string; title: string; given_name: string; family_name: string }>`
      select pl.id, pl.person_id, pl.title, p.given_name, p.family_name from plans pl join persons p on p.id = pl.person_id
      where pl.status = 'active' and exists (select 1 from care_relationships r where r.person_id = pl.person_id and r.ended_at is null and r.practitioner_id = ${coordinator.practitioner_id})
      order by pl.id limit 3`.execute(db())
    ).rows;
    assert.equal(plans.length, 3);
    const [overdue, dueSoon, withheld] = plans as [(typeof plans)[number], (typeof plans)[number], (typeof plans)[number]];
    await db()
      .updateTable('plans')
      .set({ next_review_on: isoDay(-9) })
      .where('id', '=', overdue.id)
      .execute();
    await db()
      .updateTable('plans')
      .set({ next_review_on: isoDay(3) })
      .where('id', '=', dueSoon.id)
      .execute();
    // The third person's plan is led by another organisation, and they said their plan is not to be shared with the coordinator's.
    const other = (
      await db()
        .selectFrom('organisations')
        .select('id')
        .where('id', '!=', coordinator.organisation_id!)
        .orderBy('id')
        .executeTakeFirstOrThrow()
    ).id;
    await db()
      .updateTable('plans')
      .set({ next_review_on: isoDay(-2), organisation_id: other })
      .where('id', '=', withheld.id)
      .execute();
    await db()
      .insertInto('consent_directives')
      .values({
        person_id: withheld.person_id,
        category: 'plans',
        recipient_kind: 'organisation',
        recipient_id: coordinator.organisation_id,
        purposes: ['direct_care', 'care_coordination'],
        decision: 'deny',
        valid_until: null,
        recorded_by: null,
        recorded_by_role: 'citizen',
        withdrawn_at: null,
        withdrawn_by: null,
        note: null,
        recorded_for: 'person',
      })
      .execute();
    const home = await get(await signIn(server.app, 'coordinator'), '/home');
    const text = textOf(home.body);
    const section = text.slice(text.indexOf('Plans due for review'));
    assert.ok(text.includes('Plans due for review'), 'the section is there');
    assert.ok(section.includes(`${overdue.given_name} ${overdue.family_name}`), 'the overdue plan is listed');
    assert.match(section, new RegExp(`${ukLong(isoDay(-9))} Overdue`));
    assert.ok(section.includes(`${dueSoon.given_name} ${dueSoon.family_name}`), 'the plan due in 3 days is listed');
    assert.match(home.body, new RegExp(`href="/people/${overdue.person_id}/plan"`));
    assert.ok(!home.body.includes(`/people/${withheld.person_id}/plan`), 'the plan the person withheld is not listed');
    const decisions = await db()
      .selectFrom('audit_events')
      .select(['person_id', 'category', 'decision'])
      .where('actor_user_id', '=', coordinator.id)
      .where('person_id', '=', withheld.person_id)
      .where('category', '=', 'plans')
      .execute();
    assert.ok(decisions.length > 0, 'the decision about their plan is on the audit record');
    assert.match(text, /\d+ more plans? (is|are) not listed: the access rules do not let you see/);
  });

  test("residents are counted one way on the manager's home page and the insight pages, and the pages say how", async () => {
    const residents = Number(
      (
        await sql<{ n: number }>`
      select count(*)::int as n from persons p join households h on h.id = p.household_id join small_areas a on a.id = h.small_area_id where p.merged_into is null`.execute(
          db(),
        )
      ).rows[0]!.n,
    );
    const everyone = Number((await sql<{ n: number }>`select count(*)::int as n from persons`.execute(db())).rows[0]!.n);
    assert.ok(everyone > residents, 'the person index holds people with no known address in the place');
    const cookie = await signIn(server.app, 'manager');
    const home = textOf((await get(cookie, '/home')).body);
    const insight = textOf((await get(cookie, '/insight')).body);
    const shown = residents.toLocaleString('en-GB');
    assert.match(home, new RegExp(`${shown} residents`));
    assert.ok(!home.includes(everyone.toLocaleString('en-GB')), 'the home page no longer counts every person record');
    assert.match(insight, new RegExp(`${shown} residents`));
    for (const page of [home, insight])
      assert.match(page, /Residents are people living at an address in one of the place's neighbourhoods/);
  });
  test("every link on a resident's home page opens a page they may use, in English and in Welsh", async () => {
    const cookie = await signIn(server.app, 'citizen');
    for (const lang of ['en', 'cy']) {
      const home = await get(`${cookie}; joinery_lang=${lang}`, '/home');
      assert.equal(home.statusCode, 200);
      const main = home.body.slice(home.body.indexOf('<main'), home.body.indexOf('</main>'));
      const links = [...new Set([...main.matchAll(/<a class="govuk-link" href="(\/[^"#]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&')))];
      for (const wanted of [
        '/my-referrals',
        '/my-record/what-matters',
        '/services',
        '/my-record/communication-needs',
        '/my-record/informal-network',
        '/my-record/rights',
        '/account',
      ]) {
        assert.ok(links.includes(wanted), `the home page links to ${wanted} (${lang})`);
      }
      for (const href of links) {
        let page = await get(`${cookie}; joinery_lang=${lang}`, href);
        if (page.statusCode === 302) page = await get(`${cookie}; joinery_lang=${lang}`, String(page.headers.location));
        assert.equal(page.statusCode, 200, `${href} opens for the resident (${lang})`);
      }
    }
  });
});
