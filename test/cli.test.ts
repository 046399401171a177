// The joinery command as an operator meets it: help everywhere, one-line errors, real work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const cli = path.resolve(import.meta.dirname, '..', 'src', 'cli.ts');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-cli-'));

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--help lists every command, and every command has its own --help', () => {
  const help = run(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['serve', 'demo', 'migrate', 'generate', 'link', 'audit']) {
    assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`), `top-level help lists ${command}`);
    const own = run([command, '--help']);
    assert.equal(own.code, 0, `${command} --help`);
    assert.match(own.stdout, /^Usage: joinery /);
  }
});

test('bad configuration and bad arguments fail in one line, without a stack trace', () => {
  const cases: Array<{ args: string[]; env: Record<string, string>; message: RegExp }> = [
    {
      args: ['serve'],
      env: { DATABASE_URL: 'mysql://localhost/x' },
      message: /^joinery: DATABASE_URL must start with postgres:\/\/ \(got mysql:\/\/\)\n$/,
    },
    { args: ['serve'], env: { PORT: 'abc' }, message: /^joinery: PORT must be a whole number/ },
    {
      args: ['migrate'],
      env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
      message: /^joinery: cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/none: /,
    },
    { args: ['generate', '--people', 'lots', '--out', tmp()], env: {}, message: /--people must be a whole number/ },
  ];
  for (const c of cases) {
    const result = run(c.args, c.env);
    assert.notEqual(result.code, 0, c.args.join(' '));
    assert.match(result.stderr, c.message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('migrate applies every migration once, then reports the database up to date', () => {
  const env = { JOINERY_DATA_DIR: path.join(tmp(), 'data') };
  assert.match(run(['migrate'], env).stdout, /^Applied \d+ migration\(s\): 0001_place/);
  assert.equal(run(['migrate'], env).stdout, 'The database is up to date.\n');
  assert.match(run(['audit', 'verify'], env).stdout, /\nAudit log intact: 0 events verified\.\n$/);
});

test('generate writes agency records and ground truth, with plain progress lines off a terminal', () => {
  const out = tmp();
  const result = run(['generate', '--people', '800', '--out', out, '--seed', '5']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /Generating: 100% \(8\d\d\/800\)/);
  const truth = fs.readFileSync(path.join(out, 'truth.csv'), 'utf8').trim().split('\n');
  assert.equal(truth[0], 'source,source_id,person_id');
  const gp = fs.readFileSync(path.join(out, 'records_gp.csv'), 'utf8').split('\n')[0];
  assert.equal(gp, 'source,source_id,given_name,family_name,birth_date,sex,postcode,address,nhs_number,phone,email,recorded_at');
  assert.ok(truth.length > 800, 'every person has at least one agency record');
});

test('serve answers /health on PORT, and a port in use is a one-line error', async () => {
  const dataDir = tmp();
  assert.equal(run(['migrate'], { JOINERY_DATA_DIR: dataDir }).code, 0);
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { ...process.env, PORT: String(port), JOINERY_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
  });
  try {
    const started = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('serving')) resolve(out);
      });
      child.stderr.on('data', (d) => {
        err += d;
      });
      child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${out} ${err}`)));
    });
    assert.match(started, new RegExp(`Joinery is serving http://localhost:${port} on embedded PostgreSQL \\(PGlite\\)`));
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    const second = run(['serve'], { PORT: String(port), JOINERY_DATA_DIR: tmp() });
    assert.equal(second.code, 1);
    assert.equal(second.stderr, `joinery: port ${port} is already in use; stop the other program or set PORT to a free port\n`);
  } finally {
    child.kill('SIGTERM');
  }
});

test('audit checkpoint and audit verify: an intact log passes; an edit, a deleted tail or a truncation exits 3 naming it', async () => {
  const { openPglite } = await import('../src/platform/db.ts');
  const { migrateToLatest } = await import('../src/schema.ts');
  const { loadConfig } = await import('../src/platform/config.ts');
  const { appendAudit } = await import('../src/audit/log.ts');
  const { readAuditKey, setAuditKey } = await import('../src/audit/key.ts');
  const { sql } = await import('kysely');
  const folder = tmp();
  const env = { JOINERY_DATA_DIR: path.join(folder, 'data') };
  // The key the CLI will use by default: generated beside the data folder, readable by its owner only.
  setAuditKey(readAuditKey(loadConfig(env).audit, { generate: true })!);
  assert.equal(fs.statSync(path.join(folder, 'audit.key')).mode & 0o777, 0o600);
  const handle = await openPglite(env.JOINERY_DATA_DIR);
  await migrateToLatest(handle.db);
  const entry = {
    actorUserId: 'u',
    actorRole: 'practitioner',
    actorOrganisationId: null,
    action: 'read',
    personId: 'p-1',
    category: 'health',
    purpose: 'direct_care',
    decision: 'deny' as const,
    reason: 'test',
  };
  await appendAudit(handle.db, entry, entry, entry);
  await handle.close();
  const checkpoints = path.join(folder, 'audit-checkpoints.log');
  assert.equal(run(['audit', 'checkpoint'], env).stdout, `Checkpoint of event 3 written to ${checkpoints}.\n`);
  const intact = run(['audit', 'verify'], env);
  assert.equal(intact.code, 0, intact.stderr);
  assert.equal(
    intact.stdout,
    [
      'Events: checked 3 (the log up to its head when the check began).',
      `Checkpoints: compared 1 signed checkpoint(s) in ${checkpoints}; the latest matching is of event 3, written at ${JSON.parse(fs.readFileSync(checkpoints, 'utf8')).at}.`,
      'Audit log intact: 3 events verified.',
      '',
    ].join('\n'),
  );
  const superuser = async (statements: string) => {
    const again = await openPglite(env.JOINERY_DATA_DIR);
    await sql
      .raw(`alter table audit_events disable trigger user; ${statements}; alter table audit_events enable trigger user;`)
      .execute(again.db);
    await again.close();
  };
  await superuser(`update audit_events set decision = 'allow' where seq = 2`);
  const edited = run(['audit', 'verify'], env);
  assert.equal(edited.code, 3);
  assert.equal(edited.stderr, 'joinery: audit log has been tampered with: event 2 was edited\n');
  await superuser(
    `update audit_events set decision = 'deny' where seq = 2; delete from audit_events where seq = 3; update audit_chain_head set last_seq = 2, last_hash = (select hash from audit_events where seq = 2)`,
  );
  const tail = run(['audit', 'verify'], env);
  assert.equal(tail.code, 3);
  assert.match(
    tail.stderr,
    /^joinery: audit log has been tampered with: events after 2 were deleted: a checkpoint written at \S+ records event 3\n$/,
  );
  await superuser(`truncate audit_events; update audit_chain_head set last_seq = 0, last_hash = repeat('0', 64)`);
  const truncated = run(['audit', 'verify'], env);
  assert.equal(truncated.code, 3);
  assert.match(truncated.stderr, /every event was deleted: a checkpoint written at \S+ records event 3/);
});

