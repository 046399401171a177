// Test support: every database test runs on embedded PGlite, and on a real PostgreSQL server
// too when one is reachable (TEST_DATABASE_URL, default 127.0.0.1:5432/test). Each run gets
// its own schema on the server, dropped afterwards, so runs never see each other's data.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { openPglite, openPostgres, withDefaultUser, type DatabaseHandle } from './platform/db.ts';
import { migrateToLatest } from './schema.ts';
import type { SignedInUser } from './auth/index.ts';

export interface TestDatabaseTarget {
  kind: 'pglite' | 'postgres';
  /** Opens a fresh, migrated, empty database; close() removes it. */
  open(): Promise<DatabaseHandle>;
}

const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
let reachable: Promise<boolean> | undefined;

async function serverReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: withDefaultUser(serverUrl), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function openPostgresSchema(): Promise<DatabaseHandle> {
  const schema = `jt_${randomBytes(6).toString('hex')}`;
  const admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  await admin.close();
  const handle = await openPostgres(serverUrl, { searchPath: schema, max: 4 });
  await migrateToLatest(handle.db);
  return {
    ...handle,
    async close() {
      await handle.close();
      const cleanup = await openPostgres(serverUrl, { max: 1 });
      await sql`drop schema ${sql.id(schema)} cascade`.execute(cleanup.db);
      await cleanup.close();
    },
  };
}

async function openPgliteMemory(): Promise<DatabaseHandle> {
  const handle = await openPglite('memory://');
  await migrateToLatest(handle.db);
  return handle;
}

/** The databases to run a suite against. Set JOINERY_REQUIRE_POSTGRES=1 (CI does) to fail when the server is missing. */
export async function testDatabaseTargets(): Promise<TestDatabaseTarget[]> {
  reachable ??= serverReachable();
  const targets: TestDatabaseTarget[] = [{ kind: 'pglite', open: openPgliteMemory }];
  if (await reachable) {
    targets.push({ kind: 'postgres', open: openPostgresSchema });
  } else if (process.env.JOINERY_REQUIRE_POSTGRES === '1') {
    throw new Error(`PostgreSQL is required for this run but ${serverUrl} is not reachable`);
  }
  return targets;
}

/**
 * An organisation row for database tests that build their own small place: its code is its id in
 * capitals (how records name their source), in Testford, with contact details that are never shown.
 */
export function testOrganisation(id: string, kind: string) {
  return {
    id,
    name: `Org ${id}`,
    kind,
    source_code: id.toUpperCase(),
    locality_id: null,
    postcode: 'TF1 1AA',
    phone: '0',
    email: 'x@example.org',
    website: 'https://example.org',
  };
}

/** A person row for such tests: named by their id, born 1 January 1980, with no contact details. */
export function testPerson(id: string) {
  return {
    id,
    household_id: null,
    given_name: id,
    middle_name: null,
    family_name: 'Test',
    birth_family_name: null,
    birth_date: '1980-01-01',
    sex: 'female',
    ethnicity_group: null,
    disability: false,
    nhs_number: null,
    phone: null,
    email: null,
  };
}

/** A signed-in practitioner of an organisation and one of its teams (account `u-<id>`, practitioner `<id>`). */
export function testTeamPractitioner(id: string, organisationId: string, teamId: string): SignedInUser {
  return {
    id: `u-${id}`,
    username: `u-${id}`,
    displayName: id,
    role: 'practitioner',
    personId: null,
    practitionerId: id,
    organisationId,
    teamId,
  };
}
