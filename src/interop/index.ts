// The interop module's front door: its tables first (the migration registry reads them while the
// module's other files may still load); bearer tokens (who a token signs in, and ending an
// account's tokens); reading a FHIR Patient into the fields an agency record holds; and the
// module's routes (imports, tokens, webhooks) and commands.
export { interopMigrations, type InteropTables } from './schema.ts';
export { revokeTokensOfUser, userForApiToken } from './tokens.ts';
export { fieldsFromPatient } from './import.ts';
export { registerInteropRoutes } from './routes.ts';
export { registerInteropCommands } from './cli.ts';
