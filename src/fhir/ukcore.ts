// UK Core checks on what partners send. No UK Core profile package is published on the npm
// registry this project can reach (fhir.r4.ukcore.stu3.currentbuild and its siblings answer 404),
// so the profiles are not loaded; instead these rules, taken from UK Core STU3's Patient profile,
// are checked by hand, and everything else of a UK Core resource is kept as sent (stored.ts):
// - the NHS number identifier (https://fhir.nhs.uk/Id/nhs-number): ten digits with a valid
//   Modulus 11 check digit (refused in writes.ts, which has the person index's rule);
// - its Extension-UKCore-NHSNumberVerificationStatus: a valueCodeableConcept whose
//   UKCore-NHSNumberVerificationStatusEngland coding is one of 01-08;
// - Extension-UKCore-EthnicCategory: a valueCodeableConcept whose UKCore-EthnicCategory coding is
//   one of the NHS Data Dictionary's ethnic category codes (A-H, J-N, P, R, S, Z; 99 not known).
// Other UK Core extensions (birth sex, religion, residential status, death notification status...)
// are kept and returned as sent, not checked.
import type { Extension, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

const UKCORE = 'https://fhir.hl7.org.uk/StructureDefinition/';
export const ETHNIC_CATEGORY_URL = `${UKCORE}Extension-UKCore-EthnicCategory`;
export const ETHNIC_CATEGORY_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory';
const VERIFICATION_URL = `${UKCORE}Extension-UKCore-NHSNumberVerificationStatus`;
const VERIFICATION_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland';
const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

const ETHNIC_CODES = new Set(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'R', 'S', 'Z', '99']);
const VERIFICATION_CODES = new Set(['01', '02', '03', '04', '05', '06', '07', '08']);

function codedIssues(extension: Extension, where: string, system: string, codes: Set<string>, what: string): OperationOutcomeIssue[] {
  const concept = extension.valueCodeableConcept;
  if (!concept) return [{ severity: 'error', code: 'required', expression: [where], diagnostics: `${what} needs a valueCodeableConcept` }];
  return (concept.coding ?? [])
    .filter((c) => c.system === system && !codes.has(String(c.code)))
    .map((c) => ({
      severity: 'error' as const,
      code: 'code-invalid' as const,
      expression: [where],
      diagnostics: `"${String(c.code)}" is not a ${what} code of ${system} (${[...codes].join(', ')})`,
    }));
}

/** What a Patient (or RelatedPerson) breaks of the UK Core rules above; empty when none. */
export function ukCoreIssues(resource: Resource): OperationOutcomeIssue[] {
  if (resource.resourceType !== 'Patient' && resource.resourceType !== 'RelatedPerson') return [];
  const issues: OperationOutcomeIssue[] = [];
  for (const [i, extension] of (resource.extension ?? []).entries())
    if (extension.url === ETHNIC_CATEGORY_URL)
      issues.push(
        ...codedIssues(extension, `${resource.resourceType}.extension[${i}]`, ETHNIC_CATEGORY_SYSTEM, ETHNIC_CODES, 'ethnic category'),
      );
  for (const [i, identifier] of (resource.identifier ?? []).entries()) {
    for (const [j, extension] of (identifier.extension ?? []).entries()) {
      if (extension.url !== VERIFICATION_URL) continue;
      const where = `${resource.resourceType}.identifier[${i}].extension[${j}]`;
      if (identifier.system !== NHS_NUMBER_SYSTEM)
        issues.push({
          severity: 'error',
          code: 'business-rule',
          expression: [where],
          diagnostics: 'a verification status belongs on the NHS number identifier',
        });
      issues.push(...codedIssues(extension, where, VERIFICATION_SYSTEM, VERIFICATION_CODES, 'NHS number verification status'));
    }
  }
  return issues;
}
