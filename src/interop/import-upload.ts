// An upload handed to the resumable importer (import.ts): the file is kept in an upload folder
// (uploads.ts) while the import runs in the background, and the job's id returned at once. The
// FHIR API's bulk $import uses this, so there is one importer, one job table and one quarantine
// whichever door a file comes in by.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { importJob, runImport, type ImportFormat } from './import.ts';
import type { ClinicalEntries } from './clinical-entries.ts';
import { createUploadFolder } from './uploads.ts';

export { importJob };

export async function startUploadedImport(
  db: Kysely<Database>,
  input: {
    source: string;
    format: Exclude<ImportFormat, 'csv'>;
    body: Buffer;
    fileName: string;
    createdBy: string;
    /** The fhir module's part of a Bundle import (see clinical-entries.ts). */
    clinical: ClinicalEntries;
  },
  onStopped: (error: Error) => void,
): Promise<number> {
  const upload = await createUploadFolder();
  const file = path.join(upload.dir, `${randomUUID()}.${input.format === 'ndjson' ? 'ndjson' : 'json'}`);
  await fs.promises.writeFile(file, input.body).catch(async (error: unknown) => {
    await upload.remove();
    throw error;
  });
  let resolveJob!: (id: number) => void;
  const jobId = new Promise<number>((resolve) => (resolveJob = resolve));
  const run = runImport(db, {
    source: input.source,
    file,
    fileName: input.fileName,
    format: input.format,
    createdBy: input.createdBy,
    clinical: input.clinical,
    onProgress: (p) => resolveJob(p.jobId),
  });
  // The copy goes when the import ends, however it ends (a crash: see startImportReaper).
  void run.catch(onStopped).finally(() => upload.remove());
  return Promise.race([jobId, run.then((p) => p.jobId)]);
}
