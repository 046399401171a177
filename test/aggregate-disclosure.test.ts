// Aggregates that cannot be differenced, over HTTP as a manager sees them: on the pathway flow no
// suppressed count can be worked out from its row (reached = at the step + completed + dropped
// out) or the rows around it; on case-finding the total minus the teams shown gives no suppressed
// team; managers see no per-person rows (pseudonyms, exact ages, which agencies know someone),
// which stay on the worklist of the practitioners in the team a rule assigns them to.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';

let server: TestServer;
let manager: string;

before(async () => {
  server = await startTestServer({ people: 3000, seed: 7 });
  manager = await signIn(server.app, 'manager');
  const token = await csrfTokenFor(server.app, manager, '/insight/casefinding');
  const run = await server.app.inject({
    method: 'POST',
    url: '/insight/casefinding/run',
    headers: { cookie: manager, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(token)}`,
  });
  assert.equal(run.statusCode, 302, 'the manager runs the case-finding rules');
});
after(async () => {
  await server?.close();
});

const get = (url: string, cookie: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });
const decode = (s: string) =>
  s
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .trim();
/** The sentence every page with suppressed figures shows beside them. */
const WHY = /hidden to protect privacy: fewer than 5 people, or a figure that could reveal a small number/;
const cellValue = (s: string): number | null => (decode(s) === 'suppressed' ? null : Number(decode(s).replace(/,/g, '')));

/** One relation an onlooker knows: Σ coefficient × cell = 0, over shown cells (constants) and unknown ones. */
type Equation = Array<[cell: string, coefficient: number]>;

/**
 * The unknown cells an onlooker can pin to one value: those any linear combination of the
 * equations isolates (e_h in the row space of the equations over the unknowns), and those an
 * equation with unknowns of one sign forces to their least values (hidden counts are at least 1,
 * never-shown ones at least 0, and known when they are 0).
 */
function pinned(equations: Equation[], known: Map<string, number>, lower: Map<string, number>): string[] {
  const unknowns = [...new Set(equations.flatMap((e) => e.map(([c]) => c)))].filter((c) => !known.has(c));
  const rowsOf = (extra: number[][]) => [
    ...equations.map((e) => unknowns.map((u) => e.filter(([c]) => c === u).reduce((s, [, k]) => s + k, 0))),
    ...extra,
  ];
  const rank = (m: number[][]) => {
    const a = m.map((r) => [...r]);
    let r = 0;
    for (let c = 0; c < unknowns.length && r < a.length; c++) {
      const p = a.findIndex((row, k) => k >= r && Math.abs(row[c]!) > 1e-9);
      if (p < 0) continue;
      [a[r], a[p]] = [a[p]!, a[r]!];
      for (let k = 0; k < a.length; k++)
        if (k !== r) {
          const f = a[k]![c]! / a[r]![c]!;
          a[k] = a[k]!.map((v, j) => v - f * a[r]![j]!);
        }
      r++;
    }
    return r;
  };
  const base = rank(rowsOf([]));
  const out = new Set<string>();
  unknowns.forEach((u, j) => {
    if (rank(rowsOf([unknowns.map((_, k) => (k === j ? 1 : 0))])) === base) out.add(u);
  });
  for (const e of equations) {
    const open = e.filter(([c]) => !known.has(c));
    if (open.length === 0 || !(open.every(([, k]) => k > 0) || open.every(([, k]) => k < 0))) continue;
    const constant = -e.filter(([c]) => known.has(c)).reduce((s, [c, k]) => s + k * known.get(c)!, 0);
    const least = open.reduce((s, [c, k]) => s + k * lower.get(c)!, 0);
    if (constant === least) for (const [c] of open) out.add(c);
  }
  return [...out];
}

test('pathway flow: no suppressed count can be worked out from its row or the steps around it', async () => {
  const res = await get('/pathways', manager);
  assert.equal(res.statusCode, 200);
  const db = server.database.db;
  // What an onlooker reading the code knows holds; each relation is used only if it holds in the data.
  const truth = (
    await sql<{
      pathway: string;
      code: string;
      name: string;
      stage: number;
      current: number;
      waiting: number;
      in_progress: number;
      reached: number;
      completed: number;
      dropped: number;
      elsewhere: number;
    }>`
    select p.name as pathway, s.code, s.name, s.stage,
      count(js.id) filter (where js.status in ('waiting', 'in_progress') and j.status = 'active')::int as current,
      count(js.id) filter (where js.status = 'waiting' and j.status = 'active')::int as waiting,
      count(js.id) filter (where js.status = 'in_progress' and j.status = 'active')::int as in_progress,
      count(js.id)::int as reached, count(js.id) filter (where js.status = 'done')::int as completed,
      count(js.id) filter (where js.status = 'dropped')::int as dropped,
      count(js.id) filter (where js.status in ('waiting', 'in_progress') and j.status <> 'active')::int as elsewhere
    from pathway_steps s join pathways p on p.id = s.pathway_id
    left join pathway_journeys j on j.pathway_id = s.pathway_id left join pathway_journey_steps js on js.journey_id = j.id and js.step_code = s.code
    group by p.name, s.code, s.name, s.stage order by p.name, s.stage, s.code`.execute(db)
  ).rows;

  const sections = res.body.split('<h2 class="govuk-heading-l">').slice(1);
  assert.ok(sections.length >= 3, 'a section per pathway');
  let hidden = 0;
  for (const section of sections) {
    const pathway = decode(section.slice(0, section.indexOf('</h2>')));
    const steps = truth.filter((t) => t.pathway === pathway);
    assert.ok(steps.length > 0, `${pathway} is a pathway`);
    const known = new Map<string, number>();
    const lower = new Map<string, number>();
    // A never-shown count matters too when it is 1 to 4 (e.g. in progress = at the step − waiting).
    const smallNeverShown = new Set<string>();
    const equations: Equation[] = [];
    const rows = [...section.matchAll(/<th scope="row" class="govuk-table__header">(\d+)\. ([^<]*)<\/th>([\s\S]*?)<\/tr>/g)];
    assert.equal(rows.length, steps.length, `${pathway}: a row per step`);
    for (const [, stage, name, cells] of rows) {
      const step = steps.find((s) => s.name === decode(name!) && s.stage === Number(stage))!;
      assert.ok(step, `${pathway}: step ${name}`);
      const shown = [...cells!.matchAll(/numeric">([^<]+)</g)].slice(0, 5).map((c) => cellValue(c[1]!));
      const id = (f: string) => `${step.code}:${f}`;
      ['current', 'waiting', 'reached', 'completed', 'dropped'].forEach((f, i) => {
        const v = shown[i]!;
        if (v === null) {
          lower.set(id(f), 1);
          hidden += 1;
        } else {
          assert.ok(v === 0 || v >= 5, `${pathway} / ${step.name}: ${f} shows ${v}`);
          assert.equal(v, step[f as 'current'], `${pathway} / ${step.name}: ${f} is what was counted`);
          known.set(id(f), v);
        }
      });
      // Never-shown cells: people in progress, and steps left open when the person left at another step.
      for (const f of ['in_progress', 'elsewhere'] as const) {
        const cell = id(`:never-shown:${f}`);
        if (step[f] === 0) known.set(cell, 0);
        else lower.set(cell, 0);
        if (step[f] > 0 && step[f] < 5) smallNeverShown.add(cell);
      }
      equations.push([
        [id('current'), 1],
        [id('waiting'), -1],
        [id(':never-shown:in_progress'), -1],
      ]);
      equations.push([
        [id('reached'), 1],
        [id('current'), -1],
        [id('completed'), -1],
        [id('dropped'), -1],
        [id(':never-shown:elsewhere'), -1],
      ]);
    }
    // Every step of a stage opens together; a stage of one step done opens the next stage.
    const stages = [...new Set(steps.map((s) => s.stage))].sort((a, b) => a - b);
    stages.forEach((stage, k) => {
      const here = steps.filter((s) => s.stage === stage);
      for (const other of here.slice(1))
        if (other.reached === here[0]!.reached)
          equations.push([
            [`${here[0]!.code}:reached`, 1],
            [`${other.code}:reached`, -1],
          ]);
      const next = steps.filter((s) => s.stage === stages[k + 1]);
      if (here.length === 1)
        for (const n of next)
          if (n.reached === here[0]!.completed)
            equations.push([
              [`${n.code}:reached`, 1],
              [`${here[0]!.code}:completed`, -1],
            ]);
    });
    const recovered = pinned(equations, known, lower).filter((c) => !c.includes(':never-shown:') || smallNeverShown.has(c));
    assert.deepEqual(recovered, [], `${pathway}: suppressed counts can be worked out: ${recovered.join(', ')}`);
  }
  assert.ok(hidden > 0, 'some counts are suppressed on this data (the test has something to check)');
  assert.ok(WHY.test(decode(res.body)), 'the page says why figures are missing');
});

/** The case-finding page as a manager sees it: per rule, the total and the per-team rows. */
function caseFindingTables(body: string) {
  return body
    .split('<section class="insight-section"')
    .slice(1)
    .map((s) => {
      const total = /<span class="joinery-stat">([^<]+)<\/span>/.exec(s)?.[1];
      const table = /Open entries by team[\s\S]*?<tbody[^>]*>([\s\S]*?)<\/tbody>/.exec(s)?.[1] ?? '';
      const teams = [...table.matchAll(/<tr[\s\S]*?<\/tr>/g)].map((r) => cellValue([...r[0].matchAll(/numeric">([^<]+)</g)].at(-1)![1]!));
      return { rule: decode(/<h2[^>]*>([^<]+)</.exec(s)?.[1] ?? ''), total: total === undefined ? undefined : cellValue(total), teams };
    });
}

test('case-finding: the total minus the teams shown cannot give a suppressed team', async () => {
  const res = await get('/insight/casefinding', manager);
  assert.equal(res.statusCode, 200);
  const tables = caseFindingTables(res.body);
  assert.ok(tables.length >= 3, 'a section per rule');
  assert.ok(
    tables.some((t) => t.teams.length >= 2 && t.total !== null),
    'some rule is split by team under a shown total (the test has something to check)',
  );
  assert.ok(
    tables.some((t) => t.teams.includes(null)),
    'some team count is suppressed on this data',
  );
  for (const t of tables) {
    for (const n of t.teams) assert.ok(n === null || n === 0 || n >= 5, `${t.rule}: a team shows ${n}`);
    if (t.total === null || t.total === undefined) continue;
    const hiddenTeams = t.teams.filter((n) => n === null).length;
    const hiddenSum = t.total - t.teams.reduce<number>((s, n) => s + (n ?? 0), 0);
    if (hiddenTeams === 0) {
      assert.equal(hiddenSum, 0, `${t.rule}: the teams add up to the total`);
      continue;
    }
    assert.notEqual(hiddenTeams, 1, `${t.rule}: one team is suppressed and the total gives it away (${hiddenSum})`);
    // Several hidden teams each of at least 1: only pinned if they must all be exactly 1.
    assert.ok(hiddenSum > hiddenTeams, `${t.rule}: the ${hiddenTeams} suppressed teams can only be 1 each`);
  }
  assert.ok(WHY.test(decode(res.body)), 'the page says why figures are missing');
});

test('managers see no per-person rows from case-finding: no pseudonyms, exact ages or agencies that know someone', async () => {
  const entries = (
    await sql<{ pkey: string; facts: unknown }>`select pkey, facts from insight_worklist where status = 'open'`.execute(server.database.db)
  ).rows;
  assert.ok(entries.length >= 5, 'case-finding found people on this data');
  for (const url of ['/insight/casefinding', '/insight/report', '/insight']) {
    const res = await get(url, manager);
    assert.equal(res.statusCode, 200, url);
    const body = decode(res.body);
    for (const e of entries) assert.ok(!body.includes(e.pkey.slice(0, 8)), `${url} shows the pseudonym ${e.pkey.slice(0, 12)}`);
    const text = body.replace(/<[^>]+>/g, ' ');
    assert.ok(!/\baged \d+\b(?! (or over|or under|to \d))/.test(text), `${url} shows someone's exact age`);
    assert.ok(!/known to \d of the \d services/.test(text), `${url} shows which services know someone`);
    assert.ok(!/term value \d+\.\d|in the 365 days to \d/.test(text), `${url} shows someone's own records`);
    assert.ok(!/Pseudonym/.test(text), `${url} has a column of pseudonyms`);
  }
});

test('the worklist stays with the practitioners of the team a rule assigns people to', async () => {
  const db = server.database.db;
  const busiest = (
    await sql<{ team_id: string; organisation_id: string; n: number }>`
    select team_id, organisation_id, count(*)::int as n from insight_worklist where status = 'open' and team_id is not null group by 1, 2 order by 3 desc limit 1`.execute(
      db,
    )
  ).rows[0]!;
  const inTeam = await db
    .selectFrom('practitioners')
    .select(['id', 'organisation_id'])
    .where('team_id', '=', busiest.team_id)
    .executeTakeFirstOrThrow();
  await createAccount(db, {
    username: 'casefinder',
    displayName: 'Case Finder',
    role: 'practitioner',
    password: DEMO_PASSWORD,
    practitionerId: inTeam.id,
    organisationId: inTeam.organisation_id,
  });
  await createAccount(db, {
    username: 'orgonly',
    displayName: 'No Team',
    role: 'practitioner',
    password: DEMO_PASSWORD,
    organisationId: busiest.organisation_id,
  });
  const list = await get('/insight/worklist', await signIn(server.app, 'casefinder'));
  assert.equal(list.statusCode, 200);
  assert.equal([...list.body.matchAll(/Open record/g)].length, busiest.n, 'every entry for the team is on its worklist');
  assert.match(list.body, /aged \d+/, 'with the facts that matched');
  const noTeam = await get('/insight/worklist', await signIn(server.app, 'orgonly'));
  assert.equal(noTeam.statusCode, 200);
  assert.ok(!/Open record/.test(noTeam.body), "an account in no team does not see the team's worklist");
  assert.equal((await get('/insight/worklist', manager)).statusCode, 403);
});

test('the place overview: localities add up to the residents shown without giving a suppressed locality away', async () => {
  const res = await get('/home', manager);
  assert.equal(res.statusCode, 200);
  const body = decode(res.body);
  const residents = Number(
    /<span class="joinery-stat">([\d,]+)<\/span><span class="joinery-stat-label">residents/.exec(body)![1]!.replace(/,/g, ''),
  );
  const table = /Residents, households and needs by locality[\s\S]*?<tbody[^>]*>([\s\S]*?)<\/tbody>/.exec(body)![1]!;
  const people = [...table.matchAll(/<tr[\s\S]*?<\/tr>/g)].map((r) => cellValue([...r[0].matchAll(/numeric">([^<]+)</g)][0]![1]!));
  assert.ok(people.length >= 2, 'a row per locality');
  const hiddenRows = people.filter((n) => n === null).length;
  const rest = residents - people.reduce<number>((s, n) => s + (n ?? 0), 0);
  if (hiddenRows > 0) assert.ok(hiddenRows >= 2 && rest > hiddenRows, 'no suppressed locality is residents minus the others');
  assert.ok(WHY.test(body), 'the page says why figures are missing');
});
