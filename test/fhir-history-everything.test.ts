// A third-party FHIR client (fhir-kit-client) against the running server, for history,
// Patient/$everything, compartment search, JSON Patch and $validate: a Patient and an Observation
// are created, updated and patched; instance and type history give every version, newest first,
// with request and response per entry, and vread gives each earlier version as it was; the
// person's $everything pages through next links; compartment search finds the Observation by
// code; a stale If-Match is a 412; every resource returned is valid FHIR R4.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import type { Bundle, CapabilityStatement, CareTeam, Observation, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { NHS_NUMBER_SYSTEM, REASON_EXTENSION, ROLE_EXTENSION } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import { assertValid, refused } from './support/fhir.ts';

let server: TestServer;
let client: Client;

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

/** Every entry of a Bundle and the pages its next links lead to. */
async function allPages(first: Bundle): Promise<Bundle['entry']> {
  const entries = [...(first.entry ?? [])];
  let page: Bundle | undefined = first;
  for (let i = 0; i < 100; i++) {
    const next = client.nextPage({ bundle: page as never }) as Promise<unknown> | undefined;
    if (!next) return entries;
    page = (await next) as Bundle;
    assertValid(page, 'a next page');
    assert.ok((page.entry ?? []).length > 0, 'no empty page behind a next link');
    entries.push(...(page.entry ?? []));
  }
  throw new Error('more than 100 pages');
}

let started: string;
let patient: Patient;
let observation: Observation;

before(async () => {
  server = await startTestServer({ people: 300 });
  const token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'history test')).token;
  client = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: token });
  started = new Date(Date.now() - 1000).toISOString();
  patient = (await client.create({
    resourceType: 'Patient',
    body: {
      resourceType: 'Patient',
      identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(7311) }],
      name: [{ family: 'Ledgerwood', given: ['Hester'] }],
      gender: 'female',
      birthDate: '1958-02-14',
    },
  })) as unknown as Patient;
  observation = (await client.create({
    resourceType: 'Observation',
    body: {
      resourceType: 'Observation',
      status: 'preliminary',
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
      subject: { reference: `Patient/${patient.id}` },
      effectiveDateTime: '2026-11-02T10:00:00Z',
      valueQuantity: { value: 61.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    },
  })) as unknown as Observation;
});
after(async () => server?.close());

