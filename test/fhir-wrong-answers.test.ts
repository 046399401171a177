// FHIR answers a partner's client can rely on (issue 24, "wrong answers"): conditional create
// finds the existing person instead of making another; a create the person index matched to
// someone known answers 200, not 201; token searches honour the system (system|code, system|,
// |code); RelatedPerson finds the relationship codes Joinery itself sends; Task?owner finds the
// tasks that show that owner; EpisodeOfCare?date counts ongoing episodes; impossible dates,
// XML, FHIR 3.0 and text/plain bodies are refused with an OperationOutcome; OPTIONS answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import type { Bundle, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername, userForApiToken } from '../src/interop/tokens.ts';
import { peopleInReach } from '../src/consent/index.ts';
import { sql } from 'kysely';
import { NHS_NUMBER_SYSTEM, PRACTITIONER_ROLE_SYSTEM, RELATIONSHIP_CODE_SYSTEM } from '../src/fhir/resources.ts';
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

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: Resource | undefined; headers: Headers }> {
  const response = await fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Resource) : undefined, headers: response.headers };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, { method: 'POST', headers: { 'content-type': 'application/fhir+json', ...headers }, body: JSON.stringify(body) });

async function searchIds(query: string): Promise<string[]> {
  const bundle = (await client.search({
    resourceType: query.split('?')[0]!,
    searchParams: Object.fromEntries(new URLSearchParams(query.split('?')[1])),
  })) as unknown as Bundle;
  assertValid(bundle, query);
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
}

function assertOutcome(result: { status: number; body: Resource | undefined }, status: number, text?: RegExp): void {
  assert.equal(result.status, status, JSON.stringify(result.body));
  assert.equal(result.body?.resourceType, 'OperationOutcome');
  assertValid(result.body, `OperationOutcome ${status}`);
  if (text) assert.match((result.body as OperationOutcome).issue[0]!.diagnostics ?? '', text);
}

const nhs = nhsNumber(52_524);
const person = (given: string): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhs }],
  name: [{ family: 'Wrongfoot', given: [given] }],
  gender: 'female',
  birthDate: '1979-05-06',
  address: [{ line: ['4 Answer Lane'], postalCode: 'TF1 1AA' }],
});
let personId: string;

before(async () => {
  server = await startTestServer({ people: 800 });
  token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'wrong answers')).token;
  client = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: token });
  const created = await post('/fhir/Patient', person('Maud'));
  assert.equal(created.status, 201);
  personId = created.body!.id!;
});
after(async () => server?.close());

