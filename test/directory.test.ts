// The service directory as people meet it: the signed-in search and service pages (with axe in
// Chromium), the public API without sign-in, and `joinery directory export|import`.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { startTestServer, signIn, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { exportDirectory } from '../src/directory/transfer.ts';

const cli = path.resolve(import.meta.dirname, '..', 'src', 'cli.ts');

function runCli(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: '', ...env },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The text of a page without tags, with runs of white space made single. */
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

describe('the directory pages', () => {
  let server: TestServer;
  let cookie: string;
  let postcode: string;
  const page = async (url: string, as = cookie) => {
    const response = await server.app.inject({ method: 'GET', url, headers: { cookie: as } });
    return { status: response.statusCode, html: response.body, text: textOf(response.body), location: response.headers.location };
  };
  before(async () => {
    server = await startTestServer();
    cookie = await signIn(server.app, 'practitioner');
    postcode = (
      await server.database.db
        .selectFrom('organisations')
        .select('postcode')
        .where('kind', '=', 'gp_practice')
        .orderBy('id')
        .executeTakeFirstOrThrow()
    ).postcode;
  });
  after(async () => {
    await server?.close();
  });

  test('signed-out visitors are sent to sign in; every role has a "Services" link', async () => {
    const anonymous = await page('/directory', '');
    assert.equal(anonymous.status, 302);
    assert.match(String(anonymous.location), /^\/sign-in\?next=%2Fdirectory/);
    for (const role of ['citizen', 'practitioner', 'manager', 'admin']) {
      const home = await page('/home', await signIn(server.app, role));
      assert.match(
        home.html,
        /<a class="govuk-service-navigation__link" href="\/directory"[^>]*>\s*Services\s*<\/a>/,
        `${role} sees Services`,
      );
    }
    const directory = await page('/directory');
    assert.match(directory.html, /aria-current="page"[^>]*>\s*Services|href="\/directory" aria-current="page"/);
  });

  test('searching by need lists matching services with opening times, contact, eligibility, clocks and capacity', async () => {
    const { status, text } = await page('/directory?need=domestic_abuse');
    assert.equal(status, 200);
    assert.match(text, /2 services found/);
    assert.match(text, /Independent domestic violence advisers/);
    assert.match(text, /Refuge/);
    assert.match(text, /Who it is for People aged 16 and over experiencing domestic abuse Ages: 16 and over/);
    assert.match(text, /Opening times Every day, 24 hours/);
    assert.match(text, /Phone: 01632 960\d{3}/);
    assert.match(text, /Referral clocks Acknowledged within \d working days?; first contact within \d+ working days/);
    assert.match(text, /Capacity Up to \d+ new referrals a month/);
  });

  test('free text, age and a parent need narrow the list', async () => {
    const counselling = await page('/directory?q=counselling');
    assert.match(counselling.text, /2 services found/);
    assert.match(counselling.text, /Youth counselling Riverford Youth Trust/);
    assert.match(counselling.text, /Talking and peer support Riverford Mind Matters Peer groups, drop-ins and short-term counselling/);
    const child = await page('/directory?need=group_children&age=8');
    assert.match(child.text, /Early help/);
    assert.doesNotMatch(child.text, /Youth mentoring/, 'mentoring starts at 10');
    assert.doesNotMatch(child.text, /Community supervision/);
  });

  test('a postcode shows covering services nearest first, with distances', async () => {
    const { text } = await page(`/directory?postcode=${encodeURIComponent(postcode.toLowerCase().replace(' ', ''))}&distance=3`);
    assert.match(text, new RegExp(`Services covering ${postcode}, nearest first`));
    const distances = [...text.matchAll(/Distance (less than 0\.1|[\d.]+) miles away/g)].map((m) =>
      m[1] === 'less than 0.1' ? 0 : Number(m[1]),
    );
    assert.ok(distances.length > 3);
    assert.deepEqual(
      distances,
      [...distances].sort((a, b) => a - b),
    );
    assert.ok(distances.every((d) => d <= 3));
  });

  test('an unknown postcode or a bad age is a GOV.UK error message, not a crash', async () => {
    const unknown = await page('/directory?postcode=ZZ9%209ZZ');
    assert.equal(unknown.status, 200);
    assert.match(unknown.html, /<title>Error: Find a service/);
    assert.match(unknown.html, /govuk-error-summary/);
    assert.match(unknown.html, /href="#postcode">Enter a postcode in this place/);
    assert.match(unknown.html, /id="postcode-error"/);
    const age = await page('/directory?age=old');
    assert.match(age.html, /href="#age">Age must be a whole number of years/);
    const distance = await page('/directory?distance=5');
    assert.match(distance.html, /Enter a postcode to search by distance/);
  });

  test('many results are paged', async () => {
    const first = await page('/directory');
    assert.match(first.html, /govuk-pagination/);
    assert.equal([...first.html.matchAll(/class="govuk-summary-card"/g)].length, 20);
    const second = await page('/directory?page=2');
    assert.equal(second.status, 200);
    const firstId = (html: string) => /href="\/directory\/services\/([^"]+)"/.exec(html)?.[1];
    assert.notEqual(firstId(second.html), firstId(first.html), 'page 2 shows other services');
  });

  test('a service page shows everything a referrer needs, and unknown services are 404', async () => {
    const { status, text } = await page('/directory/services/org-ch-01-svc1');
    assert.equal(status, 200);
    assert.match(text, /Riverford Food Bank Emergency food parcels/);
    assert.match(text, /Opening times Tuesday and Thursday, 10am to 2pm Saturday, 10am to midday/);
    assert.match(text, /Where Riverford Food Bank \d+ [A-Za-z ]+, Riverford [A-Z]{2}\d+ \d[A-Z]{2}/);
    assert.match(text, /Area covered The whole of Riverford/);
    assert.match(text, /Cost Free: No charge/);
    assert.match(text, /Referral clocks Acknowledged within/);
    assert.match(text, /\/oruk\/services\/[0-9a-f-]{36}/);
    assert.equal((await page('/directory/services/no-such-service')).status, 404);
    assert.equal((await page('/directory/services/..%2F..%2Fetc')).status, 404);
  });

  test('the public API needs no sign-in', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/oruk/services?per_page=1' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['access-control-allow-origin'], '*');
    const post = await server.app.inject({ method: 'POST', url: '/oruk/services', payload: {} });
    assert.equal(post.statusCode, 405);
    assert.equal(post.json().message, 'This API is read-only: use GET.');
  });

  test('joinery directory export and import round-trip a file; a bad file fails in one line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-directory-'));
    const file = path.join(dir, 'directory.json');
    fs.writeFileSync(file, JSON.stringify(await exportDirectory(server.database.db)));
    const env = { JOINERY_DATA_DIR: path.join(dir, 'data') };
    const imported = runCli(['directory', 'import', '--file', file], env);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /^Imported \d+ services, \d+ organisations, \d+ locations and \d+ taxonomy terms from /);
    const out = path.join(dir, 'again.json');
    const exported = runCli(['directory', 'export', '--out', out], env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^Exported \d+ services from \d+ organisations to /);
    assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), JSON.parse(fs.readFileSync(file, 'utf8')));

    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify([{ id: 'x', name: 'Broken', status: 'active' }]));
    const bad = runCli(['directory', 'import', '--file', path.join(dir, 'bad.json')], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^joinery directory: .*bad\.json was not imported: services\[0\]\.id must match format "uuid"\n$/);
    const missing = runCli(['directory', 'import', '--file', path.join(dir, 'nope.json')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /there is no such file\n$/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('the directory in a browser is accessible', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a practitioner finds a service by need and postcode, opens it, and meets a clear error', async () => {
    const postcode = (
      await server.database.db
        .selectFrom('organisations')
        .select('postcode')
        .where('kind', '=', 'gp_practice')
        .orderBy('id')
        .executeTakeFirstOrThrow()
    ).postcode;
    const page = await openPage(browser);
    await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
    await page.getByRole('link', { name: 'Services' }).click();
    await page.waitForLoadState('load');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Find a service');
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    await page.getByLabel('Need').selectOption({ label: 'Mental health and substance use: Mental health' });
    await page.getByLabel('Postcode').fill(postcode);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForLoadState('load');
    assert.match((await page.locator('#results-heading').textContent()) ?? '', /\d+ services? found/);
    assert.ok(await page.getByText(`Services covering ${postcode}, nearest first.`).isVisible());
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    const first = page.locator('.govuk-summary-card__title a').first();
    const name = (await first.textContent())?.trim() ?? '';
    await first.click();
    await page.waitForLoadState('load');
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), name);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);

    await page.goto(`${server.url}/directory?postcode=ZZ9+9ZZ&age=abc`);
    assert.ok(await page.getByRole('alert').getByText('There is a problem').isVisible());
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await closePage(page);
  });
});
