// JSON Patch (RFC 6902, application/json-patch+json) on a FHIR resource: the patch is applied
// (by fast-json-patch) to the resource as the writer reads it, and the result goes through the
// update exactly as a PUT of it would (validation, the writer's rules, the access decision on the
// write), at the version read: a patch is never applied over a change the writer did not see.
// Someone not shown all of the resource's stored copy may not patch it (the copy is rewritten).
// A patch that fails (an op that does not apply, a failed test, a changed id or resourceType, a
// result the update refuses) changes nothing.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { Resource } from '@medplum/fhirtypes';
import { defFor, readRow, type FhirContext } from './engine.ts';
import { seesWholeCopy, withStoredCopies } from './stored.ts';
import { FhirError, invalid } from './outcome.ts';
import { checkId } from './params.ts';
import { checkIfMatch } from './writes.ts';

/** Malformed patch documents (400); the rest are patches that do not apply to this resource (422). */
const MALFORMED = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

/** The resource a JSON Patch makes of what the writer reads, and the version it was made from (for If-Match). */
export async function patchedResource(
  ctx: FhirContext,
  type: string,
  id: string,
  patch: unknown,
  ifMatch: string | undefined,
): Promise<{ resource: Resource; ifMatch: string }> {
  const def = defFor(type);
  checkId(id);
  if (!Array.isArray(patch) || patch.length === 0)
    throw invalid('the body must be a JSON Patch: an array of operations, e.g. [{"op":"replace","path":"/status","value":"active"}]');
  if (patch.length > 500) throw invalid('a JSON Patch here has at most 500 operations');
  const row = await readRow(ctx, type, id, 'read');
  // The update files what it is sent as the copy, under the writer: a patch of a copy with parts
  // the writer is not shown would drop them, or (carried over) hand them to the writer's organisation.
  if (!(await seesWholeCopy(ctx, def, row)))
    throw new FhirError(
      403,
      'forbidden',
      `only someone who may see all of ${type}/${id} (a Patient's GP, deceased and extensions are health information) may patch it; ask the organisation that holds it`,
    );
  const [current] = await withStoredCopies(ctx, def, [row]);
  const version = current!.meta?.versionId ?? '1';
  checkIfMatch(ifMatch, Number(version));
  let patched: Record<string, unknown>;
  try {
    patched = jsonpatch.applyPatch(structuredClone(current!), patch as Operation[], true, false, true).newDocument as unknown as Record<
      string,
      unknown
    >;
  } catch (error) {
    if (error instanceof jsonpatch.JsonPatchError) {
      const at = typeof error.index === 'number' ? `operation ${error.index + 1}: ` : '';
      const message = `${at}${error.message.split('\n')[0]}`;
      if (MALFORMED.has(error.name)) throw invalid(`the JSON Patch is malformed: ${message}`);
      throw new FhirError(422, 'processing', `the JSON Patch does not apply to ${type}/${id} as you read it: ${message}`);
    }
    throw error;
  }
  if (!patched || typeof patched !== 'object' || Array.isArray(patched) || patched.resourceType !== type)
    throw new FhirError(422, 'processing', `a patch may not change the resourceType of ${type}/${id}`, ['resourceType']);
  if (patched.id !== id) throw new FhirError(422, 'processing', `a patch may not change the id of ${type}/${id}`, [`${type}.id`]);
  // meta is the server's: versions and times are not the writer's to patch.
  const { meta: _meta, ...body } = patched;
  return { resource: body as unknown as Resource, ifMatch: ifMatch ?? `W/"${version}"` };
}