describe('creates that find someone already known', () => {
  test('If-None-Exist on an existing NHS number answers 200 with that person and creates no one', async () => {
    const before = await server.database.db.selectFrom('persons').select('id').where('nhs_number', '=', nhs).execute();
    // Written differently (a married name, a birth date mistyped): the person index alone would not
    // be sure this is Maud; the condition says it is whoever has that NHS number.
    const differently: Patient = {
      ...person('Mildred'),
      name: [{ family: 'Otherwise', given: ['Mildred'] }],
      birthDate: '1988-11-12',
      address: [{ postalCode: 'ZZ9 9ZZ' }],
    };
    const again = await post('/fhir/Patient', differently, { 'if-none-exist': `identifier=${NHS_NUMBER_SYSTEM}|${nhs}` });
    assert.equal(again.status, 200);
    assert.equal(again.body?.id, personId);
    assert.deepEqual((again.body as Patient).name?.[0]?.given, ['Maud'], 'the existing person, unchanged');
    const after = await server.database.db.selectFrom('persons').select('id').where('nhs_number', '=', nhs).execute();
    assert.deepEqual(after, before, 'no new person');

    // The same in a transaction Bundle (request.ifNoneExist).
    const bundle = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0f0e0d0c-1111-4222-8333-944445555666',
          resource: { ...differently, name: [{ family: 'Otherwise', given: ['Mabel'] }] },
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS_NUMBER_SYSTEM}|${nhs}` },
        },
      ],
    });
    assert.equal(bundle.status, 200);
    const entry = (bundle.body as Bundle).entry![0]!;
    assert.equal(entry.response?.status, '200 OK');
    assert.equal(entry.resource?.id, personId);
  });

  test('a create the person index matches to someone known answers 200 (nothing new was made), not 201', async () => {
    const matched = await post('/fhir/Patient', person('Maud'));
    assert.equal(matched.status, 200);
    assert.equal(matched.body?.id, personId);
  });

  test('If-None-Exist matching nobody creates; matching several is a 412', async () => {
    const fresh = await post(
      '/fhir/Patient',
      {
        ...person('Olwen'),
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(61_616) }],
        name: [{ family: 'Newcombe', given: ['Olwen'] }],
      },
      { 'if-none-exist': `identifier=${NHS_NUMBER_SYSTEM}|${nhsNumber(61_616)}` },
    );
    assert.equal(fresh.status, 201);
    const several = await post('/fhir/Patient', person('Maud'), { 'if-none-exist': 'gender=female' });
    assertOutcome(several, 412, /more than one/);
  });
});

describe('token searches honour the system', () => {
  test("PractitionerRole?role: another system finds none; system| finds the system's; |code finds codes without a system", async () => {
    const role = (
      await server.database.db
        .selectFrom('practitioners')
        .select('role')
        .where('role', '<>', 'unassigned')
        .orderBy('id')
        .executeTakeFirstOrThrow()
    ).role;
    const all = await searchIds(`PractitionerRole?role=${role}&_count=500`);
    assert.ok(all.length > 0);
    assert.deepEqual(await searchIds(`PractitionerRole?role=${PRACTITIONER_ROLE_SYSTEM}|${role}&_count=500`), all);
    assert.deepEqual(await searchIds(`PractitionerRole?role=http://example.org/other|${role}`), []);
    assert.deepEqual(await searchIds(`PractitionerRole?role=|${role}`), [], 'every role code carries its system');
    assert.ok((await searchIds(`PractitionerRole?role=${PRACTITIONER_ROLE_SYSTEM}|&_count=500`)).length >= all.length);
    assert.deepEqual(await searchIds('PractitionerRole?role=http://example.org/other|'), []);
  });

  test('Patient?identifier: the NHS number system| finds people with one; |value finds none', async () => {
    const withNhs = await searchIds(`Patient?identifier=${NHS_NUMBER_SYSTEM}|&_count=500`);
    assert.ok(withNhs.includes(personId));
    assert.deepEqual(await searchIds(`Patient?identifier=|${nhs}`), []);
    assert.deepEqual(await searchIds(`Patient?identifier=http://example.org/mrn|${nhs}`), []);
    assert.deepEqual(await searchIds(`Patient?identifier=${nhs}`), [personId]);
  });

  test('Patient?gender with the administrative-gender system, and another system', async () => {
    assert.ok(
      (await searchIds(`Patient?identifier=${NHS_NUMBER_SYSTEM}|${nhs}&gender=http://hl7.org/fhir/administrative-gender|female`)).includes(
        personId,
      ),
    );
    assert.deepEqual(await searchIds(`Patient?identifier=${NHS_NUMBER_SYSTEM}|${nhs}&gender=http://example.org/sex|female`), []);
  });

  test('RelatedPerson?relationship=SIGOTHR finds the partner Joinery sends as SIGOTHR', async () => {
    const partner = await server.database.db
      .selectFrom('persons')
      .select('id')
      .where('id', '<>', personId)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await server.database.db
      .insertInto('relationships')
      .values({ person_id: personId, related_person_id: partner.id, type: 'partner' })
      .execute();
    const sent = await searchIds(`RelatedPerson?patient=${personId}`);
    assert.equal(sent.length, 1);
    const resource = (await client.read({ resourceType: 'RelatedPerson', id: sent[0]! })) as unknown as {
      relationship: Array<{ coding: Array<{ system: string; code: string }> }>;
    };
    assert.deepEqual(resource.relationship[0]!.coding[0], { system: RELATIONSHIP_CODE_SYSTEM, code: 'SIGOTHR' });
    assert.deepEqual(await searchIds(`RelatedPerson?patient=${personId}&relationship=SIGOTHR`), sent);
    assert.deepEqual(await searchIds(`RelatedPerson?patient=${personId}&relationship=${RELATIONSHIP_CODE_SYSTEM}|SIGOTHR`), sent);
    assert.deepEqual(await searchIds(`RelatedPerson?patient=${personId}&relationship=partner`), sent, "Joinery's own word still works");
    assert.deepEqual(await searchIds(`RelatedPerson?patient=${personId}&relationship=http://example.org/other|SIGOTHR`), []);
  });
});

