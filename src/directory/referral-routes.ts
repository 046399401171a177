// How a resident can get into a service without a professional: the ORUK attribute that carries
// the self-referral flag in exports and imports (which services accept it by default is the
// network's: SELF_REFERRAL_SERVICE_NAMES, with the services table).
// ORUK has no field for it, so it travels as a taxonomy attribute (link_type "referral_route"),
// the profile's way of saying what a service is open to.
import { orukId } from './ids.ts';

export const REFERRAL_ROUTE_TAXONOMY = {
  id: orukId('taxonomy', 'joinery-referral-routes'),
  name: 'Joinery referral routes',
  description: 'How people can be referred to a service.',
  version: '1.0',
} as const;

/** The taxonomy term a service carries when anyone may refer themselves. */
export const SELF_REFERRAL_TERM = {
  id: orukId('taxonomy_term', 'referral-route:self_referral'),
  code: 'self_referral',
  name: 'Accepts self-referral',
  description: 'People can ask for this service themselves, without a referral from a professional.',
} as const;

export const REFERRAL_ROUTE_LINK_TYPE = 'referral_route';

/**
 * The ORUK attribute id for a service's self-referral flag, from the service's ORUK id (which an
 * imported service keeps as its own id), so an export, import and export again are identical.
 */
export const selfReferralAttributeId = (orukServiceId: string): string => orukId('attribute', `${orukServiceId}#self_referral`);
