// The consent module's public face. It owns every fact that grants access to a person's record
// (relationships of care, sharing choices, proxies, lawful bases, safeguarding releases,
// break-glass) and the one access decision over them. Other modules import only from here, and
// write those facts only through these functions, in the transaction they run in
// (consent/ownership.test.ts fails if any other module writes the tables).
// Its tables first: the migration registry reads them while the module's other files may still load.
export { consentMigrations, type ConsentTables } from './schema.ts';
// Working relationships and sharing choices as tables to select from in another module's statement (the FHIR API; imports nothing).
export { careRelationshipsTable, sharingChoicesTable } from './tables.ts';
export {
  actorOf,
  decideAccess,
  decideRecordAccess,
  decideRecordAccessAndRead,
  decideRecordAccessForMany,
  recordDisclosure,
  type AccessAction,
  type AccessDecision,
  type AccessRequest,
  type RecordAccess,
  type RecordAccessRequest,
} from './access.ts';
// The facts a person page's decision needs, carried by the request's session look-up.
export { accessFactsBesideSession } from './facts.ts';
export {
  carePurposes,
  categories,
  categoryLabels,
  categoryPlainWords,
  categoryOfEvent,
  categoryOfNeed,
  categoryOfOrganisationKind,
  isCategory,
  isPurpose,
  purposeLabels,
  purposes,
  silentlyWithheld,
  type Category,
  type Purpose,
} from './categories.ts';
export type { CategoryDecision, Scope } from './policy.ts';
export {
  addPractitionerToNetwork,
  endRelationship,
  joinNetworkByAgreement,
  endRelationshipsOfOrganisation,
  joinNetworkOnce,
  makeLeadPractitioner,
  mayExtendNetwork,
  openRelationship,
  peopleWithRelationshipRole,
  referralRelationshipsToOrganisation,
  relationshipOrganisationId,
  RelationshipRefused,
  seedRelationships,
  type OpenRelationship,
  type RelationshipGround,
  type SeededRelationship,
} from './relationships.ts';
export {
  DirectiveInputError,
  parseDirectiveForm,
  peopleWithDirectives,
  recordDirective,
  seedDirectives,
  withdrawDirective,
  type NewDirective,
  type OnBehalf,
  type SeededDirective,
} from './directives.ts';
export {
  DEFAULT_PROXY_SCOPE,
  endProxiesWithRelationship,
  endProxy,
  grantProxy,
  parentalProxyEnds,
  proxiesFor,
  proxiesOf,
  ProxyRefused,
  seedProxies,
  type NewProxy,
  type ProxyFor,
  type SeededProxy,
} from './proxies.ts';
export {
  hasLawfulBasis,
  releaseSafeguardingToPerson,
  ReleaseRefused,
  seedLawfulBases,
  withdrawSafeguardingRelease,
  type SeededLawfulBasis,
} from './lawful-bases.ts';
export { startBreakGlass, BREAK_GLASS_MINUTES } from './break-glass.ts';
export { visibleToReader } from './visibility.ts';
// A person's record as a reader may see it (the person page, the household page), and who looked at it.
export { buildSharedRecord, type RecordSection, type SharedRecordView } from './shared-record.ts';
export { whoLooked, type LookEntry } from './who-looked.ts';
export { caseFindingObjectionsFor, caseFindingObjectors } from './objections.ts';
export { registerRightsRoutes } from './rights-routes.ts';
export { registerConsentRoutes } from './routes.ts';
// The person's export's sections held by modules above consent, which app.ts hands to its pages.
export type { ExportSections } from './export.ts';
export { informalNetworkOf, type InformalMember } from './informal-network.ts';
// Confirming who holds an account made from a request for help: the fact that ties it to the person.
export {
  confirmAccountIdentity,
  confirmAccountIdentityByNhsLogin,
  identityCheckLabels,
  identityChecks,
  isIdentityCheck,
  type IdentityCheck,
} from './identity.ts';
// What a person already shares with an organisation (seeds ask before recording it again).
export { categoriesSharedWith } from './sharing-held.ts';
// Integrated teams: membership (which grants access through the team's relationships) and the team's caseload.
export {
  addTeamMember,
  endTeamMembership,
  endTeamRelationship,
  isTeamMember,
  managesTeam,
  maySetUpTeams,
  openReferralTeamCaseload,
  openTeamRelationship,
  recordTeamRefusal,
  seedTeamMember,
  seedTeamRelationship,
  setUpIntegratedTeam,
  TEAM_CASELOAD_ROLE,
  teamCaseloadIds,
  teamMembers,
  TeamRefused,
  teamsOfPractitioner,
  type NewTeamMember,
  type TeamMember,
  type TeamOf,
} from './teams.ts';
// Narrowing a worklist to "my people" before each passes the access decision (grants nothing).
export { peopleInCareOf, peopleInReach, peopleNamingPractitioner } from './in-care-of.ts';
// Whether a practitioner is involved with a person, as a probe person search embeds per candidate (grants nothing).
export { relationshipProbe } from './relationship-probe.ts';
// A person's relationships of care, their lead practitioner now and every current lead, for records' network panel and inbox.
export { careRelationshipsOf, currentLeadPractitioners, leadPractitionerQuery } from './care-network-reads.ts';
