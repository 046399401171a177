// `joinery import`, `joinery import-mapping`, `joinery token create|revoke`, `joinery webhook add|list`.
// On the embedded database a running server holds the data folder, so these are refused while it
// runs, each saying what to do instead (the server's HTTP equivalent where there is one).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { DatabaseInUseError, openDatabase, type DatabaseHandle } from '../platform/db.ts';
import { createProgress } from '../platform/progress.ts';
import {
  DEFAULT_BATCH_SIZE,
  ImportInputError,
  loadMapping,
  parseMapArgument,
  rejectedCsv,
  runImport,
  saveMapping,
  formatOf,
  importErrors,
  importNotKept,
} from './import.ts';
import { createApiTokenForUsername, revokeApiToken } from './tokens.ts';
import { addWebhook, outboxTopics } from './outbox.ts';
import type { ClinicalEntries } from './clinical-entries.ts';

const BAD_INPUT_EXIT_CODE = 2;

/** What to do instead when a server holds the embedded database: given where it serves, if it says. */
type Advice = (serving: string | undefined) => string;

const elsewhere = 'or run Joinery on PostgreSQL (DATABASE_URL), where commands can run beside servers';

/** Brings a database up to date (the registry's migrateToLatest, handed in by cli.ts: a module knows no other module's tables). */
type Migrate = (db: DatabaseHandle['db']) => Promise<unknown>;
let migrateToLatest: Migrate;

async function withDatabase(action: (database: DatabaseHandle) => Promise<void>, advice?: Advice): Promise<void> {
  let database: DatabaseHandle;
  try {
    database = await openDatabase(loadConfig());
  } catch (error) {
    if (error instanceof DatabaseInUseError && advice) throw error.withAdvice(advice(error.holder.serving));
    throw error;
  }
  try {
    await migrateToLatest(database.db);
    await action(database);
  } finally {
    await database.close();
  }
}

function fail(command: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`joinery ${command}: ${message.split('\n')[0]}`);
  if (process.env.JOINERY_DEBUG && error instanceof Error) console.error(error.stack);
  process.exitCode = error instanceof ImportInputError ? BAD_INPUT_EXIT_CODE : 1;
}

