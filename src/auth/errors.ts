// The auth module's refusal, in a file of its own that imports no module: the classes that
// extend it (account-admin.ts) are defined while modules load, and accounts.ts, which ends an
// account, sits in a load-order loop with interop (its tokens) that would otherwise leave the
// class undefined at that moment.
import { RefusedInput } from '../platform/refused.ts';

export class AccountInputError extends RefusedInput {
  override name = 'AccountInputError';
}
