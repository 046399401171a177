// The access policy as a pure function of the facts: who is asking, their relationship to the
// person, the person's sharing directives, any lawful basis, and break-glass. Kept pure so it
// can be tested exhaustively and property-tested; consent/access.ts loads the facts and audits.
import type { Category, Purpose } from './categories.ts';

export interface Actor {
  userId: string;
  role: 'citizen' | 'practitioner' | 'manager' | 'admin' | 'data_quality' | 'privacy_officer';
  personId: string | null;
  organisationId: string | null;
  teamId: string | null;
  practitionerId: string | null;
}

export type RecipientKind = 'organisation' | 'team' | 'network';

export interface Directive {
  id: number;
  category: Category | '*';
  recipientKind: RecipientKind;
  recipientId: string | null;
  purposes: Purpose[];
  decision: 'permit' | 'deny';
  validFrom: Date;
  validUntil: Date | null;
  withdrawnAt: Date | null;
  recordedAt: Date;
  /** Whose word: the person's or their proxy's own choice outranks a practitioner's record of it. */
  recordedFor: 'person' | 'proxy' | 'practitioner';
}

export interface LawfulBasis {
  id: number;
  category: Category | '*';
  purpose: Purpose;
  basis: 'safeguarding' | 'legal_obligation' | 'vital_interests' | 'public_task';
  organisationId: string | null;
  validFrom: Date;
  validUntil: Date | null;
  endedAt: Date | null;
}

export interface Relationship {
  organisationId: string;
  teamId: string | null;
  practitionerId: string | null;
  kind: 'network' | 'referral' | 'case';
  /** The relationship is held by an integrated team: it reaches the team's current members only (consent/teams.ts). */
  teamIntegrated?: boolean;
}

/** A team the actor is a current member of (team_memberships), by which a team's relationship reaches them. */
export interface TeamMembershipFact {
  teamId: string;
  name: string;
}

export interface AccessFacts {
  now: Date;
  /** Active relationships of anyone with the person (filtered to the actor's below). */
  relationships: Relationship[];
  /** The actor's organisation holds a current agency record of the person (an open case). */
  organisationHoldsRecord: boolean;
  directives: Directive[];
  lawfulBases: LawfulBasis[];
  /** Expiry of the actor's active break-glass grant on this person, if any. */
  breakGlassUntil: Date | null;
  /**
   * The categories the actor may see as the person's proxy (a parent until the child is 16, a
   * carer while the caring relationship lasts), or null when they are not a proxy in force.
   */
  proxyScope: Category[] | null;
  /** A practitioner has released safeguarding information to the person it concerns (and their proxies). */
  safeguardingReleased: boolean;
  /**
   * Restrictions in force at the person's request (UK GDPR Art. 18): the organisation holding the
   * information restricted this category, so every other organisation sees only its own entries.
   */
  restrictions?: Array<{ organisationId: string; category: string }>;
  /** Practitioners only: the teams the actor is a member of now, whatever organisation hosts them. */
  memberTeams?: TeamMembershipFact[];
  /** Data-quality reviewers only: the person is in the linkage review queue. */
  inReviewQueue: boolean;
  /** Data-quality reviewers only: the person is in a merge of two person records not yet undone (so it can be checked and undone). */
  inUndoableMerge?: boolean;
}

/** all = every agency's items; own_organisation = only what the actor's organisation recorded. */
export type Scope = 'all' | 'own_organisation' | 'none';

export type Basis =
  | 'self'
  | 'proxy'
  | 'consent'
  | 'lawful_basis'
  | 'break_glass'
  | 'own_records'
  | 'identification'
  | 'review_queue'
  | 'merge_review'
  | 'none';

export interface CategoryDecision {
  category: Category;
  purpose: Purpose;
  scope: Scope;
  basis: Basis;
  /** Plain English, free of personal data: shown to practitioners and, in the audit, to the person. */
  reason: string;
}

const deny = (category: Category, purpose: Purpose, reason: string): CategoryDecision => ({
  category,
  purpose,
  scope: 'none',
  basis: 'none',
  reason,
});

export function isActive(
  item: { validFrom: Date; validUntil: Date | null; withdrawnAt?: Date | null; endedAt?: Date | null },
  now: Date,
): boolean {
  if (item.validFrom > now) return false;
  if (item.validUntil && item.validUntil <= now) return false;
  if (item.withdrawnAt && item.withdrawnAt <= now) return false;
  if (item.endedAt && item.endedAt <= now) return false;
  return true;
}

/**
 * The team whose relationship reaches the actor through their membership of it, if that is how
 * the relationship reaches them. An integrated team's relationship reaches its current members
 * only, never someone whose home team it merely is.
 */
