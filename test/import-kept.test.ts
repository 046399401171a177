// Bulk imports keep what they are sent (issue 24), as the FHIR API does: a rich Patient fed
// through POST /api/imports or the importer `joinery import` runs is read back through the FHIR
// API by a practitioner of the feed's organisation with every element it was sent (foreign
// identifiers with their systems, contacts, marital status, multiple birth, photo, every phone and
// email), or the import's report names, per record, each element a read does not return. The kept
// copy passes the access decision: a practitioner of another organisation with no part in the
// person's care finds nothing of it, by read or by search on what only the copy holds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { runImport } from '../src/interop/import.ts';
import { clinicalEntries } from '../src/fhir/clinical-writes.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import { spawnSync } from 'node:child_process';
import { openPglite } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';

const MRN = 'http://hospital.example.org/identifiers/mrn';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-import-kept-'));

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

/**
 * A Patient as a hospital's system exports it, with much Joinery does not model; names no
 * synthetic person has, and (by seed) a birth date, phone and address no other one here has.
 */
function richPatient(tag: string, seed: number, gp: string): Patient {
  return {
    resourceType: 'Patient',
    id: `kept-${tag}`,
    extension: [
      {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory',
        valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory', code: 'A' }] },
      },
    ],
    identifier: [
      { system: NHS_NUMBER_SYSTEM, value: nhsNumber(seed) },
      { use: 'usual', system: MRN, value: `MRN-${tag}`, assigner: { display: 'Riverside Hospital' } },
      { system: 'http://social-care.example.org/client-id', value: `SC-${tag}` },
    ],
    name: [
      { use: 'official', family: `Zzyzxkept${tag}`, given: ['Philippa', 'Jane'], suffix: ['MBE'] },
      { use: 'usual', given: ['Pip'] },
    ],
    telecom: [
      { system: 'phone', value: `01632 960${String(seed % 1000).padStart(3, '0')}`, use: 'home' },
      { system: 'phone', value: `07700 900${String((seed + 7) % 1000).padStart(3, '0')}`, use: 'mobile' },
      { system: 'email', value: `pip.${tag}@example.org` },
      { system: 'email', value: `p.${tag}@work.example.org`, use: 'work' },
    ],
    gender: 'female',
    birthDate: `19${50 + (seed % 40)}-0${1 + (seed % 9)}-14`,
    address: [
      { use: 'home', line: ['Flat 2', 'Heron Court', `${seed % 97} Weir Road`], city: 'Riverside', postalCode: 'TF1 1AA', country: 'GB' },
    ],
    maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'W', display: 'Widowed' }] },
    multipleBirthInteger: 2,
    photo: [{ contentType: 'image/png', data: 'iVBORw0KGgo=' }],
    contact: [
      {
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'N' }] }],
        name: { family: 'Zzyzxkin', given: ['Oscar'] },
        telecom: [{ system: 'phone', value: '07700 900789' }],
      },
    ],
    generalPractitioner: [{ reference: `Organization/${gp}` }],
  };
}

/** Not valid R4 ("femal"): its name and birth date are taken, the rest is named as not kept. */
function invalidPatient(tag: string): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: `bad-${tag}`,
    name: [{ family: `Zzyzxbad${tag}`, given: ['Quentin'] }],
    gender: 'femal',
    birthDate: '1990-05-05',
    maritalStatus: { text: 'single' },
    identifier: [{ system: MRN, value: `MRN-bad-${tag}` }],
  };
}

/** Every leaf of a resource, with its path. */
function leaves(value: unknown, at: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, `${at}.${k}`, out);
  else out.push([at, JSON.stringify(value)]);
  return out;
}

/** The leaves sent (id and meta aside) that the read-back holds nowhere with the same value at the same path (any list position). */
function lost(sent: Record<string, unknown>, back: Record<string, unknown>): string[] {
  const { id: _a, meta: _b, ...s } = sent;
  const generic = (p: string) => p.replace(/\[\d+\]/g, '[]');
  const have = new Set(leaves(back, 'Patient').map(([p, v]) => `${generic(p)}=${v}`));
  return leaves(s, 'Patient')
    .filter(([p, v]) => !have.has(`${generic(p)}=${v}`))
    .map(([p]) => p);
}

interface NotKeptRecord {
  line: number;
  recordId: string;
  elements: string[];
  reason: string | null;
}

let server: TestServer;
let admin: string;
let practitioner: string;
let stranger: string;
let code: string;
let gp: string;

async function personOf(sourceId: string): Promise<string> {
  const row = await server.database.db
    .selectFrom('source_records as s')
    .innerJoin('record_links as l', 'l.source_record_id', 's.id')
    .select('l.person_id')
    .where('s.source', '=', code)
    .where('s.source_id', '=', sourceId)
    .where('l.superseded_at', 'is', null)
    .executeTakeFirstOrThrow();
  return row.person_id;
}

