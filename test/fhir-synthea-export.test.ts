// A Synthea-shaped export loaded as Synthea's users load one (issue 24, "accept the world's
// resources"): first the hospital and practitioner bundles (batches with conditional creates),
// then a patient's transaction that names the organisation, the location and the practitioner
// only by conditional references (`Practitioner?identifier=...|...`) and holds the types a real
// export has beyond the clinical ones already kept: Claim, ExplanationOfBenefit,
// DocumentReference, ImagingStudy, Device, SupplyDelivery, MedicationAdministration and
// Provenance (test/fixtures/synthea-style). Every entry is stored, with counts per type; each
// conditional reference reads back as the resource it found; loading the export a second time
// makes no second organisation or practitioner; a conditional reference that matches nothing
// fails the whole transaction and stores none of it; and another agency's practitioner finds none
// of the person's claims, notes or devices, not even a count.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer, apiTokenForNewPractitioner } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { runImport } from '../src/interop/import.ts';
import { clinicalEntries } from '../src/fhir/index.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { assertValid } from './support/fhir.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures', 'synthea-style');
const bundleOf = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')) as Bundle;

/** The export with its Patient made someone else (name, birth date, identifiers), so an import makes a new person of them. */
function exportAbout(family: string, given: string, birthDate: string): Bundle {
  const bundle = bundleOf('patient-export.json');
  const patient = bundle.entry![0]!.resource as { name: unknown; birthDate: string; identifier: Array<{ value: string }> };
  patient.name = [{ family, given: [given] }];
  patient.birthDate = birthDate;
  patient.identifier = patient.identifier.map((i) => ({ ...i, value: `${i.value}-${family.toLowerCase()}` }));
  return bundle;
}

