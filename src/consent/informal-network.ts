// The informal network: family, friends, neighbours and community groups the person names as
// able to help, with what the person agrees each may know. They have no account and can see
// nothing in Joinery; this is the person's own record of their choice, kept by the consent
// module because it is a sharing choice, and practitioners (Local Area Coordinators first among
// them) act on it. Only the person, or their proxy, adds or ends a member; nothing is deleted.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { z } from 'zod';
import { choiceOf, requiredText, trimmedText } from '../platform/forms.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { actingFor, type Trx } from './acting.ts';

export const informalKinds = ['family', 'friend', 'neighbour', 'community_group', 'other'] as const;
export type InformalKind = (typeof informalKinds)[number];
export const informalKindLabels: Record<InformalKind, string> = {
  family: 'Family',
  friend: 'Friend',
  neighbour: 'Neighbour',
  community_group: 'Community group',
  other: 'Someone else',
};

/** What the person may agree a member may know, in the person's words. */
export const mayKnowChoices = ['has_plan', 'appointments', 'lead_practitioner', 'how_i_am', 'may_be_contacted'] as const;
export type MayKnow = (typeof mayKnowChoices)[number];
export const mayKnowLabels: Record<MayKnow, string> = {
  has_plan: 'That I have a care plan',
  appointments: 'My appointments',
  lead_practitioner: 'How to reach my lead practitioner',
  how_i_am: 'How I am getting on, in general terms',
  may_be_contacted: 'Practitioners may get in touch with them to help me',
};

export interface InformalMemberInput {
  name: string;
  kind: InformalKind;
  relationship: string;
  contact: string;
  mayKnow: MayKnow[];
}

export interface InformalMember {
  id: number;
  name: string;
  kind: InformalKind;
  kindLabel: string;
  relationship: string;
  contact: string;
  mayKnow: MayKnow[];
  mayKnowLabels: string[];
  mayBeContacted: boolean;
  addedAt: Date;
  endedAt: Date | null;
  byProxy: boolean;
}

/** Someone in the person's informal network, as the person adds them; every problem is reported at once, each with its field. */
export const informalMemberForm = z
  .object({
    name: requiredText('Enter their name, or the name of the group, in up to 120 characters', { max: 120 }),
    kind: choiceOf('Choose who they are to you', informalKinds),
    relationship: trimmedText.pipe(z.string().max(120, 'How they know you must be 120 characters or fewer')),
    contact: requiredText('Enter how to get in touch with them, for example a phone number, in 3 to 200 characters', { min: 3, max: 200 }),
    mayKnow: z.preprocess(
      (mayKnow) => (Array.isArray(mayKnow) ? mayKnow : mayKnow === undefined ? [] : [mayKnow]),
      z
        .array(z.unknown())
        .refine(
          (mayKnow) => mayKnow.every((m) => (mayKnowChoices as readonly unknown[]).includes(m)),
          'Choose what they may know from the list',
        ),
    ),
  })
  .transform((form): InformalMemberInput => ({
    name: form.name,
    kind: form.kind as InformalKind,
    relationship: form.relationship,
    contact: form.contact,
    mayKnow: [...new Set(form.mayKnow as MayKnow[])],
  }));

/** Adds a member for the person (the person or their proxy only); returns its id. */
export async function addInformalMember(trx: Trx, actor: SignedInUser, personId: string, input: InformalMemberInput): Promise<number> {
  const addedFor = await actingFor(trx, actor, personId, 'about_me');
  const row = await trx
    .insertInto('informal_network_members')
    .values({
      person_id: personId,
      name: input.name,
      kind: input.kind,
      relationship: input.relationship,
      contact: input.contact,
      may_know: input.mayKnow,
      added_by: actor.id,
      added_for: addedFor,
      ended_at: null,
      ended_by: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: null,
    action: 'write',
    personId,
    category: 'about_me',
    purpose: 'self',
    decision: 'success',
    reason: 'named someone in their informal network',
  });
  return Number(row.id);
}

/** Ends a member (the person or their proxy only); false when there is no such member in force. */
export async function endInformalMember(trx: Trx, actor: SignedInUser, personId: string, memberId: number): Promise<boolean> {
  await actingFor(trx, actor, personId, 'about_me');
  const result = await trx
    .updateTable('informal_network_members')
    .set({ ended_at: new Date(), ended_by: actor.id })
    .where('id', '=', memberId)
    .where('person_id', '=', personId)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: null,
    action: 'write',
    personId,
    category: 'about_me',
    purpose: 'self',
    decision: 'success',
    reason: 'removed someone from their informal network',
  });
  return true;
}

/**
 * The person's informal network, current members first. It is part of "about me", so callers
 * show it only to a reader the access decision lets see that category in full.
 */
export async function informalNetworkOf(db: Kysely<Database>, personId: string, includeEnded = false): Promise<InformalMember[]> {
  let q = db
    .selectFrom('informal_network_members')
    .select(['id', 'name', 'kind', 'relationship', 'contact', 'may_know', 'added_at', 'ended_at', 'added_for'])
    .where('person_id', '=', personId);
  if (!includeEnded) q = q.where('ended_at', 'is', null);
  const rows = await q.orderBy('ended_at', 'desc').orderBy('added_at').orderBy('id').execute();
  return rows.map((r) => {
    const mayKnow = r.may_know.filter((m): m is MayKnow => (mayKnowChoices as readonly string[]).includes(m));
    return {
      id: Number(r.id),
      name: r.name,
      kind: r.kind,
      kindLabel: informalKindLabels[r.kind],
      relationship: r.relationship,
      contact: r.contact,
      mayKnow,
      mayKnowLabels: mayKnow.map((m) => mayKnowLabels[m]),
      mayBeContacted: mayKnow.includes('may_be_contacted'),
      addedAt: r.added_at,
      endedAt: r.ended_at,
      byProxy: r.added_for === 'proxy',
    };
  });
}
