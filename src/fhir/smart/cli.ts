// `joinery smart-client add|list|disable`: an administrator registers the SMART apps that may ask
// users for access (there is no dynamic registration), and disables one, which ends every token it holds.
import type { Command } from 'commander';
import type { DatabaseHandle } from '../../platform/db.ts';
import { disableSmartClient, listSmartClients, registerSmartClient } from './clients.ts';

type Open = () => Promise<DatabaseHandle>;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

type OneLine = <A extends unknown[]>(action: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;

export function registerSmartCommands(program: Command, open: Open, oneLineErrors: OneLine): void {
  const smart = program.command('smart-client').description('SMART App Launch apps: register, list, disable');
  smart
    .command('add')
    .description('register a SMART app; prints its client_id (and, with --confidential, its secret, shown once)')
    .requiredOption('--name <name>', 'the app’s name, as users see it when asked to allow it')
    .requiredOption('--redirect-uri <uri>', 'an exact redirect URI (repeat for several)', collect, [])
    .option('--launch-uri <uri>', 'where an EHR launch from Joinery opens the app')
    .option('--confidential', 'the app keeps a secret (a server); without: a public app, PKCE only')
    .option('--scope <scopes>', 'the most the app may be granted (space-separated SMART scopes)')
    .action(
      oneLineErrors(
        async (options: { name: string; redirectUri: string[]; launchUri?: string; confidential?: boolean; scope?: string }) => {
          const database = await open();
          try {
            const client = await registerSmartClient(database.db, {
              name: options.name,
              redirectUris: options.redirectUri,
              launchUri: options.launchUri ?? null,
              confidential: Boolean(options.confidential),
              scope: options.scope,
            });
            console.log(`client_id: ${client.clientId}`);
            if (client.clientSecret) console.log(`client_secret: ${client.clientSecret}  (shown once: keep it in the app's secret store)`);
          } finally {
            await database.close();
          }
        },
      ),
    );
  smart
    .command('list')
    .description('the registered SMART apps')
    .action(
      oneLineErrors(async () => {
        const database = await open();
        try {
          for (const c of await listSmartClients(database.db))
            console.log(
              `${c.id}\t${c.name}\t${c.confidential ? 'confidential' : 'public'}\t${c.disabled ? 'disabled' : 'live'}\t${c.redirectUris.join(' ')}`,
            );
        } finally {
          await database.close();
        }
      }),
    );
  smart
    .command('disable <clientId>')
    .description('disable an app: it can no longer be allowed, and its tokens stop working at once')
    .action(
      oneLineErrors(async (clientId: string) => {
        const database = await open();
        try {
          console.log((await disableSmartClient(database.db, clientId)) ? `disabled ${clientId}` : `${clientId} was not a live app`);
        } finally {
          await database.close();
        }
      }),
    );
}
