// The one access decision every read and write of personal data passes through.
// Foundation rules (extended by the consent module): a citizen sees their own record; a
// practitioner sees a person only while their organisation has a legitimate relationship
// (it holds a current record of the person) and only for care purposes, and sees events
// recorded by their own organisation; managers and administrators see aggregates only.
// Every decision, allow or deny, is written to the audit log with its reason.
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { SignedInUser } from '../auth/accounts.ts';
import { appendAudit } from '../audit/log.ts';

export const categories = [
  'demographics', 'about_me', 'health', 'social_care', 'housing', 'criminal_justice',
  'children_safeguarding', 'finances', 'plans',
] as const;
export type Category = (typeof categories)[number];

export const purposes = ['direct_care', 'care_coordination', 'safeguarding', 'planning', 'self'] as const;
export type Purpose = (typeof purposes)[number];

export interface AccessRequest {
  actor: SignedInUser;
  personId: string;
  category: Category;
  purpose: Purpose;
  action: 'read' | 'write' | 'export' | 'search';
}

export interface AccessDecision {
  allowed: boolean;
  reason: string;
  /** For practitioners: the only organisation whose items they may see (their own). */
  visibleOrganisationIds: string[] | 'all';
}

async function organisationKnowsPerson(db: Kysely<Database>, organisationId: string, personId: string): Promise<boolean> {
  const row = await db
    .selectFrom('record_links')
    .innerJoin('source_records', 'source_records.id', 'record_links.source_record_id')
    .innerJoin('organisations', 'organisations.source_code', 'source_records.source')
    .select('record_links.id')
    .where('record_links.person_id', '=', personId)
    .where('record_links.superseded_at', 'is', null)
    .where('organisations.id', '=', organisationId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Pure part of the decision, given the facts; exported for property tests. */
export function decide(
  request: Pick<AccessRequest, 'actor' | 'personId' | 'purpose'>,
  facts: { organisationKnowsPerson: boolean },
): AccessDecision {
  const { actor, personId, purpose } = request;
  switch (actor.role) {
    case 'citizen':
      if (actor.personId === personId && purpose === 'self') {
        return { allowed: true, reason: 'the person viewing their own record', visibleOrganisationIds: 'all' };
      }
      return { allowed: false, reason: 'a citizen may see only their own record', visibleOrganisationIds: [] };
    case 'practitioner':
      if (purpose !== 'direct_care' && purpose !== 'care_coordination') {
        return { allowed: false, reason: `purpose ${purpose} is not open to practitioners here`, visibleOrganisationIds: [] };
      }
      if (!actor.organisationId || !facts.organisationKnowsPerson) {
        return { allowed: false, reason: 'no legitimate relationship: your organisation does not hold a record of this person', visibleOrganisationIds: [] };
      }
      return { allowed: true, reason: 'your organisation holds a record of this person (direct care)', visibleOrganisationIds: [actor.organisationId] };
    case 'manager':
    case 'admin':
      return { allowed: false, reason: `the ${actor.role} role sees aggregate figures only`, visibleOrganisationIds: [] };
  }
}

export async function decideAccess(db: Kysely<Database>, request: AccessRequest): Promise<AccessDecision> {
  const { actor, personId } = request;
  const knows =
    actor.role === 'practitioner' && actor.organisationId ? await organisationKnowsPerson(db, actor.organisationId, personId) : false;
  const decision = decide(request, { organisationKnowsPerson: knows });
  await appendAudit(db, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: actor.organisationId,
    action: request.action,
    personId,
    category: request.category,
    purpose: request.purpose,
    decision: decision.allowed ? 'allow' : 'deny',
    reason: decision.reason,
  });
  return decision;
}
