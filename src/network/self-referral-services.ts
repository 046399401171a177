// Which services accept self-referral by default: the services table's accepts_self_referral as
// a new place (and migration 0021, which added the column) sets it. Imports nothing: the
// migrations read it while the module's other files may still load.

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
