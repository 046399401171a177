// The insight module's front door: its routes and commands, the refresh that precomputes every
// aggregate, and the protected aggregates other modules show (the place module's locality views
// read the needs, outcomes, inequalities and access measures by locality from here). Other modules
// import only this file.
// Its tables first: the migration registry reads them while the rest of the module loads.
export { insightMigrations, type InsightTables } from './schema.ts';
export { registerInsightRoutes } from './routes.ts';
export { registerInsightCommands } from './cli.ts';
export { ensureInsight, lastRefresh, refreshInsight } from './refresh.ts';
export { inequality, measures, populationBy, type GroupRow, type InequalityView, type MeasureDef } from './queries.ts';
// Targets for the shared measures: the demo sets two.
export { setDemoTargets } from './targets.ts';
