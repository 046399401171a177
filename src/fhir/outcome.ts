// FHIR errors: every failure under /fhir is an OperationOutcome, never HTML.
import type { OperationOutcome } from '@medplum/fhirtypes';
import { Refusal, RefusedInput } from '../platform/refused.ts';

export type IssueType =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'not-found'
  | 'forbidden'
  | 'login'
  | 'security'
  | 'not-supported'
  | 'conflict'
  | 'processing'
  | 'exception'
  | 'throttled'
  | 'deleted'
  | 'business-rule'
  | 'too-costly'
  | 'too-long'
  | 'informational'
  | 'multiple-matches'
  | 'duplicate';

/** A refusal under /fhir: its status, its OperationOutcome issue code, and where in the resource. */
export class FhirError extends Refusal {
  readonly code: IssueType;
  /** Where in the resource the problem is (FHIRPath), when it is in one place. */
  readonly expression: string[] | undefined;
  constructor(status: number, code: IssueType, message: string, expression?: string[]) {
    super(status, message);
    this.code = code;
    this.expression = expression;
  }
}

export function operationOutcome(
  severity: 'error' | 'warning' | 'information' | 'fatal',
  code: IssueType,
  diagnostics: string,
  expression?: string[],
): OperationOutcome {
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

/**
 * Between steps of long work: lets the event loop run first (an embedded database answers
 * without yielding, so otherwise no other request, and no news of a closed connection, gets in
 * until the work is done), then stops if the client has gone: nobody is waiting for the rest.
 */
export async function stopIfClientGone(signal: AbortSignal | undefined): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new FhirError(499, 'processing', 'the client closed the connection; the rest of the request was not done');
}

const ISSUE_OF_STATUS: Record<number, IssueType> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-supported',
  409: 'conflict',
  412: 'conflict',
  413: 'too-costly',
  415: 'not-supported',
  422: 'business-rule',
  429: 'throttled',
};

/** Any refusal as a FHIR refusal: its own issue code if it is one, else the code its status stands for. */
export function asFhirError(refusal: Refusal): FhirError {
  if (refusal instanceof FhirError) return refusal;
  return new FhirError(refusal.status, ISSUE_OF_STATUS[refusal.status] ?? 'invalid', refusal.message);
}

/** Runs a write through a domain module, answering the input it refuses with the matching OperationOutcome. */
export async function refusalsAsOutcomes<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RefusedInput) throw asFhirError(error);
    throw error;
  }
}
