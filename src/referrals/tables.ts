// Referrals as a table other modules select from in their own single statement (the FHIR API's
// ServiceRequest and Task, searched, paged and exported with their version stamps in one query).
// Imports nothing of the project: the FHIR module's resource definitions embed it as their files
// load.
import { sql } from 'kysely';

/**
 * Kysely: every referral that is part of the person's record, as a table: id, person_id,
 * from_organisation_id, from_practitioner_id, service_id, organisation_id,
 * assigned_practitioner_id, reason, urgency, status, sent_at, acknowledged_at, accepted_at,
 * first_contact_at, closed_at, decline_reason, onward_from_id. A request typed by someone not
 * signed in is not part of anyone's record of the person: it is filed against them only by the
 * person index, and shown to the service it went to on its own page.
 */
export const referralsOnRecordTable = sql`(select x.id, x.person_id, x.from_organisation_id, x.from_practitioner_id, x.service_id, x.organisation_id,
    x.assigned_practitioner_id, x.reason, x.urgency, x.status, x.sent_at, x.acknowledged_at, x.accepted_at, x.first_contact_at, x.closed_at,
    x.decline_reason, x.onward_from_id
  from referrals x
  where not (x.kind <> 'professional' and x.relationship_id is null))`;
