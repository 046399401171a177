// Imports tied to organisations (issue 24): a feed named with its organisation's code in either
// case (ASC or asc) is stored under the organisation's code as registered, so the access rules
// (which compare the two exactly) let that organisation's practitioners see the people it sent,
// through the API (/api/imports, then the FHIR read) and through `joinery import`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername, userForApiToken } from '../src/interop/tokens.ts';
import { openPglite } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { decideRecordAccess } from '../src/consent/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-source-case-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Patients nobody knows yet (names no synthetic person has), as an agency's NDJSON feed. */
function feed(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      resourceType: 'Patient',
      id: `${prefix}-${i}`,
      name: [{ family: `Zzyzx${prefix}${i}`, given: ['Imogen'] }],
      gender: 'female',
      birthDate: `19${70 + i}-03-0${1 + (i % 9)}`,
      address: [{ line: [`${i + 1} Feed Street`], postalCode: 'TF1 1AA' }],
    }),
  ).join('\n');
}

/** The code of the demo practitioner's organisation, as registered (upper case in the synthetic place). */
async function practitionerCode(db: TestServer['database']['db']): Promise<string> {
  const org = await db
    .selectFrom('users')
    .innerJoin('organisations', 'organisations.id', 'users.organisation_id')
    .select('organisations.source_code')
    .where('users.username', '=', 'practitioner')
    .executeTakeFirstOrThrow();
  assert.match(org.source_code, /[A-Z]/, "the organisation's code has capitals, as the synthetic place's do");
  return org.source_code;
}
const variants = (code: string) => [code.toLowerCase(), code.toUpperCase(), code[0]!.toUpperCase() + code.slice(1).toLowerCase()];
let code = '';

async function personIdsFor(server: TestServer, sourceId: string): Promise<string[]> {
  const rows = await server.database.db
    .selectFrom('source_records as s')
    .innerJoin('record_links as l', 'l.source_record_id', 's.id')
    .select(['s.source', 'l.person_id'])
    .where('s.source_id', 'like', `${sourceId}-%`)
    .where('l.superseded_at', 'is', null)
    .execute();
  assert.ok(
    rows.every((r) => r.source === code),
    `stored under the organisation's own code, not ${rows.map((r) => r.source).join(', ')}`,
  );
  return rows.map((r) => r.person_id);
}

describe("imports under the organisation's code, in either case, through the API", () => {
  let server: TestServer;
  let admin: string;
  let practitioner: string;
  before(async () => {
    server = await startTestServer({ people: 600 });
    admin = (await createApiTokenForUsername(server.database.db, 'admin', 'source case')).token;
    practitioner = (await createApiTokenForUsername(server.database.db, 'practitioner', 'source case')).token;
    code = await practitionerCode(server.database.db);
  });
  after(async () => server?.close());

  for (const variant of [0, 1, 2]) {
    test(`?source= the organisation's code (${['lower', 'upper', 'mixed'][variant]} case): its practitioner sees the people it sent`, async () => {
      const given = variants(code)[variant]!;
      const prefix = `api${variant}`;
      const upload = await fetch(`${server.url}/api/imports?source=${given}&format=ndjson`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/x-ndjson' },
        body: feed(prefix, 4),
      });
      assert.equal(upload.status, 202, await upload.clone().text());
      const job = (await upload.json()) as { links: { self: string } };
      let status: { status: string; stored: number; source: string } | undefined;
      for (let i = 0; i < 300; i++) {
        status = (await (
          await fetch(`${server.url}${job.links.self}`, { headers: { authorization: `Bearer ${admin}` } })
        ).json()) as typeof status;
        if (status!.status !== 'running') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status?.status, 'done');
      assert.equal(status?.stored, 4);
      assert.equal(status?.source, code);
      const people = await personIdsFor(server, prefix);
      assert.equal(people.length, 4);
      for (const id of people) {
        const read = await fetch(`${server.url}/fhir/Patient/${id}`, { headers: { authorization: `Bearer ${practitioner}` } });
        assert.equal(read.status, 200, `Patient/${id} imported as ${given} is visible to the ${code} practitioner`);
      }
      // And by the identifier the feed gave it, in the case the feed used.
      const found = (await (
        await fetch(`${server.url}/fhir/Patient?identifier=${encodeURIComponent(`urn:joinery:source:${given}|${prefix}-0`)}`, {
          headers: { authorization: `Bearer ${practitioner}` },
        })
      ).json()) as { entry?: unknown[] };
      assert.equal(found.entry?.length, 1);
    });
  }

  test('a mapping saved under the code in lower case is found under it in upper case', async () => {
    const saved = await fetch(`${server.url}/api/import-mappings/${code.toLowerCase()}/v1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ idColumn: 'Id', columns: { given_name: 'First', family_name: 'Last' } }),
    });
    assert.equal(saved.status, 200);
    const upload = await fetch(`${server.url}/api/imports?source=${code.toUpperCase()}&mapping=v1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' },
      body: 'Id,First,Last\nM1,Ada,Zzyzxmap\n',
    });
    assert.equal(upload.status, 202, await upload.clone().text());
  });
});

describe('joinery import --source CODE, in either case', () => {
  test("is accepted, and the people it brings are visible to the organisation's practitioner", { timeout: 300_000 }, async () => {
    const dataDir = path.join(tmp, 'data');
    {
      const setup = await openPglite(dataDir);
      await migrateToLatest(setup.db);
      await loadSyntheticPlace(setup.db, { seed: 7, people: 300 });
      await createDemoAccounts(setup.db);
      await setup.close();
    }
    const env = { ...process.env, DATABASE_URL: '', JOINERY_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    const before = await openPglite(dataDir);
    const registered = await practitionerCode(before.db);
    await before.close();
    for (const given of [registered.toUpperCase(), registered.toLowerCase()]) {
      const file = path.join(tmp, `${given}.ndjson`);
      fs.writeFileSync(file, feed(`cli${given}`, 3));
      const run = spawnSync(process.execPath, [path.join(root, 'bin', 'joinery.mjs'), 'import', '--source', given, file], {
        encoding: 'utf8',
        env,
        timeout: 240_000,
      });
      assert.equal(run.status, 0, `joinery import --source ${given}: ${run.stderr}`);
    }
    const database = await openPglite(dataDir);
    try {
      const token = await createApiTokenForUsername(database.db, 'practitioner', 'cli check');
      const actor = (await userForApiToken(database.db, token.token))!;
      const rows = await database.db
        .selectFrom('source_records as s')
        .innerJoin('record_links as l', 'l.source_record_id', 's.id')
        .select(['s.source', 'l.person_id'])
        .where('s.source_id', 'like', 'cli%')
        .where('l.superseded_at', 'is', null)
        .execute();
      assert.equal(rows.length, 6);
      assert.deepEqual([...new Set(rows.map((r) => r.source))], [registered]);
      for (const row of rows) {
        const access = await decideRecordAccess(database.db, {
          actor,
          personId: row.person_id,
          categories: ['demographics'],
          purpose: 'direct_care',
          action: 'read',
        });
        assert.notEqual(access.byCategory.demographics.scope, 'none', `${row.person_id} is visible: ${access.reason}`);
      }
    } finally {
      await database.close();
    }
  });
});
