// The network module's front door: organisations' staff (practitioners, their teams and roles).
// Other modules import only this file.
// The module's tables first: the migration registry reads them while its other files may still load.
export { networkMigrations, type NetworkTables } from './schema.ts';
// Which services accept self-referral by default (the directory's set-up of a new place).
export { SELF_REFERRAL_SERVICE_NAMES } from './self-referral-services.ts';
// Organisations, practitioners and services as tables to select from in another module's statement (the FHIR API).
export { organisationsTable, practitionersTable, servicesTable } from './tables.ts';
export { createPractitioner, createPractitionerInTeam, setRole, updatePractitioner } from './staff.ts';
export type { PractitionerInput, RoleInput } from './staff.ts';
// Organisations' names, kinds and source codes as fragments to embed in one statement.
export {
  organisationCount,
  practitionerCount,
  serviceCount,
  organisationKindOf,
  organisationNameOf,
  organisationNameOfSource,
  organisationNameOfSourceAnyCase,
  organisationsOfKinds,
  organisationSourceCodes,
  registeredSourceCodeOr,
  organisationNameSql,
  organisationSourceCodeOf,
  organisationSourceCodeSql,
  withOrganisationOfSource,
  withOrganisationOfSourceSql,
} from './organisations.ts';
// Organisations and practitioners by id, batched, for other modules' lists and pages.
export {
  allOrganisations,
  organisationById,
  organisationsByIds,
  practitionersByIds,
  registeredSourceCode,
  type OrganisationRef,
  type PractitionerRef,
} from './lookups.ts';
// Teams, integrated teams above all (members from several organisations), and fragments naming them.
export {
  activePractitioners,
  createIntegratedTeam,
  firstTeamIdOf,
  integratedTeams,
  practitionersOf,
  practitionerStanding,
  teamById,
  teamIntegratedSql,
  TeamInputError,
  teamNameSql,
  teamsByIds,
  type TeamRef,
} from './teams.ts';
// Which organisations serve which localities (the place module's locality care organisations).
export { organisationsServingLocalities, type OrganisationServing } from './localities-served.ts';
// Services, teams and staff for other modules (referrals): batched by id, an organisation's set-up,
// and names as fragments to embed in one statement.
export {
  allServices,
  organisationPractitioners,
  organisationSetUp,
  practitionerCardOf,
  practitionerNameOf,
  practitionersWithOrganisation,
  serviceById,
  serviceNameOf,
  servicesByIds,
  servicesOfOrganisations,
  servicesWithOrganisation,
  practitionersWithOrganisationTable,
  servicesWithOrganisationSql,
  organisationPhoneOf,
  serviceNamed,
  serviceStaffOf,
  teamNameOf,
  teamReceivesReferrals,
  type PractitionerCard,
  type ServiceRef,
} from './services.ts';
// Organisations, teams and services as the service directory lists and edits them (writes take the caller's transaction).
export {
  addOrganisation,
  addService,
  addTeam,
  changeOrganisationContact,
  changeService,
  firstTeams,
  organisationIds,
  organisationRecord,
  organisationRecordsByIds,
  organisationsNamed,
  organisationWithSourceCode,
  serviceIdsOfOrganisation,
  serviceRecords,
  servicesUncheckedSince,
  type NewOrganisation,
  type OrganisationRecord,
  type ServiceFields,
  type ServiceRecord,
  type ServiceTerms,
} from './listings.ts';
// A practitioner's team and whether they are active, as fragments (the session lookup), and teams to choose from.
export {
  isTeamOf,
  practitionerActiveOf,
  practitionerActiveSql,
  practitionerTeamIdOf,
  practitionerTeamIdSql,
  teamsWithOrganisation,
} from './staff-reads.ts';
export { organisationRecords } from './listings.ts';
