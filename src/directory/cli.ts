// `joinery directory export|import`: the directory as an Open Referral UK service package.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { openDatabase, type DatabaseHandle } from '../platform/db.ts';
import { exportDirectory, importDirectory } from './transfer.ts';
import { ORUK_PROFILE_VERSION } from './validator.ts';

/** Bad input (a file that is missing, not JSON, or not a valid directory) exits with 2. */
const BAD_INPUT_EXIT_CODE = 2;

/** Brings a database up to date (the registry's migrateToLatest, handed in by cli.ts: a module knows no other module's tables). */
type Migrate = (db: DatabaseHandle['db']) => Promise<unknown>;
let migrateToLatest: Migrate;

async function withDatabase(action: (database: DatabaseHandle) => Promise<void>): Promise<void> {
  const database = await openDatabase(loadConfig());
  try {
    await migrateToLatest(database.db);
    await action(database);
  } finally {
    await database.close();
  }
}

function fail(message: string, code = 1): void {
  console.error(`joinery directory: ${message.split('\n')[0]}`);
  process.exitCode = code;
}

export function registerDirectoryCommands(program: Command, migrate: Migrate): void {
  migrateToLatest = migrate;
  const directory = program.command('directory').description(`Export or import the service directory (${ORUK_PROFILE_VERSION}).`);

  directory
    .command('export')
    .description('Write every service, fully nested, as an Open Referral UK service package (JSON).')
    .requiredOption('--out <file>', 'JSON file to write (replaced if it exists)')
    .action(async (options: { out: string }) => {
      try {
        const out = path.resolve(options.out);
        if (fs.existsSync(out) && fs.statSync(out).isDirectory())
          return fail(`--out ${out} is a folder; give a file name`, BAD_INPUT_EXIT_CODE);
        await withDatabase(async (database) => {
          const services = await exportDirectory(database.db);
          const temporary = `${out}.${process.pid}.tmp`;
          fs.writeFileSync(temporary, `${JSON.stringify(services, null, 2)}\n`);
          fs.renameSync(temporary, out);
          const organisations = new Set(services.map((s) => (s.organization as { id?: string } | undefined)?.id)).size;
          console.log(
            `Exported ${services.length.toLocaleString('en-GB')} services from ${organisations.toLocaleString('en-GB')} organisations to ${out}`,
          );
        });
      } catch (error) {
        fail((error as Error).message);
      }
    });

  directory
    .command('import')
    .description(
      'Load a directory from an Open Referral UK service package (JSON). All or nothing; importing the same file twice changes nothing.',
    )
    .requiredOption('--file <file>', 'JSON file to read')
    .action(async (options: { file: string }) => {
      const file = path.resolve(options.file);
      let input: unknown;
      try {
        input = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is no such file' : (error as Error).message;
        return fail(`cannot read ${file}: ${reason}`, BAD_INPUT_EXIT_CODE);
      }
      try {
        await withDatabase(async (database) => {
          const summary = await importDirectory(database.db, input);
          console.log(
            `Imported ${summary.services.toLocaleString('en-GB')} services, ${summary.organizations.toLocaleString('en-GB')} organisations, ${summary.locations.toLocaleString('en-GB')} locations and ${summary.taxonomyTerms.toLocaleString('en-GB')} taxonomy terms from ${file}`,
          );
        });
      } catch (error) {
        fail(
          `${file} was not imported: ${(error as Error).message}`,
          (error as Error).name === 'DirectoryImportError' ? BAD_INPUT_EXIT_CODE : 1,
        );
      }
    });
}
