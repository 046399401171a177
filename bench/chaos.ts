// Chaos run: two `joinery serve` processes and a `joinery import` on one PostgreSQL, with
// processes killed (SIGKILL) and restarted while they register people, and optionally
// PostgreSQL itself restarted. At the end it counts what was acknowledged but lost (goal 0)
// and real people who became more than one person (goal 0), and prints JSON.
//
//   node bench/chaos.ts [--seconds 60] [--people 60] [--kill-every 4] [--restart-postgres]
//
// Each "person" has a unique valid NHS number and is registered several times (through both
// servers and in the import feed), so every registration after the first must find them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openPostgres } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { isValidNhsNumber } from '../src/platform/nhs-number.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    people: { type: 'string', default: '60' },
    'kill-every': { type: 'string', default: '4' },
    'restart-postgres': { type: 'boolean', default: false },
    'keep-schema': { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const peopleCount = Number(args.people);
const killEvery = Number(args['kill-every']) * 1000;
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
// The CLI itself, not the bin/joinery.mjs shim: the shim hands over to a child process, and a
// kill must reach the process that serves.
const cli = path.resolve(import.meta.dirname, '..', 'src', 'cli.ts');
const schema = `chaos_${randomBytes(4).toString('hex')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-chaos-'));
const loadAtStart = os.loadavg()[0]!;
const log = (line: string) => process.stderr.write(`chaos: ${line}\n`);

const url = new URL(serverUrl);
url.searchParams.set('options', `-c search_path=${schema}`);
const databaseUrl = url.toString();

function nhsNumbers(count: number): string[] {
  const out: string[] = [];
  for (let n = 9_400_000_000 + Math.floor(Math.random() * 1_000_000) * 100; out.length < count; n++)
    if (isValidNhsNumber(String(n))) out.push(String(n));
  return out;
}
const given = ['Ada', 'Bram', 'Cleo', 'Dev', 'Esme', 'Finn', 'Gail', 'Hugo', 'Iris', 'Jude', 'Kemi', 'Lars'];
const family = [
  'Ashdown',
  'Brindle',
  'Calloway',
  'Dunmore',
  'Elsworth',
  'Fairweather',
  'Garside',
  'Hollins',
  'Ingram',
  'Jessop',
  'Kettering',
  'Lowther',
];
const people = nhsNumbers(peopleCount).map((nhs, i) => ({
  nhs,
  given: given[i % given.length]!,
  family: `${family[Math.floor(i / given.length) % family.length]!}${i >= 144 ? i : ''}`,
  birthDate: `19${50 + (i % 45)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 27) + 1).padStart(2, '0')}`,
  gender: i % 2 ? 'male' : 'female',
}));
const patient = (p: (typeof people)[number], source: string, sourceId: string) => ({
  resourceType: 'Patient',
  identifier: [
    { system: 'https://fhir.nhs.uk/Id/nhs-number', value: p.nhs },
    { system: `urn:joinery:source:${source}`, value: sourceId },
  ],
  name: [{ family: p.family, given: [p.given] }],
  birthDate: p.birthDate,
  gender: p.gender,
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

interface Server {
  url: string;
  child: ChildProcess;
  port: number;
}
async function startServer(port?: number): Promise<Server> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, [cli, 'serve', '--no-migrate'], {
    env: {
      ...process.env,
      JOINERY_AUDIT_CHECKPOINT_FILE: path.join(tmp, 'audit-checkpoints.log'),
      DATABASE_URL: databaseUrl,
      PORT: String(p),
      LOG_LEVEL: 'silent',
    },
    stdio: 'ignore',
  });
  const server = { url: `http://127.0.0.1:${p}`, child, port: p };
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${server.url}/health`)).ok) return server;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('a server did not start');
}

const admin = await openPostgres(serverUrl, { max: 1 });
await sql`create schema ${sql.id(schema)}`.execute(admin.db);
const handle = await openPostgres(serverUrl, { searchPath: schema, max: 4 });
await migrateToLatest(handle.db);
log(`loading a small place into ${schema}`);
await loadSyntheticPlace(handle.db, { seed: 9, people: 500 });
await createDemoAccounts(handle.db);
const token = (await createApiTokenForUsername(handle.db, 'practitioner', 'chaos run')).token;
// A practitioner's registrations are stored as their organisation's FHIR feed, under the source id they send.
const fhirSource = `fhir-${(await sql<{ code: string }>`select o.source_code as code from users u join organisations o on o.id = u.organisation_id where u.username = 'practitioner'`.execute(handle.db)).rows[0]!.code.toLowerCase()}`;

// The import feed: every person once more, in a file the import is killed and resumed over.
const feed = path.join(tmp, 'feed.ndjson');
fs.writeFileSync(feed, people.map((p, i) => JSON.stringify(patient(p, 'chaos-feed', `feed-${i}`))).join('\n') + '\n');

const servers = [await startServer(), await startServer()];
const acknowledged: Array<{ sourceId: string; nhs: string }> = [];
let requests = 0;
let failures = 0;
let kills = 0;
let postgresRestarts = 0;
let importRuns = 0;
let importDone = false;
const until = Date.now() + seconds * 1000;

async function writer(worker: number): Promise<void> {
  let n = 0;
  while (Date.now() < until) {
    const p = people[(worker * 7 + n) % people.length]!;
    const server = servers[(worker + n) % servers.length]!;
    const sourceId = `w${worker}-${n++}`;
    requests++;
    try {
      const response = await fetch(`${server.url}/fhir/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(patient(p, fhirSource, sourceId)),
        signal: AbortSignal.timeout(15_000),
      });
      await response.arrayBuffer();
      // Only an answer that says the write happened counts as acknowledged.
      if (response.status === 200 || response.status === 201) acknowledged.push({ sourceId, nhs: p.nhs });
      else failures++;
    } catch {
      failures++;
    }
  }
}

