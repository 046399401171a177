// Runs the migrations with Kysely's migrator (advisory-locked, so two starting servers are safe).
import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { allMigrations, type Database } from './schema.ts';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => allMigrations } });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`);
  }
  return results;
}

export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => allMigrations } });
  const all = await migrator.getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
