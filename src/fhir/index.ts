// The fhir module's front door: its tables (the stored copies of resources as sent, and their
// identifiers) first, since the migration registry reads them while other files may still load;
// then its routes, and what the JSON API and imports take from it.
export { fhirMigrations, type FhirTables } from './schema.ts';
export { smartMigrations, type SmartTables } from './smart/schema.ts';
export { registerFhirRoutes } from './routes.ts';
// What the interop module's imports and /openapi.json take from here, handed to it by the composition
// root (src/app.ts, src/cli.ts): a Bundle's clinical entries, and the resource definitions.
export { resourceDefs } from './resources.ts';
export { clinicalEntries } from './clinical-writes.ts';
// SMART App Launch: discovery, authorisation and token endpoints, EHR launch, and the apps' command.
export { registerSmartRoutes } from './smart/routes.ts';
export { registerSmartCommands } from './smart/cli.ts';
