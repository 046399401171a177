// Relationships of care: the facts that let a practitioner, their team or their organisation see
// a person at all. Only this module opens and ends them, each for a reason the person would
// recognise (a referral sent to a service, a case opened by an agency that holds a record of the
// person, joining the network by someone already in it), and every change is audited. Callers
// pass the transaction they run in, so the relationship commits or rolls back with their work.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { RefusedInput } from '../platform/refused.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { practitionersByIds } from '../network/index.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { loadAccessFacts } from './facts.ts';
import { actorOf } from './access.ts';
import { actorRelationships } from './policy.ts';

type Trx = Transaction<Database>;

/** Why a relationship exists, in the words shown to the person on their network page. */
export type RelationshipGround =
  /** A referral was sent to this service: the receiving organisation, while the referral is open. */
  | { kind: 'referral'; serviceName: string }
  /** Someone already in the person's network added a named practitioner (or their organisation joined a plan). */
  | { kind: 'network'; roleLabel: string; reason: string }
  /** An agency that holds a record of the person opened a case. */
  | { kind: 'case'; reason: string };

export interface OpenRelationship {
  personId: string;
  organisationId: string;
  teamId: string | null;
  practitionerId: string | null;
  ground: RelationshipGround;
  /** The user who opened it (null for agency feeds and seeded demo data). */
  recordedBy: SignedInUser | null;
  startedAt?: Date;
}

export class RelationshipRefused extends RefusedInput {
  override name = 'RelationshipRefused';
}

function rowOf(input: OpenRelationship) {
  const g = input.ground;
  return {
    person_id: input.personId,
    organisation_id: input.organisationId,
    team_id: input.teamId,
    practitioner_id: input.practitionerId,
    kind: g.kind,
    role_label: g.kind === 'referral' ? 'receiving service' : g.kind === 'network' ? g.roleLabel : 'case holder',
    reason: g.kind === 'referral' ? `open referral to ${g.serviceName}` : g.reason,
    started_at: input.startedAt ?? new Date(),
    ended_at: null,
    recorded_by: input.recordedBy?.id ?? null,
  };
}

/**
 * Whether the user may bring someone into the person's network: they, their team or their
 * organisation must already be in it (or hold a record of the person). Emergency access is not
 * enough: break-glass lets a practitioner look for an hour, never stay.
 */
export async function mayExtendNetwork(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
  now: Date = new Date(),
): Promise<boolean> {
  if (user.role !== 'practitioner' || !user.organisationId) return false;
  const actor = actorOf(user);
  const facts = await loadAccessFacts(db, actor, personId, now);
  if (facts.organisationHoldsRecord) return true;
  // Their own, their team's (an integrated team's through current membership) or their organisation's;
  // and anyone in the organisation's part of the network may bring a colleague in.
  return actorRelationships(actor, facts).length > 0 || facts.relationships.some((r) => r.organisationId === actor.organisationId);
}

/** Opens a relationship of care and audits it; returns its id. */
export async function openRelationship(trx: Trx, input: OpenRelationship): Promise<number> {
  const row = await trx.insertInto('care_relationships').values(rowOf(input)).returning('id').executeTakeFirstOrThrow();
  const by = input.recordedBy;
  await appendAudit(trx, {
    actorUserId: by?.id ?? null,
    actorRole: by?.role ?? null,
    actorOrganisationId: by?.organisationId ?? input.organisationId,
    action: 'write',
    personId: input.personId,
    category: null,
    purpose: 'care_coordination',
    decision: 'success',
    reason: (input.ground.kind === 'network'
      ? `added to the care network: ${input.ground.reason}`
      : input.ground.kind === 'case'
        ? `case opened: ${input.ground.reason}`
        : `relationship of care opened: ${rowOf(input).reason}`
    ).slice(0, 300),
  });
  return Number(row.id);
}

/**
 * Joins the network once: an organisation (or one of its practitioners) already in it is not
 * added again. The user must be allowed to extend the network (see mayExtendNetwork).
 */
export async function joinNetworkOnce(
  trx: Trx,
  user: SignedInUser,
  input: Omit<OpenRelationship, 'ground' | 'recordedBy'> & { roleLabel: string; reason: string },
): Promise<number | null> {
  // Asked first, so the answer does not depend on whether the service happens to be in already.
  if (!(await mayExtendNetwork(trx, user, input.personId))) {
    throw new RelationshipRefused(422, "Only someone already involved in this person's care can bring another service into their network");
  }
  // The same reach, lasting as long: a team's relationship (an integrated team's caseload) is not
  // the organisation's, and a referral's ends with the referral, so neither stands in for it.
  const existing = await trx
    .selectFrom('care_relationships')
    .select('id')
    .where('person_id', '=', input.personId)
    .where('organisation_id', '=', input.organisationId)
    .where('ended_at', 'is', null)
    .where('kind', '=', 'network')
    .where((eb) =>
      input.practitionerId
        ? eb('practitioner_id', '=', input.practitionerId)
        : eb.and([eb('practitioner_id', 'is', null), input.teamId ? eb('team_id', '=', input.teamId) : eb('team_id', 'is', null)]),
    )
    .executeTakeFirst();
  if (existing) return null;
  return openRelationship(trx, {
    ...input,
    ground: { kind: 'network', roleLabel: input.roleLabel, reason: input.reason },
    recordedBy: user,
  });
}

