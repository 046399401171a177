// What auth asks of the modules above it (notify, interop, consent), without importing them. Auth
// owns these types; the composition root (src/app.ts, src/cli.ts) answers them with those modules'
// functions and passes them in, to the routes and commands and on to the use cases that need one,
// so auth sits below those modules and never loads them.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

/** An account email: to an account (its address as it is when sent) or to an address, with its words. */
export type AccountEmail = ({ userId: string } | { email: string }) & { subject: string; body: string };

export interface AuthPorts {
  /**
   * Queues an account email (a password reset, a sign-up link, a changed-address notice) in the
   * transaction given, sent whatever the account's notification preferences (notify's outbox).
   */
  sendAccountEmail: (tx: Kysely<Database>, email: AccountEmail, now: Date) => Promise<unknown>;
  /** Revokes every live API token of the account, in the transaction given: how many were revoked. */
  revokeApiTokens: (db: Kysely<Database>, userId: string) => Promise<number>;
  /**
   * NHS login proved to P9 that the holder of `userId` (an account made from a request for help,
   * tied to no person) is `personId`: consent makes the account theirs and audits it, in the
   * transaction given (consent alone creates facts that grant access). False when it cannot be.
   */
  confirmIdentityByNhsLogin: (trx: Transaction<Database>, input: { userId: string; personId: string }) => Promise<boolean>;
}