async function importer(): Promise<void> {
  while (Date.now() < until && !importDone) {
    importRuns++;
    const child = spawn(process.execPath, [cli, 'import', '--source', 'chaos-feed', feed], {
      env: {
        ...process.env,
        JOINERY_AUDIT_CHECKPOINT_FILE: path.join(tmp, 'audit-checkpoints.log'),
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 500 + Math.random() * 3000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    if (code === 0) importDone = true;
  }
}

async function chaos(): Promise<void> {
  let round = 0;
  while (Date.now() + killEvery < until) {
    await new Promise((r) => setTimeout(r, killEvery));
    round++;
    if (args['restart-postgres'] && round % 3 === 0) {
      const cluster = fs.readdirSync('/etc/postgresql')[0];
      log('restarting PostgreSQL');
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster!, 'main', 'restart', '-m', 'immediate'], { stdio: 'ignore' });
      postgresRestarts++;
      continue;
    }
    const i = round % servers.length;
    servers[i]!.child.kill('SIGKILL');
    kills++;
    servers[i] = await startServer(servers[i]!.port).catch(() => startServer());
  }
}

await Promise.all([chaos(), importer(), ...Array.from({ length: 6 }, (_, w) => writer(w))]);
for (const server of servers) server.child.kill('SIGTERM');
// A last clean import run, so the feed is wholly in.
if (!importDone)
  spawnSync(process.execPath, [cli, 'import', '--source', 'chaos-feed', feed], {
    env: {
      ...process.env,
      JOINERY_AUDIT_CHECKPOINT_FILE: path.join(tmp, 'audit-checkpoints.log'),
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'silent',
    },
    stdio: 'ignore',
  });

const stored = new Set(
  (await sql<{ source_id: string }>`select source_id from source_records where source = ${fhirSource}`.execute(handle.db)).rows.map(
    (r) => r.source_id,
  ),
);
const lost = acknowledged.filter((a) => !stored.has(a.sourceId));
const perNhs = (
  await sql<{ nhs: string; persons: number }>`
  select s.fields->>'nhs_number' as nhs, count(distinct l.person_id)::int as persons
  from source_records s join record_links l on l.source_record_id = s.id and l.superseded_at is null join persons p on p.id = l.person_id and p.merged_into is null
  where s.fields->>'nhs_number' = any(${people.map((p) => p.nhs)}::text[]) group by 1`.execute(handle.db)
).rows;
const duplicated = perNhs.filter((r) => r.persons > 1);
const missingPeople = people.length - perNhs.length;

await handle.close();
if (!args['keep-schema']) await sql`drop schema ${sql.id(schema)} cascade`.execute(admin.db);
await admin.close();
fs.rmSync(tmp, { recursive: true, force: true });
const loadAtEnd = os.loadavg()[0]!;
console.log(
  JSON.stringify(
    {
      benchmark: 'chaos',
      seconds,
      people: people.length,
      writers: 6,
      servers: 2,
      requests,
      acknowledged: acknowledged.length,
      refusedOrFailed: failures,
      serverKills: kills,
      postgresRestarts,
      importRuns,
      importFinished: importDone,
      acknowledgedLost: lost.length,
      peopleWithMoreThanOnePerson: duplicated.length,
      peopleNeverStored: missingPeople,
      examplesLost: lost.slice(0, 3),
      examplesDuplicated: duplicated.slice(0, 3),
      machine: {
        cores: os.cpus().length,
        loadAverageAtStart: Number(loadAtStart.toFixed(2)),
        loadAverageAtEnd: Number(loadAtEnd.toFixed(2)),
        quiet: Math.max(loadAtStart, loadAtEnd) < 0.5,
      },
    },
    null,
    2,
  ),
);