describe('history, $everything, compartment search and patch through fhir-kit-client', () => {
  test('the CapabilityStatement offers history, patch, $everything, $validate and the Patient compartment', async () => {
    const statement = (await client.capabilityStatement()) as unknown as CapabilityStatement;
    assertValid(statement, 'CapabilityStatement');
    const rest = statement.rest![0]!;
    assert.ok(rest.compartment?.includes('http://hl7.org/fhir/CompartmentDefinition/patient'));
    const patientCaps = rest.resource!.find((r) => r.type === 'Patient')!;
    const codes = patientCaps.interaction!.map((i) => i.code);
    for (const code of ['read', 'vread', 'history-instance', 'history-type', 'update', 'patch'] as const)
      assert.ok(codes.includes(code), code);
    assert.equal(patientCaps.readHistory, true);
    const operations = patientCaps.operation?.map((o) => o.name) ?? [];
    assert.ok(operations.includes('everything') && operations.includes('validate'), operations.join());
    const audit = rest.resource!.find((r) => r.type === 'AuditEvent')!;
    assert.ok(!audit.interaction!.some((i) => i.code === 'patch'), 'no patch where there is no update');
  });

  test('a Patient updated and patched has every version in its history, and vread gives each as it was', async () => {
    const updated = (await client.update({
      resourceType: 'Patient',
      id: patient.id!,
      body: { ...patient, name: [{ family: 'Ledgerwood-Marsh', given: ['Hester'] }] },
      options: { headers: { 'if-match': `W/"${patient.meta!.versionId}"` } },
    })) as unknown as Patient;
    assert.equal(Number(updated.meta!.versionId), Number(patient.meta!.versionId) + 1);
    const patched = (await client.patch({
      resourceType: 'Patient',
      id: patient.id!,
      jsonPatch: [
        { op: 'test', path: '/name/0/family', value: 'Ledgerwood-Marsh' },
        { op: 'replace', path: '/birthDate', value: '1958-02-15' },
      ],
      options: { headers: { 'if-match': `W/"${updated.meta!.versionId}"` } },
    })) as unknown as Patient;
    assertValid(patched, 'patched Patient');
    assert.equal(patched.birthDate, '1958-02-15');
    assert.equal(patched.name![0]!.family, 'Ledgerwood-Marsh');
    assert.equal(Number(patched.meta!.versionId), Number(updated.meta!.versionId) + 1);

    const history = (await client.resourceHistory({ resourceType: 'Patient', id: patient.id! })) as unknown as Bundle;
    assertValid(history, 'instance history');
    assert.equal(history.type, 'history');
    const versions = history.entry!.map((e) => e.resource!.meta!.versionId);
    assert.deepEqual(versions, [patched.meta!.versionId, updated.meta!.versionId, patient.meta!.versionId]);
    assert.deepEqual(
      history.entry!.map((e) => e.resource!.id),
      [patient.id, patient.id, patient.id],
    );
    assert.deepEqual(
      history.entry!.map((e) => [e.request?.method, e.response?.status]),
      [
        ['PUT', '200 OK'],
        ['PUT', '200 OK'],
        ['POST', '201 Created'],
      ],
    );
    assert.deepEqual(
      history.entry!.map((e) => (e.resource as Patient).name![0]!.family),
      ['Ledgerwood-Marsh', 'Ledgerwood-Marsh', 'Ledgerwood'],
    );

    const first = (await client.vread({
      resourceType: 'Patient',
      id: patient.id!,
      version: patient.meta!.versionId!,
    })) as unknown as Patient;
    assertValid(first, 'version 1');
    assert.equal(first.name![0]!.family, 'Ledgerwood');
    assert.equal(first.birthDate, '1958-02-14');
    assert.equal(first.meta!.versionId, patient.meta!.versionId);
    const second = (await client.vread({
      resourceType: 'Patient',
      id: patient.id!,
      version: updated.meta!.versionId!,
    })) as unknown as Patient;
    assert.equal(second.birthDate, '1958-02-14');
    assert.equal(second.name![0]!.family, 'Ledgerwood-Marsh');
    await assert.rejects(client.vread({ resourceType: 'Patient', id: patient.id!, version: '99' }), refused(404));
    // _elements and _summary shape a vread as they do a read, marked as a subset.
    const slim = (await client.request(`Patient/${patient.id}/_history/${patient.meta!.versionId}?_elements=name`)) as unknown as Patient;
    assert.equal(slim.name![0]!.family, 'Ledgerwood');
    assert.equal(slim.birthDate, undefined, 'only the elements asked for');
    assert.ok(
      slim.meta?.tag?.some((t) => t.code === 'SUBSETTED'),
      'marked SUBSETTED',
    );
    // And a read inside a batch keeps its query, as it would on its own.
    const batch = (await client.batch({
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${patient.id}?_elements=name` } }] },
    })) as unknown as Bundle;
    const inBatch = batch.entry![0]!.resource as Patient;
    assert.ok(inBatch.name && inBatch.birthDate === undefined, 'the batch read gives the elements asked for');

    // A patch at a version that is no longer current changes nothing.
    await assert.rejects(
      client.patch({
        resourceType: 'Patient',
        id: patient.id!,
        jsonPatch: [{ op: 'replace', path: '/birthDate', value: '1960-01-01' }],
        options: { headers: { 'if-match': `W/"${updated.meta!.versionId}"` } },
      }),
      refused(412),
    );
    const now = (await client.read({ resourceType: 'Patient', id: patient.id! })) as unknown as Patient;
    assert.equal(now.birthDate, '1958-02-15');
    assert.equal(now.meta!.versionId, patched.meta!.versionId);
  });

  test('type history since a moment gives each version once, newest first, through next links', async () => {
    const firstPage = (await client.request(`Patient/_history?_since=${encodeURIComponent(started)}&_count=2`)) as unknown as Bundle;
    assertValid(firstPage, 'type history');
    assert.equal(firstPage.type, 'history');
    const entries = (await allPages(firstPage))!;
    const mine = entries.filter((e) => e.resource?.id === patient.id);
    assert.deepEqual(
      mine.map((e) => e.resource!.meta!.versionId),
      ['3', '2', '1'],
    );
    const keys = entries.map((e) => `${e.resource!.id}/${e.resource!.meta!.versionId}`);
    assert.equal(new Set(keys).size, keys.length, 'no version twice');
    const times = entries.map((e) => e.resource!.meta!.lastUpdated!);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    assert.ok(times.every((t) => t >= started));
    for (const e of entries) assertValid(e.resource, 'a version');

    const observations = (await client.typeHistory({ resourceType: 'Observation' })) as unknown as Bundle;
    assert.ok(observations.entry!.some((e) => e.resource!.id === observation.id));

    // A household (Group) made outside the API: its history is its one version, beside the
    // export route that shares the Group/[id]/... address shape.
    const groups = (await client.search({ resourceType: 'Group', searchParams: { _count: 1 } })) as unknown as Bundle;
    const group = groups.entry![0]!.resource!;
    const groupHistory = (await client.resourceHistory({ resourceType: 'Group', id: group.id! })) as unknown as Bundle;
    assertValid(groupHistory, 'Group history');
    assert.deepEqual(
      groupHistory.entry!.map((e) => `${e.resource!.id}/${e.resource!.meta!.versionId}`),
      [`${group.id}/${group.meta!.versionId}`],
    );
  });

  test('Patient/$everything gives the person, their Observation and care network, paged and filtered by _type and _since', async () => {
    const patched = (await client.patch({
      resourceType: 'Observation',
      id: observation.id!,
      jsonPatch: [{ op: 'replace', path: '/status', value: 'final' }],
    })) as unknown as Observation;
    assert.equal(patched.status, 'final');
    assert.equal(patched.meta!.versionId, '2');
    assert.equal((patched.valueQuantity as { value: number }).value, 61.5, 'what the patch did not name is unchanged');

    const all = (await client.operation({
      name: '$everything',
      resourceType: 'Patient',
      id: patient.id!,
      method: 'GET',
      input: { _count: 2 },
    })) as unknown as Bundle;
    assertValid(all, '$everything');
    const entries = (await allPages(all))!;
    const types = entries.map((e) => e.resource!.resourceType);
    assert.equal(types[0], 'Patient');
    assert.equal(entries[0]!.resource!.id, patient.id);
    assert.ok(types.includes('Observation'));
    assert.ok(types.includes('CareTeam'), "the care network the registering organisation's case made");
    const urls = entries.map((e) => e.fullUrl);
    assert.equal(new Set(urls).size, urls.length, 'nothing twice across pages');
    for (const e of entries) assertValid(e.resource, `$everything ${e.resource!.resourceType}`);
    const about = (r: Resource) =>
      JSON.stringify(r).includes(`Patient/${patient.id}`) || (r.resourceType === 'Patient' && r.id === patient.id);
    assert.ok(
      entries.every((e) => about(e.resource!)),
      'everything is about the person',
    );

    const onlyObservations = (await client.request(`Patient/${patient.id}/$everything?_type=Observation`)) as unknown as Bundle;
    assert.deepEqual(
      onlyObservations.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`),
      [`Observation/${observation.id}`],
    );
    const future = (await client.request(`Patient/${patient.id}/$everything?_since=2099-01-01T00:00:00Z`)) as unknown as Bundle;
    assert.equal(future.entry, undefined);
    assert.equal(future.total, 0);
    await assert.rejects(client.request(`Patient/${patient.id}/$everything?_type=Practitioner`), refused(400));
  });

  test('_summary and _elements shape history and $everything as they shape a search, and _summary=count gives the total only', async () => {
    const subsetted = (r: Resource) => r.meta?.tag?.some((t) => t.code === 'SUBSETTED') === true;
    // Instance history: the same versions, each with only the elements asked for.
    const full = (await client.request(`Patient/${patient.id}/_history`)) as unknown as Bundle;
    const slim = (await client.request(`Patient/${patient.id}/_history?_elements=name`)) as unknown as Bundle;
    assertValid(slim, 'instance history with _elements');
    assert.deepEqual(
      slim.entry!.map((e) => e.resource!.meta!.versionId),
      full.entry!.map((e) => e.resource!.meta!.versionId),
    );
    for (const e of slim.entry!) {
      const version = e.resource as Patient;
      assert.ok(version.name && version.birthDate === undefined && subsetted(version), 'only the name, marked SUBSETTED');
    }
    const text = (await client.request(`Patient/${patient.id}/_history?_summary=text`)) as unknown as Bundle;
    assert.ok(
      text.entry!.every((e) => (e.resource as Patient).name === undefined && subsetted(e.resource!)),
      '_summary=text leaves the name out',
    );
    const summary = (await client.request(`Patient/${patient.id}/_history?_summary=true`)) as unknown as Bundle;
    assert.ok(summary.entry!.every((e) => (e.resource as Patient).birthDate !== undefined && subsetted(e.resource!)));
    const counted = (await client.request(`Patient/${patient.id}/_history?_summary=count`)) as unknown as Bundle;
    assertValid(counted, 'instance history count');
    assert.equal(counted.total, full.entry!.length);
    assert.equal(counted.entry, undefined, 'a count gives no versions');

    // Type history: a count equals the versions its pages give; _elements carries to the next page.
    const since = encodeURIComponent(started);
    const paged = (await allPages((await client.request(`Patient/_history?_since=${since}&_count=2`)) as unknown as Bundle))!;
    const typeCount = (await client.request(`Patient/_history?_since=${since}&_summary=count`)) as unknown as Bundle;
    assert.equal(typeCount.total, paged.length);
    assert.equal(typeCount.entry, undefined);
    const slimPages = (await allPages(
      (await client.request(`Patient/_history?_since=${since}&_count=2&_elements=gender`)) as unknown as Bundle,
    ))!;
    assert.equal(slimPages.length, paged.length);
    assert.ok(
      slimPages.every((e) => (e.resource as Patient).name === undefined && subsetted(e.resource!)),
      'every page shaped',
    );
    // System history too.
    const systemCount = (await client.request(`_history?_since=${since}&_type=Patient,Observation&_summary=count`)) as unknown as Bundle;
    const systemPaged = (await allPages(
      (await client.request(`_history?_since=${since}&_type=Patient,Observation&_count=3&_summary=data`)) as unknown as Bundle,
    ))!;
    assert.equal(systemCount.total, systemPaged.length);
    assert.ok(systemPaged.some((e) => e.resource!.resourceType === 'Observation'));
    assert.ok(systemPaged.every((e) => (e.resource as Patient).text === undefined && subsetted(e.resource!)));

    // $everything: the same resources, shaped; a count of them all.
    const everythingAll = (await allPages((await client.request(`Patient/${patient.id}/$everything?_count=2`)) as unknown as Bundle))!;
    const everythingSlim = (await allPages(
      (await client.request(`Patient/${patient.id}/$everything?_count=2&_elements=status`)) as unknown as Bundle,
    ))!;
    assert.deepEqual(
      everythingSlim.map((e) => e.fullUrl),
      everythingAll.map((e) => e.fullUrl),
    );
    const slimPatient = everythingSlim[0]!.resource as Patient;
    assert.ok(slimPatient.name === undefined && subsetted(slimPatient), 'the Patient shaped too');
    const slimObservation = everythingSlim.find((e) => e.resource!.resourceType === 'Observation')!.resource as Observation;
    assert.ok(
      slimObservation.status && slimObservation.valueQuantity === undefined,
      'an Observation keeps only status (and what it must have)',
    );
    for (const e of everythingSlim) assertValid(e.resource, `$everything ${e.resource!.resourceType} with _elements`);
    const everythingCount = (await client.request(`Patient/${patient.id}/$everything?_summary=count`)) as unknown as Bundle;
    assertValid(everythingCount, '$everything count');
    assert.equal(everythingCount.total, everythingAll.length);
    assert.equal(everythingCount.entry, undefined);

    // As a search does: both at once, or a _summary that is not one, is refused.
    for (const query of [
      `Patient/${patient.id}/_history?_summary=true&_elements=name`,
      `Patient/_history?_summary=everything`,
      `Patient/${patient.id}/$everything?_summary=true&_elements=name`,
      `Patient/${patient.id}/$everything?_summary=maybe`,
    ])
      await assert.rejects(client.request(query), refused(400), query);
  });

  test('a network member added through EpisodeOfCare moves the care network on, and its earlier version is kept', async () => {
    const before = (await client.read({ resourceType: 'CareTeam', id: patient.id! })) as unknown as CareTeam;
    const me = await server.database.db
      .selectFrom('users')
      .select(['practitioner_id', 'organisation_id'])
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    const colleague = await server.database.db
      .selectFrom('practitioners')
      .select('id')
      .where('organisation_id', '=', me.organisation_id!)
      .where('id', '<>', me.practitioner_id!)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await client.create({
      resourceType: 'EpisodeOfCare',
      body: {
        resourceType: 'EpisodeOfCare',
        status: 'active',
        patient: { reference: `Patient/${patient.id}` },
        careManager: { reference: `Practitioner/${colleague.id}` },
        extension: [
          { url: ROLE_EXTENSION, valueString: 'benefits advice' },
          { url: REASON_EXTENSION, valueString: 'a new claim' },
        ],
      },
    });
    const history = (await client.resourceHistory({ resourceType: 'CareTeam', id: patient.id! })) as unknown as Bundle;
    assertValid(history, 'CareTeam history');
    const members = (e: NonNullable<Bundle['entry']>[number]) =>
      ((e.resource as CareTeam).participant ?? []).map((p) => p.member?.reference);
    assert.equal(history.entry![0]!.resource!.meta!.versionId, String(Number(before.meta!.versionId) + 1));
    assert.ok(members(history.entry![0]!).includes(`Practitioner/${colleague.id}`));
    assert.equal(history.entry![1]!.resource!.meta!.versionId, before.meta!.versionId);
    assert.deepEqual(
      members(history.entry![1]!),
      (before.participant ?? []).map((p) => p.member?.reference),
    );
  });

  test('compartment search finds the Observation by code within the Patient, and only there', async () => {
    const found = (await client.compartmentSearch({
      resourceType: 'Observation',
      compartment: { resourceType: 'Patient', id: patient.id! },
      searchParams: { code: 'http://loinc.org|29463-7' },
    })) as unknown as Bundle;
    assertValid(found, 'compartment search');
    assert.deepEqual(
      found.entry!.map((e) => e.resource!.id),
      [observation.id],
    );
    const none = (await client.compartmentSearch({
      resourceType: 'Observation',
      compartment: { resourceType: 'Patient', id: patient.id! },
      searchParams: { code: 'http://loinc.org|8302-2' },
    })) as unknown as Bundle;
    assert.equal(none.entry, undefined);
    const network = (await client.compartmentSearch({
      resourceType: 'CareTeam',
      compartment: { resourceType: 'Patient', id: patient.id! },
    })) as unknown as Bundle;
    assert.deepEqual(
      network.entry!.map((e) => e.resource!.id),
      [patient.id],
    );
    // Task is not in the R4 Patient compartment.
    await assert.rejects(
      client.compartmentSearch({ resourceType: 'Task', compartment: { resourceType: 'Patient', id: patient.id! } }),
      refused(400, /not in the R4 Patient compartment/),
    );
  });

  test('$validate says what an update would refuse, and stores nothing', async () => {
    const ok = (await client.operation({
      name: '$validate',
      resourceType: 'Patient',
      input: { resourceType: 'Patient', name: [{ family: 'Tester', given: ['Val'] }], gender: 'female' },
    })) as unknown as OperationOutcome;
    assertValid(ok, '$validate outcome');
    assert.deepEqual(
      ok.issue.map((i) => i.severity),
      ['information'],
    );
    const bad = (await client.operation({
      name: '$validate',
      resourceType: 'Patient',
      input: {
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'femal', birthDate: 'yesterday' } }],
      },
    })) as unknown as OperationOutcome;
    assertValid(bad, '$validate outcome');
    assert.ok(bad.issue.every((i) => i.severity === 'error'));
    assert.ok(bad.issue.some((i) => /femal/.test(i.diagnostics ?? '')));
    const search = (await client.search({ resourceType: 'Patient', searchParams: { family: 'Tester' } })) as unknown as Bundle;
    assert.equal(search.entry, undefined, 'nothing was stored');
  });
});
