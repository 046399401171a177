// The network around a person: who is involved, in what role, and how to reach them; with a
// named lead practitioner. Joining or leaving the network is a recorded act with a reason,
// and it is what gives a practitioner a legitimate relationship with the person.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { addPractitionerToNetwork, endRelationship, RelationshipRefused } from '../consent/index.ts';

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
  const rows = await sql<{ id: number; kind: string; role_label: string | null; practitioner: string | null; practitioner_role: string | null; practitioner_email: string | null; team: string | null; organisation: string; organisation_phone: string; reason: string; started_at: Date; ended_at: Date | null }>`
    select r.id, r.kind, r.role_label, pr.given_name || ' ' || pr.family_name as practitioner, pr.role as practitioner_role, pr.email as practitioner_email,
           t.name as team, o.name as organisation, o.phone as organisation_phone, r.reason, r.started_at, r.ended_at
    from care_relationships r
    join organisations o on o.id = r.organisation_id
    left join practitioners pr on pr.id = r.practitioner_id
    left join teams t on t.id = r.team_id
    where r.person_id = ${personId} ${includeEnded ? sql`` : sql`and r.ended_at is null`}
    order by (r.role_label = 'lead practitioner') desc nulls last, r.started_at`.execute(db);
  return rows.rows.map((r) => ({
    id: Number(r.id), kind: r.kind, roleLabel: r.role_label, practitioner: r.practitioner, practitionerRole: r.practitioner_role,
    practitionerEmail: r.practitioner_email, team: r.team, organisation: r.organisation, organisationPhone: r.organisation_phone,
    reason: r.reason, since: r.started_at, endedAt: r.ended_at, isLead: r.role_label === 'lead practitioner' && r.ended_at === null,
  }));
}

export class NetworkInputError extends Error {}

/**
 * Adds a named practitioner to the person's network (consent opens the relationship, under its
 * rule that only someone already involved may); returns the new relationship's id.
 */
export async function addToNetwork(db: Kysely<Database>, actor: SignedInUser, personId: string, input: { practitionerId: string; roleLabel: string; reason: string }): Promise<number> {
  const reason = input.reason.trim();
  const roleLabel = input.roleLabel.trim();
  if (reason.length < 5 || reason.length > 500) throw new NetworkInputError('Say why this person is joining the network, in 5 to 500 characters');
  if (roleLabel.length < 2 || roleLabel.length > 80) throw new NetworkInputError('Give their role in this person\'s care, for example "housing support"');
  return db.transaction().execute(async (trx) => {
    try {
      return await addPractitionerToNetwork(trx, actor, { personId, practitionerId: input.practitionerId, roleLabel, reason });
    } catch (error) {
      if (error instanceof RelationshipRefused) throw new NetworkInputError(error.message);
      throw error;
    }
  });
}

export async function endNetworkMembership(db: Kysely<Database>, actor: SignedInUser, personId: string, relationshipId: number, reason: string): Promise<boolean> {
  if (reason.trim().length < 5) throw new NetworkInputError('Say why this person is leaving the network, in at least 5 characters');
  return db.transaction().execute((trx) => endRelationship(trx, actor, { relationshipId, personId, kind: 'network', reason: `left the care network: ${reason.trim().slice(0, 200)}` }));
}

export interface LeadPractitioner { practitionerId: string; name: string; role: string; organisation: string; organisationId: string; teamId: string; team: string }

/** The person's lead practitioner now, with their organisation and team (who the person's messages go to). */
export async function leadPractitionerOf(db: Kysely<Database>, personId: string): Promise<LeadPractitioner | undefined> {
  const row = await db.selectFrom('care_relationships as r').innerJoin('practitioners as p', 'p.id', 'r.practitioner_id').innerJoin('organisations as o', 'o.id', 'r.organisation_id')
    .innerJoin('teams as t', 't.id', 'p.team_id')
    .select(['p.id', 'p.given_name', 'p.family_name', 'p.role', 'p.team_id', 'p.organisation_id', 'o.name', 't.name as team']).where('r.person_id', '=', personId).where('r.role_label', '=', 'lead practitioner')
    .where('r.ended_at', 'is', null).orderBy('r.started_at', 'desc').executeTakeFirst();
  return row ? {
    practitionerId: row.id, name: `${row.given_name} ${row.family_name}`, role: row.role, organisation: row.name, organisationId: row.organisation_id, teamId: row.team_id, team: row.team,
  } : undefined;
}