/** `clinicalEntries`: the fhir module's part of a Bundle import, handed in by src/cli.ts (see clinical-entries.ts). */
export function registerInteropCommands(program: Command, migrate: Migrate, clinicalEntries: ClinicalEntries): void {
  migrateToLatest = migrate;
  program
    .command('import')
    .description(
      'Import an agency feed: CSV (with a saved column mapping), NDJSON of FHIR Patients, or a FHIR Bundle (.json). Bad rows are set aside with their line and reason, and the rest load. Resumable: run it again after a stop (or a crash) and it carries on; a finished file is not imported twice.',
    )
    .argument('<file>', 'the file to import (.csv, .ndjson or .json)')
    .requiredOption('--source <code>', 'the agency source code the records come from (e.g. gp-riverside)')
    .option('--mapping <name>', 'the saved column mapping to read a CSV with (see joinery import-mapping)')
    .option('--batch <n>', 'records per committed batch', (v) => Number(v), DEFAULT_BATCH_SIZE)
    .option('--no-link', 'store the records without linking them (link later with joinery index)')
    .option('--rejected <file>', 'write the rows set aside (line, reason, the row as sent) to this CSV file')
    .action(async (file: string, options: { source: string; mapping?: string; batch: number; link: boolean; rejected?: string }) => {
      try {
        const resolved = path.resolve(file);
        const format = formatOf(resolved);
        const sendInstead: Advice = (serving) =>
          serving
            ? `stop it first, or send the file to that server instead: POST ${serving}/api/imports?source=${options.source}${options.mapping ? `&mapping=${options.mapping}` : ''} with the file as the body and a bearer token (see the README)`
            : 'stop it first, or wait for it to finish';
        await withDatabase(async (database) => {
          const mapping = options.mapping ? await loadMapping(database.db, options.source, options.mapping) : undefined;
          if (options.mapping && !mapping) throw new ImportInputError(`source ${options.source} has no mapping called ${options.mapping}`);
          let progress: ReturnType<typeof createProgress> | undefined;
          const started = Date.now();
          let firstLine = 0;
          const result = await runImport(database.db, {
            source: options.source,
            file: resolved,
            mapping,
            format,
            batchSize: Number.isInteger(options.batch) && options.batch > 0 ? options.batch : DEFAULT_BATCH_SIZE,
            link: options.link,
            clinical: clinicalEntries,
            onProgress(p) {
              if (!progress) {
                firstLine = p.linesDone;
                if (p.resumed && p.status !== 'done')
                  console.error(`Resuming import ${p.jobId} after line ${p.linesDone.toLocaleString('en-GB')}`);
                progress = createProgress(`Importing ${path.basename(resolved)}`, p.linesTotal ?? 0);
              }
              progress.update(p.linesDone, `${p.errors} errors`);
            },
          });
          const seconds = (Date.now() - started) / 1000;
          progress?.stop();
          if (!progress && result.status === 'done') {
            console.log(`Already imported (job ${result.jobId}): nothing to do.`);
            firstLine = result.linesDone;
          }
          const n = (value: number) => value.toLocaleString('en-GB');
          const setAside =
            `${n(result.errors)} ${result.errors === 1 ? 'row' : 'rows'} set aside` +
            (result.duplicates > 0 ? ` (${n(result.duplicates)} repeated record ${result.duplicates === 1 ? 'id' : 'ids'})` : '');
          console.log(
            `Import ${result.jobId} ${result.status}: ${n(result.stored)} records stored, ${n(result.unchanged)} unchanged, ` +
              `${n(result.linked)} linked to a person, ${n(result.newPerson)} new people, ${n(result.review)} for review, ${setAside}` +
              (result.linesDone > firstLine ? ` (${((result.linesDone - firstLine) / Math.max(seconds, 0.001)).toFixed(0)} lines/s)` : ''),
          );
          const clinical = Object.entries(result.clinical ?? {}).sort(([a], [b]) => a.localeCompare(b));
          if (clinical.length > 0)
            console.log(
              `Clinical entries kept against the people linked (health): ${clinical.map(([type, count]) => `${n(count)} ${type}`).join(', ')}`,
            );
          for (const warning of result.warnings) console.log(`Warning: ${warning}`);
          if (result.notKept > 0) {
            console.log(
              `${n(result.notKept)} ${result.notKept === 1 ? 'record' : 'records'} had elements that were not kept (a read of the Patient does not return them):`,
            );
            for (const record of await importNotKept(database.db, result.jobId, 10)) {
              const shown =
                record.elements.slice(0, 20).join(', ') + (record.elements.length > 20 ? `, … (${record.elements.length} in all)` : '');
              console.log(`  line ${record.line} (record ${record.recordId}): ${shown}${record.reason ? ` — ${record.reason}` : ''}`);
            }
            if (result.notKept > 10) console.log(`  … and ${n(result.notKept - 10)} more: GET /api/imports/${result.jobId}/not-kept`);
          }
          if (result.errors > 0) {
            for (const error of await importErrors(database.db, result.jobId, 10)) console.log(`  line ${error.line}: ${error.message}`);
            if (result.errors > 10) console.log(`  … and ${n(result.errors - 10)} more`);
            if (options.rejected) {
              const out = path.resolve(options.rejected);
              const temporary = `${out}.${process.pid}.tmp`;
              const stream = fs.createWriteStream(temporary);
              for await (const text of rejectedCsv(database.db, result.jobId))
                if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
              await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
              fs.renameSync(temporary, out);
              console.log(`The rows set aside (line, reason and the row as sent) are written to ${out}`);
            } else {
              console.log(
                `  Every row set aside, with the row as sent: run again with --rejected FILE, or GET /api/imports/${result.jobId}/rejected`,
              );
            }
          }
        }, sendInstead);
      } catch (error) {
        fail('import', error);
      }
    });

  program
    .command('import-mapping')
    .description("Save (or replace) a column mapping for a source's CSV files.")
    .requiredOption('--source <code>', 'the agency source code')
    .requiredOption('--name <name>', "the mapping's name")
    .requiredOption('--id-column <column>', "the CSV column holding the agency's record id")
    .requiredOption(
      '--map <pairs>',
      'FIELD=Column pairs, comma-separated: given_name, middle_name, family_name, birth_date, sex, nhs_number, phone, email, postcode, address',
    )
    .action(async (options: { source: string; name: string; idColumn: string; map: string }) => {
      try {
        const columns = parseMapArgument(options.map);
        await withDatabase(
          async (database) => {
            await saveMapping(database.db, { source: options.source, name: options.name, idColumn: options.idColumn, columns });
            console.log(`Saved mapping ${options.name} for ${options.source}: ${Object.keys(columns).length} fields`);
          },
          (serving) =>
            serving
              ? `stop it first, or save the mapping through that server: PUT ${serving}/api/import-mappings/${options.source}/${options.name} with {"idColumn": ..., "columns": {...}} and a bearer token`
              : `stop it first, ${elsewhere}`,
        );
      } catch (error) {
        fail('import-mapping', error);
      }
    });

  const token = program.command('token').description('API tokens for machine clients (FHIR and import APIs).');
  token
    .command('create')
    .description('Create a bearer token that acts as a user (shown once).')
    .requiredOption('--user <username>', 'the user the token acts as; it sees exactly what they may')
    .option('--name <name>', 'what the token is for', 'api client')
    .option('--days <n>', 'days until it expires', (v) => Number(v), 90)
    .action(async (options: { user: string; name: string; days: number }) => {
      try {
        await withDatabase(
          async (database) => {
            const created = await createApiTokenForUsername(database.db, options.user, options.name, options.days);
            console.log(created.token);
            console.error(
              `Token ${created.id} for ${options.user}, expires ${created.expiresAt.toISOString().slice(0, 10)}. Send it as "Authorization: Bearer <token>".`,
            );
          },
          () => `stop it first (tokens are made only at the command line: no API can mint one), ${elsewhere}`,
        );
      } catch (error) {
        fail('token create', error);
      }
    });
  token
    .command('revoke')
    .description('Revoke a token by its id.')
    .argument('<id>')
    .action(async (id: string) => {
      try {
        await withDatabase(
          async (database) => {
            console.log((await revokeApiToken(database.db, id)) ? `Revoked ${id}` : `No live token ${id}`);
          },
          () => `stop it first (or disable the token's account on the accounts page, which revokes its tokens at once), ${elsewhere}`,
        );
      } catch (error) {
        fail('token revoke', error);
      }
    });

  const webhook = program.command('webhook').description('Signed webhooks for referral, plan, consent and care network changes.');
  webhook
    .command('add')
    .description('Subscribe a URL to events; prints the signing secret once.')
    .requiredOption('--url <url>', 'where to POST events (https, or http on 127.0.0.1 for testing)')
    .option('--topics <topics>', `comma-separated: ${outboxTopics.join(', ')}`, outboxTopics.join(','))
    .action(async (options: { url: string; topics: string }) => {
      try {
        await withDatabase(
          async (database) => {
            const created = await addWebhook(database.db, {
              url: options.url,
              topics: options.topics.split(',').map((t) => t.trim()),
              createdBy: null,
            });
            console.log(`Webhook ${created.id}; signing secret: ${created.secret}`);
          },
          (serving) =>
            serving
              ? `stop it first, or subscribe through that server: POST ${serving}/api/webhooks with {"url": ..., "topics": [...]} and an administrator's bearer token`
              : `stop it first, ${elsewhere}`,
        );
      } catch (error) {
        fail('webhook add', error);
      }
    });
}
