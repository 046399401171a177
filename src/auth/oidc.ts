// Who an OpenID Connect sign-in is, by one rule for an organisation's single sign-on and for an
// NHS login-style provider. An account is found by the provider's subject (users.oidc_subject);
// failing that, a staff account by the configured username claim (an email address only when the
// provider says it is verified); failing that, a resident's existing account is tied to this
// subject once, and only when the provider proved who they are to P9 and its NHS number and date
// of birth name exactly one live person, who has exactly one resident account not yet tied to
// another subject. Nothing else signs anyone in, and no account is ever created here.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { peopleWithVerifiedIdentity } from '../people/index.ts';
import { findUserForOidc, type SignedInUser } from './accounts.ts';

/** The claims Joinery reads, from the ID token and the provider's userinfo. */
export interface OidcClaims {
  sub: string;
  [claim: string]: unknown;
}

/** Why no account was found, which decides what the person is told to do. */
export type OidcRefusal =
  /** No account has this subject or username, and the provider gave no NHS number: staff not set up. */
  | 'not_set_up'
  /** An NHS number was given, but identity was proved below P9 (or not said). */
  | 'not_proved'
  /** Proved to P9, but no live person with that NHS number and date of birth has a resident account. */
  | 'no_account'
  /** Proved to P9, but the match is not one person with one free account: a person decides, not the code. */
  | 'not_certain';

export type OidcSignIn =
  { outcome: 'signed_in'; user: SignedInUser; linked: boolean } | { outcome: 'disabled' } | { outcome: 'refused'; reason: OidcRefusal };

/** NHS login's level for a fully verified identity (P9: checked in person or by photo ID and a face scan). */
export const REQUIRED_PROOFING_LEVEL = 'P9';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= 320 ? value : undefined;

/** The username the provider vouches for: the claim named in config; an email address only when verified. */
export function vouchedUsername(claims: OidcClaims, usernameClaim: string): string | undefined {
  const value = text(claims[usernameClaim]);
  if (!value) return undefined;
  // An unverified email claim can be typed by anyone at many providers: it names nobody.
  if (usernameClaim === 'email' && claims.email_verified !== true) return undefined;
  return value;
}

/**
 * Someone signed in to an account made from a request for help (tied to no person) who proves who
 * they are with NHS login: when the proof names one live person with no resident account, the
 * consent module ties that account to them (`confirm`, which decides and audits the fact).
 */
export interface UnconfirmedAccountProof {
  userId: string;
  confirm: (trx: Transaction<Database>, input: { userId: string; personId: string }) => Promise<boolean>;
}

export async function signInWithOidc(
  db: Kysely<Database>,
  claims: OidcClaims,
  usernameClaim: string,
  unconfirmed?: UnconfirmedAccountProof,
): Promise<OidcSignIn> {
  const found = await findUserForOidc(db, claims.sub, vouchedUsername(claims, usernameClaim));
  if (found.outcome === 'signed_in') return { ...found, linked: false };
  if (found.outcome === 'disabled') return found;

  const nhsNumber = text(claims.nhs_number)?.replace(/\s/g, '');
  if (!nhsNumber) return { outcome: 'refused', reason: 'not_set_up' };
  if (claims.identity_proofing_level !== REQUIRED_PROOFING_LEVEL) return { outcome: 'refused', reason: 'not_proved' };
  const birthDate = text(claims.birthdate);
  const people = birthDate ? await peopleWithVerifiedIdentity(db, nhsNumber, birthDate) : [];
  if (people.length === 0) return { outcome: 'refused', reason: 'no_account' };
  if (people.length > 1) return refusedUncertain(db, 'more than one person has the NHS number and date of birth');

  return db.transaction().execute(async (trx) => {
    const accounts = await trx
      .selectFrom('users')
      .select(['id', 'oidc_subject', 'disabled_at'])
      .where('person_id', '=', people[0]!)
      .where('role', '=', 'citizen')
      .orderBy('id')
      .forUpdate()
      .execute();
    if (accounts.length === 0) {
      if (!unconfirmed || !(await unconfirmed.confirm(trx, { userId: unconfirmed.userId, personId: people[0]! })))
        return { outcome: 'refused', reason: 'no_account' } as const;
      accounts.push({ id: unconfirmed.userId, oidc_subject: null, disabled_at: null });
    }
    if (accounts.length > 1) return refusedUncertain(trx, 'the person has more than one resident account');
    const account = accounts[0]!;
    if (account.oidc_subject !== null) return refusedUncertain(trx, `account ${account.id} is already tied to another sign-in`);
    if (account.disabled_at) return { outcome: 'disabled' } as const;
    await trx
      .updateTable('users')
      .set({ oidc_subject: claims.sub })
      .where('id', '=', account.id)
      .where('oidc_subject', 'is', null)
      .execute();
    await appendAudit(trx, {
      actorUserId: account.id,
      actorRole: 'citizen',
      actorOrganisationId: null,
      action: 'link_oidc_subject',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `account ${account.id} tied to its OpenID sign-in by an NHS number and date of birth proved to ${REQUIRED_PROOFING_LEVEL}`,
    });
    const linked = await findUserForOidc(trx, claims.sub, undefined);
    return linked.outcome === 'signed_in'
      ? { ...linked, linked: true }
      : linked.outcome === 'disabled'
        ? linked
        : ({ outcome: 'refused', reason: 'no_account' } as const);
  });
}

async function refusedUncertain(db: Kysely<Database>, why: string): Promise<OidcSignIn> {
  await appendAudit(db, {
    actorUserId: null,
    actorRole: null,
    actorOrganisationId: null,
    action: 'link_oidc_subject',
    personId: null,
    category: null,
    purpose: null,
    decision: 'failure',
    reason: `an OpenID sign-in proved to ${REQUIRED_PROOFING_LEVEL} was not tied to an account: ${why}`,
  });
  return { outcome: 'refused', reason: 'not_certain' };
}
