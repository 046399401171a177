// Issue 21, finding 11 (managers), over HTTP: per service a target wait and the share of people
// seen within it; referrals received each month against capacity as a chart with labelled axes
// and a table; from an outcome figure to the services contributing to it, and on to one service;
// the inequality gap chart with round ticks, units and an axis title; pathway waits in one unit
// (working days, said on the page); and the budget chart's axis in round amounts (£3.5m).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, type TestServer } from './support/server.ts';
import { ukDate, workingDaysBetween } from '../src/referrals/working-days.ts';
import { activeFramework } from '../src/plans/index.ts';

const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const svgOf = (html: string, id: string) => {
  const start = html.indexOf(`aria-labelledby="${id}-title`);
  assert.ok(start > 0, `the page has the chart ${id}`);
  return html.slice(html.lastIndexOf('<svg', start), html.indexOf('</svg>', start) + 6);
};
const tableOf = (html: string, id: string) => {
  const start = html.indexOf(`id="${id}"`);
  assert.ok(start > 0, `the page has the table ${id}`);
  return html.slice(start, html.indexOf('</table>', start));
};
const tickLabels = (svg: string, axis: 'x' | 'y') =>
  [...svg.matchAll(new RegExp(`<text class="tick tick--${axis}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]!);
const axisTitles = (svg: string) =>
  [...svg.matchAll(/<text class="axis-title[^"]*"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));

/** Equally spaced, and the step is 1, 2, 2.5 or 5 times a power of ten. */
function assertRoundTicks(values: number[], what: string) {
  assert.ok(values.length >= 3, `${what}: at least 3 ticks (${values.join(', ')})`);
  const step = values[1]! - values[0]!;
  for (let i = 1; i < values.length; i++)
    assert.ok(Math.abs(values[i]! - values[i - 1]! - step) < step * 1e-6, `${what}: equally spaced (${values.join(', ')})`);
  const scale = 10 ** Math.floor(Math.log10(step));
  assert.ok(
    [1, 2, 2.5, 5, 10].some((m) => Math.abs(step / scale - m) < 1e-6),
    `${what}: a round step (${step})`,
  );
  for (const v of values) assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-6, `${what}: ${v} is a multiple of the step ${step}`);
}

describe('manager pages: targets, demand over time, drill-down and honest axes (issue 21, finding 11)', () => {
  let server: TestServer;
  let manager: string;
  const db = () => server.database.db;
  before(async () => {
    server = await startTestServer();
    manager = await signIn(server.app, 'manager');
  });
  after(async () => {
    await server?.close();
  });
  const get = (url: string, cookie = manager) => server.app.inject({ method: 'GET', url, headers: { cookie } });

  test('per service a target wait and the share of people seen within it', async () => {
    const today = ukDate(new Date());
    const rows = (
      await sql<{ id: string; name: string; target: number; measured: number; within: number }>`
      select s.id, s.name, s.first_contact_within_days as target,
        count(*) filter (where r.first_contact_at is not null or r.first_contact_due < ${today})::int as measured,
        count(*) filter (where r.first_contact_at is not null and (r.first_contact_at at time zone 'Europe/London')::date <= r.first_contact_due)::int as within
      from services s join referrals r on r.service_id = s.id
      where r.sent_at > now() - interval '12 months' and r.status not in ('cancelled', 'declined')
      group by s.id, s.name, s.first_contact_within_days order by measured desc, s.id limit 1`.execute(db())
    ).rows;
    const busiest = rows[0]!;
    assert.ok(
      busiest.measured >= 20 && busiest.within >= 5 && busiest.measured - busiest.within >= 5,
      'a service with enough referrals to show',
    );
    const page = await get('/insight');
    const table = tableOf(page.body, 'demand-table');
    assert.ok(textOf(table).includes('Target wait (working days)'));
    assert.ok(textOf(table).includes('Seen within target'));
    const row = textOf(table.slice(table.indexOf(`>${busiest.name}<`), table.indexOf('</tr>', table.indexOf(`>${busiest.name}<`))));
    const share = Math.round((busiest.within / busiest.measured) * 100);
    assert.match(row, new RegExp(` ${busiest.target} `), `target in: ${row}`);
    assert.match(row, new RegExp(`${share}% \\(${busiest.within} of ${busiest.measured}\\)`), `share seen within target in: ${row}`);
  });

  test('referrals received each month against capacity: a chart with labelled axes, and a table', async () => {
    const page = await get('/insight');
    const svg = svgOf(page.body, 'demand-months');
    const titles = axisTitles(svg);
    assert.ok(
      titles.some((t) => /Referrals received a month/.test(t)),
      `y axis title: ${titles.join(' | ')}`,
    );
    assert.ok(
      titles.some((t) => /Month/.test(t)),
      `x axis title: ${titles.join(' | ')}`,
    );
    assertRoundTicks(
      tickLabels(svg, 'y').map((l) => Number(l.replace(/,/g, ''))),
      'demand y axis',
    );
    assert.equal(tickLabels(svg, 'x').length, 12, 'a tick for each of the 12 months');
    const table = tableOf(page.body, 'demand-months-table');
    assert.ok(textOf(table).includes('Capacity'));
    const month = new Date().toISOString().slice(0, 7);
    const count = Number(
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from referrals where to_char(sent_at at time zone 'Europe/London', 'YYYY-MM') = ${month}`.execute(db())
      ).rows[0]!.n,
    );
    const capacity = Number((await sql<{ n: number }>`select sum(capacity_per_month)::int as n from services`.execute(db())).rows[0]!.n);
    const label = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
      new Date(`${month}-01T00:00:00Z`),
    );
    const row = textOf(table.slice(table.indexOf(label)));
    assert.match(
      row,
      new RegExp(`^${label} \\(so far\\) ${count.toLocaleString('en-GB')} ${capacity.toLocaleString('en-GB')} `),
      row.slice(0, 120),
    );
  });

  test('from an outcome figure to the services contributing to it, and on to one service', async () => {
    const framework = await activeFramework(db());
    const page = await get('/insight');
    const outcomes = tableOf(page.body, 'outcomes-table');
    for (const o of framework.outcomes) assert.ok(outcomes.includes(`href="/insight/outcomes/${o.code}"`), `a link from ${o.label}`);
    const outcome = framework.outcomes.find((o) => Object.entries(framework.needs).some(([, codes]) => codes.includes(o.code)))!;
    const needs = Object.entries(framework.needs)
      .filter(([, codes]) => codes.includes(outcome.code))
      .map(([need]) => need);
    const services = await db()
      .selectFrom('services')
      .select(['id', 'name'])
      .where(sql<boolean>`needs && ${sql.val(needs)}::text[]`)
      .orderBy('id')
      .execute();
    assert.ok(services.length > 0, 'some services address the needs of this outcome');
    const drill = await get(`/insight/outcomes/${outcome.code}`);
    assert.equal(drill.statusCode, 200);
    assert.ok(textOf(drill.body).includes(outcome.label));
    for (const s of services) assert.ok(drill.body.includes(`href="/insight/services/${s.id}"`), `${s.name} is listed`);
    assert.match(drill.body, /<a href="\/insight#needs-heading" class="govuk-back-link">/, 'a way back to the figure');
    const service = await get(`/insight/services/${services[0]!.id}`);
    assert.equal(service.statusCode, 200);
    assert.ok(textOf(service.body).includes(services[0]!.name));
    svgOf(service.body, 'service-months');
    assert.equal((await get('/insight/outcomes/NOPE')).statusCode, 404);
    assert.equal((await get('/insight/services/nope')).statusCode, 404);
    assert.equal((await get(`/insight/outcomes/${outcome.code}`, await signIn(server.app, 'practitioner'))).statusCode, 403);
  });

  test('the gap chart has round ticks, the unit and an axis title', async () => {
    const page = await get('/insight/inequalities');
    assert.equal(page.statusCode, 200);
    const svg = svgOf(page.body, 'sii-chart');
    const titles = axisTitles(svg);
    assert.ok(
      titles.some((t) => /Slope index of inequality \(.+\)/.test(t)),
      `y axis title with its unit: ${titles.join(' | ')}`,
    );
    assert.ok(
      titles.some((t) => /Quarter/.test(t)),
      `x axis title: ${titles.join(' | ')}`,
    );
    assertRoundTicks(
      tickLabels(svg, 'y').map((l) => Number(l.replace(/,/g, '').replace('−', '-'))),
      'gap y axis',
    );
    const split = svgOf(page.body, 'split-chart');
    assertRoundTicks(
      tickLabels(split, 'x').map((l) => Number(l.replace(/,/g, '').replace('−', '-'))),
      'split x axis',
    );
    assert.ok(axisTitles(split).length > 0, 'the split chart names its axis');
  });

  test('pathway waits are all in working days, and the page says so', async () => {
    const page = await get('/pathways');
    assert.equal(page.statusCode, 200);
    const text = textOf(page.body);
    assert.ok(!/calendar days/.test(text), 'no wait in calendar days');
    assert.match(text, /All waits are in working days/);
    assert.match(text, /Median wait \(working days\)/);
    // The median of one step, counted in working days from the day it became ready.
    const step = (
      await sql<{ pathway_id: string; code: string; name: string }>`
      select s.pathway_id, s.code, s.name from pathway_steps s join pathway_journey_steps js on js.step_code = s.code
      join pathway_journeys j on j.id = js.journey_id and j.pathway_id = s.pathway_id
      group by s.pathway_id, s.code, s.name
      having count(*) filter (where js.started_at is not null) >= 9 and count(*) filter (where js.started_at is null and js.status = 'waiting' and j.status = 'active') = 0
      order by count(*) desc limit 1`.execute(db())
    ).rows[0];
    assert.ok(step, 'a step everyone has started, to check its median against');
    const waits = (
      await sql<{ ready_at: Date; started_at: Date }>`
      select js.ready_at, js.started_at from pathway_journey_steps js join pathway_journeys j on j.id = js.journey_id
      where j.pathway_id = ${step!.pathway_id} and js.step_code = ${step!.code} and js.started_at is not null`.execute(db())
    ).rows
      .map((r) => workingDaysBetween(ukDate(new Date(r.ready_at)), ukDate(new Date(r.started_at))))
      .sort((a, b) => a - b);
    const mid = (waits.length - 1) / 2;
    const median = (waits[Math.floor(mid)]! + waits[Math.ceil(mid)]!) / 2;
    const row = textOf(
      page.body.slice(page.body.indexOf(`${step!.name}</th>`), page.body.indexOf('</tr>', page.body.indexOf(`${step!.name}</th>`))),
    );
    assert.ok(
      row.includes(` ${median.toLocaleString('en-GB', { maximumFractionDigits: 1 })} `),
      `median ${median} working days in: ${row}`,
    );
  });

  test("the budget chart's axis is in round amounts with a title", async () => {
    const page = await get('/budgets');
    assert.equal(page.statusCode, 200);
    const svg = svgOf(page.body, 'budget-vs-spend');
    const labels = tickLabels(svg, 'y');
    for (const l of labels) assert.match(l, /^£(0|\d+(\.\d+)?[km])$/, `a round amount: ${l}`);
    const pounds = labels.map((l) => Number(l.replace('£', '').replace('k', 'e3').replace('m', 'e6')));
    assertRoundTicks(pounds, 'budget y axis');
    assert.ok(
      axisTitles(svg).some((t) => /£/.test(t)),
      'the axis says it is in pounds',
    );
  });
});
