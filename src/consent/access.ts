// The one access decision every read and write of personal data passes through.
// It loads the facts (relationships of care, the person's sharing directives, lawful bases,
// break-glass, proxies) in one query, applies the pure policy in consent/policy.ts per category,
// and writes every decision, allow or deny, to the audit log with its reason.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit, type AuditEntry } from '../audit/index.ts';
import { personInReviewQueue, personInUndoableMerge } from '../linkage/index.ts';
import { loadAccessFacts, loadAccessFactsForMany, prefetchedAccessFacts } from './facts.ts';
import { decideCategory, type AccessFacts, type Actor, type CategoryDecision } from './policy.ts';
import { categories, purposes, type Category, type Purpose } from './categories.ts';

export { categories, purposes, type Category, type Purpose };

export type AccessAction = 'read' | 'write' | 'export' | 'search' | 'list';

export interface RecordAccessRequest {
  actor: SignedInUser;
  personId: string;
  categories: readonly Category[];
  purpose: Purpose;
  action: AccessAction;
}

export interface RecordAccess {
  /** True when at least one category may be seen (in full or the actor's own organisation's part). */
  allowed: boolean;
  byCategory: Record<Category, CategoryDecision>;
  /** The reason of the first requested category: what a refusal page says. */
  reason: string;
  /** Whether an active break-glass grant is what allows access. */
  breakGlass: boolean;
}

export function actorOf(user: SignedInUser): Actor {
  return {
    userId: user.id,
    role: user.role,
    personId: user.personId,
    organisationId: user.organisationId,
    teamId: user.teamId,
    practitionerId: user.practitionerId,
  };
}

/** What only a data-quality reviewer's decision needs: whether the person is in the review queue or an undoable merge. */
async function identityReviewFacts(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
): Promise<{ inReviewQueue: boolean; inUndoableMerge: boolean }> {
  if (user.role !== 'data_quality') return { inReviewQueue: false, inUndoableMerge: false };
  const [inReviewQueue, inUndoableMerge] = await Promise.all([personInReviewQueue(db, personId), personInUndoableMerge(db, personId)]);
  return { inReviewQueue, inUndoableMerge };
}

const noFacts = (now: Date) => ({
  now,
  relationships: [],
  organisationHoldsRecord: false,
  directives: [],
  lawfulBases: [],
  breakGlassUntil: null,
  proxyScope: null,
  safeguardingReleased: false,
});

/** The policy over loaded facts, and the audit entries its decisions make (appended by the caller). */
function decide(
  request: Omit<RecordAccessRequest, 'personId'>,
  personId: string,
  facts: AccessFacts,
): { access: RecordAccess; audit: AuditEntry[] } {
  const { actor: user, purpose } = request;
  const actor = actorOf(user);
  const byCategory = {} as Record<Category, CategoryDecision>;
  for (const category of request.categories) byCategory[category] = decideCategory(actor, personId, category, purpose, facts);
  const decisions = request.categories.map((c) => byCategory[c]);
  const audit = decisions.map((d) => ({
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: user.organisationId,
    action: request.action,
    personId,
    category: d.category,
    purpose,
    decision: d.scope === 'none' ? ('deny' as const) : ('allow' as const),
    reason: d.scope === 'own_organisation' ? `${d.reason} (own organisation's entries only)` : d.reason,
  }));
  return {
    access: {
      allowed: decisions.some((d) => d.scope !== 'none'),
      byCategory,
      reason: decisions[0]?.reason ?? 'nothing was asked for',
      breakGlass: decisions.some((d) => d.basis === 'break_glass'),
    },
    audit,
  };
}

const needsFacts = (user: SignedInUser) => user.role === 'citizen' || user.role === 'practitioner';

/** Decides access to several categories of one person's record at once, auditing each. */
export async function decideRecordAccess(
  db: Kysely<Database>,
  request: RecordAccessRequest,
  now: Date = new Date(),
): Promise<RecordAccess> {
  const { actor: user, personId } = request;
  const baseFacts = needsFacts(user) ? await loadAccessFacts(db, actorOf(user), personId, now) : noFacts(now);
  const { access, audit } = decide(request, personId, { ...baseFacts, ...(await identityReviewFacts(db, user, personId)) });
  await appendAudit(db, ...audit);
  return access;
}

/**
 * Decides, runs `read` with the decision, and writes the decision's audit events together with
 * what the surface then showed (`disclosure`: one "disclose" event per category shown, as
 * recordDisclosure writes) in one append, returning once it is durable. Nothing read reaches the
 * reader before both are on the record: if the audit fails, this throws and the data is
 * dropped. If `read` fails, the decision is still audited before the failure is passed on. One
 * append instead of two halves the page's writes to the chain head. `read` gets the decision
 * and must itself read nothing it does not allow. `prefetched` is what the request's session
 * look-up carried (accessFactsBesideSession): the facts, read in that statement, are used when
 * they are about this actor and person, and loaded afresh otherwise.
 */
