// A third-party FHIR client (fhir-kit-client) against the running server: create, read,
// update with versions, search (NHS number, name, paging through next links), transaction
// Bundles, and the closed-loop referral (ServiceRequest sent, Task moved on by the receiver).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import type { Bundle, Patient, Resource, Task } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { validateFhir } from '../src/fhir/validate.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import http from 'node:http';
import { addWebhook } from '../src/interop/outbox.ts';

let server: TestServer;
let client: Client;
let practitionerToken: string;

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

function clientFor(token: string): Client {
  return new Client({ baseUrl: `${server.url}/fhir`, bearerToken: token });
}

before(async () => {
  server = await startTestServer({ people: 1200 });
  practitionerToken = (await createApiTokenForUsername(server.database.db, 'practitioner', 'client test')).token;
  client = clientFor(practitionerToken);
});
after(async () => server?.close());

describe('fhir-kit-client against Joinery', () => {
  test('reads the CapabilityStatement', async () => {
    const statement = (await client.capabilityStatement()) as unknown as { fhirVersion: string };
    assert.equal(statement.fhirVersion, '4.0.1');
  });

  test('creates a Patient, reads it, finds it by NHS number and name, and updates it with a version check', async () => {
    const nhs = nhsNumber(4242);
    const created = (await client.create({
      resourceType: 'Patient',
      body: {
        resourceType: 'Patient',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhs }],
        name: [{ family: 'Quillfeather', given: ['Ottoline'] }],
        gender: 'female',
        birthDate: '1961-04-09',
        address: [{ line: ['1 Test Row'], postalCode: 'RV1 9ZZ' }],
      },
    })) as unknown as Patient;
    assert.equal(created.resourceType, 'Patient');
    assert.ok(created.id);
    assert.deepEqual(validateFhir(created), []);

    const read = (await client.read({ resourceType: 'Patient', id: created.id! })) as unknown as Patient;
    assert.equal(read.name?.[0]?.family, 'Quillfeather');
    assert.equal(read.birthDate, '1961-04-09');

    const byNhs = (await client.search({
      resourceType: 'Patient',
      searchParams: { identifier: `${NHS_NUMBER_SYSTEM}|${nhs}` },
    })) as unknown as Bundle;
    assert.deepEqual(
      byNhs.entry?.map((e) => e.resource?.id),
      [created.id],
    );
    const byName = (await client.search({
      resourceType: 'Patient',
      searchParams: { name: 'quillfe', birthdate: '1961' },
    })) as unknown as Bundle;
    assert.deepEqual(
      byName.entry?.map((e) => e.resource?.id),
      [created.id],
    );

    // Created again (the same person sent twice): the person index links it, no duplicate person.
    const again = (await client.create({
      resourceType: 'Patient',
      body: {
        resourceType: 'Patient',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhs }],
        name: [{ family: 'Quillfeather', given: ['Ottoline'] }],
        gender: 'female',
        birthDate: '1961-04-09',
        address: [{ postalCode: 'RV1 9ZZ' }],
      },
    })) as unknown as Patient;
    assert.equal(again.id, created.id, 'the second create links to the same person');

    const version = read.meta?.versionId;
    const updated = (await client.update({
      resourceType: 'Patient',
      id: created.id!,
      body: { ...read, name: [{ family: 'Quillfeather-Brown', given: ['Ottoline'] }] },
      options: { headers: { 'if-match': `W/"${version}"` } },
    })) as unknown as Patient;
    assert.equal(updated.name?.[0]?.family, 'Quillfeather-Brown');
    assert.equal(Number(updated.meta?.versionId), Number(version) + 1);
    assert.notEqual(updated.meta?.lastUpdated, undefined);
    await assert.rejects(
      client.update({
        resourceType: 'Patient',
        id: created.id!,
        body: { ...read },
        options: { headers: { 'if-match': `W/"${version}"` } },
      }),
      (error: { response?: { status: number; data?: Resource } }) =>
        error.response?.status === 412 && error.response.data?.resourceType === 'OperationOutcome',
    );
  });

  test('pages through search results with next links until the end', async () => {
    const total = await server.database.db
      .selectFrom('practitioners')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    let bundle = (await client.search({ resourceType: 'Practitioner', searchParams: { _count: 25 } })) as unknown as Bundle;
    const ids: string[] = [];
    let pages = 0;
    for (;;) {
      pages++;
      for (const entry of bundle.entry ?? []) ids.push(entry.resource!.id!);
      const next = client.nextPage({ bundle: bundle as never });
      if (!next) break;
      bundle = (await next) as unknown as Bundle;
    }
    assert.equal(ids.length, Number(total.n), 'every practitioner, once');
    assert.equal(new Set(ids).size, ids.length, 'no practitioner twice');
    assert.equal(pages, Math.ceil(Number(total.n) / 25));
  });

  test('a transaction Bundle is all or nothing, and urn:uuid references resolve', async () => {
    const nhs = nhsNumber(777);
    const response = (await client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0b1c2d3e-0000-4000-8000-000000000001',
            resource: {
              resourceType: 'Patient',
              identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhs }],
              name: [{ family: 'Transactor', given: ['Tobias'] }],
              birthDate: '1990-02-03',
            },
            request: { method: 'POST', url: 'Patient' },
          },
          { request: { method: 'GET', url: `Patient?identifier=${NHS_NUMBER_SYSTEM}|${nhs}` } },
        ],
      } as never,
    })) as unknown as Bundle;
    assert.equal(response.type, 'transaction-response');
    assert.match(response.entry![0]!.response!.status, /^201/);
    const search = response.entry![1]!.resource as Bundle;
    assert.equal(
      search.entry?.[0]?.resource?.id,
      response.entry![0]!.resource!.id,
      'the read inside the transaction sees the created Patient',
    );
    assert.deepEqual(validateFhir(response), []);

    const people = async () =>
      Number(
        (
          await server.database.db
            .selectFrom('persons')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await people();
    await assert.rejects(
      client.transaction({
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: { resourceType: 'Patient', name: [{ family: 'Rollback', given: ['Rita'] }], birthDate: '1970-01-01' },
              request: { method: 'POST', url: 'Patient' },
            },
            {
              resource: { resourceType: 'Patient', id: 'no-such-person', name: [{ family: 'X', given: ['Y'] }] },
              request: { method: 'PUT', url: 'Patient/no-such-person' },
            },
          ],
        } as never,
      }),
      (error: { response?: { status: number; data?: Resource } }) =>
        error.response?.status === 404 && error.response.data?.resourceType === 'OperationOutcome',
    );
    assert.equal(await people(), before, 'the failed transaction created no one');
  });

  test('a referral sent as a ServiceRequest is acknowledged and accepted by the receiver through Task, and each step is a webhook', async () => {
    const db = server.database.db;
    // A subscriber on this machine: the running server's dispatcher delivers to it.
    const events: Array<{ type: string; resource: { reference: string }; data: { status: string } }> = [];
    const hook = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        events.push(JSON.parse(body) as (typeof events)[number]);
        response.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    await addWebhook(db, {
      url: `http://127.0.0.1:${(hook.address() as { port: number }).port}/events`,
      topics: ['referral.status'],
      createdBy: null,
    });
    const mine = await db.selectFrom('users').select(['organisation_id']).where('username', '=', 'practitioner').executeTakeFirstOrThrow();
    const patient = (await client.create({
      resourceType: 'Patient',
      body: {
        resourceType: 'Patient',
        name: [{ family: 'Referee', given: ['Rowan'] }],
        birthDate: '1985-05-05',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(31337) }],
      },
    })) as Patient;
    const service = await db
      .selectFrom('services')
      .select(['id', 'organisation_id'])
      .where('organisation_id', '!=', mine.organisation_id!)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const request = (await client.create({
      resourceType: 'ServiceRequest',
      body: {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: `Patient/${patient.id}` },
        performer: [{ reference: `HealthcareService/${service.id}` }],
        reasonCode: [{ text: 'Needs help with housing and money worries' }],
        priority: 'urgent',
        extension: [{ url: 'urn:joinery:extension:shared-category', valueCode: 'housing' }],
      },
    })) as unknown as Resource;
    assert.equal(request.resourceType, 'ServiceRequest');
    assert.deepEqual(validateFhir(request), []);

    // Someone at the receiving organisation moves the Task on.
    const receiver = await db
      .selectFrom('practitioners')
      .select(['id', 'organisation_id'])
      .where('organisation_id', '=', service.organisation_id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await createAccount(db, {
      username: 'receiver',
      displayName: 'Receiving Worker',
      role: 'practitioner',
      password: 'not-used-here-2026',
      practitionerId: receiver.id,
      organisationId: receiver.organisation_id,
    });
    const theirs = clientFor((await createApiTokenForUsername(db, 'receiver', 'client test')).token);
    const task = (await theirs.read({ resourceType: 'Task', id: request.id! })) as unknown as Task;
    assert.equal(task.status, 'requested');
    const received = (await theirs.update({
      resourceType: 'Task',
      id: task.id!,
      body: { ...task, status: 'received' },
    })) as unknown as Task;
    assert.equal(received.status, 'received');
    const accepted = (await theirs.update({
      resourceType: 'Task',
      id: task.id!,
      body: { ...received, status: 'accepted' },
    })) as unknown as Task;
    assert.equal(accepted.status, 'accepted');
    assert.deepEqual(validateFhir(accepted), []);
    // A move the closed loop does not allow is refused with an OperationOutcome.
    await assert.rejects(
      theirs.update({ resourceType: 'Task', id: task.id!, body: { ...accepted, status: 'requested' } }),
      (error: { response?: { status: number; data?: Resource } }) =>
        error.response?.status === 422 && error.response.data?.resourceType === 'OperationOutcome',
    );
    const found = (await client.search({
      resourceType: 'ServiceRequest',
      searchParams: { patient: `Patient/${patient.id}`, status: 'active' },
    })) as unknown as Bundle;
    assert.deepEqual(
      found.entry?.map((e) => e.resource?.id),
      [request.id],
    );
    const statuses = () => events.filter((e) => e.resource.reference === `ServiceRequest/${request.id}`).map((e) => e.data.status);
    for (let i = 0; i < 100 && statuses().length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(statuses(), ['sent', 'received', 'accepted'], 'each state change was delivered, in order');
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  test("a citizen's token cannot create, and cannot read someone else", async () => {
    const citizen = clientFor((await createApiTokenForUsername(server.database.db, 'citizen', 'client test')).token);
    await assert.rejects(
      citizen.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Nope', given: ['No'] }] } }),
      (error: { response?: { status: number } }) => error.response?.status === 403,
    );
    const someone = await server.database.db
      .selectFrom('persons')
      .select('id')
      .where('household_id', 'is not', null)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    await assert.rejects(
      citizen.read({ resourceType: 'Patient', id: someone.id }),
      (error: { response?: { status: number } }) => error.response?.status === 404,
    );
  });
});
