// Keep what you are sent (issue 24): a rich Patient, written the way a hospital's system sends
// one (several identifiers with their systems, official and usual names with middle names and
// suffixes, several phones and emails, a three-line address with city, district and country,
// marital status, contacts, language, GP, managing organisation, an extension), is read back with
// nothing lost, and what is not kept is named; foreign identifiers are searchable; and the stored
// copy passes the access decision: a practitioner of another organisation who may see the
// person's demographics but not their health gets the names and addresses back, not the GP, the
// deceased flag or the extensions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername, userForApiToken } from '../src/interop/tokens.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { decideRecordAccess } from '../src/consent/index.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import { assertValid } from './support/fhir.ts';

let server: TestServer;
let token: string;
let client: Client;

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

const MRN = 'http://hospital.example.org/identifiers/mrn';
const ETHNIC = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory';

function richPatient(gp: string, org: string): Patient {
  return {
    resourceType: 'Patient',
    extension: [
      {
        url: ETHNIC,
        valueCodeableConcept: {
          coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory', code: 'A', display: 'British, Mixed British' }],
        },
      },
    ],
    identifier: [
      { system: NHS_NUMBER_SYSTEM, value: nhsNumber(77_123) },
      {
        use: 'usual',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: MRN,
        value: 'RVH-0042917',
        assigner: { display: 'Riverside Hospital' },
      },
      { value: 'PAPER-FILE-118' },
    ],
    active: true,
    name: [
      { use: 'official', family: 'Fairweather-Quaile', given: ['Rosalind', 'Mary', 'Ottilie'], prefix: ['Dr'], suffix: ['PhD'] },
      { use: 'usual', given: ['Roz'] },
      { use: 'maiden', family: 'Quaile', given: ['Rosalind'], period: { end: '2002-06-15' } },
    ],
    telecom: [
      { system: 'phone', value: '01632 960001', use: 'home' },
      { system: 'phone', value: '07700 900123', use: 'mobile', rank: 1 },
      { system: 'email', value: 'roz@example.org', use: 'home' },
      { system: 'email', value: 'r.fairweather@work.example.org', use: 'work' },
    ],
    gender: 'female',
    birthDate: '1971-08-23',
    deceasedBoolean: false,
    address: [
      {
        use: 'home',
        type: 'both',
        line: ['Flat 3', 'Kingfisher House', '12 Mill Lane'],
        city: 'Riverside',
        district: 'Riverdale',
        postalCode: 'TF1 1AA',
        country: 'GB',
        period: { start: '2015-04-01' },
      },
      { use: 'old', line: ['9 Station Road'], city: 'Otherton', postalCode: 'TF2 2BB' },
    ],
    maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Married' }] },
    multipleBirthBoolean: false,
    contact: [
      {
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'N', display: 'Next-of-Kin' }] }],
        name: { family: 'Fairweather', given: ['Hugo'] },
        telecom: [{ system: 'phone', value: '07700 900456' }],
        gender: 'male',
      },
    ],
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'cy', display: 'Welsh' }] }, preferred: true }],
    generalPractitioner: [{ reference: `Organization/${gp}` }],
    managingOrganization: { reference: `Organization/${org}` },
  };
}

/** Every leaf of what was sent, with its path: [path, value as JSON]. */
function leaves(value: unknown, at: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, `${at}.${k}`, out);
  else out.push([at, JSON.stringify(value)]);
  return out;
}

/** The leaves sent that the read-back does not hold at the same place. */
function lost(sent: Patient, back: Patient): string[] {
  const have = new Map(leaves(back, 'Patient'));
  return leaves(sent, 'Patient')
    .filter(([path, value]) => have.get(path) !== value)
    .map(([path]) => path);
}

let sent: Patient;
let created: Patient;
let createdHeaders: Headers;

before(async () => {
  server = await startTestServer({ people: 800 });
  token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'kept')).token;
  client = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: token });
  const db = server.database.db;
  const gp = await db.selectFrom('organisations').select('id').where('kind', '=', 'gp_practice').orderBy('id').executeTakeFirstOrThrow();
  const own = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow())
    .organisation_id!;
  sent = richPatient(gp.id, own);
  const response = await fetch(`${server.url}/fhir/Patient`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(sent),
  });
  assert.equal(response.status, 201, await response.clone().text());
  createdHeaders = response.headers;
  created = (await response.json()) as Patient;
});
after(async () => server?.close());

