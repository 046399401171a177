// The auth module's front door: its tables first (the migration registry reads them while other
// files may still load); who is signed in and their role; making accounts and ending a
// practitioner's access; the sign-in, account and administration routes and commands.
export { authMigrations, type AuthTables } from './schema.ts';
// Accounts' shown names as a table to join in another module's statement (the FHIR API's AuditEvent; imports nothing).
export { accountNamesTable } from './tables.ts';
export type { SignedInUser } from './accounts.ts';
export type { Role } from './schema.ts';
export { activeUserById, createAccount, endAccessOfPractitioner, userForSession, userForSessionWith } from './accounts.ts';
export { registerAuthRoutes, type DemoAccountInfo } from './routes.ts';
// What auth asks of the modules above it, passed in by the composition root (ports.ts).
export type { AuthPorts } from './ports.ts';
export { registerAccountCommands } from './cli.ts';
export {
  accountIsActive,
  accountsOfPeople,
  changeOwnContactDetails,
  checkContactDetails,
  checkEmail,
  checkMobile,
  contactDetailsOf,
  type ContactDetails,
  type ContactDetailsInput,
  type ContactFieldError,
} from './contact-details.ts';
// A resident's own account, made from a link the consent or self-referral side emails to them
// for a person it chose (resident-sign-up.ts): the page the link opens is /account/create/:token.
export { inviteResidentToSignUp, SIGN_UP_LINK_HOURS, type SignUpInvitation } from './resident-sign-up.ts';
// An account made from a resident's own request for help, tied to no person until confirmed.
export { PASSWORD_MIN_LENGTH } from './account-admin.ts';
export {
  createUnconfirmedResidentAccount,
  SignUpRefused,
  tieUnconfirmedAccountToPerson,
  usernameTakenRefusal,
  type SignUpFieldError,
  type SignUpInput,
  type TieOutcome,
} from './resident-sign-up.ts';
// Demo set-ups make their named accounts once, whichever runs first.
export { createAccountUnlessTaken, type NewAccount } from './accounts.ts';
// Users' names, organisations and persons for other modules' lists: fragments and a batched query.
export {
  accountCountsByRole,
  accountStandings,
  activeSessionCount,
  accountsThatMayAct,
  signedInUserOf,
  type SignedInUserRow,
  takenUsernames,
  userByUsername,
  userDisplayNameOf,
  userIdByUsername,
  userNameOf,
  userOrganisationIdOf,
  userPersonIdOf,
  usersByIds,
  type UserRef,
} from './user-reads.ts';
// A practitioner's or a person's accounts, for telling them something; the practitioner an account works as.
export { accountsOfPractitioner, residentAccountsOf, userPractitionerIdOf } from './practitioner-accounts.ts';
