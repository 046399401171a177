// The directory module's front door: what other modules use of the service directory. The
// directory's own routes, commands and demo filling, the need taxonomy, the items the FHIR admin
// writes go through, and what a self-referral needs to know about a service.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationById, serviceRecords } from '../network/index.ts';

// The module's tables first: the migration registry reads them while its other files may still load.
export { directoryMigrations, type DirectoryTables } from './schema.ts';
// Listings as tables and fragments to embed in another module's statement (the FHIR API; imports nothing).
export { locationsWithAddressTable, serviceListingDetailsTable, serviceLocationIdsOf } from './tables.ts';
export { registerDirectoryRoutes } from './routes.ts';
export { registerDirectoryCommands } from './cli.ts';
export { populateDirectoryFromPlace } from './populate.ts';
export { NEED_GROUPS, NEED_TERMS, needTermId } from './taxonomy.ts';
// An organisation's listings not confirmed for six months, for a prompt wherever its staff look.
export { staleListingsFor, STALE_AFTER_MONTHS, type StaleListing } from './listings.ts';
export {
  createLocationItem,
  createOrganisationItem,
  createServiceItem,
  updateLocationItem,
  updateOrganisationItem,
  updateServiceItem,
  type LocationItem,
  type OrganisationItem,
  type ServiceItem,
} from './items.ts';

/** What a resident's self-referral needs to know about the service it is for (nothing personal). */
export interface SelfReferralService {
  id: string;
  name: string;
  organisationId: string;
  organisation: string;
  /** The team whose inbox receives the service's referrals. */
  teamId: string;
  acceptsSelfReferral: boolean;
  eligibility: string;
  minAge: number | null;
  maxAge: number | null;
  /** Working days within which the service promises first contact. */
  firstContactWithinDays: number;
  acknowledgeWithinDays: number;
}

/** The service a resident asks to refer themselves to, or null if there is no such service. */
export async function serviceForSelfReferral(db: Kysely<Database>, serviceId: string): Promise<SelfReferralService | null> {
  const row = (await serviceRecords(db, [serviceId])).get(serviceId);
  const organisation = row ? await organisationById(db, row.organisationId) : undefined;
  if (!row || !organisation) return null;
  return {
    id: row.id,
    name: row.name,
    organisationId: row.organisationId,
    organisation: organisation.name,
    teamId: row.teamId,
    acceptsSelfReferral: row.acceptsSelfReferral,
    eligibility: row.eligibility,
    minAge: row.minAge,
    maxAge: row.maxAge,
    firstContactWithinDays: row.firstContactWithinDays,
    acknowledgeWithinDays: row.acknowledgeWithinDays,
  };
}
