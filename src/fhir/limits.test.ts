// The FHIR API's size limits, as a client meets them: which element is too long, and by how much.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBundleEntries, checkResourceSize, MAX_BUNDLE_ENTRIES } from './limits.ts';
import { FhirError } from './outcome.ts';

const refusal = (work: () => void): FhirError => {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof FhirError);
    return error;
  }
  assert.fail('expected a refusal');
};

test('a string over its limit is named by its path: 500 characters in names, identifiers, telecoms and addresses, 10,000 elsewhere', () => {
  const name = refusal(() => checkResourceSize({ resourceType: 'Patient', name: [{ given: ['Jo', 'x'.repeat(501)] }] }, 'Patient'));
  assert.equal(name.status, 422);
  assert.equal(name.code, 'too-long');
  assert.deepEqual(name.expression, ['Patient.name[0].given[1]']);
  assert.match(name.message, /501 characters long; at most 500/);
  const org = refusal(() => checkResourceSize({ resourceType: 'Organization', name: 'y'.repeat(600) }, 'Organization'));
  assert.deepEqual(org.expression, ['Organization.name']);
  checkResourceSize({ resourceType: 'HealthcareService', comment: 'z'.repeat(9_000), name: 'Shed sessions' }, 'HealthcareService');
  const comment = refusal(() => checkResourceSize({ resourceType: 'HealthcareService', comment: 'z'.repeat(10_001) }, 'HealthcareService'));
  assert.deepEqual(comment.expression, ['HealthcareService.comment']);
});

test('a resource over 1 MiB in all is too large (413), however short each string', () => {
  const given = Array.from({ length: 3_000 }, () => 'a'.repeat(400));
  const whole = refusal(() => checkResourceSize({ resourceType: 'Patient', name: [{ given }] }, 'Patient'));
  assert.equal(whole.status, 413);
  assert.match(whole.message, /at most 1,048,576 bytes/);
});

test('a Bundle of more than 100 entries is refused, saying to send it in parts', () => {
  checkBundleEntries(MAX_BUNDLE_ENTRIES, 'batch');
  const many = refusal(() => checkBundleEntries(1_000, 'batch'));
  assert.equal(many.status, 413);
  assert.match(many.message, /at most 100 entries \(this one has 1,000\); send it in parts/);
});
