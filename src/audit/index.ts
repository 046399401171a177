// The audit module's front door: appending to the hash-chained log and verifying it.
export { appendAudit, emergencySearchesSince, type AuditEntry } from './log.ts';
