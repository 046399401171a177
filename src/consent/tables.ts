// Working relationships and sharing choices as tables other modules select from in their own
// single statement (the FHIR API's CareTeam, EpisodeOfCare and Consent, searched, paged and
// exported with their version stamps in one query). Reading them grants nothing: whoever reads
// them still asks the access decision about each person. Each lists the columns it offers.
// Imports nothing of the project: the FHIR module's resource definitions embed these as their
// files load.
import { sql } from 'kysely';

/**
 * Kysely: every working relationship (network membership, referral, case; ended ones too), as a
 * table: id, person_id, organisation_id, practitioner_id, kind, role_label, reason, started_at,
 * ended_at.
 */
export const careRelationshipsTable = sql`(select c.id, c.person_id, c.organisation_id, c.practitioner_id, c.kind, c.role_label, c.reason,
    c.started_at, c.ended_at
  from care_relationships c)`;

/**
 * Kysely: every sharing choice (withdrawn ones too), as a table: id, person_id, category,
 * recipient_kind, recipient_id, purposes, decision, valid_from, valid_until, recorded_at,
 * withdrawn_at.
 */
export const sharingChoicesTable = sql`(select d.id, d.person_id, d.category, d.recipient_kind, d.recipient_id, d.purposes, d.decision,
    d.valid_from, d.valid_until, d.recorded_at, d.withdrawn_at
  from consent_directives d)`;
