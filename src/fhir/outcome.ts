// FHIR errors: every failure under /fhir is an OperationOutcome, never HTML.
import type { OperationOutcome } from '@medplum/fhirtypes';
import { RefusedInput } from '../platform/refused.ts';

export type IssueType = 'invalid' | 'structure' | 'required' | 'value' | 'not-found' | 'forbidden' | 'login' | 'security'
  | 'not-supported' | 'conflict' | 'processing' | 'exception' | 'throttled' | 'deleted' | 'business-rule' | 'too-costly' | 'informational';

export class FhirError extends Error {
  readonly status: number;
  readonly code: IssueType;
  constructor(status: number, code: IssueType, message: string) {
    super(message);
    this.name = 'FhirError';
    this.status = status;
    this.code = code;
  }
}

export function operationOutcome(severity: 'error' | 'warning' | 'information' | 'fatal', code: IssueType, diagnostics: string, expression?: string[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity, code, diagnostics, ...(expression && expression.length > 0 ? { expression } : {}) }],
  };
}

export function notFound(type: string, id: string): FhirError {
  return new FhirError(404, 'not-found', `${type}/${id} is not known here, or you may not see it`);
}

export function invalid(message: string): FhirError {
  return new FhirError(400, 'invalid', message);
}

const ISSUE_OF_STATUS: Record<RefusedInput['status'], IssueType> = { 400: 'invalid', 404: 'not-found', 409: 'conflict', 422: 'business-rule' };

/** Runs a write through a domain module, answering the input it refuses with the matching OperationOutcome. */
export async function refusalsAsOutcomes<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RefusedInput) throw new FhirError(error.status, ISSUE_OF_STATUS[error.status], error.message);
    throw error;
  }
}
