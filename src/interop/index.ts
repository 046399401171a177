// The interop module's front door: its tables first (the migration registry reads them while the
// module's other files may still load); bearer tokens (who a token signs in, and ending an
// account's tokens); reading a FHIR Patient into the fields an agency record holds; and the
// module's routes (imports, tokens, webhooks) and commands.
export { interopMigrations, type InteropTables } from './schema.ts';
// The identifier systems a FHIR Patient is read by, and the fhir module's part of a Bundle import (both import nothing).
export { NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX } from './fhir-systems.ts';
export type { ClinicalEntries, ClinicalImport, PatientNotKept, ReceivedPatient } from './clinical-entries.ts';
// FHIR version stamps (imports nothing): the FHIR module's resource definitions embed the join as their files load.
export { bumpFhirVersion, fhirVersionJoinSql, stampFhirCreated } from './fhir-versions.ts';
export { apiTokenIdOf, revokeTokensOfUser, userForApiToken, userForApiTokenId } from './tokens.ts';
export { fieldsFromPatient } from './import.ts';
export { registerInteropRoutes, type FromFhir } from './routes.ts';
export { registerInteropCommands } from './cli.ts';
// FHIR Subscriptions are webhooks with a Subscription beside them; the FHIR module renders their notifications.
export { checkWebhookUrl, outboxTopics, type OutboxTopic } from './outbox.ts';
export {
  addFhirSubscription,
  countFhirSubscriptionsOf,
  fhirSubscriptionOf,
  fhirSubscriptionsOf,
  setFhirNotificationRenderer,
  updateFhirSubscription,
  type FhirDelivery,
  type RenderedNotification,
  type StoredSubscription,
} from './fhir-subscriptions.ts';
// Bulk import through the FHIR API: the same resumable importer and job as /api/imports.
export { importJob, startUploadedImport } from './import-upload.ts';
export { importNotKept, isSourceCode } from './import.ts';