test("the joinery launcher runs with the heap a city's person index needs, and passes on arguments and exit status", async () => {
  const { wantedHeapMegabytes } = await import('../bin/heap-limit.mjs');
  assert.ok(wantedHeapMegabytes() >= 4096);
  // A script launched as bin/joinery.mjs launches the CLI: it reports its own heap limit.
  const script = path.join(tmp(), 'report-heap.mjs');
  fs.writeFileSync(
    script,
    `import v8 from 'node:v8';
import { ensureHeapLimit } from ${JSON.stringify(path.resolve(import.meta.dirname, '..', 'bin', 'heap-limit.mjs'))};
await ensureHeapLimit(import.meta.filename);
console.log(JSON.stringify({ heapMegabytes: v8.getHeapStatistics().heap_size_limit / 1048576, args: process.argv.slice(2) }));
process.exit(3);
`,
  );
  const result = spawnSync(process.execPath, [script, '--people', '5'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 3, result.stderr);
  const report = JSON.parse(result.stdout) as { heapMegabytes: number; args: string[] };
  assert.ok(report.heapMegabytes >= wantedHeapMegabytes(), `heap limit ${report.heapMegabytes} MB`);
  assert.deepEqual(report.args, ['--people', '5']);
  const help = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '..', 'bin', 'joinery.mjs'), '--help'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: joinery /);
});

test("review-labels writes what reviewers decided as labelled pairs and compares them with the model's probabilities", async () => {
  const { openPglite } = await import('../src/platform/db.ts');
  const { migrateToLatest } = await import('../src/schema.ts');
  const { sql } = await import('kysely');
  const folder = tmp();
  const env = { JOINERY_DATA_DIR: path.join(folder, 'data') };
  const handle = await openPglite(env.JOINERY_DATA_DIR);
  await migrateToLatest(handle.db);
  await sql`insert into persons (id, given_name, family_name) values ('p-ann', 'Ann', 'Ames'), ('p-bob', 'Bob', 'Birch')`.execute(
    handle.db,
  );
  const ids = (
    await sql<{ id: number }>`insert into source_records (source, source_id, fields) values
    ('GP01', 'g1', '{}'), ('HA01', 'h7', '{}'), ('HA01', 'h8', '{}') returning id`.execute(handle.db)
  ).rows.map((row) => Number(row.id));
  await sql`insert into linkage_reviews (source_record_id, candidate_person_id, compared_record_id, probability, reason, status, decided_by, decided_at) values
    (${ids[1]}, 'p-ann', ${ids[0]}, 0.93, 'uncertain', 'same', 'u-dq', now()),
    (${ids[2]}, 'p-bob', null, 0.97, 'ambiguous', 'different', 'u-dq', now()),
    (${ids[2]}, 'p-ann', ${ids[0]}, 0.6, 'uncertain', 'open', null, null)`.execute(handle.db);
  await handle.close();

  const out = path.join(folder, 'pairs.csv');
  const result = run(['review-labels', '--out', out], env);
  assert.equal(result.code, 0, result.stderr);
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'record_a,record_b,same,model_probability,decided_at');
  assert.deepEqual(
    lines.slice(1).map((line) => line.split(',').slice(0, 4).join(',')),
    ['HA01:h7,GP01:g1,yes,0.9300', 'HA01:h8,person:p-bob,no,0.9700'],
    'decided items only, the open one left out',
  );
  assert.match(result.stdout, /2 decided review items/);
  assert.match(result.stdout, /90%–95%\s+1\s+0\s+100%/);
  assert.match(result.stdout, /95%–99%\s+0\s+1\s+0%/);
  assert.match(result.stderr, /2 decided pairs → /);
});
