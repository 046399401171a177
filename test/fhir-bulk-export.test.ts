// FHIR Bulk Data $export against the running server, as a Bulk Data client does it with plain
// fetch: kick-off with Prefer: respond-async, poll the Content-Location until the manifest,
// download each NDJSON file with the same token, every line a valid R4 resource, counts per type
// as the manifest says. And the refusals: no Prefer, unknown types and formats, an aggregate-only
// role, another token polling or downloading, another agency seeing only its own people, a
// health record no longer exported once the person withdraws the consent that shared it,
// a Group (household) the caller may not see, and a cancelled export gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { createAccount } from '../src/auth/accounts.ts';
import type { SignedInUser } from '../src/auth/index.ts';
import { recordDirective, withdrawDirective } from '../src/consent/index.ts';
import { validateFhir } from '../src/fhir/validate.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';

let server: TestServer;
let tokenA: string;

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: string; url: string }>;
}

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

const auth = (token: string) => ({ authorization: `Bearer ${token}`, accept: 'application/fhir+json' });

async function kickOff(path: string, token: string, prefer = true): Promise<Response> {
  return fetch(`${server.url}/fhir/${path}`, { headers: { ...auth(token), ...(prefer ? { prefer: 'respond-async' } : {}) } });
}

async function exportOf(path: string, token: string): Promise<{ manifest: Manifest; statusUrl: string }> {
  const started = await kickOff(path, token);
  assert.equal(started.status, 202, `kick-off ${path}: ${await started.clone().text()}`);
  const statusUrl = started.headers.get('content-location')!;
  assert.match(statusUrl, /\/fhir\/bulk-status\/[0-9a-f-]{36}$/);
  for (let i = 0; i < 600; i++) {
    const polled = await fetch(statusUrl, { headers: auth(token) });
    if (polled.status === 200) return { manifest: (await polled.json()) as Manifest, statusUrl };
    assert.equal(polled.status, 202, 'in progress until the manifest');
    assert.ok(polled.headers.get('x-progress'), 'progress is shown');
    assert.ok(Number(polled.headers.get('retry-after')) > 0, 'the client is told when to poll again');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the export did not finish');
}

async function download(manifest: Manifest, token: string): Promise<Map<string, Resource[]>> {
  const byType = new Map<string, Resource[]>();
  for (const file of manifest.output) {
    const response = await fetch(file.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/fhir\+ndjson/);
    const lines = (await response.text()).split('\n').filter((l) => l !== '');
    assert.equal(lines.length, file.count, `${file.type}: the file holds what the manifest counts`);
    for (const line of lines) {
      const resource = JSON.parse(line) as Resource;
      assert.equal(resource.resourceType, file.type);
      assert.deepEqual(validateFhir(resource), [], `${file.type}/${resource.id} is valid R4`);
      byType.set(file.type, [...(byType.get(file.type) ?? []), resource]);
    }
  }
  return byType;
}

async function practitionerOfAnotherOrganisation(username: string, not: string[]): Promise<{ token: string; user: SignedInUser }> {
  const db = server.database.db;
  const other = await db
    .selectFrom('practitioners')
    .select(['id', 'organisation_id', 'team_id'])
    .where('organisation_id', 'not in', not)
    .where('active', '=', true)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  const id = await createAccount(db, {
    username,
    displayName: username,
    role: 'practitioner',
    password: 'not-used-here-2026',
    practitionerId: other.id,
    organisationId: other.organisation_id,
  });
  const token = (await createApiTokenForUsername(db, username, 'bulk test')).token;
  return {
    token,
    user: {
      id,
      username,
      displayName: username,
      role: 'practitioner',
      personId: null,
      practitionerId: other.id,
      organisationId: other.organisation_id,
      teamId: other.team_id,
    },
  };
}

before(async () => {
  server = await startTestServer({ people: 500 });
  tokenA = (await createApiTokenForUsername(server.database.db, 'practitioner', 'bulk test')).token;
});
after(async () => server?.close());

describe('Bulk Data $export', () => {
  test('system export: kick-off, poll, manifest, NDJSON files of valid R4 resources, counts per type', async () => {
    const { manifest } = await exportOf('$export', tokenA);
    assert.equal(manifest.requiresAccessToken, true);
    assert.ok(!Number.isNaN(Date.parse(manifest.transactionTime)));
    assert.match(manifest.request, /\/fhir\/\$export$/);
    assert.deepEqual(manifest.error, []);
    const byType = await download(manifest, tokenA);
    for (const type of ['Patient', 'Organization', 'HealthcareService', 'EpisodeOfCare'])
      assert.ok(byType.has(type), `${type} is exported`);
    assert.ok(!byType.has('AuditEvent'), 'the audit trail is not exported');
    // The Patients are exactly those the practitioner finds by searching (the same access decision).
    const search = (await (await fetch(`${server.url}/fhir/Patient?_count=1&_total=accurate`, { headers: auth(tokenA) })).json()) as {
      total: number;
    };
    assert.equal(byType.get('Patient')!.length, search.total);
    const ids = byType.get('Patient')!.map((p) => p.id!);
    assert.equal(new Set(ids).size, ids.length, 'no Patient twice');
    // Every person exported was decided for the export, and audited as such.
    const audited = await server.database.db
      .selectFrom('audit_events')
      .select('person_id')
      .where('action', '=', 'export')
      .where('person_id', '=', ids[0]!)
      .executeTakeFirst();
    assert.ok(audited, 'the export is on the audit trail');

    // _type and _since choose what is exported.
    const { manifest: patientsOnly } = await exportOf('$export?_type=Patient&_outputFormat=application/fhir%2Bndjson', tokenA);
    assert.deepEqual(
      patientsOnly.output.map((o) => o.type),
      ['Patient'],
    );
    assert.equal(
      patientsOnly.output.reduce((n, o) => n + o.count, 0),
      ids.length,
    );
    const { manifest: future } = await exportOf('$export?_type=Patient&_since=2999-01-01T00:00:00Z', tokenA);
    assert.deepEqual(future.output, [], 'nothing changed since a time to come');
  });

  test('refusals at kick-off: no Prefer, unknown type or format, parameters not offered, aggregate-only roles', async () => {
    const expectOutcome = async (response: Response, status: number) => {
      assert.equal(response.status, status);
      assert.equal(((await response.json()) as Resource).resourceType, 'OperationOutcome');
    };
    await expectOutcome(await kickOff('$export', tokenA, false), 400);
    await expectOutcome(await kickOff('$export?_type=Spaceship', tokenA), 400);
    await expectOutcome(await kickOff('$export?_type=AuditEvent', tokenA), 400);
    await expectOutcome(await kickOff('$export?_outputFormat=text/csv', tokenA), 400);
    await expectOutcome(await kickOff('$export?_typeFilter=Patient%3Fno-such-parameter%3Dfemale', tokenA), 400);
    await expectOutcome(await kickOff('$export?_type=Patient&_typeFilter=Observation%3Fcode%3D1', tokenA), 400);
    await expectOutcome(await kickOff('$export?_since=yesterday', tokenA), 400);
    await expectOutcome(await kickOff('Patient/$export?_type=Organization', tokenA), 400);
    await expectOutcome(await fetch(`${server.url}/fhir/$export`, { headers: { prefer: 'respond-async' } }), 401);
    for (const username of ['manager', 'admin']) {
      const token = (await createApiTokenForUsername(server.database.db, username, 'bulk test')).token;
      await expectOutcome(await kickOff('$export', token), 403);
    }
  });

  test('only the token that asked may poll, download or cancel; a cancelled export is gone', async () => {
    const { manifest, statusUrl } = await exportOf('$export?_type=Patient,Organization', tokenA);
    const sameUserOtherToken = (await createApiTokenForUsername(server.database.db, 'practitioner', 'another client')).token;
    const other = await practitionerOfAnotherOrganisation('bulk-other', [
      (
        await server.database.db
          .selectFrom('users')
          .select('organisation_id')
          .where('username', '=', 'practitioner')
          .executeTakeFirstOrThrow()
      ).organisation_id!,
    ]);
    for (const token of [sameUserOtherToken, other.token]) {
      assert.equal((await fetch(statusUrl, { headers: auth(token) })).status, 404, 'the status is not found with another token');
      for (const file of manifest.output)
        assert.equal(
          (await fetch(file.url, { headers: { authorization: `Bearer ${token}` } })).status,
          404,
          'a file is not found with another token',
        );
      assert.equal((await fetch(statusUrl, { method: 'DELETE', headers: auth(token) })).status, 404, 'nor can it cancel');
    }
    assert.equal((await fetch(manifest.output[0]!.url)).status, 401, 'a file needs a token');
    assert.equal((await fetch(statusUrl, { method: 'DELETE', headers: auth(tokenA) })).status, 202);
    assert.equal((await fetch(statusUrl, { headers: auth(tokenA) })).status, 404, 'cancelled: gone');
    assert.equal((await fetch(manifest.output[0]!.url, { headers: auth(tokenA) })).status, 404, 'its files with it');
  });

  test("another agency's token exports only the people its practitioner may see; a withdrawn consent takes the record out", async () => {
    const db = server.database.db;
    const orgA = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow())
      .organisation_id!;
    // Practitioner A registers a person; B (another agency) takes a part in their care and records a condition.
    const nhs = nhsNumber(777001);
    const patient = {
      resourceType: 'Patient',
      identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhs }],
      name: [{ family: 'Exportwell', given: ['Ines'] }],
      birthDate: '1970-03-03',
      gender: 'female',
    };
    const post = async (token: string, type: string, body: unknown) => {
      const response = await fetch(`${server.url}/fhir/${type}`, {
        method: 'POST',
        headers: { ...auth(token), 'content-type': 'application/fhir+json' },
        body: JSON.stringify(body),
      });
      assert.ok(response.status === 201 || response.status === 200, `${type}: ${response.status} ${await response.clone().text()}`);
      return (await response.json()) as Resource;
    };
    const created = await post(tokenA, 'Patient', patient);
    const b = await practitionerOfAnotherOrganisation('bulk-b', [orgA]);
    // B's organisation takes a part in the person's care (a case opened), so B may record about them.
    await db
      .insertInto('care_relationships')
      .values({
        person_id: created.id!,
        organisation_id: b.user.organisationId!,
        team_id: null,
        practitioner_id: null,
        kind: 'case',
        role_label: null,
        reason: 'bulk export test',
        ended_at: null,
        recorded_by: null,
      })
      .execute();
    const condition = await post(b.token, 'Condition', {
      resourceType: 'Condition',
      subject: { reference: `Patient/${created.id}` },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }] },
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    });
    const c = await practitionerOfAnotherOrganisation('bulk-c', [orgA, b.user.organisationId!]);

    const idsOf = async (token: string) => {
      const files = await download((await exportOf('$export?_type=Patient,Condition', token)).manifest, token);
      return {
        patients: new Set((files.get('Patient') ?? []).map((r) => r.id)),
        conditions: new Set((files.get('Condition') ?? []).map((r) => r.id)),
      };
    };
    let a = await idsOf(tokenA);
    const other = await idsOf(c.token);
    assert.ok(a.patients.has(created.id), "A's export has the person A registered");
    assert.ok(!other.patients.has(created.id), "an agency with no part in the person's care does not get them");
    assert.equal((await fetch(`${server.url}/fhir/Patient/${created.id}`, { headers: auth(c.token) })).status, 404, 'as a read would not');
    for (const id of [...other.patients].slice(0, 5))
      assert.equal((await fetch(`${server.url}/fhir/Patient/${id}`, { headers: auth(c.token) })).status, 200, 'each it gets it may read');
    assert.ok(!a.conditions.has(condition.id), "B's health record is not A's to see without the person's agreement");

    // The person shares their health record with A's organisation: A's export has it.
    const person: SignedInUser = {
      id: 'person-itself',
      username: 'person',
      displayName: 'Ines',
      role: 'citizen',
      personId: created.id!,
      practitionerId: null,
      organisationId: null,
      teamId: null,
    };
    const directive = await db.transaction().execute((trx) =>
      recordDirective(trx, person, created.id!, {
        category: 'health',
        recipientKind: 'organisation',
        recipientId: orgA,
        purposes: ['direct_care'],
        decision: 'permit',
        validUntil: null,
        note: null,
      }),
    );
    a = await idsOf(tokenA);
    assert.ok(a.conditions.has(condition.id), 'shared with consent: exported');
    // ...and withdraws it: the next export leaves it out.
    await db.transaction().execute((trx) => withdrawDirective(trx, person, created.id!, directive));
    a = await idsOf(tokenA);
    assert.ok(!a.conditions.has(condition.id), 'consent withdrawn: not exported');
    assert.ok(a.patients.has(created.id), 'the person is still known to A (they registered them)');
  });

  test('Patient and Group (household) level exports; a household the caller may not see is not found', async () => {
    const { manifest } = await exportOf('Patient/$export?_type=Patient,EpisodeOfCare', tokenA);
    assert.deepEqual([...new Set(manifest.output.map((o) => o.type))].sort(), ['EpisodeOfCare', 'Patient']);
    const files = await download(manifest, tokenA);
    type Household = { id: string; member: Array<{ entity: { reference: string } }> };
    let household: Household | undefined;
    for (const someone of files.get('Patient')!) {
      const found = (await (await fetch(`${server.url}/fhir/Group?member=Patient/${someone.id}`, { headers: auth(tokenA) })).json()) as {
        entry?: Array<{ resource: Household }>;
      };
      household = found.entry?.[0]?.resource;
      if (household && household.member.length > 1) break;
    }
    assert.ok(household, 'a household the practitioner may see');
    const { manifest: groupManifest } = await exportOf(`Group/${household.id}/$export`, tokenA);
    const groupFiles = await download(groupManifest, tokenA);
    const members = new Set(household.member.map((m) => m.entity.reference.replace('Patient/', '')));
    assert.deepEqual(new Set(groupFiles.get('Patient')!.map((p) => p.id)), members, 'the household members the caller may see');
    for (const [type, resources] of groupFiles)
      if (type !== 'Patient')
        for (const r of resources) {
          const subject = JSON.stringify(r).match(/"reference":"Patient\/([^"]+)"/)?.[1];
          assert.ok(subject && members.has(subject), `${type}/${r.id} is about a member`);
        }
    // A household none of whose members the caller may see: not found, as a read.
    const orgA = (
      await server.database.db
        .selectFrom('users')
        .select('organisation_id')
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow()
    ).organisation_id!;
    const c = (await practitionerOfAnotherOrganisation('bulk-d', [orgA])).token;
    const theirs = await kickOff(`Group/${household!.id}/$export`, c);
    const read = await fetch(`${server.url}/fhir/Group/${household!.id}`, { headers: auth(c) });
    assert.equal(theirs.status, read.status === 404 ? 404 : 202, 'kick-off answers as a read of the Group would');
    assert.equal((await kickOff('Group/no-such-household/$export', tokenA)).status, 404);
  });
  test('bulk $import: NDJSON handed to the resumable importer, polled to its counts; refused to practitioners', async () => {
    const db = server.database.db;
    const org = await db.selectFrom('organisations').select('source_code').orderBy('id').executeTakeFirstOrThrow();
    const admin = (await createApiTokenForUsername(db, 'admin', 'bulk import')).token;
    const ndjson = [
      {
        resourceType: 'Patient',
        id: 'imp-1',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(880001) }],
        name: [{ family: 'Bulkload', given: ['Ada'] }],
        birthDate: '1950-01-01',
      },
      {
        resourceType: 'Patient',
        id: 'imp-2',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(880101) }],
        name: [{ family: 'Bulkload', given: ['Bo'] }],
        birthDate: '1951-02-02',
      },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const post = (token: string, source = org.source_code) =>
      fetch(`${server.url}/fhir/$import?source=${encodeURIComponent(source)}`, {
        method: 'POST',
        headers: { ...auth(token), 'content-type': 'application/fhir+ndjson' },
        body: ndjson,
      });
    assert.equal((await post(tokenA)).status, 403, 'a practitioner cannot feed records in bulk');
    assert.equal((await post(admin, 'not a code!')).status, 400);
    const started = await post(admin);
    assert.equal(started.status, 202, await started.clone().text());
    const statusUrl = started.headers.get('content-location')!;
    assert.match(statusUrl, /\/fhir\/import-status\/\d+$/);
    assert.equal((await fetch(statusUrl, { headers: auth(tokenA) })).status, 403, 'nor see its progress');
    let job: { status: string; stored: number; linesDone: number } | undefined;
    for (let i = 0; i < 300 && !job; i++) {
      const polled = await fetch(statusUrl, { headers: auth(admin) });
      if (polled.status === 200) job = (await polled.json()) as typeof job;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(job?.status, 'done');
    assert.equal(job?.linesDone, 2);
    assert.equal(job?.stored, 2, 'both Patients stored by the same importer as joinery import');
  });
});
