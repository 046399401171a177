// UK Core rules checked by hand (no UK Core package is on the npm registry): ethnic category and
// NHS number verification status codes, and where the verification status may sit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Patient } from '@medplum/fhirtypes';
import { ETHNIC_CATEGORY_SYSTEM, ETHNIC_CATEGORY_URL, ukCoreIssues } from './ukcore.ts';

const ethnic = (code: string) => ({
  url: ETHNIC_CATEGORY_URL,
  valueCodeableConcept: { coding: [{ system: ETHNIC_CATEGORY_SYSTEM, code }] },
});
const verified = (code: string) => ({
  url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
  valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code }] },
});

test('UK Core ethnic category and NHS number verification status are checked; other extensions pass', () => {
  const good: Patient = {
    resourceType: 'Patient',
    extension: [ethnic('A'), { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex', valueCode: 'F' }],
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009', extension: [verified('01')] }],
  };
  assert.deepEqual(ukCoreIssues(good), []);
  assert.match(ukCoreIssues({ ...good, extension: [ethnic('Q')] })[0]!.diagnostics!, /not a ethnic category code/);
  assert.equal(ukCoreIssues({ ...good, extension: [{ url: ETHNIC_CATEGORY_URL, valueString: 'A' }] })[0]!.code, 'required');
  assert.equal(
    ukCoreIssues({
      ...good,
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009', extension: [verified('09')] }],
    }).length,
    1,
  );
  assert.equal(
    ukCoreIssues({ ...good, identifier: [{ system: 'urn:other', value: 'x', extension: [verified('01')] }] })[0]!.code,
    'business-rule',
  );
  assert.deepEqual(ukCoreIssues({ resourceType: 'Organization' }), []);
});
