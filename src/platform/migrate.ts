// Runs the migrations with Kysely's migrator (advisory-locked, so two starting servers are safe).
// Modules number their migrations in their own ranges, so a module's new migration may sort
// before another's already-applied one: unordered application is allowed for that reason.
import { Migrator, sql, type Kysely, type MigrationResult } from 'kysely';
import { allMigrations, type Database } from './schema.ts';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * The migrator's bookkeeping tables live in the connection's own schema: without naming it,
 * Kysely would find another schema's tables on a shared server (e.g. parallel test runs).
 */
async function migratorFor(db: Kysely<Database>): Promise<Migrator> {
  const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema ?? 'public';
  return new Migrator({ db, provider: { getMigrations: async () => allMigrations }, allowUnorderedMigrations: true, migrationTableSchema: schema });
}

export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResult[]> {
  const migrator = await migratorFor(db);
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`);
  }
  return results;
}

export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const all = await (await migratorFor(db)).getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
