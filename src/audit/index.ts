// The audit module's front door: appending to the hash-chained log and verifying it.
export { appendAudit, type AuditEntry } from './log.ts';
