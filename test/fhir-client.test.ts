// A third-party FHIR client (fhir-kit-client) against the running server: create, read,
// update with versions, search (NHS number, name, paging through next links), transaction
// Bundles, the closed-loop referral (ServiceRequest sent, Task moved on by the receiver), Bulk
// Data $export (POST kick-off with Parameters, _typeFilter), system-level _history, and a SMART
// app whose patient/Observation scope gets nothing else through history, $everything or $export.
// (Instance and type history, vread, $everything, compartment search and PATCH through
// fhir-kit-client: test/fhir-history-everything.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'fhir-kit-client';
import type { Bundle, Observation, Patient, Resource, Task } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { validateFhir } from '../src/fhir/validate.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import http from 'node:http';
import { addWebhook } from '../src/interop/outbox.ts';
import { userForApiToken } from '../src/interop/index.ts';
import { registerSmartClient } from '../src/fhir/smart/clients.ts';
import { approveAuthorization, checkAuthorizeRequest, tokenRequest } from '../src/fhir/smart/grants.ts';

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

type Refused = { response?: { status: number; data?: Resource } };
const refused = (status: number) => (error: Refused) =>
  error.response?.status === status && error.response.data?.resourceType === 'OperationOutcome';

interface Manifest {
  request: string;
  output: Array<{ type: string; url: string; count: number }>;
}

