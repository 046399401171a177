// Runs migrations with Kysely's migrator (advisory-locked, so two starting servers are safe). The
// migrations themselves are the registry's (src/schema.ts): platform knows no module's tables.
// Modules number their migrations in their own ranges, so a module's new migration may sort
// before another's already-applied one: unordered application is allowed for that reason.
import { Migrator, sql, type Kysely, type Migration, type MigrationResult } from 'kysely';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * The migrator's bookkeeping tables live in the connection's own schema: without naming it,
 * Kysely would find another schema's tables on a shared server (e.g. parallel test runs).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any database: the migrator only keeps its own bookkeeping tables
async function migratorFor(db: Kysely<any>, migrations: Record<string, Migration>): Promise<Migrator> {
  const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema ?? 'public';
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    allowUnorderedMigrations: true,
    migrationTableSchema: schema,
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see migratorFor
export async function runMigrations(db: Kysely<any>, migrations: Record<string, Migration>): Promise<MigrationResult[]> {
  const { error, results = [] } = await (await migratorFor(db, migrations)).migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`);
  }
  return results;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see migratorFor
export async function migrationsPending(db: Kysely<any>, migrations: Record<string, Migration>): Promise<string[]> {
  const all = await (await migratorFor(db, migrations)).getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
