// `joinery account disable|enable`: ending an account (or restoring it) from the command line,
// e.g. when no administrator can sign in. The same functions as the accounts page: sessions end
// and tokens are revoked at once, and the audit trail records it as done at the command line.
import type { Command } from 'commander';
import type { DatabaseHandle } from '../platform/db.ts';
import { accountIdFor, disableAccount, enableAccount } from './accounts.ts';
import type { AuthPorts } from './ports.ts';

export function registerAccountCommands(
  program: Command,
  ports: Pick<AuthPorts, 'revokeApiTokens'>,
  open: () => Promise<DatabaseHandle>,
  oneLineErrors: <A extends unknown[]>(action: (...args: A) => Promise<void>) => (...args: A) => Promise<void>,
): void {
  const account = program.command('account').description('Disable or enable a sign-in account.');

  async function withDatabase(work: (database: DatabaseHandle) => Promise<void>): Promise<void> {
    const database = await open();
    try {
      await work(database);
    } finally {
      await database.close();
    }
  }

  account
    .command('disable')
    .description('Disable an account: it is signed out at once, its API tokens are revoked, and it cannot sign in until enabled.')
    .requiredOption('--user <name>', 'the username of the account')
    .requiredOption('--reason <text>', 'why (shown to administrators on the accounts page)')
    .action(
      oneLineErrors(async (options: { user: string; reason: string }) => {
        await withDatabase(async (database) => {
          const changed = await disableAccount(database.db, ports, null, await accountIdFor(database.db, options.user), options.reason);
          console.log(changed ? `Disabled ${options.user}: signed out, API tokens revoked.` : `${options.user} was already disabled.`);
        });
      }),
    );

  account
    .command('enable')
    .description('Enable a disabled account: it can sign in again (its old sessions and tokens stay ended).')
    .requiredOption('--user <name>', 'the username of the account')
    .action(
      oneLineErrors(async (options: { user: string }) => {
        await withDatabase(async (database) => {
          const changed = await enableAccount(database.db, null, await accountIdFor(database.db, options.user));
          console.log(changed ? `Enabled ${options.user}: they can sign in again.` : `${options.user} was not disabled.`);
        });
      }),
    );
}
