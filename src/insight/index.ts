// The insight module's front door: its routes and commands, the refresh that precomputes every
// aggregate, and the protected aggregates other modules show. Its routes include the locality
// pages (the place view and each locality's view). Other modules import only this file.
// Its tables first: the migration registry reads them while the rest of the module loads.
export { insightMigrations, type InsightTables } from './schema.ts';
export { registerInsightRoutes } from './routes.ts';
export { registerInsightCommands } from './cli.ts';
export { ensureInsight, lastRefresh, refreshInsight } from './refresh.ts';
// Targets for the shared measures: the demo sets two.
export { setDemoTargets } from './targets.ts';
