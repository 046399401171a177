// Assertions the FHIR API tests share: a resource validates against the official R4
// definitions, and a refused call answers with the expected status and a valid OperationOutcome.
import assert from 'node:assert/strict';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { validateFhir } from '../../src/fhir/validate.ts';

export function assertValid(resource: unknown, where: string): void {
  const issues = validateFhir(resource);
  assert.deepEqual(
    issues.map((i) => `${i.expression?.join(',') ?? ''} ${i.details?.text ?? i.diagnostics ?? ''}`),
    [],
    `${where} is valid FHIR R4`,
  );
}

type HttpFailure = { response?: { status: number; data?: Resource } };

/** For assert.rejects: the call fails with this status and a valid OperationOutcome whose text matches. */
export function refused(status: number, text?: RegExp) {
  return (error: HttpFailure) => {
    assert.equal(error.response?.status, status);
    const outcome = error.response?.data as OperationOutcome;
    assert.equal(outcome?.resourceType, 'OperationOutcome');
    assertValid(outcome, `OperationOutcome ${status}`);
    if (text) assert.match(outcome.issue[0]!.diagnostics ?? '', text);
    return true;
  };
}
