// The whole database's shape, assembled from each module's tables, and the ordered migrations.
import type { Migration } from 'kysely';
import { placeMigrations, type PlaceTables } from '../place/schema.ts';
import { networkMigrations, type NetworkTables } from '../network/schema.ts';
import { peopleMigrations, type PeopleTables } from '../people/schema.ts';
import { linkageMigrations, type LinkageTables } from '../linkage/migrations.ts';
import { authMigrations, type AuthTables } from '../auth/schema.ts';
import { auditMigrations, type AuditTables } from '../audit/schema.ts';
import { directoryMigrations, type DirectoryTables } from '../directory/schema.ts';
import { consentMigrations, type ConsentTables } from '../consent/schema.ts';
import { referralMigrations, type ReferralTables } from '../referrals/schema.ts';
import { recordsMigrations, type RecordsTables } from '../records/schema.ts';
import { budgetsMigrations, type BudgetsTables } from '../budgets/schema.ts';
import { plansMigrations, type PlansTables } from '../plans/schema.ts';
import { interopMigrations, type InteropTables } from '../interop/schema.ts';
import { insightMigrations, type InsightTables } from '../insight/schema.ts';
import { fhirMigrations, type FhirTables } from '../fhir/index.ts';
import { notifyMigrations, type NotifyTables } from '../notify/index.ts';

export interface Database extends PlaceTables, NetworkTables, PeopleTables, LinkageTables, AuthTables, AuditTables, DirectoryTables, ConsentTables, BudgetsTables, RecordsTables, ReferralTables, PlansTables, InteropTables, InsightTables, NotifyTables, FhirTables {}

/** Every module's migrations; names carry a global sequence number so order is explicit. */
export const allMigrations: Record<string, Migration> = {
  ...placeMigrations,
  ...networkMigrations,
  ...peopleMigrations,
  ...linkageMigrations,
  ...authMigrations,
  ...auditMigrations,
  ...directoryMigrations,
  ...consentMigrations,
  ...referralMigrations,
  ...plansMigrations,
  ...recordsMigrations,
  ...budgetsMigrations,
  ...interopMigrations,
  ...insightMigrations,
  ...fhirMigrations,
  ...notifyMigrations,
};