describe('references and periods', () => {
  test('Task?owner=Organization/… returns only Tasks whose owner is that organisation', async () => {
    const db = server.database.db;
    const org = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow())
      .organisation_id!;
    // Some of the organisation's referrals are assigned to one of its practitioners: those Tasks show the practitioner as owner.
    const mine = await db.selectFrom('referrals').select('id').where('organisation_id', '=', org).orderBy('id').limit(4).execute();
    const staff = await db
      .selectFrom('practitioners')
      .select('id')
      .where('organisation_id', '=', org)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    if (mine.length > 1)
      await db
        .updateTable('referrals')
        .set({ assigned_practitioner_id: staff.id })
        .where(
          'id',
          'in',
          mine.slice(0, 2).map((r) => r.id),
        )
        .execute();
    const bundle = (await client.search({
      resourceType: 'Task',
      searchParams: { owner: `Organization/${org}`, _count: '500' },
    })) as unknown as Bundle;
    const owners = (bundle.entry ?? []).map((e) => (e.resource as { owner?: { reference?: string } }).owner?.reference);
    assert.ok(owners.length > 0, 'the organisation owns some Tasks the practitioner sees');
    assert.deepEqual([...new Set(owners)], [`Organization/${org}`]);
    const assigned = (await client.search({
      resourceType: 'Task',
      searchParams: { owner: `Practitioner/${staff.id}`, _count: '500' },
    })) as unknown as Bundle;
    for (const e of assigned.entry ?? [])
      assert.equal((e.resource as { owner?: { reference?: string } }).owner?.reference, `Practitioner/${staff.id}`);
  });

  test('EpisodeOfCare?date=gt… includes episodes still going on', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const ongoing = await searchIds(`EpisodeOfCare?patient=${personId}&status=active`);
    assert.ok(ongoing.length > 0, 'registering the person opened an episode');
    assert.deepEqual(await searchIds(`EpisodeOfCare?patient=${personId}&date=gt${tomorrow}`), ongoing);
    assert.deepEqual(await searchIds(`EpisodeOfCare?patient=${personId}&date=lt2000-01-01`), []);
  });
});

describe('refusals a client can act on', () => {
  test('a date that is not real is refused', async () => {
    assertOutcome(await call('/fhir/Patient?birthdate=2021-02-30'), 400, /not a real date/);
    assertOutcome(await call('/fhir/Patient?birthdate=2021-13'), 400, /not a real date/);
    assert.equal((await call('/fhir/Patient?birthdate=2020-02-29')).status, 200, 'a leap day is real');
  });

  test('XML or FHIR 3.0 asked for is a 406, not R4 JSON', async () => {
    assertOutcome(await call('/fhir/Patient?_format=xml'), 406, /json/i);
    assertOutcome(await call('/fhir/metadata?_format=application/fhir%2Bxml'), 406);
    assertOutcome(await call('/fhir/Patient', { headers: { accept: 'application/fhir+xml' } }), 406);
    assertOutcome(await call('/fhir/Patient', { headers: { accept: 'application/fhir+json; fhirVersion=3.0' } }), 406, /3\.0/);
    assert.equal((await call('/fhir/metadata', { headers: { accept: 'application/fhir+json; fhirVersion=4.0' } })).status, 200);
    assert.equal((await call('/fhir/metadata?_format=json')).status, 200);
    assert.equal(
      (await call('/fhir/metadata', { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } })).status,
      200,
      "a browser's Accept",
    );
  });

  test('OPTIONS says which methods an address takes', async () => {
    const type = await call('/fhir/Patient', { method: 'OPTIONS' });
    assert.equal(type.status, 204);
    assert.match(type.headers.get('allow') ?? '', /GET.*POST/);
    const instance = await call(`/fhir/Patient/${personId}`, { method: 'OPTIONS' });
    assert.equal(instance.status, 204);
    assert.match(instance.headers.get('allow') ?? '', /PUT/);
  });

  test('a text/plain body is a 415', async () => {
    const sent = await call('/fhir/Patient', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(person('Plain')),
    });
    assertOutcome(sent, 415);
  });
});