export async function decideRecordAccessAndRead<T>(
  db: Kysely<Database>,
  request: RecordAccessRequest,
  read: (access: RecordAccess) => Promise<T>,
  disclosure?: { surface: string; shown: (data: T, access: RecordAccess) => Iterable<Category> },
  prefetched?: unknown,
): Promise<{ access: RecordAccess; data: T }> {
  const { actor: user, personId } = request;
  const carried = needsFacts(user) && prefetched !== undefined ? prefetchedAccessFacts(prefetched, actorOf(user), personId) : undefined;
  const now = carried?.now ?? new Date();
  const baseFacts = carried ? carried.facts : needsFacts(user) ? await loadAccessFacts(db, actorOf(user), personId, now) : noFacts(now);
  const { access, audit } = decide(request, personId, { ...baseFacts, ...(await identityReviewFacts(db, user, personId)) });
  let data: T;
  try {
    data = await read(access);
  } catch (error) {
    await appendAudit(db, ...audit);
    throw error;
  }
  const shown = disclosure ? disclosureEntries(user, personId, request.purpose, disclosure.shown(data, access), disclosure.surface) : [];
  await appendAudit(db, ...audit, ...shown);
  return { access, data };
}

/**
 * The same decision for several people at once (a page of search results): the facts for all of
 * them in one query, the same policy for each, and every decision audited in one append.
 */
export async function decideRecordAccessForMany(
  db: Kysely<Database>,
  request: Omit<RecordAccessRequest, 'personId'> & { personIds: readonly string[] },
  now: Date = new Date(),
): Promise<Map<string, RecordAccess>> {
  const { actor: user, personIds } = request;
  const loaded = needsFacts(user)
    ? await loadAccessFactsForMany(db, actorOf(user), personIds, now)
    : new Map<string, ReturnType<typeof noFacts>>();
  const result = new Map<string, RecordAccess>();
  const audit: AuditEntry[] = [];
  for (const personId of personIds) {
    if (result.has(personId)) continue;
    const baseFacts = loaded.get(personId) ?? noFacts(now);
    const decided = decide(request, personId, { ...baseFacts, ...(await identityReviewFacts(db, user, personId)) });
    result.set(personId, decided.access);
    audit.push(...decided.audit);
  }
  await appendAudit(db, ...audit);
  return result;
}

export interface AccessRequest {
  actor: SignedInUser;
  personId: string;
  category: Category;
  purpose: Purpose;
  action: AccessAction;
}

export interface AccessDecision {
  allowed: boolean;
  reason: string;
  /** The organisations whose entries may be shown: every one, or only the actor's own. */
  visibleOrganisationIds: string[] | 'all';
}

/** One category: the common case for a single page or API read. */
export async function decideAccess(db: Kysely<Database>, request: AccessRequest): Promise<AccessDecision> {
  const access = await decideRecordAccess(db, { ...request, categories: [request.category] });
  const decision = access.byCategory[request.category];
  return {
    allowed: decision.scope !== 'none',
    reason: decision.reason,
    visibleOrganisationIds:
      decision.scope === 'all'
        ? 'all'
        : decision.scope === 'own_organisation' && request.actor.organisationId
          ? [request.actor.organisationId]
          : [],
  };
}

/**
 * What a surface actually showed, once it is built: one event per category shown (action
 * "disclose"), after the decision's own events. The decision says what the reader may see; this
 * says what they saw, which is what the person is told in "who looked" (a category the reader may
 * see only their own organisation's entries of, and where it had none, was not looked at).
 */
export async function recordDisclosure(
  db: Kysely<Database>,
  actor: SignedInUser,
  personId: string,
  purpose: Purpose,
  shown: Iterable<Category>,
  surface: string,
): Promise<void> {
  const entries = disclosureEntries(actor, personId, purpose, shown, surface);
  if (entries.length > 0) await appendAudit(db, ...entries);
}

/** The "disclose" events for what a surface showed, one per category, in the categories' order. */
function disclosureEntries(
  actor: SignedInUser,
  personId: string,
  purpose: Purpose,
  shown: Iterable<Category>,
  surface: string,
): AuditEntry[] {
  const wanted = new Set(shown);
  return categories
    .filter((c) => wanted.has(c))
    .map((category) => ({
      actorUserId: actor.id,
      actorRole: actor.role,
      actorOrganisationId: actor.organisationId,
      action: 'disclose',
      personId,
      category,
      purpose,
      decision: 'allow',
      reason: `shown on ${surface}`,
    }));
}
