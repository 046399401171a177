// Clinical resources Joinery does not model (issue 24, "accept the world's resources"): a
// Synthea-style Bundle (test/fixtures/synthea-style: a Patient and 21 Encounters, Conditions,
// Observations, MedicationRequests, Immunizations, an AllergyIntolerance, a DiagnosticReport and
// Procedures, with urn:uuid fullUrls) POSTed as a transaction keeps every entry whole against the
// person, searchable by patient, code and date; another agency's practitioner gets none of it,
// not even a count; a practitioner with no part in the person's care cannot add to it (and the
// refused write changes nothing); reads are audited; absolute fullUrls and request URLs resolve as
// urn:uuid ones do; and `joinery import` of the same Bundle keeps the same entries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Bundle, Condition, DiagnosticReport, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer, apiTokenForNewPractitioner } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { runImport } from '../src/interop/import.ts';
import { clinicalEntries } from '../src/fhir/index.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { assertValid } from './support/fhir.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'synthea-style', 'bundle.json');
const CLINICAL_COUNTS = {
  Encounter: 3,
  Condition: 4,
  Observation: 5,
  MedicationRequest: 3,
  Immunization: 2,
  AllergyIntolerance: 1,
  DiagnosticReport: 1,
  Procedure: 2,
};

function bundleOf(): Bundle {
  return JSON.parse(fs.readFileSync(fixture, 'utf8')) as Bundle;
}

/** Every leaf of a resource with its path, references aside (they are rewritten to the ids given). */
function leaves(value: unknown, at: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (k !== 'reference') leaves(v, `${at}.${k}`, out);
    }
  else out.push([at, JSON.stringify(value)]);
  return out;
}