/** Runs `body` with the Bundle written to a file of its own, removed afterwards. */
async function withBundleFile(bundle: Bundle, body: (file: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-synthea-'));
  const file = path.join(dir, 'export.json');
  fs.writeFileSync(file, JSON.stringify(bundle));
  try {
    await body(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The export's entries beside the Patient, by type: what must be kept against the person. */
const EXPORT_COUNTS = {
  Encounter: 1,
  Condition: 1,
  Claim: 1,
  ExplanationOfBenefit: 1,
  DocumentReference: 1,
  ImagingStudy: 1,
  Device: 1,
  SupplyDelivery: 1,
  MedicationAdministration: 1,
  MedicationRequest: 1,
  Provenance: 1,
};

for (const target of await testDatabaseTargets()) {
  describe(`a Synthea-shaped export on ${target.kind}`, () => {
    let server: TestServer;
    let token: string;
    let adminToken: string;
    let personId: string;
    let exported: Bundle;
    let organizationId: string;
    let practitionerId: string;
    let locationId: string;

    const headers = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/fhir+json' });
    async function get(t: string, p: string): Promise<{ status: number; body: Resource }> {
      const r = await fetch(`${server.url}/fhir/${p}`, { headers: headers(t) });
      return { status: r.status, body: (await r.json()) as Resource };
    }
    async function post(t: string, bundle: Bundle): Promise<{ status: number; body: Bundle | OperationOutcome }> {
      const r = await fetch(`${server.url}/fhir`, { method: 'POST', headers: headers(t), body: JSON.stringify(bundle) });
      return { status: r.status, body: (await r.json()) as Bundle | OperationOutcome };
    }
    async function total(t: string, p: string): Promise<number> {
      const r = await get(t, `${p}${p.includes('?') ? '&' : '?'}_total=accurate`);
      assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body).slice(0, 500)}`);
      return (r.body as Bundle).total!;
    }
    const idOf = (entry: BundleEntry | undefined) => /^[A-Za-z]+\/([^/]+)/.exec(entry?.response?.location ?? '')?.[1];
    const keptRows = async () =>
      Number((await sql<{ n: number }>`select count(*)::int as n from fhir_resources`.execute(server.database.db)).rows[0]!.n);

    before(async () => {
      server = await startTestServer({ people: 300, database: await target.open() });
      token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'synthea test')).token;
      // The directory (organisations, places, practitioners) is the administrators' to change.
      adminToken = (await createApiTokenForUsername(server.database.db, 'admin', 'synthea test')).token;
      for (const name of ['hospital-information.json', 'practitioner-information.json']) {
        const r = await post(adminToken, bundleOf(name));
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 1500));
        for (const entry of (r.body as Bundle).entry!)
          assert.match(entry.response!.status!, /^20[01]/, `${name}: ${JSON.stringify(entry.response).slice(0, 800)}`);
      }
      const r = await post(token, bundleOf('patient-export.json'));
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
      exported = r.body as Bundle;
      personId = idOf(exported.entry![0])!;
      const only = async (p: string) => {
        const found = (await get(token, p)).body as Bundle;
        assert.equal(found.entry?.length, 1, `${p} finds one`);
        return found.entry![0]!.resource!.id!;
      };
      organizationId = await only(
        'Organization?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-000000000384',
      );
      practitionerId = await only('Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999977795');
      locationId = await only('Location?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-000000000385');
    });
    after(async () => server?.close());

    test('every entry of the export is stored, with counts per type against the person', async () => {
      assertValid(exported, 'the transaction response');
      const sent = bundleOf('patient-export.json').entry!;
      assert.deepEqual(
        exported.entry!.map((e) => e.response?.status),
        sent.map(() => '201 Created'),
      );
      for (const [type, count] of Object.entries(EXPORT_COUNTS)) {
        assert.equal(await total(token, `${type}?patient=Patient/${personId}`), count, `${type} kept against the person`);
      }
      // Another system's care team and care plan sit beside the person's own care network and shared plans.
      for (const entry of exported.entry!.slice(1).filter((e) => !e.response!.location!.startsWith('Medication/'))) {
        const [type, id] = entry.response!.location!.split('/');
        assert.equal(await total(token, `${type}?patient=Patient/${personId}&_id=${id}`), 1, `${type}/${id} found against the person`);
      }
      const everything = (await get(token, `Patient/${personId}/$everything?_count=100`)).body as Bundle;
      const types = new Set((everything.entry ?? []).map((e) => e.resource!.resourceType));
      for (const type of [
        'Claim',
        'ExplanationOfBenefit',
        'DocumentReference',
        'ImagingStudy',
        'MedicationAdministration',
        'SupplyDelivery',
        'Provenance',
        'CareTeam',
        'CarePlan',
      ])
        assert.ok(types.has(type as Resource['resourceType']), `$everything gives the person's ${type}`);
    });

    test('each entry reads back as sent, conditional references pointing at what their searches found', async () => {
      const sent = bundleOf('patient-export.json').entry!;
      const conditional = {
        'Organization?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-000000000384': `Organization/${organizationId}`,
        'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999977795': `Practitioner/${practitionerId}`,
        'Location?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-000000000385': `Location/${locationId}`,
      } as Record<string, string>;
      for (const [i, entry] of exported.entry!.entries()) {
        const original = sent[i]!.resource!;
        if (original.resourceType === 'Patient') continue;
        const back = (await get(token, `${original.resourceType}/${idOf(entry)}`)).body;
        assertValid(back, `${original.resourceType} read back`);
        const text = JSON.stringify(back);
        assert.doesNotMatch(text, /"reference":"[A-Za-z]+\?/, `${original.resourceType}: no conditional reference left`);
        assert.doesNotMatch(text, /"reference":"urn:uuid:/, `${original.resourceType}: no reference to a urn:uuid left`);
        for (const [reference, resolved] of Object.entries(conditional))
          if (JSON.stringify(original).includes(JSON.stringify(reference)))
            assert.ok(text.includes(`"${resolved}"`), `${original.resourceType} names ${resolved}`);
      }
      const provenance = (await get(token, `Provenance/${idOf(exported.entry!.at(-1))}`)).body as { target: Array<{ reference: string }> };
      assert.equal(provenance.target[0]!.reference, `Patient/${personId}`, "Provenance's target names the person as Joinery knows them");
      assert.equal(provenance.target.length, 10, 'and every other target is kept');
      const carePlan = exported.entry!.find((e) => e.response!.location!.startsWith('CarePlan/'))!;
      const careTeam = exported.entry!.find((e) => e.response!.location!.startsWith('CareTeam/'))!;
      const plan = (await get(token, `CarePlan/${idOf(carePlan)}`)).body as { intent: string; careTeam: Array<{ reference: string }> };
      assert.equal(plan.intent, 'order', "another system's plan keeps its intent (it is not made a shared plan)");
      assert.equal(plan.careTeam[0]!.reference, `CareTeam/${idOf(careTeam)}`);
      // The prescription names the medicine that follows it in the Bundle, by the id it was given.
      const medicine = exported.entry!.find((e) => e.response!.location!.startsWith('Medication/'))!;
      const prescription = ((await get(token, `MedicationRequest?patient=Patient/${personId}`)).body as Bundle).entry![0]!.resource as {
        medicationReference: { reference: string };
      };
      assert.equal(prescription.medicationReference.reference, `Medication/${idOf(medicine)}`);
    });

    test('R4 searches find the kept claims, notes and devices by their own parameters', async () => {
      assert.equal(await total(token, `Claim?patient=Patient/${personId}&created=2024-03-11`), 1);
      assert.equal(await total(token, `Claim?patient=Patient/${personId}&created=2024-03-12`), 0);
      assert.equal(await total(token, `DocumentReference?subject=Patient/${personId}&type=http://loinc.org|34117-2`), 1);
      assert.equal(await total(token, `DocumentReference?subject=Patient/${personId}&type=http://loinc.org|11506-3`), 0);
      assert.equal(await total(token, `Device?patient=Patient/${personId}&type=70665002`), 1);
      assert.equal(await total(token, `MedicationAdministration?patient=Patient/${personId}&effective-time=ge2024-03-01`), 1);
      assert.equal(await total(token, `ImagingStudy?patient=Patient/${personId}&started=lt2024-01-01`), 0);
      assert.equal(
        await total(token, 'ExplanationOfBenefit?identifier=https://bluebutton.cms.gov/resources/identifier/claim-group|99999999999'),
        1,
      );
      assert.equal(await total(token, 'Medication?code=https://dmd.nhs.uk|318858000'), 1, 'a medicine by its dm+d code');
      assert.equal(await total(token, 'Medication?code=https://dmd.nhs.uk|314076'), 0, 'not by a code of another system');
      // R4 gives a Claim no `code`: the CapabilityStatement does not declare one, and asking is refused.
      assert.equal((await get(token, `Claim?code=professional`)).status, 400);
    });

    test("another system's care team adds no one to the person's care network, and kept plans and teams are not changed as shared ones", async () => {
      const other = await anotherOrganisation();
      const outsider = await tokenFor('synthea-named-member', other);
      const outsiderPractitioner = (
        await server.database.db
          .selectFrom('users')
          .select('practitioner_id')
          .where('username', '=', 'synthea-named-member')
          .executeTakeFirstOrThrow()
      ).practitioner_id;
      assert.ok(outsiderPractitioner, 'the outsider is a practitioner in the network');
      assert.equal((await get(outsider, `Patient/${personId}`)).status, 404, 'the outsider does not know the person');
      const team = {
        resourceType: 'CareTeam',
        status: 'active',
        subject: { reference: `Patient/${personId}` },
        participant: [
          { member: { reference: `Practitioner/${outsiderPractitioner}` } },
          { member: { reference: `Organization/${other}` } },
        ],
      };
      const r = await fetch(`${server.url}/fhir/CareTeam`, { method: 'POST', headers: headers(token), body: JSON.stringify(team) });
      assert.equal(r.status, 201, await r.text());
      assert.equal((await get(outsider, `Patient/${personId}`)).status, 404, 'being named in a kept care team gives no access');
      assert.equal(await total(outsider, `CareTeam?patient=Patient/${personId}`), 0);
      // The same CareTeam posted by the outsider, who may not write the person's health, is refused.
      const refused = await fetch(`${server.url}/fhir/CareTeam`, {
        method: 'POST',
        headers: headers(outsider),
        body: JSON.stringify(team),
      });
      assert.ok(refused.status === 403 || refused.status === 404, `outsider's CareTeam: ${refused.status}`);
      for (const type of ['CarePlan', 'CareTeam']) {
        const id = idOf(exported.entry!.find((e) => e.response!.location!.startsWith(`${type}/`)));
        const current = (await get(token, `${type}/${id}`)).body;
        const put = await fetch(`${server.url}/fhir/${type}/${id}`, {
          method: 'PUT',
          headers: headers(token),
          body: JSON.stringify({ ...current, status: 'revoked' }),
        });
        assert.ok(put.status >= 400 && put.status < 500, `PUT on a kept ${type}: ${put.status} ${await put.text()}`);
        assert.deepEqual((await get(token, `${type}/${id}`)).body, current, `the kept ${type} is unchanged`);
      }
    });

    test('loading the hospital and practitioner bundles again makes no second organisation or practitioner', async () => {
      for (const name of ['hospital-information.json', 'practitioner-information.json']) {
        const r = await post(adminToken, bundleOf(name));
        assert.equal(r.status, 200);
        for (const entry of (r.body as Bundle).entry!)
          assert.equal(entry.response!.status, '200 OK', `${name}: the conditional create found it`);
      }
      assert.equal(await total(token, 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999977795'), 1);
      assert.equal(
        await total(token, 'Organization?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-000000000384'),
        1,
      );
    });

    test('a conditional reference that matches nothing fails the whole transaction, and nothing of it is stored', async () => {
      const before = await keptRows();
      const bundle = bundleOf('patient-export.json');
      const text = JSON.stringify(bundle)
        .replaceAll('us-npi|9999977795', 'us-npi|1111111111')
        .replaceAll('5e7e0000-0000-4000-8000-0000000000', '5e7e0000-0000-4000-8000-0000000001');
      const r = await post(token, JSON.parse(text) as Bundle);
      assert.equal(r.status, 404, JSON.stringify(r.body).slice(0, 500));
      const outcome = r.body as OperationOutcome;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.match(outcome.issue[0]!.diagnostics ?? '', /matches no Practitioner/);
      assert.equal(await keptRows(), before, 'nothing of the failed transaction is kept');
    });

    test("another agency's practitioner finds none of the person's claims, notes or devices, not even a count", async () => {
      const other = await anotherOrganisation();
      const stranger = await tokenFor('synthea-stranger', other);
      for (const type of Object.keys(EXPORT_COUNTS)) {
        assert.equal(await total(stranger, `${type}?patient=Patient/${personId}`), 0, `${type}: nothing for the stranger`);
        const id = idOf(exported.entry!.find((e) => e.response?.location?.startsWith(`${type}/`)));
        const read = await get(stranger, `${type}/${id}`);
        assert.ok(read.status === 403 || read.status === 404, `${type} read by a stranger: ${read.status}`);
        assert.doesNotMatch(JSON.stringify(read.body), /Lindqvist|lisinopril|Hypertension/);
      }
      assert.equal(await total(stranger, 'Claim?created=2024-03-11'), 0);
    });

    test('`joinery import` of the export keeps every entry whole against the person, conditional references found by identifier', async () => {
      const db = server.database.db;
      const org = await db
        .selectFrom('organisations')
        .select(['id', 'source_code'])
        .where('id', '=', await ownOrganisation())
        .executeTakeFirstOrThrow();
      await withBundleFile(exportAbout('Importwell', 'Marisol', '1977-02-08'), async (file) => {
        const done = await runImport(db, { source: org.source_code, file, clinical: clinicalEntries });
        assert.equal(done.status, 'done');
        assert.equal(done.errors, 0, 'nothing set aside');
        assert.equal(done.newPerson, 1);
        assert.deepEqual(done.clinical, { ...EXPORT_COUNTS, CareTeam: 1, CarePlan: 1, Medication: 1 });
        const person = (await db.selectFrom('persons').select('id').where('family_name', '=', 'Importwell').executeTakeFirstOrThrow()).id;
        for (const type of [...Object.keys(EXPORT_COUNTS), 'CarePlan'])
          assert.equal(await total(token, `${type}?patient=Patient/${person}`), 1, `${type} imported, seen by the feed's organisation`);
        const document = ((await get(token, `DocumentReference?patient=Patient/${person}`)).body as Bundle).entry![0]!.resource!;
        assert.ok(JSON.stringify(document).includes(`"Practitioner/${practitionerId}"`), 'the author found by its NPI');
        assert.ok(JSON.stringify(document).includes(`"Organization/${organizationId}"`), 'the custodian found by its identifier');
        // A second run replaces rather than doubles.
        const again = await runImport(db, { source: org.source_code, file, clinical: clinicalEntries });
        assert.equal(again.status, 'done');
        assert.equal(await total(token, `Claim?patient=Patient/${person}`), 1);
      });
    });

    test('an import cannot file an entry against someone outside its Bundle by naming them with a conditional reference', async () => {
      const db = server.database.db;
      const org = await db.selectFrom('organisations').select(['source_code']).executeTakeFirstOrThrow();
      const sent = exportAbout('Outsidefeed', 'Ilse', '1990-10-10');
      const condition = structuredClone(sent.entry!.find((e) => e.resource!.resourceType === 'Condition')!);
      // The person the API load made, named by the identifier their stored Patient carries.
      (condition.resource as { subject: { reference: string } }).subject = {
        reference: 'Patient?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-000000000001',
      };
      condition.fullUrl = 'urn:uuid:5e7e0000-0000-4000-8000-0000000000ff';
      // And a reference whose escapes are broken: hostile input, which must not stop the import.
      (condition.resource as { recorder?: { reference: string } }).recorder = { reference: 'Practitioner?identifier=x|%E0%A4%A' };
      const before = await total(token, `Condition?patient=Patient/${personId}`);
      await withBundleFile({ resourceType: 'Bundle', type: 'transaction', entry: [sent.entry![0]!, condition] }, async (file) => {
        const done = await runImport(db, { source: org.source_code, file, clinical: clinicalEntries });
        assert.equal(done.status, 'done');
        assert.equal(done.errors, 1, 'the entry is set aside');
        assert.deepEqual(done.clinical ?? {}, {});
        assert.equal(await total(token, `Condition?patient=Patient/${personId}`), before, 'nothing was filed against the person named');
      });
    });

    test('nobody reaches a person through a conditional reference, a kept plan or a medicine they could not reach directly', async () => {
      const other = await anotherOrganisation();
      const stranger = await tokenFor('synthea-prober', other);
      const citizen = (await createApiTokenForUsername(server.database.db, 'citizen', 'synthea test')).token;
      const named = 'Patient?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-000000000001';
      const nobody = 'Patient?identifier=https://github.com/synthetichealth/synthea|5e7e0000-0000-4000-8000-0000000000ee';
      const condition = (subject: string) => ({
        resourceType: 'Condition',
        code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] },
        subject: { reference: subject },
      });
      const transaction = (subject: string): Bundle => ({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: condition(subject) as Resource, request: { method: 'POST', url: 'Condition' } }],
      });
      const before = await keptRows();
      const health = await total(token, `Condition?patient=Patient/${personId}`);
      for (const [who, t] of [
        ['a practitioner of another agency', stranger],
        ['a citizen', citizen],
      ] as const) {
        // Naming the person by an identifier answers exactly as an identifier nobody has: no probe of who is here.
        const probe = await post(t, transaction(named));
        const none = await post(t, transaction(nobody));
        assert.equal(probe.status, 404, `${who}: ${JSON.stringify(probe.body).slice(0, 300)}`);
        assert.equal(none.status, 404);
        const said = (r: typeof probe) => (r.body as OperationOutcome).issue[0]!.diagnostics!.replace(/\|[0-9a-f-]+/, '|…');
        assert.equal(said(probe), said(none), `${who}: the same answer for the person as for no one`);
        // The same in a batch: that entry fails, nothing is written.
        const batch = await post(t, { ...transaction(named), type: 'batch' });
        assert.equal(batch.status, 200);
        assert.match((batch.body as Bundle).entry![0]!.response!.status!, /^404/);
        // Another system's plan about the person, and a medicine, by someone who may not write them.
        const plan = {
          resourceType: 'CarePlan',
          status: 'active',
          intent: 'order',
          subject: { reference: `Patient/${personId}` },
        };
        const planned = await fetch(`${server.url}/fhir/CarePlan`, { method: 'POST', headers: headers(t), body: JSON.stringify(plan) });
        assert.ok([403, 404].includes(planned.status), `${who} keeps a CarePlan about the person: ${planned.status}`);
      }
      const medicine = { resourceType: 'Medication', code: { coding: [{ system: 'https://dmd.nhs.uk', code: '318858000' }] } };
      const byCitizen = await fetch(`${server.url}/fhir/Medication`, {
        method: 'POST',
        headers: headers(citizen),
        body: JSON.stringify(medicine),
      });
      assert.equal(byCitizen.status, 403, 'a citizen records no medicine');
      assert.equal(await keptRows(), before, 'nothing was kept from any refused write');
      assert.equal(await total(token, `Condition?patient=Patient/${personId}`), health);
    });

    /** The organisation the demo practitioner, who loads the export, works for. */
    async function ownOrganisation(): Promise<string> {
      const me = await server.database.db
        .selectFrom('users')
        .select('organisation_id')
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow();
      return me.organisation_id!;
    }
    /** An organisation with no part in the person's care (only the loader's knows them), with the most staff to give tokens to. */
    async function anotherOrganisation(): Promise<string> {
      const own = await ownOrganisation();
      const busiest = await server.database.db
        .selectFrom('practitioners')
        .select('organisation_id')
        .where('organisation_id', '<>', own)
        .groupBy('organisation_id')
        .orderBy((eb) => eb.fn.countAll(), 'desc')
        .orderBy('organisation_id')
        .executeTakeFirstOrThrow();
      return busiest.organisation_id;
    }

    function tokenFor(username: string, organisationId: string) {
      return apiTokenForNewPractitioner(server, username, organisationId, 'synthea test');
    }
  });
}
