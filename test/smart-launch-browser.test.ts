// SMART App Launch in Chromium with axe, on a 375 px phone screen, against a small SMART app the
// test runs (its own server: discovery, PKCE, state, the code exchanged server-side, then a FHIR
// read): a practitioner opens a person's record in the app from Joinery (EHR launch) and allows it;
// then the app is started on its own (standalone launch) and the practitioner picks the person.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import type { Patient } from '@medplum/fhirtypes';
import { startTestServer, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { browserAvailable, launchBrowser, seriousAccessibilityProblems, signInAs } from './support/browser.ts';
import { registerSmartClient } from '../src/fhir/smart/clients.ts';

/** A SMART app as a partner would write one: everything it knows comes from discovery and the token response. */
function startApp(joinery: () => { iss: string; clientId: string }) {
  const pending = new Map<string, { verifier: string; iss: string }>();
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      const here = `http://${req.headers.host}`;
      if (url.pathname === '/launch' || url.pathname === '/standalone') {
        const iss = url.searchParams.get('iss') ?? joinery().iss;
        const config = (await (await fetch(`${iss}/.well-known/smart-configuration`)).json()) as { authorization_endpoint: string };
        const verifier = randomBytes(32).toString('base64url');
        const state = randomBytes(12).toString('base64url');
        pending.set(state, { verifier, iss });
        const authorize = new URL(config.authorization_endpoint);
        const launch = url.searchParams.get('launch');
        for (const [k, v] of Object.entries({
          response_type: 'code',
          client_id: joinery().clientId,
          redirect_uri: `${here}/callback`,
          scope: launch ? 'launch patient/Patient.rs' : 'launch/patient patient/Patient.rs',
          state,
          aud: iss,
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
          ...(launch ? { launch } : {}),
        }))
          authorize.searchParams.set(k, v);
        res.writeHead(302, { location: authorize.toString() }).end();
        return;
      }
      if (url.pathname === '/callback') {
        const flow = pending.get(url.searchParams.get('state') ?? '');
        pending.delete(url.searchParams.get('state') ?? '');
        if (!flow || !url.searchParams.get('code')) {
          res
            .writeHead(400, { 'content-type': 'text/html' })
            .end(`<!doctype html><html lang="en"><title>Refused</title><h1>Not allowed: ${url.searchParams.get('error')}</h1></html>`);
          return;
        }
        const config = (await (await fetch(`${flow.iss}/.well-known/smart-configuration`)).json()) as { token_endpoint: string };
        const token = (await (
          await fetch(config.token_endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              code: url.searchParams.get('code')!,
              redirect_uri: `${here}/callback`,
              code_verifier: flow.verifier,
              client_id: joinery().clientId,
            }),
          })
        ).json()) as { access_token: string; patient: string };
        const patient = (await (
          await fetch(`${flow.iss}/Patient/${token.patient}`, {
            headers: { authorization: `Bearer ${token.access_token}`, accept: 'application/fhir+json' },
          })
        ).json()) as Patient;
        const name = patient.name?.[0];
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            `<!doctype html><html lang="en"><title>App</title><main><h1>Opened ${name?.given?.[0] ?? ''} ${name?.family ?? ''}</h1></main></html>`,
          );
        return;
      }
      res.writeHead(404).end();
    })().catch((error: Error) => res.writeHead(500).end(error.message));
  });
  return new Promise<{ url: string; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

describe('SMART App Launch in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let server: TestServer;
  let browser: Browser;
  let app: { url: string; close: () => Promise<void> };
  let clientId = '';
  let patient: string;
  let family: string;

  before(async () => {
    server = await startTestServer({ people: 600 });
    app = await startApp(() => ({ iss: `${server.url}/fhir`, clientId }));
    clientId = (
      await registerSmartClient(server.database.db, {
        name: 'Browser app',
        redirectUris: [`${app.url}/callback`],
        launchUri: `${app.url}/launch`,
      })
    ).clientId;
    const row = (
      await sql<{
        id: string;
        family_name: string;
      }>`select p.id, p.family_name from users u join persons p on p.id = u.person_id where u.username = 'citizen'`.execute(
        server.database.db,
      )
    ).rows[0]!;
    patient = row.id;
    family = row.family_name;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await server?.close();
  });

  const fitsTheScreen = async (page: Page, where: string) => {
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 375, `${where}: the page is ${width} px wide on a 375 px screen`);
    assert.deepEqual(await seriousAccessibilityProblems(page), [], where);
  };

  test('EHR launch: open the person in the app from Joinery, allow it, and the app reads them with its token', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await context.newPage();
    await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
    await page.goto(`${server.url}/people/${patient}`);
    await Promise.all([page.waitForURL(/\/smart\/open/), page.getByRole('link', { name: 'Open in an app' }).click()]);
    await fitsTheScreen(page, 'the open-in-an-app page');
    await Promise.all([page.waitForURL(/\/smart\/authorize/), page.getByRole('button', { name: 'Open in Browser app' }).click()]);
    assert.ok(await page.getByRole('heading', { name: 'Allow Browser app to use Joinery as you?' }).isVisible());
    assert.ok(await page.getByText(family).first().isVisible(), 'the approval page names the person the app was opened for');
    await fitsTheScreen(page, 'the approval page (EHR launch)');
    await Promise.all([page.waitForURL(`${app.url}/callback**`), page.getByRole('button', { name: 'Allow', exact: true }).click()]);
    assert.match(await page.getByRole('heading', { level: 1 }).innerText(), new RegExp(`Opened .*${family}`));
    // The practitioner sees the app among those they allowed, and stops it.
    await page.goto(`${server.url}/account/apps`);
    await fitsTheScreen(page, 'apps you have allowed');
    await page.getByRole('button', { name: 'Stop Browser app' }).click();
    await page.waitForURL(/stopped=1/);
    assert.ok(await page.getByText('The app has been stopped').isVisible());
    await fitsTheScreen(page, 'apps you have allowed, after stopping one');
    await context.close();
  });

  test('standalone launch: the app starts on its own, the practitioner picks the person, or says no', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await context.newPage();
    await signInAs(page, server.url, 'practitioner', DEMO_PASSWORD);
    await page.goto(`${app.url}/standalone`);
    await page.waitForURL(/\/smart\/authorize/);
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    assert.ok(
      await page.getByRole('link', { name: 'Choose whose record the app may open' }).isVisible(),
      'allowing without choosing says what to do',
    );
    await fitsTheScreen(page, 'the approval page with its error');
    const choice = page.getByRole('radio', { name: new RegExp(family) }).first();
    if ((await choice.count()) === 0) {
      // Not on the first page of the caseload: find them by name.
      await page.getByLabel('Find someone on your caseload by name').fill(family);
      await Promise.all([page.waitForURL(/q=/), page.getByRole('button', { name: 'Find' }).click()]);
    }
    await page
      .getByRole('radio', { name: new RegExp(family) })
      .first()
      .check();
    await fitsTheScreen(page, 'the approval page with its person picker');
    await Promise.all([page.waitForURL(`${app.url}/callback**`), page.getByRole('button', { name: 'Allow', exact: true }).click()]);
    assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Opened /);
    // Started again, and refused: the app is told access_denied.
    await page.goto(`${app.url}/standalone`);
    await page.waitForURL(/\/smart\/authorize/);
    await Promise.all([page.waitForURL(`${app.url}/callback**`), page.getByRole('button', { name: 'Do not allow' }).click()]);
    assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Not allowed: access_denied/);
    await context.close();
  });
});
