// How a resident can get into a service without a professional: which services accept
// self-referral by default, and the ORUK attribute that carries the flag in exports and imports.
// ORUK has no field for it, so it travels as a taxonomy attribute (link_type "referral_route"),
// the profile's way of saying what a service is open to.
import { orukId } from './ids.ts';

/**
 * Services a resident may ask for themselves in most English places: advice, community and
 * wellbeing groups, carers' support, housing options, drug and alcohol services, domestic abuse
 * support and crisis lines. Statutory work that starts from another professional (child
 * protection, supervision, hospital discharge, clinics) is left out. Keyed by service name, as
 * the demo place and most imported directories name them.
 */
export const SELF_REFERRAL_SERVICE_NAMES: readonly string[] = [
  'Social prescribing',
  'Crisis and home treatment',
  'Falls prevention service',
  'Care Act assessment',
  'Home adaptations',
  'Carers assessment',
  'Early help',
  'Young carers support',
  'Housing options and homelessness prevention',
  'Tenancy sustainment',
  'Tenancy support',
  'Adaptations for tenants',
  'Drug and alcohol treatment',
  'Recovery community',
  'Young people’s substance service',
  'Fuel and hardship fund',
  'Carers support',
  'Young carers club',
  'Day centre and outreach',
  'Independent domestic violence advisers',
  'Refuge',
  'Befriending',
  'Youth mentoring',
  'Youth counselling',
  'Talking and peer support',
  'Crisis café',
  'Welfare benefits and debt advice',
  'Housing advice',
];

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
