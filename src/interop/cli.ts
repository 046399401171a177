// `joinery import`, `joinery import-mapping`, `joinery token create|revoke`, `joinery webhook add|list`.
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { openDatabase, type DatabaseHandle } from '../platform/db.ts';
import { migrateToLatest } from '../platform/migrate.ts';
import { createProgress } from '../platform/progress.ts';
import { DEFAULT_BATCH_SIZE, ImportInputError, loadMapping, parseMapArgument, runImport, saveMapping, formatOf, importErrors } from './import.ts';
import { createApiTokenForUsername, revokeApiToken } from './tokens.ts';
import { addWebhook, outboxTopics } from './outbox.ts';

const BAD_INPUT_EXIT_CODE = 2;

async function withDatabase(action: (database: DatabaseHandle) => Promise<void>): Promise<void> {
  const database = await openDatabase(loadConfig());
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

export function registerInteropCommands(program: Command): void {
  program
    .command('import')
    .description('Import an agency feed: CSV (with a saved column mapping), NDJSON of FHIR Patients, or a FHIR Bundle (.json). Resumable: run it again after a stop and it carries on; a finished file is not imported twice.')
    .argument('<file>', 'the file to import (.csv, .ndjson or .json)')
    .requiredOption('--source <code>', 'the agency source code the records come from (e.g. gp-riverside)')
    .option('--mapping <name>', 'the saved column mapping to read a CSV with (see joinery import-mapping)')
    .option('--batch <n>', 'records per committed batch', (v) => Number(v), DEFAULT_BATCH_SIZE)
    .option('--no-link', 'store the records without linking them (link later with joinery index)')
    .action(async (file: string, options: { source: string; mapping?: string; batch: number; link: boolean }) => {
      try {
        const resolved = path.resolve(file);
        const format = formatOf(resolved);
        await withDatabase(async (database) => {
          const mapping = options.mapping ? await loadMapping(database.db, options.source, options.mapping) : undefined;
          if (options.mapping && !mapping) throw new ImportInputError(`source ${options.source} has no mapping called ${options.mapping}`);
          let progress: ReturnType<typeof createProgress> | undefined;
          const started = Date.now();
          let firstLine = 0;
          const result = await runImport(database.db, {
            source: options.source, file: resolved, mapping, format, batchSize: Number.isInteger(options.batch) && options.batch > 0 ? options.batch : DEFAULT_BATCH_SIZE, link: options.link,
            onProgress(p) {
              if (!progress) {
                firstLine = p.linesDone;
                if (p.resumed && p.status !== 'done') console.error(`Resuming import ${p.jobId} after line ${p.linesDone.toLocaleString('en-GB')}`);
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
          console.log(`Import ${result.jobId} ${result.status}: ${result.stored.toLocaleString('en-GB')} records stored, ${result.unchanged.toLocaleString('en-GB')} unchanged, ` +
            `${result.linked.toLocaleString('en-GB')} linked to a person, ${result.newPerson.toLocaleString('en-GB')} new people, ${result.review.toLocaleString('en-GB')} for review, ` +
            `${result.errors.toLocaleString('en-GB')} rows with errors` + (result.linesDone > firstLine ? ` (${((result.linesDone - firstLine) / Math.max(seconds, 0.001)).toFixed(0)} lines/s)` : ''));
          if (result.errors > 0) {
            for (const error of await importErrors(database.db, result.jobId, 10)) console.log(`  line ${error.line}: ${error.message}`);
            if (result.errors > 10) console.log(`  … and ${(result.errors - 10).toLocaleString('en-GB')} more (GET /api/imports/${result.jobId}/errors)`);
          }
        });
      } catch (error) {
        fail('import', error);
      }
    });

  program
    .command('import-mapping')
    .description('Save (or replace) a column mapping for a source\'s CSV files.')
    .requiredOption('--source <code>', 'the agency source code')
    .requiredOption('--name <name>', 'the mapping\'s name')
    .requiredOption('--id-column <column>', 'the CSV column holding the agency\'s record id')
    .requiredOption('--map <pairs>', 'FIELD=Column pairs, comma-separated: given_name, middle_name, family_name, birth_date, sex, nhs_number, phone, email, postcode, address')
    .action(async (options: { source: string; name: string; idColumn: string; map: string }) => {
      try {
        const columns = parseMapArgument(options.map);
        await withDatabase(async (database) => {
          await saveMapping(database.db, { source: options.source, name: options.name, idColumn: options.idColumn, columns });
          console.log(`Saved mapping ${options.name} for ${options.source}: ${Object.keys(columns).length} fields`);
        });
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
        await withDatabase(async (database) => {
          const created = await createApiTokenForUsername(database.db, options.user, options.name, options.days);
          console.log(created.token);
          console.error(`Token ${created.id} for ${options.user}, expires ${created.expiresAt.toISOString().slice(0, 10)}. Send it as "Authorization: Bearer <token>".`);
        });
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
        await withDatabase(async (database) => {
          console.log((await revokeApiToken(database.db, id)) ? `Revoked ${id}` : `No live token ${id}`);
        });
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
        await withDatabase(async (database) => {
          const created = await addWebhook(database.db, { url: options.url, topics: options.topics.split(',').map((t) => t.trim()), createdBy: null });
          console.log(`Webhook ${created.id}; signing secret: ${created.secret}`);
        });
      } catch (error) {
        fail('webhook add', error);
      }
    });
}
