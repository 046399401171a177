// Standard FHIR searches (issue 24), round-tripped against hand-made data on PGlite and
// PostgreSQL: token system|code, |code, system|, :not and :text (:in and :not-in refused: no
// value sets are held); uri :below and :above; strings by default, :exact and
// :contains; :missing; date prefixes over ongoing periods; chained parameters and _has;
// _revinclude; _sort on one or several keys, paged through every page (forwards with a partner's
// client, and back) with no duplicate or omission; _total; _summary and _elements; an unsupported
// parameter or modifier refused, or ignored under Prefer: handling=lenient; the CapabilityStatement
// saying what is offered. And the refusals: another agency's practitioner who may see the person
// but not their health gets nothing through chains, _has or _revinclude (a chain is not an oracle),
// nor does a stranger; a sorted page cannot start at a hidden row.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import type { Bundle, CapabilityStatement, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer, apiTokenForNewPractitioner } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import { assertValid } from './support/fhir.ts';

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

const SCT = 'http://snomed.info/sct';
const LOCAL = 'http://example.org/local-codes';
const LOINC = 'http://loinc.org';

// The family: ties on birth date (Ada and Bea, Cal and Fay), one with none (Eve).
const FAMILY = 'Quillfeather';
const people: Array<{ given: string; birthDate?: string; gender: 'female' | 'male'; family?: string }> = [
  { given: 'Ada', birthDate: '1980-01-05', gender: 'female' },
  { given: 'Bea', birthDate: '1980-01-05', gender: 'female' },
  { given: 'Cal', birthDate: '1975-06-01', gender: 'male' },
  { given: 'Dot', birthDate: '1990-12-31', gender: 'female' },
  { given: 'Eve', gender: 'female' },
  { given: 'Fay', birthDate: '1975-06-01', gender: 'female' },
  { given: 'Gus', birthDate: '2001-03-03', gender: 'male' },
  // Not of the family, for :exact and :contains.
  { given: 'Hal', birthDate: '1966-06-06', gender: 'male', family: 'Quillfeathers' },
  { given: 'Ivo', birthDate: '1967-07-07', gender: 'male', family: 'MacQuillfeather' },
];

