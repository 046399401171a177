// The people module's front door: persons, households and relationships between people, the
// shared-record read model and NHS number check digits. Other modules import only this file.
// The module's tables first: the migration registry reads them while its other files may still load.
export { peopleMigrations, type PeopleTables } from './schema.ts';
// Then fragments naming persons (imports nothing): place's residents embed personsWithHome as its files load.
// A person's date of birth as SQL text for other modules' prepared statements, and full name for their lists.
export {
  isLivePerson,
  isLivePersonOf,
  personBirthDateSql,
  personFullNameOf,
  personsWithHome,
  personsWithHomeSql,
  remainingPersonId,
  remainingPersonIdOf,
} from './persons.ts';
// Persons, households, relationships and events as tables to select from in another module's statement (the FHIR API; imports nothing).
export {
  householdIdsOfPerson,
  householdsTable,
  liveMembersOfHouseholds,
  personEventsTable,
  personRecordsTable,
  relationshipsWithRelatedTable,
} from './tables.ts';
export { ageOn } from './age.ts';
export { createHousehold, setHouseholdMembers } from './households.ts';
export type { MoveResult } from './households.ts';
export { peopleWithVerifiedIdentity } from './identity.ts';
export { isValidNhsNumber, syntheticNhsNumber } from '../platform/nhs-number.ts';
export {
  currentNeeds,
  heldFieldLabel,
  heldFieldOrder,
  heldFieldRows,
  heldFieldValue,
  organisationCaseload,
  personSummary,
} from './record.ts';
export type { CaseloadPage, NeedItem, PersonSummary, TimelineItem } from './record.ts';
// The person page's own parts (the person, current needs, latest events) as SQL text, for the page's one statement (web).
export { currentNeedsJsonSql, personCardJsonSql, personTimelineJsonSql } from './record.ts';
export { endRelationship, isRelationshipType, recordRelationship } from './relationships.ts';
export type { RelationshipKey } from './relationships.ts';
// Persons, households, needs and events by id, batched, for other modules (they only fetch).
export {
  currentNeedRows,
  otherHouseholdMembers,
  peopleByIds,
  personById,
  personEventsSince,
  personHouseholdFacts,
  homesOfPeople,
  livePeopleByName,
  type EventRow,
  type NeedRow,
  type PersonRef,
} from './lookups.ts';
// Who is in a household and which members are adults (household budgets and referrals ask each adult).
export { householdMembersOn, householdOfPerson, type HouseholdMember } from './household-adults.ts';
// What the person index (linkage) reads and writes of persons: people to match, merges, new person records.
export {
  createIndexPersons,
  lockPersonForMerge,
  mergedPersons,
  personOrigin,
  personsToMatch,
  setMergedInto,
  type IndexPerson,
  type PersonToMatch,
} from './index-support.ts';
// Names, dates of birth and home areas as fragments to embed, merged records as a subquery, a person's contact details.
export {
  exactPersonMatches,
  personBirthDateOf,
  personDetails,
  personFamilyNameOf,
  personGivenNameOf,
  personSmallAreaOf,
  recordsMergedInto,
} from './names.ts';
// Household sizes, events of many people and current needs as a fragment, for budgets' read models;
// events of some types and persons with their homes as tables, for the demo budgets' single statements.
export { currentNeedPairs, eventsOfPeople, householdMemberCount, type DatedEvent } from './lookups.ts';
export { eventsOfTypesSince, personsWithBirthAndHome } from './lookups.ts';
// Current needs and events of a person, and households, counted inside another module's aggregate (place's figures).
export { currentNeedCountOf, eventCountOf, hasCurrentNeedOf, householdCount, personCount, personEventCount } from './lookups.ts';
// When the place's latest event happened: the demo seeds date their own records from it.
export { latestEventAt, latestEventDay } from './lookups.ts';
// Whom the demo seeds give sharing choices, lawful bases, "about me" and proxies, care networks,
// referrals and plans: current needs as a table to join, and the members of households.
export { carersAndParentsOfChildren, firstEventOfType, peopleWithCurrentNeed } from './lookups.ts';
export { currentNeedsTable, membersOfHouseholds } from './lookups.ts';
// Every need and event of a person with the organisation's name (the person's own copy of their record).
export { eventHistoryOf, needHistoryOf, type EventHistoryRow, type NeedHistoryRow } from './history.ts';
// A household with its members and addresses, and relationships among some people (the household page).
export { householdDetails, relationshipsAmong, type HouseholdDetails } from './household-reads.ts';
// A person's own details changed through another module's use case (FHIR's Patient update), after its access decision.
export { setPersonDetails, type PersonDetailsChange } from './details.ts';
// Persons, needs and events as tables for insight's figures and case-finding rules (one statement each).
export { eventsOfTypes, latestNeedRecorded, needsByPersonAndCode, needsWithCodes, personProfiles } from './analytics.ts';
// The persons side of records' person search, as fragments its one statement embeds.
export {
  householdPostcodes,
  livePersonsOfFamilyName,
  livePersonsOfFullName,
  livePersonsWithKeys,
  personNamesById,
  personNamesLike,
  personsForSearch,
  type PersonKeys,
} from './person-search.ts';
