// Who may make a choice about a person's record: the person themselves, or someone registered to
// act for them whose scope covers the information concerned. Every write of the rights in this
// module (objections, restriction and erasure requests, the informal network) passes here, in
// the transaction it runs in, so a route that forgot to check still cannot act for someone else.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { HttpError } from '../platform/http.ts';
import { RefusedInput } from '../platform/refused.ts';
import { decideRecordAccess } from './access.ts';
import type { Category } from './categories.ts';

/** The transaction a write of a person's choice runs in: the caller's (see CONTRIBUTING.md, Transactions). */
export type Trx = Transaction<Database>;

/** A form the person filled in that cannot be accepted: names the field, keeps the page. */
export class RightsInputError extends RefusedInput {
  override name = 'RightsInputError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(400, message);
    this.field = field;
  }
}

/** The person, or their proxy, may act; anyone else is refused (and the refusal is audited by the decision). */
export async function actingFor(
  db: Kysely<Database>,
  actor: SignedInUser,
  personId: string,
  category: Category = 'demographics',
): Promise<'person' | 'proxy'> {
  if (actor.role !== 'citizen') throw new HttpError(403, 'Only the person, or someone registered to act for them, can make this choice.');
  const access = await decideRecordAccess(db, {
    actor,
    personId,
    categories: [category],
    purpose: 'self',
    action: 'write',
  });
  if (access.byCategory[category].scope !== 'all')
    throw new HttpError(403, 'You can only make choices for your own record, or for someone you are a registered proxy for.');
  return actor.personId === personId ? 'person' : 'proxy';
}
