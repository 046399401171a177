// What a resident typed when asking for help themselves, read and copied by the closed loop
// (referrals.ts) and the pages: kept apart from self-referral.ts so the loop's own file does not
// import the resident's forms. Eligibility for a request made without signing in is judged on
// these typed details, never on the record the person index found.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { ageOn, personFacts, type PersonFacts } from './eligibility.ts';
import { ukDate } from './working-days.ts';
import { localityOfPostcode } from '../place/index.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function newSubmissionKey(): string {
  return randomUUID();
}

/** "SR-4KXW-9PQM": short enough to read out on the phone, no 0/O or 1/I to confuse. */
export function newReference(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(8);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return `SR-${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

/** Who the typed details say the person is, for eligibility: their age and the area of their postcode. */
export async function factsFromDetails(
  db: Db,
  details: { birthDate: string | null; postcode: string | null },
  now: Date = new Date(),
): Promise<PersonFacts> {
  const area = details.postcode ? await localityOfPostcode(db, details.postcode) : undefined;
  return {
    age: details.birthDate ? ageOn(details.birthDate, ukDate(now)) : null,
    localityId: area?.localityId ?? null,
    localityName: area?.localityName ?? null,
  };
}

/**
 * The facts eligibility is judged on for a self-made referral: what was typed when it was made
 * without signing in (never the record the person index found), the person's record otherwise.
 */
export async function eligibilityFactsOf(
  db: Db,
  referral: { id: string; person_id: string; kind: string; relationship_id: number | null },
  now: Date = new Date(),
): Promise<PersonFacts> {
  if (referral.kind !== 'professional' && referral.relationship_id === null) {
    const d = await db
      .selectFrom('referral_self_details')
      .select(['birth_date', 'postcode'])
      .where('referral_id', '=', referral.id)
      .executeTakeFirst();
    if (d) return factsFromDetails(db, { birthDate: d.birth_date ? String(d.birth_date).slice(0, 10) : null, postcode: d.postcode }, now);
  }
  return personFacts(db, referral.person_id, now);
}

/** The details a resident typed, for the receiving service (and the resident) to read. */
export async function selfDetailsOf(db: Db, referralId: string) {
  const row = await db.selectFrom('referral_self_details').selectAll().where('referral_id', '=', referralId).executeTakeFirst();
  if (!row) return undefined;
  return { ...row, birth_date: row.birth_date ? String(row.birth_date).slice(0, 10) : null, needs: (row.needs ?? []) as string[] };
}

/** Copies what the resident typed to an onward referral (a decline handing it on), under a reference of its own. */
export async function copySelfDetails(trx: Transaction<Database>, fromReferralId: string, toReferralId: string): Promise<void> {
  const d = await trx.selectFrom('referral_self_details').selectAll().where('referral_id', '=', fromReferralId).executeTakeFirst();
  if (!d) return;
  await trx
    .insertInto('referral_self_details')
    .values({
      ...d,
      referral_id: toReferralId,
      reference: newReference(),
      submission_key: newSubmissionKey(),
      created_at: undefined,
      needs: sql<string[]>`${JSON.stringify(d.needs ?? [])}::jsonb`,
    })
    .execute();
}