async function read(token: string, id: string): Promise<Response> {
  return fetch(`${server.url}/fhir/Patient/${id}`, { headers: { authorization: `Bearer ${token}` } });
}

/** Every element of each Patient sent comes back to the organisation's practitioner, or the report names it. */
async function checkKeptOrNamed(sent: Array<Record<string, unknown>>, report: NotKeptRecord[]): Promise<Map<string, Patient>> {
  const backs = new Map<string, Patient>();
  for (const patient of sent) {
    const id = await personOf(String(patient.id));
    const response = await read(practitioner, id);
    assert.equal(response.status, 200, `the feed's organisation sees Patient/${id}`);
    const back = (await response.json()) as Patient;
    backs.set(String(patient.id), back);
    const named = new Set(report.filter((r) => r.recordId === patient.id).flatMap((r) => r.elements));
    const silently = lost(patient, back as unknown as Record<string, unknown>).filter((p) => !named.has(p));
    assert.deepEqual(silently, [], `${String(patient.id)}: nothing lost without the report naming it`);
  }
  return backs;
}

/** What only the kept copy holds of the rich Patient is there. */
function assertRichKept(back: Patient, tag: string): void {
  assert.ok(
    back.identifier?.some((i) => i.system === MRN && i.value === `MRN-${tag}`),
    'the MRN, with its system',
  );
  assert.ok(back.identifier?.some((i) => i.system === 'http://social-care.example.org/client-id' && i.value === `SC-${tag}`));
  assert.equal(back.contact?.[0]?.name?.family, 'Zzyzxkin');
  assert.equal(back.maritalStatus?.coding?.[0]?.code, 'W');
  assert.equal(back.multipleBirthInteger, 2);
  assert.equal(back.photo?.[0]?.data, 'iVBORw0KGgo=');
  assert.equal(back.telecom?.filter((t) => t.system === 'phone').length, 2, 'both phones');
  assert.equal(back.telecom?.filter((t) => t.system === 'email').length, 2, 'both emails');
  assert.deepEqual(back.name?.[0]?.given, ['Philippa', 'Jane']);
  assert.equal(back.address?.[0]?.city, 'Riverside');
  assert.ok(back.generalPractitioner && back.extension, "the feed's organisation sees its own copy's health elements");
}

