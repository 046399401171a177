// The interop module's front door: bearer tokens other modules end with an account.
export { revokeTokensOfUser } from './tokens.ts';