/**
 * A household member agreed, in person, to be part of a plan led by a practitioner already in
 * the care of someone in their household: the practitioner joins the member's network. They
 * then see what their own organisation records, and more only if the member shares it.
 */
export async function joinNetworkByAgreement(
  trx: Trx,
  user: SignedInUser,
  input: { personId: string; viaPersonId: string; roleLabel: string; reason: string },
): Promise<number | null> {
  if (!user.organisationId || !(await mayExtendNetwork(trx, user, input.viaPersonId))) {
    throw new RelationshipRefused(
      422,
      'Only someone already involved in the care of a member of this household can bring another member into a plan',
    );
  }
  const existing = await trx
    .selectFrom('care_relationships')
    .select('id')
    .where('person_id', '=', input.personId)
    .where('organisation_id', '=', user.organisationId)
    .where('ended_at', 'is', null)
    .where((eb) => (user.practitionerId ? eb('practitioner_id', '=', user.practitionerId) : eb('practitioner_id', 'is', null)))
    .executeTakeFirst();
  if (existing) return null;
  return openRelationship(trx, {
    personId: input.personId,
    organisationId: user.organisationId,
    teamId: user.teamId,
    practitionerId: user.practitionerId,
    ground: { kind: 'network', roleLabel: input.roleLabel, reason: input.reason },
    recordedBy: user,
  });
}

/** Adds a named practitioner to the person's network; one lead at a time. */
export async function addPractitionerToNetwork(
  trx: Trx,
  user: SignedInUser,
  input: { personId: string; practitionerId: string; roleLabel: string; reason: string },
): Promise<number> {
  const practitioner = (await practitionersByIds(trx, [input.practitionerId])).get(input.practitionerId);
  if (!practitioner || practitioner.active === false) throw new RelationshipRefused(400, 'Choose a practitioner from the list');
  if (!(await mayExtendNetwork(trx, user, input.personId))) {
    throw new RelationshipRefused(
      422,
      "Only someone already involved in this person's care can add people to their network (emergency access is not enough)",
    );
  }
  const already = await trx
    .selectFrom('care_relationships')
    .select('id')
    .where('person_id', '=', input.personId)
    .where('practitioner_id', '=', practitioner.id)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (already) throw new RelationshipRefused(409, "That practitioner is already in this person's network");
  const lead = input.roleLabel.toLowerCase() === 'lead practitioner';
  // One lead at a time: the previous lead stays in the network in a plain role.
  if (lead) await demoteLead(trx, input.personId);
  return openRelationship(trx, {
    personId: input.personId,
    organisationId: practitioner.organisationId,
    teamId: practitioner.teamId,
    practitionerId: practitioner.id,
    ground: { kind: 'network', roleLabel: lead ? 'lead practitioner' : input.roleLabel, reason: input.reason },
    recordedBy: user,
  });
}

async function demoteLead(trx: Trx, personId: string): Promise<void> {
  await trx
    .updateTable('care_relationships')
    .set({ role_label: 'former lead practitioner' })
    .where('person_id', '=', personId)
    .where('role_label', '=', 'lead practitioner')
    .where('ended_at', 'is', null)
    .execute();
}

/** Makes a practitioner the person's lead (demo set-up and hand-overs): the previous lead stays as a former lead. */
export async function makeLeadPractitioner(
  trx: Trx,
  personId: string,
  practitionerId: string,
  reason: string,
  recordedBy: SignedInUser | null,
): Promise<void> {
  const current = await trx
    .selectFrom('care_relationships')
    .select('practitioner_id')
    .where('person_id', '=', personId)
    .where('role_label', '=', 'lead practitioner')
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (current?.practitioner_id === practitionerId) return;
  await demoteLead(trx, personId);
  const pr = (await practitionersByIds(trx, [practitionerId])).get(practitionerId);
  if (!pr) throw new RelationshipRefused(400, 'There is no such practitioner');
  await openRelationship(trx, {
    personId,
    organisationId: pr.organisationId,
    teamId: pr.teamId,
    practitionerId,
    ground: { kind: 'network', roleLabel: 'lead practitioner', reason },
    recordedBy,
  });
}