for (const target of await testDatabaseTargets()) {
  describe(`standard FHIR searches on ${target.kind}`, () => {
    let server: TestServer;
    let token: string;
    let housingToken: string;
    let strangerToken: string;
    let client: Client;
    const id: Record<string, string> = {};
    const conditionOf: Record<string, string> = {};
    let observation: string;
    let serviceRequest: string;

    const headers = (t: string, extra: Record<string, string> = {}) => ({
      authorization: `Bearer ${t}`,
      'content-type': 'application/fhir+json',
      ...extra,
    });
    async function get(path: string, t = token, extra: Record<string, string> = {}): Promise<{ status: number; body: Resource }> {
      const r = await fetch(`${server.url}/fhir/${path}`, { headers: headers(t, extra) });
      return { status: r.status, body: (await r.json()) as Resource };
    }
    async function search(path: string, t = token, extra: Record<string, string> = {}): Promise<Bundle> {
      const r = await get(path, t, extra);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body).slice(0, 500)}`);
      assertValid(r.body, path);
      return r.body as Bundle;
    }
    const matches = (bundle: Bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
    const included = (bundle: Bundle) =>
      (bundle.entry ?? [])
        .filter((e) => e.search?.mode === 'include')
        .map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)
        .sort();
    /** The given names of the Patients a search matched, in the order given. */
    const givens = (bundle: Bundle) =>
      (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => (e.resource as Patient).name![0]!.given![0]!);
    const who = async (path: string, t = token) => givens(await search(`${path}&_count=100`, t)).sort();
    async function post(path: string, body: unknown): Promise<Resource> {
      const r = await fetch(`${server.url}/fhir/${path}`, { method: 'POST', headers: headers(token), body: JSON.stringify(body) });
      const out = (await r.json()) as Resource;
      assert.equal(r.status, 201, `${path}: ${JSON.stringify(out).slice(0, 500)}`);
      return out;
    }
    const tokenFor = (username: string, organisationId: string) =>
      apiTokenForNewPractitioner(server, username, organisationId, 'search test');
    const condition = (personId: string, code: object, onset: object) => ({
      resourceType: 'Condition',
      subject: { reference: `Patient/${personId}` },
      code,
      ...onset,
    });

    before(async () => {
      server = await startTestServer({ people: 150, database: await target.open() });
      const db = server.database.db;
      token = (await createApiTokenForUsername(db, 'practitioner', 'search test')).token;
      client = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: token });
      for (const [i, p] of people.entries()) {
        const created = await post('Patient', {
          resourceType: 'Patient',
          identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(424_200 + i * 37) }],
          name: [{ family: p.family ?? FAMILY, given: [p.given] }],
          gender: p.gender,
          ...(p.birthDate ? { birthDate: p.birthDate } : {}),
        });
        id[p.given] = created.id!;
      }
      // Diabetes, ongoing since 2020 (Ada); ended in 2019 (Bea); the same code in a local system (Cal);
      // a code with no system (Dot); a Condition with no code (Eve).
      conditionOf.Ada = (
        await post(
          'Condition',
          condition(id.Ada!, { coding: [{ system: SCT, code: '44054006' }] }, { onsetPeriod: { start: '2020-01-01' } }),
        )
      ).id!;
      conditionOf.Bea = (
        await post(
          'Condition',
          condition(id.Bea!, { coding: [{ system: SCT, code: '44054006' }] }, { onsetPeriod: { start: '2018-01-01', end: '2019-01-01' } }),
        )
      ).id!;
      conditionOf.Cal = (
        await post('Condition', condition(id.Cal!, { coding: [{ system: LOCAL, code: '44054006' }] }, { onsetDateTime: '2022-06-15' }))
      ).id!;
      conditionOf.Dot = (await post('Condition', condition(id.Dot!, { coding: [{ code: 'X1' }] }, { onsetDateTime: '2021-03-01' }))).id!;
      conditionOf.Eve = (
        await post('Condition', { resourceType: 'Condition', subject: { reference: `Patient/${id.Eve}` }, note: [{ text: 'no code yet' }] })
      ).id!;
      observation = (
        await post('Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: LOINC, code: '8867-4' }] },
          subject: { reference: `Patient/${id.Ada}` },
          effectiveDateTime: '2024-05-01T10:00:00Z',
        })
      ).id!;
      const ownOrg = (
        await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
      ).organisation_id!;
      const service = await db
        .selectFrom('services')
        .select('id')
        .where('organisation_id', '!=', ownOrg)
        .orderBy('id')
        .executeTakeFirstOrThrow();
      serviceRequest = (
        await post('ServiceRequest', {
          resourceType: 'ServiceRequest',
          status: 'active',
          intent: 'order',
          subject: { reference: `Patient/${id.Gus}` },
          performer: [{ reference: `HealthcareService/${service.id}` }],
          reasonCode: [{ text: 'Help with money worries' }],
          extension: [{ url: 'urn:joinery:extension:shared-category', valueCode: 'housing' }],
        })
      ).id!;
      // Housing works with Ada (sees her details) but was not given her health; a school does not know her.
      const housing = await db
        .selectFrom('organisations')
        .select('id')
        .where('id', '<>', ownOrg)
        .where('kind', '=', 'council_housing')
        .orderBy('id')
        .executeTakeFirstOrThrow();
      housingToken = await tokenFor('search-housing', housing.id);
      await db
        .insertInto('care_relationships')
        .values({
          person_id: id.Ada!,
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
      const school = await db
        .selectFrom('organisations')
        .select('id')
        .where('id', 'not in', [ownOrg, housing.id])
        .where('kind', '=', 'school')
        .orderBy('id')
        .executeTakeFirstOrThrow();
      strangerToken = await tokenFor('search-stranger', school.id);
    });
    after(async () => server?.close());

    test('tokens: code, system|code, |code, system| and :not; :missing on a code', async () => {
      const family = `subject:Patient.family:exact=${FAMILY}`;
      const conditions = async (q: string) => (await search(`Condition?${family}&${q}&_count=100`)).entry?.length ?? 0;
      const of = async (q: string) =>
        matches(await search(`Condition?${family}&${q}&_count=100`))
          .map((c) => Object.entries(conditionOf).find(([, v]) => v === c)![0])
          .sort();
      assert.deepEqual(await of('code=44054006'), ['Ada', 'Bea', 'Cal']);
      assert.deepEqual(await of(`code=${SCT}|44054006`), ['Ada', 'Bea']);
      assert.deepEqual(await of(`code=${LOCAL}|44054006`), ['Cal']);
      assert.deepEqual(await of(`code=${SCT}|`), ['Ada', 'Bea']);
      assert.deepEqual(await of('code=|X1'), ['Dot']);
      assert.deepEqual(await of('code=|44054006'), []);
      assert.deepEqual(await of(`code=http://example.org/nothing|44054006`), []);
      // :not finds those without a matching code, those with no code at all included.
      assert.deepEqual(await of(`code:not=${SCT}|44054006`), ['Cal', 'Dot', 'Eve']);
      assert.deepEqual(await of(`code:not=${SCT}|44054006,|X1`), ['Cal', 'Eve']);
      assert.deepEqual(await of('code:missing=true'), ['Eve']);
      assert.deepEqual(await of('code:missing=false'), ['Ada', 'Bea', 'Cal', 'Dot']);
      assert.equal(await conditions('code:missing=false&code:not=|X1'), 3);
      // A token on a Patient: gender with and without its system, and :not.
      assert.deepEqual(await who(`Patient?family:exact=${FAMILY}&gender=http://hl7.org/fhir/administrative-gender|male`), ['Cal', 'Gus']);
      assert.deepEqual(await who(`Patient?family:exact=${FAMILY}&gender:not=female`), ['Cal', 'Gus']);
      assert.deepEqual(await who(`Patient?family:exact=${FAMILY}&_id:not=${id.Ada},${id.Bea},${id.Cal}`), ['Dot', 'Eve', 'Fay', 'Gus']);
    });

    test('strings: starts with by default, :exact (case too) and :contains; :missing on a date', async () => {
      assert.deepEqual(await who(`Patient?family=quillfeather`), ['Ada', 'Bea', 'Cal', 'Dot', 'Eve', 'Fay', 'Gus', 'Hal']);
      assert.deepEqual(await who(`Patient?family:exact=${FAMILY}&given=ad`), ['Ada']);
      assert.deepEqual(await who(`Patient?family:exact=Quillfeathers`), ['Hal']);
      assert.deepEqual(await who(`Patient?family:exact=quillfeathers`), [], ':exact is case-sensitive');
      assert.deepEqual(await who(`Patient?family:contains=QUILLFEATHERS`), ['Hal']);
      assert.deepEqual(await who(`Patient?family:contains=cquill`), ['Ivo']);
      assert.deepEqual(await who(`Patient?family:exact=${FAMILY}&birthdate:missing=true`), ['Eve']);
      assert.equal((await who(`Patient?family:exact=${FAMILY}&birthdate:missing=false`)).length, 6);
    });

    test('dates: prefixes on a birth date, and on onset periods still going on', async () => {
      const family = `family:exact=${FAMILY}`;
      assert.deepEqual(await who(`Patient?${family}&birthdate=1980-01-05`), ['Ada', 'Bea']);
      assert.deepEqual(await who(`Patient?${family}&birthdate=1980`), ['Ada', 'Bea']);
      assert.deepEqual(await who(`Patient?${family}&birthdate=ne1980-01-05`), ['Cal', 'Dot', 'Fay', 'Gus']);
      assert.deepEqual(await who(`Patient?${family}&birthdate=lt1980-01-05`), ['Cal', 'Fay']);
      assert.deepEqual(await who(`Patient?${family}&birthdate=le1980-01-05`), ['Ada', 'Bea', 'Cal', 'Fay']);
      assert.deepEqual(await who(`Patient?${family}&birthdate=gt1980-01-05`), ['Dot', 'Gus']);
      assert.deepEqual(await who(`Patient?${family}&birthdate=ge1990-12-31&birthdate=le2001-03-03`), ['Dot', 'Gus']);
      const onset = async (q: string) =>
        matches(await search(`Condition?subject:Patient.family:exact=${FAMILY}&${q}&_count=100`))
          .map((c) => Object.entries(conditionOf).find(([, v]) => v === c)![0])
          .sort();
      // Ada's diabetes began in 2020 and goes on: it reaches past any later date.
      assert.deepEqual(await onset('onset-date=gt2025-01-01'), ['Ada']);
      assert.deepEqual(await onset('onset-date=ge2022-06-15'), ['Ada', 'Cal']);
      assert.deepEqual(await onset('onset-date=lt2019-06-01'), ['Bea']);
      assert.deepEqual(await onset('onset-date=eb2020-01-01'), ['Bea']);
      assert.deepEqual(await onset('onset-date=sa2021-01-01'), ['Cal', 'Dot']);
      assert.deepEqual(await onset('onset-date=2018'), [], "Bea's period is not within 2018 (it ends on 2019-01-01)");
      assert.deepEqual(await onset('onset-date=2022-06-15'), ['Cal']);
      assert.deepEqual(await onset('onset-date:missing=true'), ['Eve']);
    });

    test('chained parameters: subject:Patient.family, subject.given, subject.identifier, subject.birthdate', async () => {
      const onlyAda = matches(await search(`Condition?subject:Patient.family=${FAMILY}&subject.given:exact=Ada`));
      assert.deepEqual(onlyAda, [conditionOf.Ada]);
      const nhs = nhsNumber(424_200 + 6 * 37);
      assert.deepEqual(matches(await search(`ServiceRequest?subject.identifier=${NHS_NUMBER_SYSTEM}|${nhs}`)), [serviceRequest]);
      assert.deepEqual(matches(await search(`ServiceRequest?subject.identifier=${NHS_NUMBER_SYSTEM}|${nhsNumber(424_200)}`)), []);
      assert.deepEqual(matches(await search(`Observation?subject:Patient.birthdate=1980-01-05&code=${LOINC}|8867-4`)), [observation]);
      assert.deepEqual(matches(await search(`Observation?subject.birthdate=1980-01-06&code=${LOINC}|8867-4`)), []);
      // One level deep, through a reference parameter only; a wrong type named is refused.
      for (const q of ['Condition?subject.organization.name=x', 'Condition?code.family=x', 'Condition?subject:Group.name=x']) {
        const r = await get(q);
        assert.equal(r.status, 400, q);
        assert.equal(r.body.resourceType, 'OperationOutcome');
      }
    });

    test('reverse chaining: _has counts the Conditions and Observations that match', async () => {
      const family = `family:exact=${FAMILY}`;
      assert.deepEqual(await who(`Patient?${family}&_has:Condition:subject:code=${SCT}|44054006`), ['Ada', 'Bea']);
      assert.deepEqual(await who(`Patient?${family}&_has:Condition:subject:code=44054006`), ['Ada', 'Bea', 'Cal']);
      assert.deepEqual(await who(`Patient?${family}&_has:Condition:subject:onset-date=gt2025-01-01`), ['Ada']);
      assert.deepEqual(await who(`Patient?${family}&_has:Condition:subject:code:missing=true`), ['Eve']);
      assert.deepEqual(await who(`Patient?${family}&_has:Observation:subject:code=${LOINC}|8867-4`), ['Ada']);
      assert.deepEqual(await who(`Patient?${family}&_has:ServiceRequest:subject:status=active`), ['Gus']);
      assert.deepEqual(await who(`Patient?${family}&_has:Condition:subject:code=nothing-at-all`), []);
      assert.equal((await get(`Patient?_has:Condition:subject:_has:Observation:subject:code=x`)).status, 400);
      assert.equal((await get(`Patient?_has:Organization:name:name=x`)).status, 400);
    });

    test('_revinclude: the Conditions, Observations and ServiceRequests about the Patients found', async () => {
      const bundle = await search(
        `Patient?_id=${id.Ada},${id.Gus},${id.Eve}&_revinclude=Condition:subject&_revinclude=Observation:subject&_revinclude=ServiceRequest:subject`,
      );
      assert.deepEqual(matches(bundle).sort(), [id.Ada, id.Eve, id.Gus].sort());
      assert.deepEqual(
        included(bundle),
        [
          `Condition/${conditionOf.Ada}`,
          `Condition/${conditionOf.Eve}`,
          `Observation/${observation}`,
          `ServiceRequest/${serviceRequest}`,
        ].sort(),
      );
      assert.equal((await get(`Patient?_id=${id.Ada}&_revinclude=Condition:patient:Group`)).status, 400);
      assert.equal((await get(`Patient?_id=${id.Ada}&_revinclude=Organization:name`)).status, 400);
    });

    test('_sort on one or several keys: every page walked forwards (a partner client) and back, none repeated or left out', async () => {
      const family = people.filter((p) => !p.family);
      const expected = (keys: Array<[keyof (typeof people)[number], boolean]>) =>
        [...family]
          .sort((a, b) => {
            for (const [key, desc] of keys) {
              const x = a[key];
              const y = b[key];
              if (x === y) continue;
              if (x === undefined) return 1; // empties last, either way
              if (y === undefined) return -1;
              return (x < y ? -1 : 1) * (desc ? -1 : 1);
            }
            return id[a.given]! < id[b.given]! ? -1 : 1;
          })
          .map((p) => p.given);
      const cases: Array<[string, string[]]> = [
        [
          '-birthdate,given',
          expected([
            ['birthDate', true],
            ['given', false],
          ]),
        ],
        ['birthdate', expected([['birthDate', false]])],
        [
          'gender,-birthdate',
          expected([
            ['gender', false],
            ['birthDate', true],
          ]),
        ],
        ['-given', expected([['given', true]])],
        ['_id', [...family].sort((a, b) => (id[a.given]! < id[b.given]! ? -1 : 1)).map((p) => p.given)],
      ];
      for (const [sort, want] of cases) {
        for (const count of [1, 2, 3]) {
          // Forwards, as fhir-kit-client follows next links.
          const seen: string[] = [];
          let bundle = (await client.search({
            resourceType: 'Patient',
            searchParams: { 'family:exact': FAMILY, _sort: sort, _count: String(count) },
          })) as unknown as Bundle;
          let last = bundle;
          for (let page = 0; page < 20; page++) {
            assertValid(bundle, `_sort=${sort} page ${page}`);
            seen.push(...givens(bundle));
            last = bundle;
            const next = bundle.link?.find((l) => l.relation === 'next');
            if (!next) break;
            assert.ok((bundle.entry ?? []).length > 0, 'no empty page with a next link');
            bundle = (await client.nextPage({ bundle: bundle as never })) as unknown as Bundle;
          }
          assert.deepEqual(seen, want, `_sort=${sort}&_count=${count}`);
          // Back again by previous links, from the last page.
          const back: string[][] = [];
          let page: Bundle | undefined = last;
          for (let i = 0; page && i < 20; i++) {
            back.unshift(givens(page));
            const previous: string | undefined = page.link?.find((l) => l.relation === 'previous')?.url;
            page = previous ? await search(previous.slice(previous.indexOf('/fhir/') + 6)) : undefined;
          }
          assert.deepEqual(back.flat(), want, `_sort=${sort}&_count=${count} backwards`);
        }
      }
      // A clinical date, newest first: the ongoing and ended periods sort by their start.
      const byOnset = matches(await search(`Condition?subject:Patient.family:exact=${FAMILY}&_sort=-onset-date&_count=100`));
      assert.deepEqual(byOnset, [conditionOf.Cal, conditionOf.Dot, conditionOf.Ada, conditionOf.Bea, conditionOf.Eve]);
      const r = await get(`Patient?family=${FAMILY}&_sort=shoe-size`);
      assert.equal(r.status, 400);
      assert.match((r.body as OperationOutcome).issue[0]!.diagnostics!, /cannot be sorted by "shoe-size"/);
    });

    test('_total, _summary and _elements, on searches and reads', async () => {
      const family = `Patient?family:exact=${FAMILY}`;
      assert.equal((await search(`${family}&_count=2&_total=accurate`)).total, 7);
      assert.equal((await search(`${family}&_count=2&_total=none`)).total, undefined);
      const count = await search(`${family}&_summary=count`);
      assert.equal(count.total, 7);
      assert.equal(count.entry, undefined);
      const elements = await search(`${family}&given=Ada&_elements=birthDate`);
      const ada = elements.entry![0]!.resource as Patient;
      assert.equal(ada.birthDate, '1980-01-05');
      assert.equal(ada.name, undefined);
      assert.ok(ada.meta?.tag?.some((t) => t.code === 'SUBSETTED'));
      const summary = (await search(`${family}&given=Ada&_summary=true`)).entry![0]!.resource as Patient;
      assert.equal(summary.name?.[0]?.family, FAMILY);
      const condition = (await search(`Condition?_id=${conditionOf.Ada}&_summary=true`)).entry![0]!.resource as unknown as Record<
        string,
        unknown
      >;
      assert.ok(condition.code && condition.subject && !('note' in condition));
      const data = (await search(`Condition?_id=${conditionOf.Eve}&_summary=data`)).entry![0]!.resource as unknown as Record<
        string,
        unknown
      >;
      assert.ok(data.note, '_summary=data keeps everything but the narrative');
      // On a read too.
      const read = await get(`Patient/${id.Ada}?_elements=birthDate`);
      assert.equal(read.status, 200);
      assert.equal((read.body as Patient).birthDate, '1980-01-05');
      assert.equal((read.body as Patient).name, undefined);
      assert.equal((await get(`Patient/${id.Ada}?_summary=count`)).status, 400);
    });

    test('an unsupported parameter or modifier is refused, or ignored (and said so) under Prefer: handling=lenient', async () => {
      for (const q of [
        'Patient?family:below=x',
        'Patient?shoe-size=12',
        'Patient?gender:exact=male',
        'Patient?gender:text=male',
        'Condition?code:in=http://hl7.org/fhir/ValueSet/condition-code',
        'Patient?birthdate:not=1980',
      ]) {
        const r = await get(q);
        assert.equal(r.status, 400, q);
        assert.equal((r.body as OperationOutcome).issue[0]!.code, 'not-supported', q);
        assertValid(r.body, q);
      }
      const lenient = await search(`Patient?family:exact=${FAMILY}&shoe-size=12&given:below=A&_count=100`, token, {
        prefer: 'handling=lenient',
      });
      assert.equal(matches(lenient).length, 7);
      const self = lenient.link!.find((l) => l.relation === 'self')!.url;
      assert.ok(!self.includes('shoe-size') && !self.includes('below'), 'the self link leaves out what was ignored');
      const outcome = lenient.entry!.find((e) => e.search?.mode === 'outcome')!.resource as OperationOutcome;
      assert.ok(outcome.issue.some((i) => /shoe-size/.test(i.diagnostics ?? '')));
    });

    test('the CapabilityStatement lists the parameters, modifiers, sorts, includes and revincludes, and what is not supported', async () => {
      const statement = (await get('metadata')).body as CapabilityStatement;
      const resources = statement.rest![0]!.resource!;
      const patient = resources.find((r) => r.type === 'Patient')!;
      assert.ok(patient.searchRevInclude?.includes('Observation:subject'));
      assert.ok(patient.searchRevInclude?.includes('ServiceRequest:subject'));
      assert.ok(patient.searchRevInclude?.includes('Condition:subject'));
      const family = patient.searchParam!.find((p) => p.name === 'family')!;
      assert.match(family.documentation!, /:exact, :contains, :missing/);
      assert.match(family.documentation!, /Sortable/);
      assert.match(patient.documentation!, /not supported for Patient: .*phonetic/);
      const condition = resources.find((r) => r.type === 'Condition')!;
      assert.match(condition.searchParam!.find((p) => p.name === 'code')!.documentation!, /:not/);
      assert.match(condition.searchParam!.find((p) => p.name === 'subject')!.documentation!, /Chains to Patient/);
    });

    test("another agency's practitioner who sees Ada but not her health learns nothing of it through chains, _has or _revinclude", async () => {
      // Housing sees Ada herself.
      assert.deepEqual(matches(await search(`Patient?_id=${id.Ada}`, housingToken)), [id.Ada]);
      // The practitioner who recorded her diabetes finds her by it; housing does not.
      const has = `Patient?_id=${id.Ada}&_has:Condition:subject:code=${SCT}|44054006`;
      assert.deepEqual(matches(await search(has, token)), [id.Ada]);
      for (const q of [
        has,
        `Patient?_id=${id.Ada}&_has:Condition:subject:code:missing=false`,
        `Patient?_id=${id.Ada}&_has:Observation:subject:code=${LOINC}|8867-4`,
      ]) {
        const found = await search(`${q}&_total=accurate`, housingToken);
        assert.deepEqual(matches(found), [], q);
        assert.equal(found.total, 0, q);
      }
      // :not through _has does not turn the hidden Condition into a match either.
      assert.deepEqual(matches(await search(`Patient?_id=${id.Ada}&_has:Condition:subject:code:not=nothing`, housingToken)), []);
      // Chains from the hidden side find nothing, not even a count.
      for (const q of [`Condition?subject:Patient.family=${FAMILY}`, `Observation?subject.given=Ada`]) {
        const found = await search(`${q}&_total=accurate`, housingToken);
        assert.equal(found.total, 0, q);
      }
      const rev = await search(`Patient?_id=${id.Ada}&_revinclude=Condition:subject&_revinclude=Observation:subject`, housingToken);
      assert.deepEqual(matches(rev), [id.Ada]);
      assert.deepEqual(included(rev), [], 'no Condition or Observation included');
    });

    test('a stranger gets nothing through any of it, and a sorted page cannot start at a row they cannot see', async () => {
      for (const q of [
        `Patient?family=${FAMILY}&_sort=birthdate`,
        `Patient?family:contains=uillfeathe`,
        `Patient?family=${FAMILY}&_has:Condition:subject:code=44054006`,
        `Condition?subject:Patient.family=${FAMILY}`,
        `ServiceRequest?subject.given=Gus`,
        `Observation?subject:Patient.birthdate=1980-01-05`,
      ]) {
        const found = await search(`${q}&_total=accurate`, strangerToken);
        assert.equal(found.total, 0, q);
        assert.equal(found.entry, undefined, q);
      }
      const rev = await search(`Patient?_id=${id.Ada}&_revinclude=Condition:subject`, strangerToken);
      assert.equal(rev.entry, undefined);
      // Where Ada's row sorts is not told: starting after her is refused as for an id that does not exist.
      const hidden = await get(`Patient?family=${FAMILY}&_sort=birthdate&_after=${id.Ada}`, strangerToken);
      const unknown = await get(`Patient?family=${FAMILY}&_sort=birthdate&_after=no-such-patient`, strangerToken);
      assert.equal(hidden.status, 400);
      assert.deepEqual(hidden.body, unknown.body);
    });

    test(':text finds codes by their display or text; :in and :not-in are refused for want of value sets; uri :below and :above', async () => {
      const fay = (
        await post(
          'Condition',
          condition(
            id.Fay!,
            { coding: [{ system: SCT, code: '38341003', display: 'Hypertensive disorder' }] },
            { onsetDateTime: '2023-01-01' },
          ),
        )
      ).id!;
      const gus = (
        await post('Condition', condition(id.Gus!, { text: 'High blood pressure, under review' }, { onsetDateTime: '2023-02-01' }))
      ).id!;
      const text = async (q: string, t = token) =>
        matches(await search(`Condition?subject:Patient.family:exact=${FAMILY}&code:text=${encodeURIComponent(q)}&_count=100`, t)).sort();
      assert.deepEqual(await text('hypertensive'), [fay], 'a coding display');
      assert.deepEqual(await text('BLOOD PRESSURE'), [gus], 'a concept text, whatever the case');
      assert.deepEqual(await text('hypertensive,blood pressure'), [fay, gus].sort(), 'a comma is or');
      assert.deepEqual(await text('44054006'), [], 'the words, not the code');
      assert.deepEqual(await text('hypertensive', housingToken), [], 'health another agency may not see is not found by its words');
      const heart = (
        await post('Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }] },
          subject: { reference: `Patient/${id.Ada}` },
          effectiveDateTime: '2024-06-01T10:00:00Z',
        })
      ).id!;
      assert.deepEqual(matches(await search(`Observation?subject=Patient/${id.Ada}&code:text=heart`)), [heart], 'on Observations too');
      // The codes Joinery shows as words: an organisation's kind, a service's categories.
      const byCode = matches(await search('Organization?type=urn:joinery:code:organisation-kind|council_housing&_count=100')).sort();
      assert.ok(byCode.length > 0);
      assert.deepEqual(matches(await search('Organization?type:text=Council%20Housing&_count=100')).sort(), byCode);
      const services = await search('HealthcareService?service-category:missing=false&_count=1');
      const shown = (services.entry![0]!.resource as Resource & { category: Array<{ coding: Array<{ display: string }> }> }).category[0]!
        .coding[0]!.display;
      const found = await search(`HealthcareService?service-category:text=${encodeURIComponent(shown.toUpperCase())}&_count=100`);
      assert.ok(matches(found).includes(services.entry![0]!.resource!.id!));
      for (const e of found.entry!)
        assert.ok(
          (e.resource as Resource & { category: Array<{ coding: Array<{ display: string }> }> }).category.some((c) =>
            c.coding[0]!.display.toLowerCase().includes(shown.toLowerCase()),
          ),
        );
      for (const q of [
        `Condition?code:in=http://hl7.org/fhir/ValueSet/condition-code`,
        `Condition?code:not-in=http://hl7.org/fhir/ValueSet/condition-code`,
        `Condition?code:below=${SCT}|73211009`,
      ]) {
        const r = await get(q);
        assert.equal(r.status, 400, q);
        assert.match((r.body as OperationOutcome).issue[0]!.diagnostics!, /value sets|terminology server/, q);
      }
      const forms = await search('Questionnaire?_count=100');
      const [first] = forms.entry!.map((e) => e.resource as Resource & { url?: string });
      assert.ok(first?.url);
      assert.deepEqual(matches(await search(`Questionnaire?url=${encodeURIComponent(first.url)}`)), [first.id]);
      const base = first.url.slice(0, first.url.lastIndexOf('/'));
      assert.equal(matches(await search(`Questionnaire?url:below=${encodeURIComponent(base)}&_count=100`)).length, forms.entry!.length);
      assert.deepEqual(
        matches(await search(`Questionnaire?url:below=${encodeURIComponent(base.slice(0, -1))}`)),
        [],
        'below a whole segment only',
      );
      assert.deepEqual(matches(await search(`Questionnaire?url:above=${encodeURIComponent(`${first.url}/part/1`)}`)), [first.id]);
      assert.deepEqual(matches(await search(`Questionnaire?url:above=${encodeURIComponent(base)}`)), [], 'a form is not above its folder');
      const statement = (await get('metadata')).body as CapabilityStatement;
      const resources = statement.rest![0]!.resource!;
      const conditionType = resources.find((r) => r.type === 'Condition')!;
      assert.match(conditionType.searchParam!.find((p) => p.name === 'code')!.documentation!, /:text/);
      assert.match(conditionType.documentation!, /:in and :not-in/);
      const url = resources.find((r) => r.type === 'Questionnaire')!.searchParam!.find((p) => p.name === 'url')!;
      assert.equal(url.type, 'uri');
      assert.match(url.documentation!, /:below, :above/);
    });
  });
}