describe('paging a practitioner through Patients and AuditEvents', () => {
  test('every page but the last is full, none is empty with a next link, and the last gives the total', async () => {
    let path: string | undefined = '/fhir/Patient?_count=5';
    const seen: string[] = [];
    let last: Bundle | undefined;
    for (let page = 0; path; page++) {
      assert.ok(page < 200, 'the next links come to an end');
      const result = await call(path);
      assert.equal(result.status, 200);
      const bundle = result.body as Bundle;
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      const ids = (bundle.entry ?? []).map((e) => e.resource!.id!);
      if (next) assert.equal(ids.length, 5, `page ${page + 1} is full when another follows`);
      seen.push(...ids);
      last = bundle;
      path = next ? new URL(next).pathname + new URL(next).search : undefined;
    }
    assert.ok(seen.length > 0);
    assert.equal(new Set(seen).size, seen.length, 'no Patient twice');
    // Back again by previous links: the same Patients, page by page, in reverse.
    const backwards: string[][] = [];
    let back = last?.link?.find((l) => l.relation === 'previous')?.url;
    for (let page = 0; back; page++) {
      assert.ok(page < 200);
      const bundle = (await call(new URL(back).pathname + new URL(back).search)).body as Bundle;
      backwards.unshift((bundle.entry ?? []).map((e) => e.resource!.id!));
      back = bundle.link?.find((l) => l.relation === 'previous')?.url;
    }
    assert.deepEqual(backwards.flat(), seen.slice(0, seen.length - (last?.entry?.length ?? 0)), 'previous links retrace the pages exactly');
    assert.ok(backwards.length >= 2, 'several pages were walked back');
    // Every Patient the practitioner may read is on some page (an open search pages through the
    // people in their reach, not stopping at its bound on work among people it would hide), and the
    // last page gives the total. Who they may read is asked Patient by Patient, among everyone the
    // access decision could allow anything of.
    const db = server.database.db;
    const user = (await userForApiToken(db, token))!;
    const inReach = (await sql<{ person_id: string }>`select person_id from ${peopleInReach(user, new Date())!} s`.execute(db)).rows;
    const readable: string[] = [];
    for (const { person_id: id } of inReach) if ((await call(`/fhir/Patient/${id}`)).status === 200) readable.push(id);
    assert.ok(readable.length > 10, 'the practitioner may read several pages of Patients');
    assert.deepEqual([...seen].sort(), readable.sort(), 'paging finds every Patient the practitioner may read, and no other');
    assert.equal(last?.total, seen.length, 'the last page says how many there were');
    assert.ok(!(last?.entry ?? []).some((e) => e.resource?.resourceType === 'OperationOutcome'), 'and gives no warning of stopping short');
    const few = (await call(`/fhir/Patient?identifier=${NHS_NUMBER_SYSTEM}|${nhs}`)).body as Bundle;
    assert.equal(few.total, 1, 'a search that reaches its end gives its total');
  });

  test("a practitioner's AuditEvent search reads no audit rows and says none", async () => {
    const result = await call('/fhir/AuditEvent?_count=50');
    const bundle = result.body as Bundle;
    assert.equal(bundle.entry, undefined);
    assert.equal(bundle.total, 0);
    assert.equal(
      bundle.link?.some((l) => l.relation === 'next'),
      false,
    );
  });
});

describe('what is sent is refused rather than silently changed', () => {
  test('"gender": "femal" is refused, naming the element', async () => {
    const sent = await post('/fhir/Patient', {
      ...person('Typo'),
      identifier: [],
      name: [{ family: 'Typo', given: ['Tess'] }],
      gender: 'femal',
    });
    assertOutcome(sent, 400, /femal/);
  });

  test('an NHS number failing its check digit is refused, not dropped', async () => {
    const bad = nhs.slice(0, 9) + String((Number(nhs[9]) + 1) % 10);
    const sent = await post('/fhir/Patient', {
      ...person('Digit'),
      identifier: [{ system: NHS_NUMBER_SYSTEM, value: bad }],
      name: [{ family: 'Digit', given: ['Dora'] }],
    });
    assertOutcome(sent, 422, /check digit/);
  });
});

describe('names as the world writes them', () => {
  test('a Patient whose name is given only as text is accepted, and its name comes back as sent', async () => {
    const sent: Patient = { resourceType: 'Patient', name: [{ use: 'official', text: '张无忌' }], gender: 'male', birthDate: '1990-02-03' };
    const created = await post('/fhir/Patient', sent);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const back = (await client.read({ resourceType: 'Patient', id: created.body!.id! })) as unknown as Patient;
    assert.deepEqual(back.name, sent.name);
    assert.deepEqual(await searchIds(`Patient?name=${encodeURIComponent('张无忌')}`), [created.body!.id]);
  });

  test('the official name is the one Joinery takes when a usual name comes first', async () => {
    const created = await post('/fhir/Patient', {
      resourceType: 'Patient',
      name: [
        { use: 'usual', given: ['Bex'] },
        { use: 'official', family: 'Ormerod', given: ['Rebecca', 'Jane'] },
      ],
      birthDate: '1985-07-08',
    });
    assert.equal(created.status, 201);
    const row = await server.database.db
      .selectFrom('persons')
      .select(['given_name', 'family_name'])
      .where('id', '=', created.body!.id!)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { given_name: 'Rebecca', family_name: 'Ormerod' });
    const back = (await client.read({ resourceType: 'Patient', id: created.body!.id! })) as unknown as Patient;
    assert.deepEqual(
      back.name?.map((n) => n.use),
      ['usual', 'official'],
      'both names come back, in the order sent',
    );
    assert.deepEqual(back.name?.[1]?.given, ['Rebecca', 'Jane'], 'with the middle name');
  });
});
