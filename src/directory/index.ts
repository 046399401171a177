// The directory module's front door: what other modules use of the service directory. The
// directory's own routes, commands and demo filling, the need taxonomy, the items the FHIR admin
// writes go through, and what a self-referral needs to know about a service.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';

export { registerDirectoryRoutes } from './routes.ts';
export { registerDirectoryCommands } from './cli.ts';
export { populateDirectoryFromPlace } from './populate.ts';
export { NEED_GROUPS, NEED_TERMS, needTermId } from './taxonomy.ts';
// An organisation's listings not confirmed for six months, for a prompt wherever its staff look.
export { staleListingsFor, STALE_AFTER_MONTHS, type StaleListing } from './listings.ts';
export {
  createLocationItem, createOrganisationItem, createServiceItem, updateLocationItem, updateOrganisationItem, updateServiceItem,
  type LocationItem, type OrganisationItem, type ServiceItem,
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
  const row = await db.selectFrom('services').innerJoin('organisations', 'organisations.id', 'services.organisation_id')
    .select(['services.id', 'services.name', 'services.organisation_id', 'organisations.name as organisation', 'services.team_id',
      'services.accepts_self_referral', 'services.eligibility', 'services.min_age', 'services.max_age',
      'services.first_contact_within_days', 'services.acknowledge_within_days'])
    .where('services.id', '=', serviceId).executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id, name: row.name, organisationId: row.organisation_id, organisation: row.organisation, teamId: row.team_id,
    acceptsSelfReferral: row.accepts_self_referral, eligibility: row.eligibility, minAge: row.min_age, maxAge: row.max_age,
    firstContactWithinDays: row.first_contact_within_days, acknowledgeWithinDays: row.acknowledge_within_days,
  };
}
