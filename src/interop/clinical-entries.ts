// The fhir module's part of an import of FHIR resources. The importer here reads a feed's
// Patients into agency records; what they were sent as is the fhir module's to keep: each Patient
// as received, beside the person it was linked to (as the FHIR API keeps what it is sent), and a
// Bundle's clinical entries (fhir/clinical-writes.ts), filed against the people they are about once
// the Patients are linked. Whoever starts an import hands in the fhir module's part (src/app.ts,
// src/cli.ts, and the FHIR API's bulk $import), so this module, which the fhir module reads for
// tokens, version stamps and the importer, does not read the fhir module back. Types only.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** What became of a Bundle's clinical entries. */
export interface ClinicalImport {
  /** Entries kept, by type. */
  kept: Record<string, number>;
  /** Entries set aside: their entry number (the import's "line") and why. */
  setAside: Array<{ line: number; reason: string; row: string }>;
}

/** A Patient of the feed that was stored as an agency record: its line, its record id and the resource as sent. */
export interface ReceivedPatient {
  line: number;
  sourceId: string;
  resource: Record<string, unknown>;
}

/** What of one Patient sent did not come back on reading it through the FHIR API, and why. */
export interface PatientNotKept {
  line: number;
  sourceId: string;
  /** FHIRPath-like paths of the values sent that a read of the Patient does not return (the API's warnings name the same). */
  elements: string[];
  /** Why, when it is more than "Joinery does not hold them": not linked to a person, another sender's copy, not valid R4. */
  reason: string | null;
}

/** The fhir module's part of an import. */
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
  /**
   * Keeps each Patient as sent beside the person its record was linked to, as the FHIR API keeps
   * a Patient it is sent, and yields each record of which something sent was not kept.
   */
  keepPatients(db: Kysely<Database>, source: string, patients: AsyncIterable<ReceivedPatient>): AsyncIterable<PatientNotKept>;
}