/** A Bulk Data export as a client runs it: kick-off (the result fhir-kit-client gives), poll the Content-Location, download each file. */
async function runExport(started: unknown, token: string): Promise<{ manifest: Manifest; byType: Map<string, Resource[]> }> {
  const kickedOff = Client.httpFor(started as never).response!;
  assert.equal(kickedOff.status, 202);
  const statusUrl = kickedOff.headers.get('content-location')!;
  const poller = clientFor(token);
  for (let i = 0; i < 600; i++) {
    const polled = await poller.request(statusUrl);
    if (Client.httpFor(polled).response!.status === 200) {
      const manifest = polled as unknown as Manifest;
      const byType = new Map<string, Resource[]>();
      for (const file of manifest.output) {
        // NDJSON is not one JSON document: the files are fetched as any Bulk Data client does, with the same token.
        const response = await fetch(file.url, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.status, 200);
        const resources = (await response.text())
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Resource);
        assert.equal(resources.length, file.count);
        for (const r of resources) assert.deepEqual(validateFhir(r), [], `${r.resourceType}/${r.id} is valid R4`);
        byType.set(file.type, [...(byType.get(file.type) ?? []), ...resources]);
      }
      return { manifest, byType };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the export did not finish');
}

const exportParameters = (parameter: Array<Record<string, string>>) => ({ resourceType: 'Parameters', parameter }) as never;
const asyncHeaders = { headers: { prefer: 'respond-async' } };

/** A SMART app's access token for the practitioner, launched for a patient, through the real authorisation and token steps. */
async function smartToken(username: string, personId: string, scope: string): Promise<string> {
  const db = server.database.db;
  const user = (await userForApiToken(db, (await createApiTokenForUsername(db, username, 'smart test')).token))!;
  const redirect = 'https://app.example/callback';
  const { clientId } = await registerSmartClient(db, {
    name: `Test app ${scope}`,
    redirectUris: [redirect],
    scope: `launch/patient ${scope}`,
  });
  const verifier = randomBytes(32).toString('base64url');
  const check = await checkAuthorizeRequest(
    db,
    {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirect,
      scope: `launch/patient ${scope}`,
      state: 'state-1',
      aud: `${server.url}/fhir`,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    },
    `${server.url}/fhir`,
  );
  assert.equal(check.kind, 'ok');
  if (check.kind !== 'ok') throw new Error('not ok');
  const back = new URL(await approveAuthorization(db, user, check.request, { personId, sessionHours: 8 }));
  const code = back.searchParams.get('code');
  assert.ok(code, `approved: ${back.toString()}`);
  const tokens = await tokenRequest(
    db,
    { grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier, client_id: clientId },
    undefined,
  );
  assert.equal(tokens.patient, personId);
  return tokens.access_token;
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

describe('Bulk Data $export, system history and SMART scopes through fhir-kit-client', () => {
  let person: Patient;
  let observation: Observation;
  let startedAt: string;
  const entriesOf = async (reader: Client, first: Bundle): Promise<NonNullable<Bundle['entry']>> => {
    const all: NonNullable<Bundle['entry']> = [];
    let page: Bundle | undefined = first;
    for (let i = 0; page && i < 200; i++) {
      all.push(...(page.entry ?? []));
      const next = reader.nextPage({ bundle: page as never }) as Promise<unknown> | undefined;
      page = next ? ((await next) as Bundle) : undefined;
    }
    return all;
  };
  const aboutPerson = (resource: Resource | undefined, personId: string) =>
    resource?.id === personId || JSON.stringify(resource ?? {}).includes(`Patient/${personId}"`);

  before(async () => {
    startedAt = new Date(Date.now() - 1000).toISOString();
    person = (await client.create({
      resourceType: 'Patient',
      body: {
        resourceType: 'Patient',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(880044) }],
        name: [{ family: 'Exportington', given: ['Philippa'] }],
        gender: 'female',
        birthDate: '1966-06-16',
      },
    })) as unknown as Patient;
    await client.update({
      resourceType: 'Patient',
      id: person.id!,
      body: { ...person, name: [{ family: 'Exportington', given: ['Philippa', 'Jane'] }] },
    });
    observation = (await client.create({
      resourceType: 'Observation',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
        subject: { reference: `Patient/${person.id}` },
        effectiveDateTime: '2026-11-02T10:00:00Z',
        valueQuantity: { value: 70.2, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
      },
    })) as unknown as Observation;
  });

  test('POST $export with a Parameters body: _type and _typeFilter give the matching Patient and the Observations', async () => {
    const started = await client.operation({
      name: 'export',
      method: 'POST',
      input: exportParameters([
        { name: '_type', valueString: 'Patient,Observation' },
        { name: '_typeFilter', valueString: 'Patient?family:exact=Exportington' },
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
      ]),
      options: asyncHeaders,
    });
    const { byType } = await runExport(started, practitionerToken);
    assert.deepEqual(
      byType.get('Patient')?.map((p) => p.id),
      [person.id],
      'only the Patient the filter names',
    );
    assert.equal((byType.get('Patient')![0] as Patient).name?.[0]?.given?.join(' '), 'Philippa Jane', 'as it stands now');
    assert.ok(byType.get('Observation')?.some((o) => o.id === observation.id));
    assert.deepEqual([...byType.keys()].sort(), ['Observation', 'Patient']);
  });

  test('GET $export takes several _typeFilters, comma-separated; filters not offered are refused at kick-off', async () => {
    const started = await client.operation({
      name: 'export',
      method: 'GET',
      input: {
        _type: 'Patient,Observation',
        _typeFilter: 'Patient?family:exact=Exportington,Observation?code=http://loinc.org|29463-7',
      },
      options: asyncHeaders,
    });
    const { byType } = await runExport(started, practitionerToken);
    assert.deepEqual(
      byType.get('Patient')?.map((p) => p.id),
      [person.id],
    );
    const observations = byType.get('Observation') as Observation[];
    assert.ok(observations.some((o) => o.id === observation.id));
    assert.ok(
      observations.every((o) => o.code.coding?.some((c) => c.system === 'http://loinc.org' && c.code === '29463-7')),
      'only Observations with the code',
    );
    const kickOff = (parameter: Array<Record<string, string>>) =>
      client.operation({ name: 'export', method: 'POST', input: exportParameters(parameter), options: asyncHeaders });
    await assert.rejects(kickOff([{ name: '_typeFilter', valueString: 'Patient?nonsense=1' }]), refused(400));
    await assert.rejects(kickOff([{ name: '_typeFilter', valueString: 'Patient?_has:Observation:subject:code=1' }]), refused(400));
    await assert.rejects(
      kickOff([
        { name: '_type', valueString: 'Patient' },
        { name: '_typeFilter', valueString: 'Observation?code=1' },
      ]),
      refused(400),
    );
    await assert.rejects(kickOff([{ name: 'patient', valueString: `Patient/${person.id}` }]), refused(400));
    await assert.rejects(kickOff([{ name: '_since', valueInstant: 'yesterday' }]), refused(400));
    await assert.rejects(
      client.request('$export?_type=Patient', {
        method: 'POST',
        body: { resourceType: 'Parameters' },
        options: { headers: { ...asyncHeaders.headers, 'content-type': 'application/fhir+json' } },
      }),
      refused(400),
    );
  });

  test('system _history gives every type, newest first, each version once through next links; _type narrows it', async () => {
    const first = (await client.request(`_history?_since=${encodeURIComponent(startedAt)}&_count=2`)) as unknown as Bundle;
    assert.equal(first.type, 'history');
    assert.deepEqual(validateFhir(first), []);
    const entries = await entriesOf(client, first);
    const keys = entries.map((e) => `${e.resource!.resourceType}/${e.resource!.id}/${e.resource!.meta?.versionId}`);
    assert.equal(new Set(keys).size, keys.length, 'no version twice');
    const mine = keys.filter((k) => k.startsWith(`Patient/${person.id}/`) || k.startsWith(`Observation/${observation.id}/`));
    assert.deepEqual(mine.sort(), [`Observation/${observation.id}/1`, `Patient/${person.id}/1`, `Patient/${person.id}/2`].sort());
    const times = entries.map((e) => Date.parse(e.resource!.meta!.lastUpdated!));
    assert.ok(
      times.every((t, i) => i === 0 || t <= times[i - 1]!),
      'newest first',
    );
    const observations = (await client.request(`_history?_type=Observation&_since=${encodeURIComponent(startedAt)}`)) as unknown as Bundle;
    assert.deepEqual(
      observations.entry?.map((e) => e.resource?.resourceType),
      ['Observation'],
    );
    await assert.rejects(client.request('_history?_at=2026-01-01'), refused(400));
    const statement = (await client.capabilityStatement()) as unknown as Resource & {
      rest: Array<{ interaction?: Array<{ code: string }>; documentation?: string }>;
    };
    assert.ok(
      statement.rest[0]!.interaction?.some((i) => i.code === 'history-system'),
      'the CapabilityStatement offers system history',
    );
    assert.match(statement.rest[0]!.documentation!, /_typeFilter/);
    assert.deepEqual(validateFhir(statement), []);
    await assert.rejects(client.request('_history?_type=Spaceship'), refused(404));
    await assert.rejects(client.request('_history?_cursor=99999999999999999999~Patient~x~1'), refused(400), 'a cursor out of range');
  });

  test('no token, a citizen, and another agency without a relationship get nothing of the person from system history or $export', async () => {
    for (const [method, path] of [
      ['GET', '_history'],
      ['POST', '$export'],
    ] as const) {
      const response = await fetch(`${server.url}/fhir/${path}`, {
        method,
        headers: { prefer: 'respond-async', 'content-type': 'application/fhir+json' },
        ...(method === 'POST' ? { body: JSON.stringify({ resourceType: 'Parameters' }) } : {}),
      });
      assert.equal(response.status, 401, `${method} ${path} without a token`);
    }
    const db = server.database.db;
    const citizenToken = (await createApiTokenForUsername(db, 'citizen', 'client test')).token;
    const citizen = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow())
      .person_id!;
    const theirs = clientFor(citizenToken);
    const history = await entriesOf(theirs, (await theirs.request('_history?_count=50')) as unknown as Bundle);
    assert.ok(!history.some((e) => aboutPerson(e.resource, person.id!)), "the citizen's history holds no one else's record");
    const { byType } = await runExport(
      await theirs.operation({ name: 'export', method: 'POST', input: exportParameters([]), options: asyncHeaders }),
      citizenToken,
    );
    const readable = (await theirs.search({ resourceType: 'Patient', searchParams: { _count: 100 } })) as unknown as Bundle;
    const exportedPatients = (byType.get('Patient') ?? []).map((p) => p.id!).sort();
    assert.ok(exportedPatients.includes(citizen));
    assert.deepEqual(
      exportedPatients,
      (readable.entry ?? []).map((e) => e.resource!.id!).sort(),
      "a citizen's export holds the Patients their own search gives (themself, and whom they are proxy for), no one else",
    );
    assert.ok(![...byType.values()].flat().some((r) => aboutPerson(r, person.id!)));

    const mine = await db.selectFrom('users').select(['organisation_id']).where('username', '=', 'practitioner').executeTakeFirstOrThrow();
    const other = await db
      .selectFrom('practitioners')
      .select(['id', 'organisation_id'])
      .where('organisation_id', '!=', mine.organisation_id!)
      .where('active', '=', true)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    await createAccount(db, {
      username: 'stranger',
      displayName: 'Another Agency',
      role: 'practitioner',
      password: 'not-used-here-2026',
      practitionerId: other.id,
      organisationId: other.organisation_id,
    });
    const strangerToken = (await createApiTokenForUsername(db, 'stranger', 'client test')).token;
    const stranger = clientFor(strangerToken);
    await assert.rejects(stranger.read({ resourceType: 'Patient', id: person.id! }), (error: Refused) => error.response?.status === 404);
    const theirHistory = await entriesOf(
      stranger,
      (await stranger.request(`_history?_since=${encodeURIComponent(startedAt)}`)) as unknown as Bundle,
    );
    assert.ok(!theirHistory.some((e) => aboutPerson(e.resource, person.id!)), 'no version of the person or their Observation');
    const exported = await runExport(
      await stranger.operation({
        name: 'export',
        method: 'POST',
        input: exportParameters([
          { name: '_type', valueString: 'Patient,Observation' },
          { name: '_typeFilter', valueString: 'Patient?family:exact=Exportington' },
        ]),
        options: asyncHeaders,
      }),
      strangerToken,
    );
    assert.ok(![...exported.byType.values()].flat().some((r) => aboutPerson(r, person.id!)), 'nothing of the person exported');
  });

  test('a SMART app with patient/Observation.read gets the launch patient’s Observations only through $everything, history and $export', async () => {
    const token = await smartToken('practitioner', person.id!, 'patient/Observation.read');
    const app = clientFor(token);
    const everything = (await app.request(`Patient/${person.id}/$everything`)) as unknown as Bundle;
    assert.deepEqual([...new Set(everything.entry?.map((e) => e.resource?.resourceType))], ['Observation'], 'no Patient, no care network');
    assert.ok(everything.entry!.some((e) => e.resource?.id === observation.id));
    await assert.rejects(app.request(`Patient/${person.id}/$everything?_type=Patient,Observation`), refused(403));
    const someoneElse = await server.database.db
      .selectFrom('persons')
      .select('id')
      .where('id', '!=', person.id!)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await assert.rejects(app.request(`Patient/${someoneElse.id}/$everything`), refused(403));

    await assert.rejects(app.resourceHistory({ resourceType: 'Patient', id: person.id! }), refused(403));
    await assert.rejects(app.typeHistory({ resourceType: 'Patient' }), refused(403));
    await assert.rejects(app.request('_history?_type=Patient'), refused(403));
    const ownHistory = (await app.resourceHistory({ resourceType: 'Observation', id: observation.id! })) as unknown as Bundle;
    assert.deepEqual(
      ownHistory.entry?.map((e) => e.resource?.id),
      [observation.id],
    );
    const system = await entriesOf(app, (await app.request('_history?_count=50')) as unknown as Bundle);
    assert.ok(system.length > 0);
    for (const entry of system) {
      assert.equal(entry.resource?.resourceType, 'Observation');
      assert.equal((entry.resource as Observation).subject?.reference, `Patient/${person.id}`, 'the launch patient’s only');
    }

    const { byType } = await runExport(
      await app.operation({ name: 'export', method: 'POST', input: exportParameters([]), options: asyncHeaders }),
      token,
    );
    assert.deepEqual([...byType.keys()], ['Observation']);
    for (const r of byType.get('Observation')!)
      assert.equal((r as Observation).subject?.reference, `Patient/${person.id}`, 'the launch patient’s only');
    await assert.rejects(
      app.operation({
        name: 'export',
        method: 'POST',
        input: exportParameters([{ name: '_type', valueString: 'Patient' }]),
        options: asyncHeaders,
      }),
      refused(403),
    );
    await assert.rejects(
      app.operation({ name: 'export', resourceType: 'Group', id: 'x', method: 'GET', options: asyncHeaders }),
      refused(403),
    );
  });
});