for (const target of await testDatabaseTargets()) {
  describe(`clinical resources kept whole on ${target.kind}`, () => {
    let server: TestServer;
    let token: string;
    let personId: string;
    let response: Bundle;
    let ownOrg: string;

    const headers = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/fhir+json' });
    async function get(t: string, p: string): Promise<{ status: number; body: Resource }> {
      const r = await fetch(`${server.url}/fhir/${p}`, { headers: headers(t) });
      return { status: r.status, body: (await r.json()) as Resource };
    }
    async function search(t: string, p: string): Promise<Bundle> {
      const r = await get(t, `${p}${p.includes('?') ? '&' : '?'}_total=accurate&_count=100`);
      assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
      assertValid(r.body, p);
      return r.body as Bundle;
    }
    const tokenFor = (username: string, organisationId: string) =>
      apiTokenForNewPractitioner(server, username, organisationId, 'clinical test');
    const kept = async () =>
      Number((await sql<{ n: number }>`select count(*)::int as n from fhir_resources where whole`.execute(server.database.db)).rows[0]!.n);

    before(async () => {
      server = await startTestServer({ people: 300, database: await target.open() });
      token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'clinical test')).token;
      ownOrg = (
        await server.database.db
          .selectFrom('users')
          .select('organisation_id')
          .where('username', '=', 'practitioner')
          .executeTakeFirstOrThrow()
      ).organisation_id!;
      const r = await fetch(`${server.url}/fhir`, { method: 'POST', headers: headers(token), body: JSON.stringify(bundleOf()) });
      response = (await r.json()) as Bundle;
      assert.equal(r.status, 200, JSON.stringify(response).slice(0, 2000));
      personId = /Patient\/([^/]+)/.exec(response.entry![0]!.response!.location!)![1]!;
    });
    after(async () => server?.close());

    test('the transaction stores every entry, with counts per type', async () => {
      assertValid(response, 'the transaction response');
      const sent = bundleOf().entry!;
      assert.equal(response.entry!.length, sent.length);
      assert.deepEqual(
        response.entry!.map((e) => e.response?.status),
        sent.map(() => '201 Created'),
      );
      for (const [type, count] of Object.entries(CLINICAL_COUNTS)) {
        const found = await search(token, `${type}?patient=Patient/${personId}`);
        assert.equal(found.total, count, `${type}: ${count} kept against the person`);
        for (const entry of found.entry ?? []) assertValid(entry.resource, `${type} read back`);
      }
    });

    test('each entry reads back as sent, references resolved to the ids given, and the create says nothing was lost', async () => {
      const sent = bundleOf().entry!;
      for (const [i, entry] of response.entry!.entries()) {
        const original = sent[i]!.resource!;
        if (original.resourceType === 'Patient') continue;
        const outcome = entry.response!.outcome as OperationOutcome | undefined;
        assert.deepEqual(
          outcome?.issue.filter((x) => x.severity === 'warning'),
          [],
          `${original.resourceType}: no warnings`,
        );
        const { id: _id, meta: _meta, ...body } = original;
        const back = (await get(token, `${original.resourceType}/${entry.resource!.id}`)).body;
        const have = new Map(leaves(back, original.resourceType));
        const lost = leaves(body, original.resourceType)
          .filter(([p, v]) => have.get(p) !== v)
          .map(([p]) => p);
        assert.deepEqual(lost, [], `${original.resourceType}: nothing lost`);
      }
      // References between entries point at what was made: the report's results, the condition's encounter.
      const report = (await search(token, `DiagnosticReport?patient=${personId}`)).entry![0]!.resource as DiagnosticReport;
      for (const result of report.result ?? []) assert.equal((await get(token, result.reference!)).status, 200, result.reference);
      const condition = (await search(token, `Condition?subject=Patient/${personId}&code=http://snomed.info/sct|44054006`)).entry![0]!
        .resource as Condition;
      assert.equal(condition.subject.reference, `Patient/${personId}`);
      assert.equal((await get(token, condition.encounter!.reference!)).status, 200);
    });

    test('searches by code (system|code, code, system|), date (ongoing periods included) and encounter', async () => {
      const count = async (q: string) => (await search(token, q)).total;
      assert.equal(await count(`Condition?patient=${personId}&code=http://snomed.info/sct|44054006`), 1);
      assert.equal(await count(`Condition?patient=${personId}&code=44054006`), 1);
      assert.equal(await count(`Condition?patient=${personId}&code=http://example.org/other|44054006`), 0);
      assert.equal(await count(`Condition?patient=${personId}&code=http://snomed.info/sct|`), 4);
      assert.equal(await count(`Observation?patient=${personId}&code=http://loinc.org|8302-2`), 1);
      assert.equal(await count(`Immunization?patient=${personId}&vaccine-code=http://hl7.org/fhir/sid/cvx|140`), 1);
      assert.equal(await count(`Encounter?patient=${personId}&date=lt2020-01-01`), 1);
      // The emergency admission is still going on: it reaches past any date.
      assert.equal(await count(`Encounter?patient=${personId}&date=gt2030-01-01`), 1);
      assert.equal(await count(`Condition?patient=${personId}&onset-date=ge2021-01-01`), 2);
      assert.equal(await count(`MedicationRequest?patient=${personId}&authoredon=2019-05-02`), 2);
      assert.equal(await count(`Procedure?patient=${personId}&date=ge2026-01-01`), 1);
      const encounter = (await search(token, `Encounter?patient=${personId}&date=lt2020-01-01`)).entry![0]!.resource!.id!;
      assert.equal(await count(`Condition?encounter=Encounter/${encounter}`), 2);
      assert.equal(await count(`Observation?patient=${personId}&date=2019-05-02`), 4);
    });

    test("another agency's practitioner in the person's care gets none of it, not even a count; a stranger neither", async () => {
      const db = server.database.db;
      const housing = await db
        .selectFrom('organisations')
        .select('id')
        .where('id', '<>', ownOrg)
        .where('kind', '=', 'council_housing')
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const housingToken = await tokenFor('clinical-housing', housing.id);
      await db
        .insertInto('care_relationships')
        .values({
          person_id: personId,
          organisation_id: housing.id,
          team_id: null,
          practitioner_id: null,
          kind: 'case',
          role_label: null,
          reason: 'tenancy support',
          ended_at: null,
          recorded_by: null,
        })
        .execute();
      const stranger = await db
        .selectFrom('organisations')
        .select('id')
        .where('id', 'not in', [ownOrg, housing.id])
        .where('kind', '=', 'school')
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const strangerToken = await tokenFor('clinical-stranger', stranger.id);
      const condition = (await search(token, `Condition?patient=${personId}`)).entry![0]!.resource!.id!;
      for (const [who, t] of [
        ['housing', housingToken],
        ['stranger', strangerToken],
      ] as const) {
        for (const type of Object.keys(CLINICAL_COUNTS)) {
          const found = await search(t, `${type}?patient=${personId}`);
          assert.equal(found.total, 0, `${who}: no ${type}`);
          assert.equal(found.entry, undefined, `${who}: no ${type} entries`);
        }
        assert.equal((await get(t, `Condition/${condition}`)).status, 404, `${who}: the Condition is not found`);
      }
      // The housing officer still sees who the person is.
      assert.equal((await get(housingToken, `Patient/${personId}`)).status, 200);
    });

    test('reads of clinical resources are audited, under health', async () => {
      const condition = (await search(token, `Condition?patient=${personId}`)).entry![0]!.resource!.id!;
      const before = Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from audit_events where person_id = ${personId} and category = 'health' and action = 'read'`.execute(
            server.database.db,
          )
        ).rows[0]!.n,
      );
      assert.equal((await get(token, `Condition/${condition}`)).status, 200);
      const afterRead = Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from audit_events where person_id = ${personId} and category = 'health' and action = 'read'`.execute(
            server.database.db,
          )
        ).rows[0]!.n,
      );
      assert.ok(afterRead > before, 'the read left an audit entry');
    });

    test("a practitioner with no part in the person's care cannot add a Condition about them: refused, nothing changes", async () => {
      const db = server.database.db;
      const probation = await db
        .selectFrom('organisations')
        .select('id')
        .where('id', '<>', ownOrg)
        .where('kind', '=', 'probation')
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const outsider = await tokenFor('clinical-outsider', probation.id);
      const beforeCount = await kept();
      const condition = { resourceType: 'Condition', subject: { reference: `Patient/${personId}` }, code: { text: 'Made-up diagnosis' } };
      const single = await fetch(`${server.url}/fhir/Condition`, {
        method: 'POST',
        headers: headers(outsider),
        body: JSON.stringify(condition),
      });
      assert.equal(single.status, 403);
      assert.equal(((await single.json()) as OperationOutcome).resourceType, 'OperationOutcome');
      // In a transaction, the refusal rolls back what came before it.
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0f1b8a2c-6c3e-4b0a-9d59-3a0c3b1e2f01',
            resource: { resourceType: 'Patient', name: [{ family: 'Outsiderson', given: ['Nobody'] }], birthDate: '1990-01-01' },
            request: { method: 'POST', url: 'Patient' },
          },
          { resource: condition, request: { method: 'POST', url: 'Condition' } },
        ],
      };
      const tx = await fetch(`${server.url}/fhir`, { method: 'POST', headers: headers(outsider), body: JSON.stringify(bundle) });
      assert.equal(tx.status, 403);
      assert.equal(await kept(), beforeCount, 'no clinical resource was kept');
      assert.equal(
        (await db.selectFrom('persons').select('id').where('family_name', '=', 'Outsiderson').execute()).length,
        0,
        'no person was made',
      );
      // A citizen (even the person themselves) does not file clinical records either.
      const citizen = (await createApiTokenForUsername(db, 'citizen', 'clinical test')).token;
      const own = await fetch(`${server.url}/fhir/Condition`, {
        method: 'POST',
        headers: headers(citizen),
        body: JSON.stringify(condition),
      });
      assert.equal(own.status, 403);
      assert.equal(await kept(), beforeCount);
    });

    test('the sending organisation may replace what it sent; no one else can', async () => {
      const condition = (await search(token, `Condition?patient=${personId}&code=http://snomed.info/sct|444814009`)).entry![0]!
        .resource as Condition;
      const changed = { ...condition, note: [{ text: 'Resolved without antibiotics' }] };
      const put = await fetch(`${server.url}/fhir/Condition/${condition.id}`, {
        method: 'PUT',
        headers: { ...headers(token), 'if-match': `W/"${condition.meta!.versionId}"` },
        body: JSON.stringify(changed),
      });
      assert.equal(put.status, 200, await put.clone().text());
      const back = (await put.json()) as Condition;
      assert.equal(back.meta!.versionId, '2');
      assert.equal(back.note![0]!.text, 'Resolved without antibiotics');
      const stale = await fetch(`${server.url}/fhir/Condition/${condition.id}`, {
        method: 'PUT',
        headers: { ...headers(token), 'if-match': 'W/"1"' },
        body: JSON.stringify(changed),
      });
      assert.equal(stale.status, 412);
      const other = await fetch(`${server.url}/fhir/Condition/${condition.id}`, {
        method: 'PUT',
        headers: headers((await createApiTokenForUsername(server.database.db, 'clinical-housing', 'clinical test')).token),
        body: JSON.stringify({ ...changed, note: [{ text: 'Overwritten' }] }),
      });
      assert.equal(other.status, 404, 'another agency cannot even see it');
      assert.equal(((await get(token, `Condition/${condition.id}`)).body as Condition).note![0]!.text, 'Resolved without antibiotics');
    });

    test('absolute fullUrls and request URLs resolve as urn:uuid ones do, relative references included', async () => {
      const base = 'https://partner.example.org/fhir';
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: `${base}/Condition/c-1`,
            resource: {
              resourceType: 'Condition',
              id: 'c-1',
              subject: { reference: 'Patient/123' },
              code: { coding: [{ system: 'http://snomed.info/sct', code: '195967001' }], text: 'Asthma' },
            },
            request: { method: 'POST', url: `${base}/Condition` },
          },
          {
            fullUrl: `${base}/Patient/123`,
            resource: {
              resourceType: 'Patient',
              id: '123',
              name: [{ family: 'Absoluteson', given: ['Ada'] }],
              birthDate: '1979-02-03',
              gender: 'female',
            },
            request: { method: 'POST', url: `${base}/Patient` },
          },
          {
            fullUrl: `${base}/Observation/o-1`,
            resource: {
              resourceType: 'Observation',
              status: 'final',
              subject: { reference: `${base}/Patient/123` },
              code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
              effectiveDateTime: '2026-10-01T10:00:00Z',
              valueQuantity: { value: 72, unit: '/min' },
            },
            request: { method: 'POST', url: `${base}/Observation` },
          },
        ],
      };
      const r = await fetch(`${server.url}/fhir`, { method: 'POST', headers: headers(token), body: JSON.stringify(bundle) });
      const body = (await r.json()) as Bundle;
      assert.equal(r.status, 200, JSON.stringify(body).slice(0, 1000));
      const patient = /Patient\/([^/]+)/.exec(body.entry![1]!.response!.location!)![1]!;
      assert.notEqual(patient, '123');
      const condition = body.entry![0]!.resource as Condition;
      assert.equal(condition.subject.reference, `Patient/${patient}`);
      assert.equal((await search(token, `Observation?subject=${patient}&code=http://loinc.org|8867-4`)).total, 1);
      assert.equal((await search(token, `Condition?patient=${patient}`)).total, 1);
    });

    test("joinery import of the same Bundle keeps its clinical entries against the person, for the feed's organisation", async () => {
      const db = server.database.db;
      const org = await db.selectFrom('organisations').select('source_code').where('id', '=', ownOrg).executeTakeFirstOrThrow();
      // Another person than the one the transaction made (the person index would match them).
      const bundle = bundleOf();
      const patient = bundle.entry![0]!.resource as {
        name: Array<{ family: string; given: string[] }>;
        birthDate: string;
        identifier: Array<{ value: string }>;
        id?: string;
        telecom?: unknown;
        address?: unknown;
      };
      patient.name[0] = { ...patient.name[0]!, family: 'Importwell', given: ['Theodora'] };
      delete patient.telecom;
      delete patient.address;
      patient.birthDate = '1972-09-30';
      delete patient.id;
      patient.identifier = patient.identifier.map((i) => ({ ...i, value: `${i.value}-import` }));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-clinical-'));
      const file = path.join(dir, 'synthea-style.json');
      fs.writeFileSync(file, JSON.stringify(bundle));
      const done = await runImport(db, { source: org.source_code.toLowerCase(), file, clinical: clinicalEntries });
      assert.equal(done.status, 'done');
      assert.equal(done.errors, 0);
      assert.equal(done.newPerson, 1, JSON.stringify(done));
      assert.deepEqual(done.clinical, CLINICAL_COUNTS);
      const person = (await db.selectFrom('persons').select('id').where('family_name', '=', 'Importwell').executeTakeFirstOrThrow()).id;
      for (const [type, count] of Object.entries(CLINICAL_COUNTS)) {
        assert.equal((await search(token, `${type}?patient=${person}`)).total, count, `${type} imported, seen by the feed's organisation`);
      }
      // Importing the file again changes nothing.
      const again = await runImport(db, { source: org.source_code, file, clinical: clinicalEntries });
      assert.equal(again.status, 'done');
      assert.equal((await search(token, `Condition?patient=${person}`)).total, 4);
    });
  });
}
