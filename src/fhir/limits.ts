// Size limits of the FHIR API, checked before validation or any other work on a resource: a
// body of one resource, each string in it (tighter for the names, identifiers, contact details
// and addresses the person index compares), and the entries of a Bundle. Without them, one
// request with a 9.5 MB name held the whole server for 13 seconds.
import { FhirError } from './outcome.ts';

/** The largest body of one resource (POST and PUT); a Bundle may be 10 MiB. */
export const MAX_RESOURCE_BYTES = 1_048_576;
export const MAX_BUNDLE_BYTES = 10_485_760;
/** Entries in one batch or transaction Bundle. */
export const MAX_BUNDLE_ENTRIES = 100;
/** Characters in any one string of a resource. */
export const MAX_STRING = 10_000;
/** Characters in a string within a name, identifier, telecom or address. */
export const MAX_SHORT_STRING = 500;

const SHORT_ELEMENTS = new Set(['name', 'identifier', 'telecom', 'address']);

function tooLong(value: unknown, path: string, short: boolean, depth: number): { path: string; length: number; limit: number } | undefined {
  if (typeof value === 'string') {
    const limit = short ? MAX_SHORT_STRING : MAX_STRING;
    return value.length > limit ? { path, length: value.length, limit } : undefined;
  }
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = tooLong(item, `${path}[${i}]`, short, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const found = tooLong(item, `${path}.${key}`, short || SHORT_ELEMENTS.has(key), depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Refuses a resource over the size limits: 413 for the whole (more than a body of one resource
 * may be), 422 too-long naming the first string over its limit (e.g. Patient.name[0].family).
 */
export function checkResourceSize(resource: object, type: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(resource));
  if (bytes > MAX_RESOURCE_BYTES) {
    throw new FhirError(
      413,
      'too-costly',
      `a ${type} may be at most ${MAX_RESOURCE_BYTES.toLocaleString('en-GB')} bytes; this one is ${bytes.toLocaleString('en-GB')}`,
    );
  }
  const found = tooLong(resource, type, false, 0);
  if (found) {
    throw new FhirError(
      422,
      'too-long',
      `${found.path} is ${found.length.toLocaleString('en-GB')} characters long; at most ${found.limit.toLocaleString('en-GB')} are accepted there`,
      [found.path],
    );
  }
}

/** Refuses a Bundle of more entries than the limit, before any of them is looked at. */
export function checkBundleEntries(count: number, type: string): void {
  if (count > MAX_BUNDLE_ENTRIES) {
    throw new FhirError(
      413,
      'too-costly',
      `a ${type} may hold at most ${MAX_BUNDLE_ENTRIES} entries (this one has ${count.toLocaleString('en-GB')}); send it in parts`,
    );
  }
}
