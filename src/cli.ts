// joinery <command>: the command-line interface. Every command has --help; failures print one
// clear line (no stack trace) and exit non-zero.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './platform/config.ts';
import { openDatabase, redactDatabaseUrl, type DatabaseHandle } from './platform/db.ts';
import { checkWorkers, isServingWorker, superviseWorkers, workersFrom } from './platform/workers.ts';
import { migrateToLatest } from './schema.ts';
import { createLogger } from './platform/logger.ts';
import { busyNote, createProgress } from './platform/progress.ts';
import { closeOnSignals, listen } from './main.ts';
import { authPorts } from './app.ts';
import { isPlaceLoaded, loadSyntheticPlace, createDemoAccounts, DEMO_PASSWORD } from './demo/index.ts';
import { startAuditCheckpoints, verifyAuditChain, writeAuditCheckpoint, readAuditKey } from './audit/index.ts';
import { writePlaceCsv } from './synth/index.ts';
import { registerIndexCommand, registerLinkCommand, registerReviewLabelsCommand } from './linkage/index.ts';
import { registerDirectoryCommands } from './directory/index.ts';
import { registerInsightCommands } from './insight/index.ts';
import { registerInteropCommands } from './interop/index.ts';
import { registerAccountCommands } from './auth/index.ts';
import { clinicalEntries, registerSmartCommands } from './fhir/index.ts';

