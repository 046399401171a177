// `joinery insight casefind` and `joinery insight refresh`: case-finding rules and the
// precomputed dashboard figures, each with a progress bar. Print JSON summaries (no personal data).
import { InvalidArgumentError, type Command } from 'commander';
import type { DatabaseHandle } from '../platform/db.ts';
import { createProgress } from '../platform/progress.ts';
import { runCaseFinding } from './casefind.ts';
import { refreshInsight } from './refresh.ts';

function dateOption(raw: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T12:00:00Z`)))
    throw new InvalidArgumentError('--as-of must be a date, YYYY-MM-DD');
  return new Date(`${raw}T23:59:59Z`);
}

function oneLine<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      console.error(`joinery: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
      if (process.env.JOINERY_DEBUG && error instanceof Error) console.error(error.stack);
      process.exitCode = 1;
    }
  };
}

export function registerInsightCommands(program: Command, open: () => Promise<DatabaseHandle>): void {
  const insight = program.command('insight').description('Needs, inequalities and case-finding (aggregates and worklists; no names).');
  insight
    .command('casefind')
    .description("Run the case-finding rules (insight_rules) and refresh every team's worklist.")
    .option('--rule <id...>', 'only these rule ids')
    .option('--as-of <date>', 'the date the rules look back from (default today)', dateOption)
    .action(
      oneLine(async (options: { rule?: string[]; asOf?: Date }) => {
        const database = await open();
        try {
          const progress = createProgress('Case-finding', 1);
          const run = await runCaseFinding(database.db, {
            progress,
            ...(options.rule ? { ruleIds: options.rule } : {}),
            ...(options.asOf ? { asOf: options.asOf } : {}),
          });
          progress.stop(
            `${run.entries.toLocaleString('en-GB')} worklist entries from ${run.rules.length} rules in ${run.seconds.toFixed(1)} s`,
          );
          console.log(JSON.stringify(run));
        } finally {
          await database.close();
        }
      }),
    );
  insight
    .command('refresh')
    .description('Recompute the pseudonymised facts and the aggregates the dashboards read.')
    .action(
      oneLine(async () => {
        const database = await open();
        try {
          const progress = createProgress('Computing figures', 6);
          const summary = await refreshInsight(database.db, { progress });
          progress.stop(`figures for ${summary.people.toLocaleString('en-GB')} residents in ${summary.seconds.toFixed(1)} s`);
          console.log(JSON.stringify(summary));
        } finally {
          await database.close();
        }
      }),
    );
}
