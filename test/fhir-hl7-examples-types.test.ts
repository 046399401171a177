// HL7's published R4 examples (test/fixtures/hl7-r4-examples, from the npm package
// hl7.fhir.r4.examples 4.0.1, CC0) of every type Joinery takes besides Patient: the network's
// (Organization, Location, Practitioner, PractitionerRole, posted by an administrator) and the
// person's (RelatedPerson, QuestionnaireResponse and the clinical types, posted by a practitioner
// about a Patient they registered: each example's Patient reference is pointed at that person).
// Each is read back and compared with what was sent: every value comes back where it was sent or
// is named in the create's OperationOutcome warnings (nothing lost without a warning); an example
// refused says why, and only for the reasons listed here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { assertValid } from './support/fhir.ts';

const dir = path.join(import.meta.dirname, 'fixtures', 'hl7-r4-examples');
const ADMIN_TYPES = ['Organization', 'Location', 'Practitioner', 'PractitionerRole'];
const PERSON_TYPES = [
  'RelatedPerson',
  'QuestionnaireResponse',
  'Encounter',
  'Condition',
  'Observation',
  'MedicationRequest',
  'Immunization',
  'AllergyIntolerance',
  'DiagnosticReport',
  'Procedure',
];

function leaves(value: unknown, at: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, `${at}.${k}`, out);
  else out.push([at, JSON.stringify(value)]);
  return out;
}

/** The example with every reference to a Patient pointed at the person the test registered. */
function aboutPerson(value: unknown, personId: string): unknown {
  if (Array.isArray(value)) return value.map((v) => aboutPerson(v, personId));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === 'reference' && typeof v === 'string' && /(^|\/)Patient\/[^/]+$/.test(v) ? `Patient/${personId}` : aboutPerson(v, personId),
      ]),
    );
  }
  return value;
}

/** Why an example may be refused: Joinery keeps records about people, so one about no Patient has nowhere to go. */
const ACCEPTED_REFUSALS = [/must reference a Patient/, /must reference the Patient/];

for (const target of await testDatabaseTargets()) {
  describe(`HL7's example resources of every type on ${target.kind}`, () => {
    let server: TestServer;
    let admin: string;
    let practitioner: string;
    let personId: string;

    before(async () => {
      server = await startTestServer({ people: 200, database: await target.open() });
      admin = (await createApiTokenForUsername(server.database.db, 'admin', 'hl7 examples')).token;
      practitioner = (await createApiTokenForUsername(server.database.db, 'practitioner', 'hl7 examples')).token;
      const patient: Patient = {
        resourceType: 'Patient',
        name: [{ family: 'Exampleton', given: ['Hella'] }],
        birthDate: '1974-12-25',
        gender: 'female',
      };
      const created = await fetch(`${server.url}/fhir/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${practitioner}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(patient),
      });
      assert.equal(created.status, 201);
      personId = ((await created.json()) as Patient).id!;
    });
    after(async () => server?.close());

    for (const type of [...ADMIN_TYPES, ...PERSON_TYPES]) {
      test(`${type}: each example is kept, or what is not kept is named, or it is refused saying why`, async (t) => {
        const files = fs
          .readdirSync(dir)
          .filter((f) => f.startsWith(`${type}-`) && f.endsWith('.json'))
          .sort();
        assert.ok(files.length > 0, `examples of ${type}`);
        const token = ADMIN_TYPES.includes(type) ? admin : practitioner;
        let kept = 0;
        let warned = 0;
        const refused: string[] = [];
        for (const file of files) {
          const example = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Resource;
          const { id: _id, meta: _meta, ...body } = aboutPerson(example, personId) as Resource;
          const response = await fetch(`${server.url}/fhir/${type}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=OperationOutcome' },
            body: JSON.stringify(body),
          });
          const outcome = (await response.json()) as OperationOutcome;
          assert.equal(outcome.resourceType, 'OperationOutcome', file);
          if (response.status >= 400) {
            refused.push(`${file}: ${response.status} ${outcome.issue[0]?.diagnostics ?? ''}`);
            continue;
          }
          assert.ok([200, 201].includes(response.status), `${file}: ${response.status}`);
          const id = new RegExp(`/${type}/([^/]+)/`).exec(response.headers.get('location') ?? '')?.[1];
          assert.ok(id, `${file}: a location`);
          const back = (await (
            await fetch(`${server.url}/fhir/${type}/${id}`, { headers: { authorization: `Bearer ${token}` } })
          ).json()) as Resource;
          assertValid(back, `${file}: read back`);
          const have = new Map(leaves(back, type));
          const named = new Set(outcome.issue.filter((i) => i.severity === 'warning').flatMap((i) => i.expression ?? []));
          const lostUnsaid = leaves(body, type)
            .filter(([p, v]) => have.get(p) !== v && !named.has(p))
            .map(([p]) => p);
          assert.deepEqual(lostUnsaid, [], `${file}: nothing lost without a warning`);
          if (named.size === 0) kept++;
          else warned++;
        }
        t.diagnostic(
          `${type}: ${files.length} examples, ${kept} kept whole, ${warned} kept with warnings naming what was not, ${refused.length} refused`,
        );
        for (const line of refused) t.diagnostic(`refused ${line}`);
        const unexplained = refused.filter((line) => !ACCEPTED_REFUSALS.some((r) => r.test(line)));
        assert.deepEqual(unexplained, [], `${type}: refused only when about no Patient`);
      });
    }
  });
}
