// The referrals module's front door: what other modules use of referrals. Its routes, demo data,
// the referral use cases the FHIR API drives, the UK working-day calendar, the team inbox, and
// the one aggregate the public directory shows (a service's typical wait).
// The module's tables first: the migration registry reads them while its other files may still load.
export { referralMigrations, type ReferralTables } from './schema.ts';
// Referrals on the person's record as a table to select from in another module's statement (the FHIR API; imports nothing).
export { referralsOnRecordTable } from './tables.ts';
export { registerReferralRoutes } from './routes.ts';
export { setUpReferralDemo } from './demo.ts';
export { seedDemoReferrals } from './seed.ts';
export { applyReferralAction, prepareReferral, prepareReferralAction, ReferralInputError, sendReferral } from './referrals.ts';
export { isContactMethod, type ReferralAction } from './state.ts';
export { ukDate } from './working-days.ts';
export { teamInbox, type TeamInbox } from './team-inbox.ts';
export { typicalWaits, TYPICAL_WAIT_MIN_REFERRALS, TYPICAL_WAIT_MONTHS, type TypicalWait } from './typical-wait.ts';
// One referral for a whole household, sent once every adult agrees (issue 22).
export {
  householdReferralsOf,
  recordHouseholdReferralAgreement,
  sendHouseholdReferral,
  setUpHouseholdReferralDemo,
  startHouseholdReferral,
  type HouseholdReferralView,
} from './household-referrals.ts';
// Referrals about a person and their history, for the person's own copy of their record.
export { referralHistories, referralsAboutPerson } from './person-export.ts';
// Duty cover: a team's unassigned referrals, and a colleague picking one up.
export { preparePickUpReferral, unassignedReferralsForTeam, type TeamReferral } from './team-work.ts';
// Referral flow as counts per service and per month, for insight's demand and capacity view.
export { referralFlowByService, referralsSentByMonth, type ServiceFlowRow } from './demand.ts';
// Referrals' outcomes and the latest sent, as tables and values for the insight refresh's single statements.
export { latestReferralSent, referralOutcomes } from './demand.ts';
