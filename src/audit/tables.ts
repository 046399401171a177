// The audit trail as a table other modules select from in their own single statement (the FHIR
// API's AuditEvent, searched and paged with its version stamps in one query); whoever reads it
// decides who may see which events. Imports nothing of the project: the FHIR module's resource
// definitions embed it as their files load.
import { sql } from 'kysely';

/**
 * Kysely: every audit event, as a table: seq, at, actor_user_id, actor_role,
 * actor_organisation_id, action, person_id, category, purpose, decision, reason (not the chain's
 * hashes).
 */
export const auditEventsTable = sql`(select a.seq, a.at, a.actor_user_id, a.actor_role, a.actor_organisation_id, a.action, a.person_id,
    a.category, a.purpose, a.decision, a.reason
  from audit_events a)`;
