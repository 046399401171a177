// What auth asks of the modules above it (notify, interop, consent), without importing them. Auth
// owns these types; the composition root (src/app.ts, src/cli.ts) answers them with those modules'
// functions and passes them in, to the routes and commands and on to the use cases that need one,
// so auth sits below those modules and never loads them.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface AuthPorts {
  /** Revokes every live API token of the account, in the transaction given: how many were revoked. */
  revokeApiTokens: (db: Kysely<Database>, userId: string) => Promise<number>;
}
