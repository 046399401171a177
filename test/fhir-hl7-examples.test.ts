// HL7's published R4 example Patients (test/fixtures/hl7-r4-examples, copied from the npm package
// hl7.fhir.r4.examples 4.0.1, CC0), each posted as a partner would and read back: every value
// sent either comes back where it was sent or is named in the OperationOutcome warnings of the
// create (nothing lost without a warning), or the Patient is refused with an OperationOutcome
// saying why.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { assertValid } from './support/fhir.ts';

const dir = path.join(import.meta.dirname, 'fixtures', 'hl7-r4-examples');
let server: TestServer;
let token: string;

before(async () => {
  server = await startTestServer({ people: 400 });
  token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'hl7 examples')).token;
});
after(async () => server?.close());

function leaves(value: unknown, at: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, `${at}.${k}`, out);
  else out.push([at, JSON.stringify(value)]);
  return out;
}

test('every HL7 example Patient is kept, or what is not kept is named, or it is refused saying why', async (t) => {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.ok(files.length >= 20, 'the examples are there');
  let kept = 0;
  let warned = 0;
  const refused: string[] = [];
  for (const file of files) {
    const sent = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Patient;
    const { id: _id, meta: _meta, ...body } = sent;
    const response = await fetch(`${server.url}/fhir/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=OperationOutcome' },
      body: JSON.stringify(body),
    });
    const outcome = (await response.json()) as OperationOutcome;
    assert.equal(outcome.resourceType, 'OperationOutcome', file);
    assertValid(outcome, `${file}: the OperationOutcome`);
    if (response.status >= 400) {
      refused.push(`${file}: ${response.status} ${outcome.issue[0]?.diagnostics ?? ''}`);
      continue;
    }
    assert.ok([200, 201].includes(response.status), `${file}: ${response.status}`);
    const id = /\/Patient\/([^/]+)\//.exec(response.headers.get('location') ?? '')?.[1];
    assert.ok(id, `${file}: a location`);
    const back = (await (
      await fetch(`${server.url}/fhir/Patient/${id}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Patient;
    assertValid(back, `${file}: read back`);
    const have = new Map(leaves(back, 'Patient'));
    const named = new Set(outcome.issue.filter((i) => i.severity === 'warning').flatMap((i) => i.expression ?? []));
    const lostUnsaid = leaves(body, 'Patient')
      .filter(([p, v]) => have.get(p) !== v && !named.has(p))
      .map(([p]) => p);
    assert.deepEqual(lostUnsaid, [], `${file}: nothing lost without a warning`);
    if (named.size === 0) kept++;
    else warned++;
  }
  t.diagnostic(`${files.length} examples: ${kept} kept whole, ${warned} kept with warnings naming what was not, ${refused.length} refused`);
  for (const line of refused) t.diagnostic(`refused ${line}`);
  assert.ok(kept >= 16, `at least 16 of the 22 are kept whole (${kept}); refused: ${refused.join('; ')}`);
});
