// "Who can see what now", at the top of the person's sharing page: for each organisation
// involved in their care (a relationship, a record it holds, a lawful basis naming it), which
// kinds of information its practitioners can see today, and why, worked out by the same policy
// the access decision uses, from the person's own facts. Nothing is audited: no record is read.
// Each group carries its categories and its reason as codes too, so a page writes the sentence in
// the reader's language from its catalogue; the English words stay for exports and tests.
import type { Kysely } from 'kysely';
import { agenciesHoldingPerson } from '../linkage/index.ts';
import { allOrganisations } from '../network/index.ts';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { loadAccessFacts } from './facts.ts';
import { actorOf } from './access.ts';
import { applicableDirective, decideCategory, type AccessFacts, type Actor } from './policy.ts';
import { categories, categoryOfOrganisationKind, categoryPlainWords, type Category } from './categories.ts';

/** Why a group of categories is seen, as a catalogue key (`sharing.why.<kind>`) and, for the law, which basis. */
export type SharingReason = { kind: 'identification' | 'agreed' | 'refused' | 'notAgreed' } | { kind: 'lawfulBasis'; basis: string };

export interface SeenGroup {
  /** Plain words, each once. */
  categories: string[];
  /** The categories themselves, in the same order. */
  codes: Category[];
  /** The same as a phrase: "health, housing and plans". */
  phrase: string;
  why: string;
  reason: SharingReason;
}

export interface OrganisationSharing {
  organisationId: string;
  organisation: string;
  /** What its practitioners can see in full: every agency's entries. */
  canSee: SeenGroup[];
  /** What they see only their own organisation's entries of. */
  ownOnly: SeenGroup[];
}

interface Organisation {
  id: string;
  name: string;
  kind: string;
}

const asWords = (list: Category[]) => categories.filter((c) => list.includes(c)).map((c) => categoryPlainWords[c]);
const asPhrase = (words: string[]) =>
  words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;

/**
 * The policy's answer for a practitioner of each organisation, caring for the person directly,
 * for every category `viewerMaySee` allows (what the viewer may not see is not mentioned).
 */
export function summariseSharing(
  personId: string,
  facts: Awaited<ReturnType<typeof loadAccessFacts>>,
  organisations: readonly Organisation[],
  viewerMaySee: (category: Category) => boolean,
): OrganisationSharing[] {
  const shown = categories.filter(viewerMaySee);
  return organisations.map((org) => {
    const actor: Actor = {
      userId: 'sharing-summary',
      role: 'practitioner',
      personId: null,
      organisationId: org.id,
      teamId: null,
      practitionerId: null,
    };
    // A practitioner of the organisation in the person's network, without emergency access; the
    // data-quality reviewer's facts play no part in a practitioner's decision.
    const orgFacts = {
      ...facts,
      relationships: [{ organisationId: org.id, teamId: null, practitionerId: null, kind: 'network' }],
      organisationHoldsRecord: true,
      breakGlassUntil: null,
      proxyScope: null,
      inReviewQueue: false,
      inUndoableMerge: false,
    } as AccessFacts;
    const groups = new Map<string, { full: boolean; list: Category[]; reason: SharingReason }>();
    const add = (why: string, reason: SharingReason, full: boolean, category: Category) => {
      const group = groups.get(why) ?? { full, list: [], reason };
      group.list.push(category);
      groups.set(why, group);
    };
    for (const category of shown) {
      const decision = decideCategory(actor, personId, category, 'direct_care', orgFacts);
      if (decision.scope === 'all') {
        if (decision.basis === 'identification') add('so they know who you are', { kind: 'identification' }, true, category);
        else if (decision.basis === 'lawful_basis') {
          const basis = decision.reason.replace(/^.*\((.*)\)$/, '$1');
          add(`the law allows it without asking you (${basis})`, { kind: 'lawfulBasis', basis: basis.replace(/ /g, '_') }, true, category);
        } else add('you agreed to share it', { kind: 'agreed' }, true, category);
      } else {
        const refused = applicableDirective(orgFacts.directives, actor, category, 'direct_care', facts.now)?.decision === 'deny';
        if (refused) add('you asked for it not to be shared with them', { kind: 'refused' }, false, category);
        else add('you have not agreed to share it', { kind: 'notAgreed' }, false, category);
      }
    }
    const canSee: SeenGroup[] = [];
    const ownOnly: SeenGroup[] = [];
    for (const [why, group] of groups) {
      const codes = categories.filter((c) => group.list.includes(c));
      const words = asWords(group.list);
      (group.full ? canSee : ownOnly).push({ categories: words, codes, phrase: asPhrase(words), why, reason: group.reason });
    }
    return { organisationId: org.id, organisation: org.name, canSee, ownOnly };
  });
}

/** The summary for the sharing page: the person's facts and the organisations involved, then the policy. */
export async function whoCanSeeWhat(
  db: Kysely<Database>,
  viewer: SignedInUser,
  personId: string,
  viewerMaySee: (category: Category) => boolean,
  now: Date = new Date(),
): Promise<OrganisationSharing[]> {
  // The organisations involved: those with a current relationship or a choice in force (both in
  // the facts), and those holding a record (the person index); named and ordered by the network.
  const [facts, holding, directory] = await Promise.all([
    loadAccessFacts(db, actorOf(viewer), personId, now),
    agenciesHoldingPerson(db, personId),
    allOrganisations(db),
  ]);
  const involvedIds = new Set([
    ...facts.relationships.map((r) => r.organisationId),
    ...facts.directives
      .filter((d) => d.recipientKind === 'organisation' && d.withdrawnAt === null && d.recipientId !== null)
      .map((d) => d.recipientId!),
    ...holding.map((h) => h.organisationId),
  ]);
  const involved = directory.filter((o) => involvedIds.has(o.id));
  // Being known to an organisation is itself information of its category (probation is criminal justice).
  const organisations = involved.filter((o) => viewerMaySee(categoryOfOrganisationKind(o.kind)));
  return summariseSharing(personId, facts, organisations, viewerMaySee);
}