function throughMembership(r: Relationship, memberTeams: readonly TeamMembershipFact[] | undefined): TeamMembershipFact | undefined {
  if (r.practitionerId !== null || r.teamId === null) return undefined;
  return memberTeams?.find((t) => t.teamId === r.teamId);
}

/** The actor's own relationships with the person: theirs, their team's (home or by membership) or their organisation's. */
export function actorRelationships(actor: Actor, facts: Pick<AccessFacts, 'relationships' | 'memberTeams'>): Relationship[] {
  return facts.relationships.filter(
    (r) =>
      (r.practitionerId !== null && r.practitionerId === actor.practitionerId) ||
      (r.practitionerId === null && r.teamId !== null && r.teamId === actor.teamId && !r.teamIntegrated) ||
      throughMembership(r, facts.memberTeams) !== undefined ||
      (r.practitionerId === null && r.teamId === null && r.organisationId === actor.organisationId),
  );
}

/** The team whose relationship reaches the actor through membership, and whether it is their only way in (what the audit says). */
function throughTeam(actor: Actor, facts: AccessFacts): { team: TeamMembershipFact; only: boolean } | undefined {
  let team: TeamMembershipFact | undefined;
  let other = facts.organisationHoldsRecord;
  for (const r of actorRelationships(actor, facts)) {
    const via = throughMembership(r, facts.memberTeams);
    if (via) team ??= via;
    else other = true;
  }
  return team ? { team, only: !other } : undefined;
}

/** Whether a directive's recipient covers the actor: their team (home or by membership), their organisation, or the whole network. */
export function directiveCoversActor(d: Directive, actor: Actor, memberTeams: readonly TeamMembershipFact[] = []): boolean {
  if (d.recipientKind === 'team')
    return d.recipientId !== null && (d.recipientId === actor.teamId || memberTeams.some((t) => t.teamId === d.recipientId));
  if (d.recipientKind === 'organisation') return d.recipientId !== null && d.recipientId === actor.organisationId;
  return true;
}

const ownWord = (d: Directive) => d.recordedFor !== 'practitioner';

/**
 * The person's word for this actor, category and purpose. Choices the person (or their proxy)
 * made themselves outrank what a practitioner recorded on their behalf, whenever each was made:
 * a referrer's note that the person agreed never overrides the person's own "do not share".
 * Within the same rank, the latest choice counts, so a refusal given after a permission always
 * takes effect, and an exception given after a refusal does too.
 */
export function applicableDirective(
  directives: Directive[],
  actor: Actor,
  category: Category,
  purpose: Purpose,
  now: Date,
  memberTeams: readonly TeamMembershipFact[] = [],
): Directive | undefined {
  let latest: Directive | undefined;
  for (const d of directives) {
    if (!isActive(d, now)) continue;
    if (d.category !== category && d.category !== '*') continue;
    if (!d.purposes.includes(purpose)) continue;
    if (!directiveCoversActor(d, actor, memberTeams)) continue;
    if (!latest) {
      latest = d;
      continue;
    }
    if (ownWord(d) !== ownWord(latest)) {
      if (ownWord(d)) latest = d;
      continue;
    }
    if (d.recordedAt > latest.recordedAt || (d.recordedAt.getTime() === latest.recordedAt.getTime() && d.id > latest.id)) latest = d;
  }
  return latest;
}

function practitionerDecision(actor: Actor, category: Category, purpose: Purpose, facts: AccessFacts): CategoryDecision {
  const decision = practitionerDecisionOnFacts(actor, category, purpose, facts);
  if (decision.scope === 'none' || decision.basis === 'break_glass') return decision;
  // Duty cover: say (in the audit, and so to the person) that the way in was the team's relationship.
  const via = throughTeam(actor, facts);
  return via
    ? {
        ...decision,
        reason: `${decision.reason} (${via.only ? '' : 'also '}through the relationship of care held by ${via.team.name}, as a member of the team)`,
      }
    : decision;
}

