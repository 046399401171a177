// FHIR R4 Subscriptions (rest-hook) against the running server, delivered to HTTP receivers on
// this machine by the webhook dispatcher: a practitioner's Subscription to ServiceRequest?status=active
// is told of the referral they send, id-only (a history Bundle naming the resource, no resource),
// with the headers they asked for; another agency's Subscription to every ServiceRequest is not
// told of it (it may not read it), and its delivery is set aside unsent. Refusals: roles other
// than practitioner, criteria on types not offered, endpoints Joinery will not call, another's
// Subscription unseen and unchangeable; a Subscription turned off is told nothing more.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Bundle, OperationOutcome, Resource, Subscription } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { validateFhir } from '../src/fhir/validate.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';

let server: TestServer;
let tokenA: string;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function receiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const hook = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(hook.address() as { port: number }).port}/notify`,
    received,
    close: () => new Promise((resolve) => hook.close(() => resolve())),
  };
}

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

async function send(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Resource }> {
  const response = await fetch(`${server.url}/fhir/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/fhir+json',
      ...(body ? { 'content-type': 'application/fhir+json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Resource };
}

const subscription = (criteria: string, endpoint: string, extra: Partial<Subscription> = {}): Subscription => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'tell our system of referrals',
  criteria,
  channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', header: ['Authorization: Bearer partner-secret'] },
  ...extra,
});

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`waited in vain: ${what}`);
}

before(async () => {
  server = await startTestServer({ people: 400 });
  tokenA = (await createApiTokenForUsername(server.database.db, 'practitioner', 'subscription test')).token;
});
after(async () => server?.close());

