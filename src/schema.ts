// The table and migration registry, beside app.ts: the whole database's shape assembled from each
// module's tables, every module's migrations, and bringing a database up to date with them.
import type { Kysely, Migration, MigrationResult } from 'kysely';
import { migrationsPending, runMigrations } from './platform/migrate.ts';
import { placeMigrations, type PlaceTables } from './place/index.ts';
import { networkMigrations, type NetworkTables } from './network/index.ts';
import { peopleMigrations, type PeopleTables } from './people/index.ts';
import { linkageMigrations, type LinkageTables } from './linkage/index.ts';
import { authMigrations, type AuthTables } from './auth/index.ts';
import { auditMigrations, type AuditTables } from './audit/index.ts';
import { directoryMigrations, type DirectoryTables } from './directory/index.ts';
import { consentMigrations, type ConsentTables } from './consent/index.ts';
import { referralMigrations, type ReferralTables } from './referrals/index.ts';
import { recordsMigrations, type RecordsTables } from './records/index.ts';
import { budgetsMigrations, type BudgetsTables } from './budgets/index.ts';
import { plansMigrations, type PlansTables } from './plans/index.ts';
import { interopMigrations, type InteropTables } from './interop/index.ts';
import { insightMigrations, type InsightTables } from './insight/index.ts';
import { fhirMigrations, smartMigrations, type FhirTables, type SmartTables } from './fhir/index.ts';
import { notifyMigrations, type NotifyTables } from './notify/index.ts';

export interface Database
  extends
    PlaceTables,
    NetworkTables,
    PeopleTables,
    LinkageTables,
    AuthTables,
    AuditTables,
    DirectoryTables,
    ConsentTables,
    BudgetsTables,
    RecordsTables,
    ReferralTables,
    PlansTables,
    InteropTables,
    InsightTables,
    NotifyTables,
    SmartTables,
    FhirTables {}

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
  ...smartMigrations,
};

/** Brings a database up to date with every module's migrations. */
export const migrateToLatest = (db: Kysely<Database>): Promise<MigrationResult[]> => runMigrations(db, allMigrations);

/** The names of the migrations this database has not run yet. */
export const pendingMigrations = (db: Kysely<Database>): Promise<string[]> => migrationsPending(db, allMigrations);
