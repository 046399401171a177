// Bulk import through the FHIR API: POST /fhir/$import?source=CODE with NDJSON (one Patient a
// line, application/fhir+ndjson) or a Bundle, handed to the same resumable importer as
// `joinery import` and /api/imports (interop's import.ts: quarantine, person index, a job that a
// restarted server marks failed and a second run resumes). Asynchronous as $export is: 202 with
// Content-Location, then GET the status (202 with X-Progress while it runs, 200 with the counts).
// Imports are agency feeds, not a person's reads: open to the roles /api/imports opens them to
// (administrators and data quality officers), and the records are tied to the source organisation.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { importJob, importNotKept, isSourceCode, startUploadedImport } from '../interop/index.ts';
import { FhirError, operationOutcome } from './outcome.ts';
import { clinicalEntries } from './clinical-writes.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const IMPORT_ROLES = new Set(['admin', 'data_quality']);
const MAX_IMPORT_BYTES = 200 * 1_048_576;

function importer(request: FastifyRequest): string {
  const user = request.user;
  if (!user) throw new FhirError(401, 'login', 'send a bearer token: Authorization: Bearer <token> (joinery token create --user NAME)');
  if (!IMPORT_ROLES.has(user.role))
    throw new FhirError(403, 'forbidden', 'bulk import is for administrators and data quality officers (agency feeds)');
  return user.id;
}

export function registerBulkImportRoutes(fhir: FastifyInstance): void {
  fhir.addContentTypeParser(
    ['application/fhir+ndjson', 'application/ndjson', 'application/x-ndjson'],
    { parseAs: 'buffer', bodyLimit: MAX_IMPORT_BYTES },
    (_request, body, done) => done(null, body),
  );

  fhir.post('/$import', { config: { csrf: false }, bodyLimit: MAX_IMPORT_BYTES }, async (request, reply) => {
    const userId = importer(request);
    const source = String((request.query as { source?: string }).source ?? '');
    if (!isSourceCode(source))
      throw new FhirError(400, 'invalid', "give ?source=CODE (the organisation's code: letters, digits, - and _, in either case)");
    const body = request.body;
    const ndjson = Buffer.isBuffer(body);
    const bytes = ndjson ? body : Buffer.from(JSON.stringify(body ?? ''));
    if (bytes.length === 0 || (!ndjson && (body as { resourceType?: string } | null)?.resourceType !== 'Bundle'))
      throw new FhirError(400, 'invalid', 'send NDJSON (application/fhir+ndjson, one resource a line) or a Bundle (application/fhir+json)');
    const db = request.server.joinery.database.db;
    // The importer's refusals (a busy file, bad input) answer as OperationOutcomes through the FHIR error handler.
    const id = await startUploadedImport(
      db,
      {
        source,
        format: ndjson ? 'ndjson' : 'bundle',
        body: bytes,
        fileName: ndjson ? 'fhir-import.ndjson' : 'fhir-import.json',
        createdBy: userId,
        clinical: clinicalEntries,
      },
      (error) => request.log.warn({ err: { type: error.name } }, 'import stopped'),
    );
    const base = `${request.server.joinery.config.publicUrl}/fhir`;
    return reply
      .code(202)
      .header('content-location', `${base}/import-status/${id}`)
      .type(FHIR_JSON)
      .send(operationOutcome('information', 'informational', `the import has begun; poll ${base}/import-status/${id}`));
  });

  fhir.get('/import-status/:id', async (request, reply) => {
    importer(request);
    const id = Number((request.params as { id: string }).id);
    const job = Number.isSafeInteger(id) ? await importJob(request.server.joinery.database.db, id) : undefined;
    if (!job) throw new FhirError(404, 'not-found', 'there is no such import');
    if (job.status === 'running')
      return reply
        .code(202)
        .header('x-progress', `${job.linesDone} of ${job.linesTotal ?? '?'} lines`)
        .header('retry-after', '2')
        .send();
    // The first records of which something sent was not kept (elements and why); all of them at /api/imports/{id}/not-kept.
    const notKeptRecords = job.notKept > 0 ? await importNotKept(request.server.joinery.database.db, id, 100) : [];
    return reply
      .code(job.status === 'failed' ? 500 : 200)
      .type('application/json')
      .send({ ...job, notKeptRecords });
  });
}
