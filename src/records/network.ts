// The network around a person: who is involved, in what role, and how to reach them; with a
// named lead practitioner. Joining or leaving the network is a recorded act with a reason,
// and it is what gives a practitioner a legitimate relationship with the person.
import { sql, type InferResult, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import {
  addPractitionerToNetwork,
  careRelationshipsOf,
  endRelationship,
  leadPractitionerQuery,
  RelationshipRefused,
} from '../consent/index.ts';
import { organisationNameOf, organisationPhoneOf, practitionerCardOf, teamNameOf, type PractitionerCard } from '../network/index.ts';
import { preparedQuery } from '../platform/db.ts';
import { RefusedInput } from '../platform/refused.ts';

export interface NetworkMember {
  id: number;
  kind: string;
  roleLabel: string | null;
  practitioner: string | null;
  practitionerRole: string | null;
  practitionerEmail: string | null;
  team: string | null;
  organisation: string;
  organisationPhone: string;
  reason: string;
  since: Date;
  endedAt: Date | null;
  isLead: boolean;
}

export async function networkOf(db: Kysely<Database>, personId: string, includeEnded = false): Promise<NetworkMember[]> {
  // One statement: the relationships come from consent, the practitioner, team and organisation from network, as fragments embedded here.
  const rows = await sql<{
    id: number;
    kind: string;
    role_label: string | null;
    pr: PractitionerCard | null;
    team: string | null;
    organisation: string;
    organisation_phone: string;
    reason: string;
    started_at: Date;
    ended_at: Date | null;
  }>`
    select r.id, r.kind, r.role_label, ${practitionerCardOf('r.practitioner_id')} as pr,
           ${teamNameOf('r.team_id')} as team, ${organisationNameOf('r.organisation_id')} as organisation, ${organisationPhoneOf('r.organisation_id')} as organisation_phone,
           r.reason, r.started_at, r.ended_at
    from ${careRelationshipsOf(personId, includeEnded)} r
    order by (r.role_label = 'lead practitioner') desc nulls last, r.started_at`.execute(db);
  return rows.rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    roleLabel: r.role_label,
    practitioner: r.pr?.name ?? null,
    practitionerRole: r.pr?.role ?? null,
    practitionerEmail: r.pr?.email ?? null,
    team: r.team,
    organisation: r.organisation,
    organisationPhone: r.organisation_phone,
    reason: r.reason,
    since: r.started_at,
    endedAt: r.ended_at,
    isLead: r.role_label === 'lead practitioner' && r.ended_at === null,
  }));
}

export class NetworkInputError extends RefusedInput {
  constructor(message: string) {
    super(422, message);
  }
}

/**
 * Adds a named practitioner to the person's network (consent opens the relationship, under its
 * rule that only someone already involved may), in the caller's transaction; returns the new
 * relationship's id.
 */
export async function addToNetwork(
  trx: Transaction<Database>,
  actor: SignedInUser,
  personId: string,
  input: { practitionerId: string; roleLabel: string; reason: string },
): Promise<number> {
  const reason = input.reason.trim();
  const roleLabel = input.roleLabel.trim();
  if (reason.length < 5 || reason.length > 500)
    throw new NetworkInputError('Say why this person is joining the network, in 5 to 500 characters');
  if (roleLabel.length < 2 || roleLabel.length > 80)
    throw new NetworkInputError('Give their role in this person\'s care, for example "housing support"');
  try {
    return await addPractitionerToNetwork(trx, actor, { personId, practitionerId: input.practitionerId, roleLabel, reason });
  } catch (error) {
    if (error instanceof RelationshipRefused) throw new NetworkInputError(error.message);
    throw error;
  }
}

/** Ends a member's place in the person's network, in the caller's transaction; false if there was no such member. */
export async function endNetworkMembership(
  trx: Transaction<Database>,
  actor: SignedInUser,
  personId: string,
  relationshipId: number,
  reason: string,
): Promise<boolean> {
  if (reason.trim().length < 5) throw new NetworkInputError('Say why this person is leaving the network, in at least 5 characters');
  return endRelationship(trx, actor, {
    relationshipId,
    personId,
    kind: 'network',
    reason: `left the care network: ${reason.trim().slice(0, 200)}`,
  });
}

export interface LeadPractitioner {
  practitionerId: string;
  name: string;
  role: string;
  organisation: string;
  organisationId: string;
  teamId: string;
  team: string;
}

// The statement finding the person's lead practitioner is consent's (it reads relationships of care).
export { leadPractitionerQuery };

export type LeadPractitionerRow = InferResult<ReturnType<typeof leadPractitionerQuery>>[number];

/** The lead practitioner a row of leadPractitionerQuery names, if any. */
export function leadFromRow(row: LeadPractitionerRow | null | undefined): LeadPractitioner | undefined {
  return row?.p
    ? {
        practitionerId: row.p.id,
        name: row.p.name,
        role: row.p.role,
        organisation: row.organisation ?? '',
        organisationId: row.p.organisationId,
        teamId: row.p.teamId,
        team: row.p.team,
      }
    : undefined;
}

/** The person's lead practitioner now, with their organisation and team (who the person's messages go to). */
export async function leadPractitionerOf(db: Kysely<Database>, personId: string): Promise<LeadPractitioner | undefined> {
  // A named prepared statement (planned once per pooled connection): planning it cost PostgreSQL more than running it.
  const query = leadPractitionerQuery(db, personId).compile();
  return leadFromRow((await preparedQuery<LeadPractitionerRow>(db, 'joinery_lead_practitioner_of', query.sql, [...query.parameters]))[0]);
}