function positiveInt(name: string, max = 10_000_000) {
  return (raw: string): number => {
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max.toLocaleString('en-GB')}`);
    return value;
  };
}

function nonNegativeInt(name: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1)
      throw new InvalidArgumentError(`${name} must be a whole number, 0 or more`);
    return value;
  };
}

/** Runs an action and turns any failure into one line on stderr. */
function oneLineErrors<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`joinery: ${message.split('\n')[0]}`);
      if (process.env.JOINERY_DEBUG && error instanceof Error) console.error(error.stack);
      process.exitCode = 1;
    }
  };
}

async function openMigrated(config: Config): Promise<DatabaseHandle> {
  const database = await openDatabase(config);
  try {
    await migrateToLatest(database.db);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/** While serving, signed checkpoints of the audit log's head go to a file outside the database. */
function startCheckpoints(config: Config, database: DatabaseHandle, logger: Logger) {
  return startAuditCheckpoints(database.db, {
    file: config.audit.checkpointFile,
    everySeconds: config.audit.checkpointSeconds,
    onError: (error) => logger.error({ err: error }, 'could not write an audit checkpoint'),
  });
}

function describeDatabase(database: DatabaseHandle): string {
  return database.kind === 'pglite' ? `embedded PostgreSQL (PGlite) in ${database.location}` : `PostgreSQL at ${database.location}`;
}

export function buildProgram(): Command {
  const program = new Command('joinery')
    .description('Joinery: one care network around people and households.')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)');

  program
    .command('serve')
    .description('Serve Joinery over HTTP on PORT (default 3000), on DATABASE_URL or the embedded database in JOINERY_DATA_DIR.')
    .option('--no-migrate', 'do not apply pending database migrations first')
    .option(
      '--workers <n>',
      'serve from N processes sharing the port, one per core (PostgreSQL only; default JOINERY_WORKERS or 1)',
      positiveInt('--workers', 1024),
    )
    .action(
      oneLineErrors(async (options: { migrate: boolean; workers?: number }) => {
        const config = loadConfig();
        const logger = createLogger(config.logLevel);
        const workers = options.workers ?? workersFrom(process.env.JOINERY_WORKERS);
        checkWorkers(workers, config.databaseUrl ? 'postgres' : 'pglite', config.dataDir);
        if (workers > 1 && !isServingWorker()) {
          // The primary migrates once, then its workers serve (each its own server and pool).
          if (options.migrate) await (await openMigrated(config)).close();
          const { port } = await superviseWorkers(workers, logger);
          const shownHost = ['0.0.0.0', '127.0.0.1', '::'].includes(config.host) ? 'localhost' : config.host;
          console.log(
            `Joinery is serving http://${shownHost}:${port} from ${workers} worker processes on PostgreSQL at ${redactDatabaseUrl(config.databaseUrl!)}`,
          );
          return;
        }
        const database = options.migrate && !isServingWorker() ? await openMigrated(config) : await openDatabase(config);
        try {
          const checkpoints = await startCheckpoints(config, database, logger);
          const { app, url } = await listen({ config, database, logger }).catch(async (error: unknown) => {
            await checkpoints.stop();
            throw error;
          });
          closeOnSignals(async () => {
            await app.close();
            await checkpoints.stop();
            await database.close();
          }, logger);
          if (!isServingWorker()) console.log(`Joinery is serving ${url} on ${describeDatabase(database)}`);
        } catch (error) {
          await database.close();
          throw error;
        }
      }),
    );

  program
    .command('demo')
    .description('Load the synthetic demo place (if not loaded yet), create one sign-in per role, and serve it.')
    .option('--people <n>', 'residents in the demo place (default JOINERY_DEMO_PEOPLE or 20000)', positiveInt('--people', 2_000_000))
    .option('--seed <n>', 'seed of the synthetic place (default JOINERY_DEMO_SEED or 2026)', nonNegativeInt('--seed'))
    .option('--no-serve', 'load the place and accounts, then exit')
    .action(
      oneLineErrors(async (options: { people?: number; seed?: number; serve: boolean }) => {
        const started = Date.now();
        // Other work on the machine, read before this command adds its own (its load would count itself).
        const loadAtStart = os.loadavg()[0]!;
        const busy = () => busyNote(loadAtStart, os.availableParallelism());
        const config = loadConfig();
        const logger = createLogger(config.logLevel);
        const database = await openMigrated(config);
        try {
          console.log(`Database: ${describeDatabase(database)}`);
          if (await isPlaceLoaded(database.db)) {
            console.log('The demo place is already loaded; starting it.');
          } else {
            const people = options.people ?? config.demoPeople;
            const progress = createProgress('Loading the demo place', people);
            const summary = await loadSyntheticPlace(database.db, { seed: options.seed ?? config.demoSeed, people }, progress);
            progress.stop(
              `${summary.placeName}: ${summary.people.toLocaleString('en-GB')} people in ${summary.households.toLocaleString('en-GB')} households, ${summary.sourceRecords.toLocaleString('en-GB')} agency records, ${summary.events.toLocaleString('en-GB')} events`,
            );
          }
          const accounts = await createDemoAccounts(database.db);
          const demo = { password: DEMO_PASSWORD, accounts };
          if (!options.serve) {
            await database.close();
            console.log(`Demo place ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
            if (busy()) console.log(busy());
            return;
          }
          const checkpoints = await startCheckpoints(config, database, logger);
          const { app, url } = await listen({ config, database, logger, demo }).catch(async (error: unknown) => {
            await checkpoints.stop();
            throw error;
          });
          closeOnSignals(async () => {
            await app.close();
            await checkpoints.stop();
            await database.close();
          }, logger);
          console.log(`\nJoinery is serving the demo place at ${url} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
          const note = busy();
          console.log(note ? `${note}\n` : '');
          console.log(`Demo sign-ins (password for each: ${DEMO_PASSWORD}):`);
          for (const account of accounts) console.log(`  ${account.username.padEnd(13)} ${account.description}`);
          console.log('\nPress Ctrl-C to stop.');
        } catch (error) {
          await database.close().catch(() => {});
          throw error;
        }
      }),
    );

  program
    .command('migrate')
    .description('Apply pending database migrations (DATABASE_URL or the embedded database).')
    .action(
      oneLineErrors(async () => {
        const config = loadConfig();
        const database = await openDatabase(config);
        try {
          const results = await migrateToLatest(database.db);
          console.log(
            results.length === 0
              ? 'The database is up to date.'
              : `Applied ${results.length} migration(s): ${results.map((r) => r.migrationName).join(', ')}`,
          );
        } finally {
          await database.close();
        }
      }),
    );

  program
    .command('generate')
    .description("Write a synthetic place as CSV: each agency's own records, the ground truth, needs and events.")
    .requiredOption('--people <n>', 'residents to generate (up to 2,000,000)', positiveInt('--people', 2_000_000))
    .requiredOption('--out <dir>', 'folder to write the CSV files into (created if missing)')
    .option('--seed <n>', 'seed (same seed and size, same place)', nonNegativeInt('--seed'), 2026)
    .action(
      oneLineErrors(async (options: { people: number; out: string; seed: number }) => {
        const outDir = path.resolve(options.out);
        if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw new Error(`--out ${outDir} is a file, not a folder`);
        const progress = createProgress('Generating', options.people);
        const summary = await writePlaceCsv({
          seed: options.seed,
          people: options.people,
          outDir,
          onProgress: (done: number) => progress.update(done, 'people'),
        });
        progress.stop(`wrote ${outDir}`);
        console.log(JSON.stringify(summary));
      }),
    );

  const audit = program.command('audit').description('Check the audit log, and checkpoint it outside the database.');
  audit
    .command('verify')
    .description(
      "Check the audit log up to its head as it is when the check begins: every event's keyed hash and link, and every signed checkpoint in JOINERY_AUDIT_CHECKPOINT_FILE. Reports edited or deleted events, truncation, deletions at the end and a chain rehashed without the key; exits 3 if it finds any.",
    )
    .option('--checkpoints <file>', 'checkpoint file to check against (default JOINERY_AUDIT_CHECKPOINT_FILE)')
    .action(
      oneLineErrors(async (options: { checkpoints?: string }) => {
        const config = loadConfig();
        const checkpointFile = path.resolve(options.checkpoints ?? config.audit.checkpointFile);
        const database = await openMigrated(config);
        try {
          const key = readAuditKey(config.audit, { generate: false }) ?? null;
          const result = await verifyAuditChain(database.db, { checkpointFile, key });
          const n = (value: number) => value.toLocaleString('en-GB');
          const plain = Math.min(result.keyedFrom - 1, result.eventsChecked);
          const checked =
            result.eventsChecked === result.headSeq
              ? n(result.eventsChecked)
              : `${n(result.eventsChecked)} of ${n(result.headSeq)}, up to the first problem`;
          console.log(
            `Events: checked ${checked} (the log up to its head when the check began)${plain > 0 ? `; events 1 to ${n(plain)} carry plain hashes from before the audit key` : ''}.`,
          );
          if (result.checkpointFile === null) {
            console.log(`Checkpoints: no file at ${checkpointFile}, so events deleted from the end of the log cannot be detected.`);
          } else {
            const latest = result.latestCheckpoint
              ? `; the latest matching is of event ${n(result.latestCheckpoint.seq)}, written at ${result.latestCheckpoint.at}`
              : '';
            console.log(`Checkpoints: compared ${n(result.checkpointsChecked)} signed checkpoint(s) in ${result.checkpointFile}${latest}.`);
          }
          if (result.ok) {
            console.log(`Audit log intact: ${n(result.eventsChecked)} events verified.`);
          } else {
            for (const problem of result.problems) console.error(`joinery: audit log has been tampered with: ${problem}`);
            process.exitCode = 3;
          }
        } finally {
          await database.close();
        }
      }),
    );
  audit
    .command('checkpoint')
    .description(
      "Write a signed checkpoint of the audit log's head to JOINERY_AUDIT_CHECKPOINT_FILE now (servers write one every JOINERY_AUDIT_CHECKPOINT_SECONDS while the log moves on).",
    )
    .action(
      oneLineErrors(async () => {
        const config = loadConfig();
        const database = await openMigrated(config);
        try {
          const key = readAuditKey(config.audit, { generate: true })!;
          const checkpoint = await writeAuditCheckpoint(database.db, config.audit.checkpointFile, { key });
          console.log(
            checkpoint
              ? `Checkpoint of event ${checkpoint.seq.toLocaleString('en-GB')} written to ${config.audit.checkpointFile}.`
              : 'The audit log is empty: nothing to checkpoint.',
          );
        } finally {
          await database.close();
        }
      }),
    );

  registerLinkCommand(program);
  registerIndexCommand(program, () => openMigrated(loadConfig()));
  registerReviewLabelsCommand(program, () => openMigrated(loadConfig()));
  registerDirectoryCommands(program, migrateToLatest);
  registerInsightCommands(program, () => openMigrated(loadConfig()));
  registerInteropCommands(program, migrateToLatest, clinicalEntries);
  registerAccountCommands(program, authPorts, () => openMigrated(loadConfig()), oneLineErrors);
  registerSmartCommands(program, () => openMigrated(loadConfig()), oneLineErrors);
  return program;
}

// A command that lets an error escape (the embedded database held by a server, say) still fails in one line.
await buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(`joinery: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
    if (process.env.JOINERY_DEBUG && error instanceof Error) console.error(error.stack);
    process.exitCode = 1;
  });
