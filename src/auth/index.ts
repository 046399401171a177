// The auth module's front door: who is signed in, and their role.
export type { SignedInUser } from './accounts.ts';
export type { Role } from './schema.ts';
export {
  accountIsActive, accountsOfPeople, changeOwnContactDetails, checkContactDetails, checkEmail, checkMobile, contactDetailsOf,
  type ContactDetails, type ContactDetailsInput, type ContactFieldError,
} from './contact-details.ts';
