// The records module's front door: finding a person, the network around them, and the person's
// own voice (about me, conversations with their care team, communication needs, feedback).
// Other modules import only this file.
// The module's tables first: the migration registry reads them while its other files may still load.
export { recordsMigrations, type RecordsTables } from './schema.ts';
export { registerRecordsRoutes } from './routes.ts';
// Who a citizen's own page is about, and feedback on services (the feedback page is the plans module's, beside the place's goals).
export { citizenSubject, feedbackGivenBy, saveServiceFeedback } from './feedback.ts';
export {
  addToNetwork,
  endNetworkMembership,
  leadPractitionerOf,
  NetworkInputError,
  networkOf,
  type LeadPractitioner,
  type NetworkMember,
} from './network.ts';
export { parsePersonQuery, SearchQueryError } from './search-query.ts';
export { searchPeople, searchPeoplePage } from './search.ts';
export {
  communicationNeedsOf,
  communicationNeedsOfMany,
  communicationNeedsSummary,
  contactMethodLabels,
  contactMethods,
  type CommunicationNeeds,
  type ContactMethod,
} from './communication-needs.ts';
export { isInCareTeam, personPagePanels, personPagePanelsColumn, personPagePanelsFrom, unansweredCount } from './messages.ts';
export { saveAboutMe, seedAboutMe } from './about-me.ts';
export { currentAboutMe } from './about-me.ts';
// "About me" for the person page's one statement and the person's export.
export { aboutMeVersionsOf, latestAboutMeSql, type AboutMeVersion } from './about-me-reads.ts';
// Messages about a person, for their own copy of their record.
export { messagesAboutPersonForExport } from './messages-export.ts';
