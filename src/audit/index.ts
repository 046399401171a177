// The audit module's front door: its tables first (the migration registry reads them while other
// files may still load), then appending to the hash-chained log, counting it, verifying it and
// writing signed checkpoints of it, and the key the chain is signed with.
export { auditMigrations, type AuditTables } from './schema.ts';
// The audit trail as a table to select from in another module's statement (the FHIR API's AuditEvent).
export { auditEventsTable } from './tables.ts';
export {
  appendAudit,
  countAuditEvents,
  emergencySearchesSince,
  startAuditCheckpoints,
  verifyAuditChain,
  writeAuditCheckpoint,
  type AuditEntry,
} from './log.ts';
export { readAuditKey } from './key.ts';
// The latest events about a person, as a subquery to embed (who looked at a record), and events within windows.
export { auditEventsDuring, latestAuditEventsAbout, type AuditWindow, type WindowEvent } from './reads.ts';