function practitionerDecisionOnFacts(actor: Actor, category: Category, purpose: Purpose, facts: AccessFacts): CategoryDecision {
  if (!actor.organisationId) return deny(category, purpose, 'your account is not linked to an organisation');
  if (purpose !== 'direct_care' && purpose !== 'care_coordination' && purpose !== 'safeguarding') {
    return deny(category, purpose, `practitioners cannot open a person's record for ${purpose}`);
  }
  if (facts.breakGlassUntil && facts.breakGlassUntil > facts.now) {
    return {
      category,
      purpose,
      scope: 'all',
      basis: 'break_glass',
      reason: 'emergency access (break-glass), reported to the person and the privacy officer',
    };
  }
  const related = actorRelationships(actor, facts).length > 0 || facts.organisationHoldsRecord;
  if (!related)
    return deny(
      category,
      purpose,
      "no legitimate relationship: you, your team and your organisation are not involved in this person's care",
    );

  const basis = facts.lawfulBases.find(
    (b) =>
      isActive(b, facts.now) &&
      (b.category === category || b.category === '*') &&
      b.purpose === purpose &&
      (b.organisationId === null || b.organisationId === actor.organisationId),
  );
  if (basis) {
    return {
      category,
      purpose,
      scope: 'all',
      basis: 'lawful_basis',
      reason: `shared without consent on a lawful basis (${basis.basis.replace(/_/g, ' ')})`,
    };
  }
  if (purpose === 'safeguarding') {
    return {
      category,
      purpose,
      scope: 'own_organisation',
      basis: 'own_records',
      reason: 'no safeguarding basis is recorded: you see what your organisation recorded',
    };
  }
  // A restriction outranks any sharing choice: the person asked for it, and the owner agreed.
  // A lawful basis (above) and break-glass still apply, as Art. 18(2) allows.
  if (facts.restrictions?.some((r) => r.category === category && r.organisationId !== actor.organisationId)) {
    return {
      category,
      purpose,
      scope: 'own_organisation',
      basis: 'own_records',
      reason: 'the person asked for this to be restricted: you see what your organisation recorded',
    };
  }
  const directive = applicableDirective(facts.directives, actor, category, purpose, facts.now, facts.memberTeams);
  if (directive?.decision === 'permit') {
    return { category, purpose, scope: 'all', basis: 'consent', reason: 'the person agreed to share this with you' };
  }
  if (directive?.decision === 'deny') {
    return {
      category,
      purpose,
      scope: 'own_organisation',
      basis: 'own_records',
      reason: 'the person has asked for this not to be shared with you: you see what your organisation recorded',
    };
  }
  if (category === 'demographics') {
    return {
      category,
      purpose,
      scope: 'all',
      basis: 'identification',
      reason: 'basic details identify the person to those involved in their care',
    };
  }
  return {
    category,
    purpose,
    scope: 'own_organisation',
    basis: 'own_records',
    reason: 'the person has not agreed to share this with you: you see what your organisation recorded',
  };
}

export function decideCategory(actor: Actor, personId: string, category: Category, purpose: Purpose, facts: AccessFacts): CategoryDecision {
  switch (actor.role) {
    case 'citizen': {
      if (purpose !== 'self') return deny(category, purpose, 'citizens use their own record for themselves only');
      const self = actor.personId === personId;
      if (!self && facts.proxyScope === null)
        return deny(category, purpose, 'a citizen may see only their own record, or that of someone they are a registered proxy for');
      // Safeguarding concerns stay with the professionals protecting the person until one of
      // them decides it is safe for the person (and so their family) to see them.
      if (category === 'children_safeguarding' && !facts.safeguardingReleased) {
        return deny(
          category,
          purpose,
          'safeguarding information is shared with the person and their family only when a practitioner releases it',
        );
      }
      if (self) return { category, purpose, scope: 'all', basis: 'self', reason: 'the person viewing their own record' };
      if (category !== 'children_safeguarding' && !facts.proxyScope!.includes(category)) {
        return deny(category, purpose, "this is outside what you may see as the person's proxy");
      }
      return { category, purpose, scope: 'all', basis: 'proxy', reason: 'acting for the person as their registered proxy' };
    }
    case 'practitioner':
      return practitionerDecision(actor, category, purpose, facts);
    case 'data_quality':
      // Reviewers compare a candidate pair on the review page; they never open a person's record.
      if (purpose !== 'identity_review')
        return deny(
          category,
          purpose,
          `purpose ${purpose} is not open to data quality reviewers: they compare records on the review page only`,
        );
      if (category !== 'demographics') return deny(category, purpose, 'data quality reviewers see identifying details only');
      if (facts.inReviewQueue)
        return { category, purpose, scope: 'all', basis: 'review_queue', reason: 'the person is in the linkage review queue' };
      if (facts.inUndoableMerge)
        return {
          category,
          purpose,
          scope: 'all',
          basis: 'merge_review',
          reason: 'the person is in a merge of person records that can still be undone',
        };
      return deny(
        category,
        purpose,
        'data quality reviewers see only people in the linkage review queue, or in a merge that can still be undone',
      );
    case 'privacy_officer':
    case 'manager':
    case 'admin':
      return deny(category, purpose, `the ${actor.role.replace(/_/g, ' ')} role sees aggregate figures only`);
  }
}