describe('a rich Patient is kept', () => {
  test('the read-back holds every value sent, and the create says nothing was lost', async () => {
    const back = (await client.read({ resourceType: 'Patient', id: created.id! })) as unknown as Patient;
    assertValid(back, 'the Patient read back');
    assert.deepEqual(lost(sent, back), [], 'nothing sent is missing or changed');
    assert.equal(createdHeaders.get('x-fhir-not-kept'), null);
    assert.deepEqual(lost(sent, created), [], 'the create answered with the same');
    // Joinery's own identifier is added beside the sender's.
    assert.ok(back.identifier?.some((i) => i.system === 'urn:joinery:person' && i.value === back.id));
  });

  test('Prefer: return=OperationOutcome says what was kept', async () => {
    const update = await fetch(`${server.url}/fhir/Patient/${created.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=OperationOutcome' },
      body: JSON.stringify({ ...sent, id: created.id, telecom: [...sent.telecom!, { system: 'sms', value: '07700 900999' }] }),
    });
    assert.equal(update.status, 200);
    const outcome = (await update.json()) as OperationOutcome;
    assertValid(outcome, 'the OperationOutcome');
    assert.deepEqual(
      outcome.issue.map((i) => i.severity),
      ['information'],
      JSON.stringify(outcome),
    );
    const back = (await client.read({ resourceType: 'Patient', id: created.id! })) as unknown as Patient;
    assert.ok(back.telecom?.some((t) => t.system === 'sms'));
  });

  test('foreign identifiers are searchable with and without their system', async () => {
    const ids = async (identifier: string) =>
      (((await client.search({ resourceType: 'Patient', searchParams: { identifier } })) as unknown as Bundle).entry ?? []).map(
        (e) => e.resource!.id,
      );
    assert.deepEqual(await ids(`${MRN}|RVH-0042917`), [created.id]);
    assert.deepEqual(await ids('RVH-0042917'), [created.id]);
    assert.deepEqual(await ids('|PAPER-FILE-118'), [created.id], 'an identifier sent without a system is found with |value');
    assert.deepEqual(await ids(`${MRN}|`), [created.id]);
    assert.deepEqual(await ids('http://other.example.org|RVH-0042917'), []);
  });

  test('a change made in Joinery wins over the stored copy, which keeps the rest', async () => {
    await server.database.db.updateTable('persons').set({ family_name: 'Fairweather' }).where('id', '=', created.id!).execute();
    const back = (await client.read({ resourceType: 'Patient', id: created.id! })) as unknown as Patient;
    assert.equal(back.name?.[0]?.family, 'Fairweather', 'the domain tables are the truth for the name');
    assert.ok(
      back.name?.some((n) => n.use === 'usual' && n.given?.[0] === 'Roz'),
      'the usual name stays',
    );
    assert.equal(back.maritalStatus?.coding?.[0]?.code, 'M');
    await server.database.db.updateTable('persons').set({ family_name: 'Fairweather-Quaile' }).where('id', '=', created.id!).execute();
  });

  test('what a matched create did not keep is named', async () => {
    const again = await fetch(`${server.url}/fhir/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=OperationOutcome' },
      body: JSON.stringify({
        ...sent,
        maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'W' }] },
      }),
    });
    assert.equal(again.status, 200, 'matched to the same person: nothing new');
    const outcome = (await again.json()) as OperationOutcome;
    assert.ok(
      outcome.issue.some((i) => i.severity === 'warning' && i.expression?.[0]?.startsWith('Patient.maritalStatus')),
      JSON.stringify(outcome),
    );
  });
});