async function waitForJob(id: number): Promise<{ status: string; notKept: number; notKeptRecords: NotKeptRecord[] }> {
  for (let i = 0; i < 600; i++) {
    const job = (await (await fetch(`${server.url}/api/imports/${id}`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
      status: string;
      notKept: number;
      notKeptRecords: NotKeptRecord[];
    };
    if (job.status !== 'running') return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`import ${id} did not finish`);
}

before(async () => {
  server = await startTestServer({ people: 300 });
  const db = server.database.db;
  admin = (await createApiTokenForUsername(db, 'admin', 'import kept')).token;
  practitioner = (await createApiTokenForUsername(db, 'practitioner', 'import kept')).token;
  const own = await db
    .selectFrom('users')
    .innerJoin('organisations', 'organisations.id', 'users.organisation_id')
    .select(['organisations.source_code', 'organisations.id'])
    .where('users.username', '=', 'practitioner')
    .executeTakeFirstOrThrow();
  code = own.source_code;
  gp = (await db.selectFrom('organisations').select('id').where('kind', '=', 'gp_practice').orderBy('id').executeTakeFirstOrThrow()).id;
  // A school's practitioner: no part in the care of anyone these feeds bring.
  const school = await db
    .selectFrom('organisations')
    .select('id')
    .where('kind', '=', 'school')
    .where('id', '!=', own.id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  const worker = await db
    .selectFrom('practitioners')
    .select('id')
    .where('organisation_id', '=', school.id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await createAccount(db, {
    username: 'school-import-kept',
    displayName: 'Sam School',
    role: 'practitioner',
    password: 'a long passphrase for tests',
    practitionerId: worker.id,
    organisationId: school.id,
  });
  stranger = (await createApiTokenForUsername(db, 'school-import-kept', 'import kept')).token;
});
after(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('POST /api/imports keeps each Patient as sent, or names what it did not keep', () => {
  const sent: Array<Record<string, unknown>> = [];
  let job: { status: string; notKept: number; notKeptRecords: NotKeptRecord[] };
  let rich = '';

  before(async () => {
    sent.push(richPatient('api', 55_321, gp) as unknown as Record<string, unknown>, invalidPatient('api'));
    const upload = await fetch(`${server.url}/api/imports?source=${code.toLowerCase()}&format=ndjson`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/x-ndjson' },
      body: sent.map((p) => JSON.stringify(p)).join('\n'),
    });
    assert.equal(upload.status, 202, await upload.clone().text());
    job = await waitForJob(((await upload.json()) as { jobId: number }).jobId);
    assert.equal(job.status, 'done');
    rich = await personOf('kept-api');
  });

  test("the feed's practitioner reads back every element, or the job names it per record", async () => {
    const backs = await checkKeptOrNamed(sent, job.notKeptRecords);
    assertRichKept(backs.get('kept-api')!, 'api');
    assert.deepEqual(
      job.notKeptRecords.filter((r) => r.recordId === 'kept-api'),
      [],
      'everything of the valid Patient was kept',
    );
  });

  test('the Patient that is not valid R4 is reported, each element with why', () => {
    assert.equal(job.notKept, job.notKeptRecords.length);
    const bad = job.notKeptRecords.find((r) => r.recordId === 'bad-api');
    assert.ok(bad, JSON.stringify(job.notKeptRecords));
    assert.equal(bad.line, 2);
    assert.ok(bad.elements.includes('Patient.gender') && bad.elements.includes('Patient.maritalStatus.text'), JSON.stringify(bad));
    assert.match(bad.reason ?? '', /not a valid R4 Patient/);
  });

  test('every record is listed at links.notKept', async () => {
    const jobId = (
      (await (await fetch(`${server.url}/api/imports`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
        jobs: Array<{ jobId: number }>;
      }
    ).jobs[0]!.jobId;
    const all = (await (
      await fetch(`${server.url}/api/imports/${jobId}/not-kept`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { notKept: NotKeptRecord[] };
    assert.deepEqual(all.notKept, job.notKeptRecords);
  });

  test('the organisation finds the person by a foreign identifier only the kept copy holds', async () => {
    const found = (await (
      await fetch(`${server.url}/fhir/Patient?identifier=${encodeURIComponent(`${MRN}|MRN-api`)}`, {
        headers: { authorization: `Bearer ${practitioner}` },
      })
    ).json()) as Bundle;
    assert.deepEqual(
      found.entry?.map((e) => e.resource?.id),
      [rich],
    );
  });

  test('a practitioner of another organisation with no relationship gets nothing of it, by read or search', async () => {
    assert.equal((await read(stranger, rich)).status, 404);
    for (const query of [
      `identifier=${encodeURIComponent(`${MRN}|MRN-api`)}`,
      `identifier=${encodeURIComponent('http://social-care.example.org/client-id|SC-api')}`,
      `telecom=${encodeURIComponent('p.api@work.example.org')}`,
      `email=${encodeURIComponent('p.api@work.example.org')}`,
      `family=Zzyzxkeptapi`,
      `_id=${rich}`,
    ]) {
      const response = await fetch(`${server.url}/fhir/Patient?${query}`, { headers: { authorization: `Bearer ${stranger}` } });
      assert.equal(response.status, 200, query);
      const bundle = (await response.json()) as Bundle;
      assert.equal(bundle.entry?.filter((e) => e.search?.mode === 'match').length ?? 0, 0, `${query} finds nothing`);
      assert.doesNotMatch(JSON.stringify(bundle.entry ?? []), /MRN-api|Zzyzxkin|iVBORw0KGgo/, `${query} shows nothing of the copy`);
    }
  });

  test('a later feed that changes the Patient keeps the version it replaces, for _history and vread', async () => {
    const changed = {
      ...richPatient('api', 55_321, gp),
      maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] },
    };
    const upload = await fetch(`${server.url}/api/imports?source=${code.toLowerCase()}&format=ndjson`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/x-ndjson' },
      body: JSON.stringify(changed),
    });
    assert.equal(upload.status, 202, await upload.clone().text());
    assert.equal((await waitForJob(((await upload.json()) as { jobId: number }).jobId)).status, 'done');
    const now = (await (await read(practitioner, rich)).json()) as Patient;
    assert.equal(now.maritalStatus?.coding?.[0]?.code, 'M', 'the read shows the new copy');
    const history = (await (
      await fetch(`${server.url}/fhir/Patient/${rich}/_history`, { headers: { authorization: `Bearer ${practitioner}` } })
    ).json()) as Bundle;
    const versions = (history.entry ?? []).map((e) => e.resource as Patient);
    assert.ok(versions.length >= 2, `versions kept: ${versions.length}`);
    assert.equal(versions[0]!.meta?.versionId, now.meta?.versionId, 'newest first');
    const earlier = versions.find((v) => v.maritalStatus?.coding?.[0]?.code === 'W');
    assert.ok(earlier, 'the version the second feed replaced is kept, as the first feed sent it');
    const vread = await fetch(`${server.url}/fhir/Patient/${rich}/_history/${earlier.meta!.versionId}`, {
      headers: { authorization: `Bearer ${practitioner}` },
    });
    assert.equal(vread.status, 200);
    assert.equal(((await vread.json()) as Patient).maritalStatus?.coding?.[0]?.code, 'W');
    // The stranger sees no version of it either.
    const strangers = await fetch(`${server.url}/fhir/Patient/${rich}/_history`, { headers: { authorization: `Bearer ${stranger}` } });
    assert.equal(strangers.status, 404);
  });
});

describe("a record matched to a person another organisation's Patient describes", () => {
  test("does not replace that organisation's copy: its elements are named as not kept, saying why", async () => {
    const db = server.database.db;
    const other = await db
      .selectFrom('organisations')
      .select('source_code')
      .where('source_code', '!=', code)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    // The same person as the API feed's, as another organisation's system holds them: its own id and MRN.
    const same = { ...richPatient('api', 55_321, gp), id: 'other-api' } as unknown as Record<string, unknown>;
    same.identifier = [...(same.identifier as unknown[]).slice(0, 1), { system: MRN, value: 'MRN-other-org' }];
    const upload = await fetch(`${server.url}/api/imports?source=${other.source_code}&format=ndjson`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/x-ndjson' },
      body: JSON.stringify(same),
    });
    assert.equal(upload.status, 202, await upload.clone().text());
    const job = await waitForJob(((await upload.json()) as { jobId: number }).jobId);
    assert.equal(job.status, 'done');
    const person = await personOf('kept-api');
    const linked = await server.database.db
      .selectFrom('source_records as s')
      .innerJoin('record_links as l', 'l.source_record_id', 's.id')
      .select('l.person_id')
      .where('s.source', '=', other.source_code)
      .where('s.source_id', '=', 'other-api')
      .where('l.superseded_at', 'is', null)
      .executeTakeFirstOrThrow();
    assert.equal(linked.person_id, person, 'the person index linked it to the person the first feed brought');
    const record = job.notKeptRecords.find((r) => r.recordId === 'other-api');
    assert.ok(record?.elements.includes('Patient.identifier[1].value'), JSON.stringify(job.notKeptRecords));
    assert.match(record!.reason ?? '', /another organisation sent/);
    const back = (await (await read(practitioner, person)).json()) as Patient;
    assert.ok(
      back.identifier?.some((i) => i.value === 'MRN-api'),
      "the first organisation's copy stands",
    );
    assert.ok(!back.identifier?.some((i) => i.value === 'MRN-other-org'));
  });
});

describe('the importer `joinery import` runs keeps each Patient as sent, or names what it did not keep', () => {
  test("the feed's practitioner reads back every element, or the result names it", async () => {
    const sent = [richPatient('cli', 66_789, gp) as unknown as Record<string, unknown>, invalidPatient('cli')];
    const file = path.join(tmp, 'feed.ndjson');
    fs.writeFileSync(file, sent.map((p) => JSON.stringify(p)).join('\n'));
    const result = await runImport(server.database.db, { source: code.toUpperCase(), file, clinical: clinicalEntries });
    assert.equal(result.status, 'done');
    assert.equal(result.stored, 2);
    const report = (await (
      await fetch(`${server.url}/api/imports/${result.jobId}/not-kept`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { notKept: NotKeptRecord[] };
    assert.equal(result.notKept, report.notKept.length);
    assert.ok(report.notKept.some((r) => r.recordId === 'bad-cli' && r.elements.includes('Patient.gender')));
    const backs = await checkKeptOrNamed(sent, report.notKept);
    assertRichKept(backs.get('kept-cli')!, 'cli');
  });
});

describe('joinery import prints, per record, each element it did not keep', () => {
  test(
    'the not-valid Patient is named with its line, record id, elements and why; the valid one is not',
    { timeout: 300_000 },
    async () => {
      const dataDir = path.join(tmp, 'cli-data');
      const setup = await openPglite(dataDir);
      let source: string;
      try {
        await migrateToLatest(setup.db);
        await loadSyntheticPlace(setup.db, { seed: 7, people: 100 });
        await createDemoAccounts(setup.db);
        source = (await setup.db.selectFrom('organisations').select('source_code').orderBy('id').executeTakeFirstOrThrow()).source_code;
      } finally {
        await setup.close();
      }
      const file = path.join(tmp, 'cli-feed.ndjson');
      fs.writeFileSync(file, [richPatient('cmd', 77_777, 'no-such-gp'), invalidPatient('cmd')].map((p) => JSON.stringify(p)).join('\n'));
      const root = path.resolve(import.meta.dirname, '..');
      const run = spawnSync(process.execPath, [path.join(root, 'bin', 'joinery.mjs'), 'import', '--source', source, file], {
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: '', JOINERY_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
        timeout: 240_000,
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /1 record had elements that were not kept/);
      assert.match(run.stdout, /line 2 \(record bad-cmd\): Patient\.gender, .*Patient\.maritalStatus\.text.* — not a valid R4 Patient/);
      assert.doesNotMatch(run.stdout, /record kept-cmd/);
    },
  );
});