/** Ends one relationship; `reason` is the audit's sentence, e.g. "left the care network: moved away". */
export async function endRelationship(
  trx: Trx,
  by: SignedInUser | null,
  input: { relationshipId: number; personId?: string; kind?: 'network' | 'referral' | 'case'; reason: string; at?: Date },
): Promise<boolean> {
  let query = trx
    .updateTable('care_relationships')
    .set({ ended_at: input.at ?? new Date() })
    .where('id', '=', input.relationshipId)
    .where('ended_at', 'is', null);
  if (input.personId) query = query.where('person_id', '=', input.personId);
  if (input.kind) query = query.where('kind', '=', input.kind);
  const ended = await query.returning(['person_id', 'organisation_id']).executeTakeFirst();
  if (!ended) return false;
  await appendAudit(trx, {
    actorUserId: by?.id ?? null,
    actorRole: by?.role ?? null,
    actorOrganisationId: by?.organisationId ?? ended.organisation_id,
    action: 'write',
    personId: ended.person_id,
    category: null,
    purpose: 'care_coordination',
    decision: 'success',
    reason: input.reason.slice(0, 300),
  });
  return true;
}

/** Ends a person's relationships with an organisation of one kind (a referral closing in seeded history). */
export async function endRelationshipsOfOrganisation(
  trx: Trx,
  personId: string,
  organisationId: string,
  kind: 'network' | 'referral' | 'case',
  at: Date,
  reason: string,
): Promise<number> {
  const rows = await trx
    .updateTable('care_relationships')
    .set({ ended_at: at })
    .where('person_id', '=', personId)
    .where('organisation_id', '=', organisationId)
    .where('kind', '=', kind)
    .where('ended_at', 'is', null)
    .returning('id')
    .execute();
  if (rows.length > 0) {
    await appendAudit(trx, {
      actorUserId: null,
      actorRole: null,
      actorOrganisationId: organisationId,
      action: 'write',
      personId,
      category: null,
      purpose: 'care_coordination',
      decision: 'success',
      reason: `relationship of care ended: ${reason}`.slice(0, 300),
    });
  }
  return rows.length;
}

/**
 * Referral relationships belong to the receiving organisation, which receives the referral in its
 * inbox and may act on it with any of its practitioners (referrals/referrals.ts insertReferral).
 * Those opened for one team before that (migration 0042) are widened while their referral is
 * open; ended ones are history and stay as they were. A schema change, not a user's act: like
 * seeding, nothing is audited per person, and the rows themselves show the widening (team_id null).
 */
export async function referralRelationshipsToOrganisation(db: Kysely<Database>): Promise<number> {
  const rows = await db
    .updateTable('care_relationships')
    .set({ team_id: null })
    .where('kind', '=', 'referral')
    .where('practitioner_id', 'is', null)
    .where('team_id', 'is not', null)
    .where('ended_at', 'is', null)
    .returning('id')
    .execute();
  return rows.length;
}

/**
 * Kysely: the people with a current relationship of care in one of these roles (a lead
 * practitioner, a named coordinator...), as a table of person_id: what case-finding's
 * "no coordinator" condition leaves out. It grants nothing.
 */
export function peopleWithRelationshipRole(roleLabels: readonly string[]): RawBuilder<{ person_id: string }> {
  return sql<{ person_id: string }>`(select c.person_id from care_relationships c
    where c.ended_at is null and c.role_label = any(${roleLabels}::text[]))`;
}

export interface SeededRelationship {
  personId: string;
  organisationId: string;
  teamId: string | null;
  practitionerId: string | null;
  kind: 'network' | 'referral' | 'case';
  roleLabel: string;
  reason: string;
  startedAt: Date;
  endedAt: Date | null;
}

/**
 * A synthetic place's history of relationships, in bulk (demo and benchmark loading only: no
 * user acted, so nothing is audited). Returns the new ids in the order given.
 */
export async function seedRelationships(trx: Trx, rows: readonly SeededRelationship[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const before = await sql<{ id: number | null }>`select max(id)::bigint as id from care_relationships`.execute(trx);
  const low = Number(before.rows[0]?.id ?? 0);
  const txt = (name: string, value: (r: SeededRelationship) => unknown) => ({ name, type: 'text', value });
  await bulkInsert(
    trx,
    'care_relationships',
    [
      txt('person_id', (r) => r.personId),
      txt('organisation_id', (r) => r.organisationId),
      txt('team_id', (r) => r.teamId),
      txt('practitioner_id', (r) => r.practitionerId),
      txt('kind', (r) => r.kind),
      txt('role_label', (r) => r.roleLabel),
      txt('reason', (r) => r.reason),
      { name: 'started_at', type: 'timestamptz', value: (r) => r.startedAt.toISOString() },
      { name: 'ended_at', type: 'timestamptz', value: (r) => r.endedAt?.toISOString() ?? null },
    ],
    [...rows],
    10_000,
  );
  const ids = await sql<{ id: number }>`select id from care_relationships where id > ${low} order by id`.execute(trx);
  if (ids.rows.length !== rows.length) throw new Error('seeded relationships were written alongside other writers');
  return ids.rows.map((r) => Number(r.id));
}

/** The organisation a care relationship is with, or undefined when there is no such relationship. */
export async function relationshipOrganisationId(db: Kysely<Database>, id: number): Promise<string | undefined> {
  return (await db.selectFrom('care_relationships').select('organisation_id').where('id', '=', id).executeTakeFirst())?.organisation_id;
}
