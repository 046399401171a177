// The fhir module's front door: its tables (the stored copies of resources as sent, and their
// identifiers) first, since the migration registry reads them while other files may still load;
// then its routes, and the resource definitions and systems the JSON API and imports share.
export { fhirMigrations, type FhirTables } from './schema.ts';
export { smartMigrations, type SmartTables } from './smart/schema.ts';
export { registerFhirRoutes } from './routes.ts';
export { NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX, resourceDefs } from './resources.ts';
export { CLINICAL_TYPES, isClinicalType } from './clinical.ts';
export { keepClinicalEntries, type ClinicalImport } from './clinical-writes.ts';
// SMART App Launch: discovery, authorisation and token endpoints, EHR launch, and the apps' command.
export { registerSmartRoutes } from './smart/routes.ts';
export { registerSmartCommands } from './smart/cli.ts';
