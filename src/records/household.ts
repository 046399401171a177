// The household view: members, how they are related, address history, and each member's
// current needs, each shown only as far as the reader may see that member's record.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { categories, decideRecordAccessForMany } from '../consent/index.ts';
import { ageOn } from '../people/index.ts';
import { currentNeeds } from '../people/index.ts';
import { buildSharedRecord } from '../consent/index.ts';
import { householdDetails, householdOfPerson, relationshipsAmong } from '../people/index.ts';

export interface HouseholdMemberView {
  personId: string;
  visible: boolean;
  name: string | null;
  age: number | null;
  needs: Array<{ code: string; organisation: string }>;
  relationships: Array<{ type: string; to: string }>;
}

export interface HouseholdView {
  id: string;
  composition: string;
  tenure: string;
  addressLine: string;
  postcode: string;
  addresses: Array<{ addressLine: string; postcode: string; from: string | null; to: string | null }>;
  members: HouseholdMemberView[];
  hiddenMembers: number;
}

export async function householdOf(db: Kysely<Database>, personId: string): Promise<string | null> {
  return householdOfPerson(db, personId);
}

/** Returns undefined when the reader may see no member of the household (or it does not exist). */
export async function householdView(db: Kysely<Database>, user: SignedInUser, householdId: string): Promise<HouseholdView | undefined> {
  const household = await householdDetails(db, householdId);
  if (!household) return undefined;
  const people = household.members;
  const purpose = user.role === 'citizen' ? 'self' : 'direct_care';
  const today = new Date();
  const members: HouseholdMemberView[] = [];
  const decided = await decideRecordAccessForMany(db, {
    actor: user,
    personIds: people.map((p) => p.id),
    categories,
    purpose,
    action: 'read',
  });
  for (const p of people) {
    const access = decided.get(p.id)!;
    const visible = access.byCategory.demographics.scope !== 'none';
    let needs: HouseholdMemberView['needs'] = [];
    if (visible) {
      const view = buildSharedRecord(access.byCategory, user.organisationId, {
        needs: await currentNeeds(db, p.id, 'all'),
        events: [],
        agencies: [],
      });
      needs = view.sections.flatMap((s) => s.needs.map((n) => ({ code: n.code, organisation: n.organisation })));
    }
    members.push({
      personId: p.id,
      visible,
      name: visible ? `${p.givenName} ${p.familyName}` : null,
      age: visible ? ageOn(p.birthDate, today) : null,
      needs,
      relationships: [],
    });
  }
  const visibleIds = new Set(members.filter((m) => m.visible).map((m) => m.personId));
  if (visibleIds.size === 0) return undefined;
  const relationships = await relationshipsAmong(db, [...visibleIds]);
  const names = new Map(members.map((m) => [m.personId, m.name ?? '']));
  for (const member of members) {
    member.relationships = relationships
      .filter((r) => r.personId === member.personId)
      .map((r) => ({ type: r.type.replace(/_/g, ' '), to: names.get(r.relatedPersonId) ?? '' }));
  }
  return {
    id: household.id,
    composition: household.composition,
    tenure: household.tenure,
    addressLine: household.addressLine,
    postcode: household.postcode,
    addresses: household.addresses,
    members: members.filter((m) => m.visible),
    hiddenMembers: members.filter((m) => !m.visible).length,
  };
}