describe('FHIR Subscriptions (rest-hook) on the outbox', () => {
  test('a referral is notified id-only to a subscriber who may read it, and not to one who may not', async () => {
    const db = server.database.db;
    const mine = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow())
      .organisation_id!;
    const hookA = await receiver();
    const hookC = await receiver();
    try {
      const created = await send('POST', 'Subscription', tokenA, subscription('ServiceRequest?status=active', hookA.url));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const sub = created.body as Subscription;
      assert.equal(sub.status, 'active', 'the server activates a Subscription it can serve');
      assert.deepEqual(validateFhir(sub), []);

      // Another agency's practitioner, with no part in this person's care, subscribes to every referral.
      const other = await db
        .selectFrom('practitioners')
        .select(['id', 'organisation_id'])
        .where('organisation_id', '!=', mine)
        .where('active', '=', true)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      await createAccount(db, {
        username: 'sub-other',
        displayName: 'Other Agency',
        role: 'practitioner',
        password: 'not-used-here-2026',
        practitionerId: other.id,
        organisationId: other.organisation_id,
      });
      const tokenC = (await createApiTokenForUsername(db, 'sub-other', 'subscription test')).token;
      const theirs = await send('POST', 'Subscription', tokenC, subscription('ServiceRequest', hookC.url));
      assert.equal(theirs.status, 201);

      // A refers a person it registers to a service of a third organisation.
      const patient = await send('POST', 'Patient', tokenA, {
        resourceType: 'Patient',
        name: [{ family: 'Notifiable', given: ['Nora'] }],
        birthDate: '1979-09-09',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(5150) }],
      });
      const service = await db
        .selectFrom('services')
        .select('id')
        .where('organisation_id', 'not in', [mine, other.organisation_id])
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const referral = await send('POST', 'ServiceRequest', tokenA, {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: `Patient/${patient.body.id}` },
        performer: [{ reference: `HealthcareService/${service.id}` }],
        reasonCode: [{ text: 'Help with a damp flat' }],
        extension: [{ url: 'urn:joinery:extension:shared-category', valueCode: 'housing' }],
      });
      assert.equal(referral.status, 201, JSON.stringify(referral.body));
      const reference = `ServiceRequest/${referral.body.id}`;

      await until(() => hookA.received.some((r) => r.body.includes(reference)), 'the notification to A');
      const got = hookA.received.find((r) => r.body.includes(reference))!;
      assert.match(String(got.headers['content-type']), /application\/fhir\+json/);
      assert.equal(got.headers.authorization, 'Bearer partner-secret', 'the header the subscriber asked for');
      assert.ok(got.headers['x-joinery-signature'], 'signed as every webhook is');
      const bundle = JSON.parse(got.body) as Bundle;
      assert.deepEqual(validateFhir(bundle), [], 'the notification is a valid R4 Bundle');
      assert.equal(bundle.type, 'history');
      assert.equal(bundle.entry?.[0]?.resource?.resourceType, 'Parameters');
      const focus = bundle.entry?.[1];
      assert.ok(focus?.fullUrl?.endsWith(reference));
      assert.equal(focus?.resource, undefined, 'id-only: the resource itself is not sent');
      assert.ok(!got.body.includes('Notifiable') && !got.body.includes('damp'), 'no personal details in the notification');

      // C may not read the referral: its delivery is set aside unsent.
      await until(async () => {
        const row = await db
          .selectFrom('webhook_deliveries')
          .innerJoin('outbox', 'outbox.id', 'webhook_deliveries.outbox_id')
          .select(['webhook_deliveries.skipped_at', 'webhook_deliveries.skip_reason'])
          .where('webhook_deliveries.subscription_id', '=', theirs.body.id!)
          .where('outbox.resource_id', '=', referral.body.id!)
          .executeTakeFirst();
        return !!row?.skipped_at;
      }, "C's delivery set aside");
      assert.ok(!hookC.received.some((r) => r.body.includes(referral.body.id!)), 'C is told nothing of it');

      // Each sees only their own Subscriptions.
      assert.equal((await send('GET', `Subscription/${sub.id}`, tokenC)).status, 404);
      assert.equal((await send('PUT', `Subscription/${sub.id}`, tokenC, { ...sub, status: 'off' })).status, 404);
      const listed = (await send('GET', 'Subscription', tokenA)).body as Bundle;
      assert.deepEqual(
        listed.entry?.map((e) => e.resource?.id),
        [sub.id],
      );

      // Turned off: the next change is not delivered to A.
      const off = await send('PUT', `Subscription/${sub.id}`, tokenA, { ...sub, status: 'off' });
      assert.equal(off.status, 200);
      assert.equal((off.body as Subscription).status, 'off');
      // Searched by status: off now, not active; another parameter is refused, never ignored.
      const byStatus = async (status: string) =>
        ((await send('GET', `Subscription?status=${status}`, tokenA)).body as Bundle).entry?.map((e) => e.resource?.id) ?? [];
      assert.deepEqual(await byStatus('off'), [sub.id]);
      assert.deepEqual(await byStatus('active'), []);
      assert.deepEqual(await byStatus('active,off'), [sub.id]);
      const refused = await send('GET', 'Subscription?criteria=ServiceRequest', tokenA);
      assert.equal(refused.status, 400);
      assert.equal((refused.body as OperationOutcome).issue[0]!.code, 'not-supported');
      const before = hookA.received.length;
      const second = await send('POST', 'ServiceRequest', tokenA, {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: `Patient/${patient.body.id}` },
        performer: [{ reference: `HealthcareService/${service.id}` }],
        reasonCode: [{ text: 'A second need' }],
        extension: [{ url: 'urn:joinery:extension:shared-category', valueCode: 'housing' }],
      });
      assert.equal(second.status, 201);
      await until(async () => {
        const row = await db.selectFrom('outbox').select('dispatched_at').where('resource_id', '=', second.body.id!).executeTakeFirst();
        return !!row?.dispatched_at;
      }, 'the second event fanned out');
      const deliveries = await db
        .selectFrom('webhook_deliveries')
        .innerJoin('outbox', 'outbox.id', 'webhook_deliveries.outbox_id')
        .select('webhook_deliveries.id')
        .where('webhook_deliveries.subscription_id', '=', sub.id!)
        .where('outbox.resource_id', '=', second.body.id!)
        .execute();
      assert.equal(deliveries.length, 0, 'no delivery for a Subscription turned off');
      assert.equal(hookA.received.length, before);
    } finally {
      await hookA.close();
      await hookC.close();
    }
  });

  test('refusals: roles other than practitioner, types not offered, endpoints not allowed, bad headers', async () => {
    const ok = 'http://127.0.0.1:9/x';
    for (const username of ['citizen', 'manager', 'admin']) {
      const token = (await createApiTokenForUsername(server.database.db, username, 'subscription test')).token;
      const refused = await send('POST', 'Subscription', token, subscription('ServiceRequest?status=active', ok));
      assert.equal(refused.status, 403, username);
      assert.equal(refused.body.resourceType, 'OperationOutcome');
    }
    const refusedWith = async (body: Subscription, status = 400) => {
      const refused = await send('POST', 'Subscription', tokenA, body);
      assert.equal(refused.status, status, JSON.stringify(body));
      assert.equal(refused.body.resourceType, 'OperationOutcome');
    };
    await refusedWith(subscription('Patient?name=x', ok));
    await refusedWith(subscription('AuditEvent', ok));
    await refusedWith(subscription('ServiceRequest?colour=blue', ok));
    await refusedWith(subscription('ServiceRequest', 'http://partner.example/hook'));
    await refusedWith(subscription('ServiceRequest', 'https://user:pw@partner.example/hook'));
    await refusedWith(subscription('ServiceRequest', ok, { channel: { type: 'email', endpoint: 'mailto:x@example.org' } }));
    await refusedWith(
      subscription('ServiceRequest', ok, { channel: { type: 'rest-hook', endpoint: ok, payload: 'application/fhir+xml' } }),
    );
    await refusedWith(subscription('ServiceRequest', ok, { channel: { type: 'rest-hook', endpoint: ok, header: ['Host: evil.example'] } }));
    await refusedWith(
      subscription('ServiceRequest', ok, { channel: { type: 'rest-hook', endpoint: ok, header: ['X-Joinery-Signature: forged'] } }),
    );
    assert.equal((await fetch(`${server.url}/fhir/Subscription`, { method: 'POST' })).status, 401);
  });

  test('the CapabilityStatement offers $export and Subscription', async () => {
    const statement = (await send('GET', 'metadata', tokenA)).body as {
      rest: Array<{ operation?: Array<{ name: string }>; resource: Array<{ type: string; operation?: Array<{ name: string }> }> }>;
    };
    assert.ok(statement.rest[0]!.operation?.some((o) => o.name === 'export'));
    assert.ok(statement.rest[0]!.resource.find((r) => r.type === 'Patient')?.operation?.some((o) => o.name === 'export'));
    assert.ok(statement.rest[0]!.resource.find((r) => r.type === 'Group')?.operation?.some((o) => o.name === 'export'));
    assert.ok(statement.rest[0]!.resource.some((r) => r.type === 'Subscription'));
    assert.deepEqual(validateFhir(statement), [], 'still a valid CapabilityStatement');
  });
});
