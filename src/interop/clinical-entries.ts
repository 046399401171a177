// A FHIR Bundle's clinical entries (Condition, Encounter, ...) in an import. The importer here
// reads a feed's Patients; the clinical entries are the fhir module's to keep (fhir/clinical-writes.ts),
// filed against the people they are about once the Patients are linked. Whoever starts an import
// hands in the fhir module's part (src/app.ts, src/cli.ts, and the FHIR API's bulk $import), so this
// module, which the fhir module reads for tokens, version stamps and the importer, does not read
// the fhir module back. Types only.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** What became of a Bundle's clinical entries. */
export interface ClinicalImport {
  /** Entries kept, by type. */
  kept: Record<string, number>;
  /** Entries set aside: their entry number (the import's "line") and why. */
  setAside: Array<{ line: number; reason: string; row: string }>;
}

/** The fhir module's part of a Bundle import. */
export interface ClinicalEntries {
  /** The resource types kept as clinical entries: the Patient reader passes over them. */
  types: readonly string[];
  /** Keeps the file's clinical entries once its Patients are imported and linked. */
  keep(
    db: Kysely<Database>,
    file: string,
    source: string,
    /** The record id the import gave a Patient entry (the importer's own rule). */
    patientSourceId: (entry: { fullUrl?: string; resource?: unknown }) => string | undefined,
  ): Promise<ClinicalImport>;
}