describe('the stored copy passes the access decision', () => {
  test("another organisation's practitioner who may see demographics but not health gets no health elements", async () => {
    const db = server.database.db;
    const own = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow())
      .organisation_id!;
    const housing = await db
      .selectFrom('organisations')
      .select(['id'])
      .where('kind', '=', 'council_housing')
      .where('id', '<>', own)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const worker = await db
      .selectFrom('practitioners')
      .select('id')
      .where('organisation_id', '=', housing.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await createAccount(db, {
      username: 'housing-kept',
      displayName: 'Hal Housing',
      role: 'practitioner',
      password: 'a long passphrase for tests',
      practitionerId: worker.id,
      organisationId: housing.id,
    });
    await db
      .insertInto('care_relationships')
      .values({
        person_id: created.id!,
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
    const housingToken = (await createApiTokenForUsername(db, 'housing-kept', 'kept')).token;
    const actor = (await userForApiToken(db, housingToken))!;
    const access = await decideRecordAccess(db, {
      actor,
      personId: created.id!,
      categories: ['demographics', 'health'],
      purpose: 'direct_care',
      action: 'read',
    });
    assert.notEqual(access.byCategory.demographics.scope, 'none', 'housing may see who the person is');
    assert.notEqual(access.byCategory.health.scope, 'all', 'housing may not see health information other organisations hold');

    const read = await fetch(`${server.url}/fhir/Patient/${created.id}`, { headers: { authorization: `Bearer ${housingToken}` } });
    assert.equal(read.status, 200);
    const back = (await read.json()) as Patient;
    assert.ok(
      back.name?.some((n) => n.use === 'usual'),
      'demographic elements of the copy are there',
    );
    assert.ok(back.identifier?.some((i) => i.system === MRN));
    assert.equal(back.generalPractitioner, undefined, 'not the GP');
    assert.equal(back.extension, undefined, 'not the extensions');
    assert.equal(back.deceasedBoolean, undefined, 'not whether they died');
    const found = await fetch(`${server.url}/fhir/Patient?identifier=${encodeURIComponent(`${MRN}|RVH-0042917`)}`, {
      headers: { authorization: `Bearer ${housingToken}` },
    });
    const entry = ((await found.json()) as Bundle).entry?.[0]?.resource as Patient | undefined;
    assert.equal(entry?.id, created.id);
    assert.equal(entry?.generalPractitioner, undefined, 'nor through a search');

    // The practitioner who sent it keeps seeing all of it.
    const mine = (await client.read({ resourceType: 'Patient', id: created.id! })) as unknown as Patient;
    assert.ok(mine.generalPractitioner && mine.extension);
  });

  test('someone with no relationship gets nothing of the copy', async () => {
    // An organisation with no part in the person's care (none of the organisations with a relationship).
    const involved = (
      await server.database.db.selectFrom('care_relationships').select('organisation_id').where('person_id', '=', created.id!).execute()
    ).map((r) => r.organisation_id);
    const other = await server.database.db
      .selectFrom('organisations')
      .select('id')
      .where('kind', '=', 'school')
      .where('id', 'not in', involved)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const worker = await server.database.db
      .selectFrom('practitioners')
      .select('id')
      .where('organisation_id', '=', other.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await createAccount(server.database.db, {
      username: 'school-kept',
      displayName: 'Sam School',
      role: 'practitioner',
      password: 'a long passphrase for tests',
      practitionerId: worker.id,
      organisationId: other.id,
    });
    const strangerToken = (await createApiTokenForUsername(server.database.db, 'school-kept', 'kept')).token;
    const actor = (await userForApiToken(server.database.db, strangerToken))!;
    const access = await decideRecordAccess(server.database.db, {
      actor,
      personId: created.id!,
      categories: ['demographics'],
      purpose: 'direct_care',
      action: 'read',
    });
    assert.equal(access.byCategory.demographics.scope, 'none', access.reason);
    assert.equal(
      (await fetch(`${server.url}/fhir/Patient/${created.id}`, { headers: { authorization: `Bearer ${strangerToken}` } })).status,
      404,
    );
    const found = await fetch(`${server.url}/fhir/Patient?identifier=${encodeURIComponent(`${MRN}|RVH-0042917`)}`, {
      headers: { authorization: `Bearer ${strangerToken}` },
    });
    assert.equal(((await found.json()) as Bundle).entry, undefined);
  });
});

describe('staff details every token holder could read are not kept', () => {
  test("a Practitioner's home address and birth date are refused with a warning; their professional identifier is kept", async () => {
    const admin = (await createApiTokenForUsername(server.database.db, 'admin', 'kept')).token;
    const org = (await server.database.db.selectFrom('organisations').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
    const response = await fetch(`${server.url}/fhir/Practitioner`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/fhir+json', prefer: 'return=OperationOutcome' },
      body: JSON.stringify({
        resourceType: 'Practitioner',
        name: [{ family: 'Keeling', given: ['Pat'] }],
        telecom: [{ system: 'email', value: 'pat.keeling@work.example' }],
        identifier: [{ system: 'https://fhir.hl7.org.uk/Id/gmc-number', value: 'C1234567' }],
        address: [{ line: ['1 Home Street'], postalCode: 'TF1 1AA' }],
        birthDate: '1980-01-01',
        extension: [{ url: 'urn:joinery:extension:organization', valueReference: { reference: `Organization/${org}` } }],
      }),
    });
    assert.equal(response.status, 201);
    const outcome = (await response.json()) as OperationOutcome;
    const named = outcome.issue.flatMap((i) => i.expression ?? []);
    assert.ok(named.some((p) => p.startsWith('Practitioner.address')) && named.includes('Practitioner.birthDate'), JSON.stringify(outcome));
    assert.ok(!named.some((p) => p.startsWith('Practitioner.identifier')), 'the GMC number is kept');
    const id = /\/Practitioner\/([^/]+)\//.exec(response.headers.get('location') ?? '')?.[1];
    const back = (await client.read({ resourceType: 'Practitioner', id: id! })) as unknown as {
      address?: unknown;
      birthDate?: unknown;
      identifier?: Array<{ value?: string }>;
    };
    assert.equal(back.address, undefined);
    assert.equal(back.birthDate, undefined);
    assert.equal(back.identifier?.[0]?.value, 'C1234567');
  });
});
