// The budgets module's front door: pooled funds and personal budgets as other modules need
// them (a person's costs and budgets, the financial year's name), its routes and the demo seed.
// Other modules import only this file.
// The module's tables first: the migration registry reads them while its other files may still load.
export { budgetsMigrations, type BudgetsTables } from './schema.ts';
export { financialYearLabel } from './goals.ts';
export { costOrganisations, personCostRowsSql, personalBudgetsOf, summarisePersonCost } from './queries.ts';
export type { PersonCost, PersonCostRow } from './queries.ts';
export { seedBudgets } from './seed.ts';
export type { BudgetSeedSummary } from './seed.ts';
export { registerBudgetRoutes } from './routes.ts';
// Who pays (issue 22): the demo's funding decisions for the demo citizen.
export { setUpFundingDemo, type FundingDemoInput } from './funding-seed.ts';
// The pooled budget by fund and allocation (the place module's locality views read each locality's allocation).
export { budgetOverview, fundsList } from './queries.ts';
