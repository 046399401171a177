// `joinery link`: link or deduplicate CSV files into persons; `joinery index`: the person index
// over the database's agency records; `joinery review-labels`: reviewers' decisions as labels.

import { writeFile } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { indexPlaceRecords } from './person-index.ts';
import { LinkInputError } from './csv-input.ts';
import { evaluateClusters, evaluatePairLabels, formatEvaluation, formatPairEvaluation, readAnyLabels, readDecisions } from './evaluate.ts';
import { checkWritable, doubtfulPairs, runLinkJob, writeClusterCsv, writeReportFile, writeReviewCsv } from './job.ts';
import { log2Odds } from './model.ts';
import { createProgressReporter } from './progress.ts';
import { renderLinkReport } from './report.ts';
import { formatAgreement, reviewerAgreement, reviewerPairLabels } from './review-labels.ts';

interface LinkCommandOptions {
  input: string[];
  idColumn?: string;
  map: string[];
  out?: string;
  workers?: string;
  labels?: string;
  report?: string;
  review?: string;
  decisions?: string;
}

/** Bad input exits with this code and one line on stderr. */
const BAD_INPUT_EXIT_CODE = 2;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function failBadInput(message: string): void {
  console.error(`joinery link: ${message}`);
  process.exitCode = BAD_INPUT_EXIT_CODE;
}

async function runLinkCommand(options: LinkCommandOptions): Promise<void> {
  if (!options.idColumn) return failBadInput('no id column: give --id-column NAME');
  if (!options.out) return failBadInput('no output file: give --out clusters.csv');
  if (options.map.length === 0) return failBadInput('no fields mapped: give --map SRC=FIELD[,SRC=FIELD...]');
  const workers = options.workers === undefined ? undefined : Number(options.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
    return failBadInput(`--workers must be a whole number of at least 1, got '${options.workers}'`);
  }
  const progress = createProgressReporter();
  try {
    // Read before linking, so a bad labels file fails in a second rather than after the run.
    const anyLabels = options.labels === undefined ? undefined : await readAnyLabels(options.labels);
    // Who-is-who labels score everything; decided pairs score only the pairs people looked at.
    const labels = anyLabels?.kind === 'clusters' ? anyLabels.clusters : undefined;
    const pairLabels = anyLabels?.kind === 'pairs' ? anyLabels.pairs : undefined;
    const decisions = options.decisions === undefined ? undefined : await readDecisions(options.decisions);
    if (options.report !== undefined) await checkWritable(options.report, 'report file');
    if (options.review !== undefined) await checkWritable(options.review, 'review file');
    const started = performance.now();
    const { rows, result, mappings, recordIds, decidedPairs } = await runLinkJob({
      inputs: options.input,
      idColumn: options.idColumn,
      maps: options.map,
      workers,
      onProgress: progress.onProgress,
      weightHistogram: options.report !== undefined,
      // The report measures each threshold it shows against the labels, down to the review band;
      // the review file lists that band.
      collectUncertain: (options.report !== undefined && labels !== undefined) || options.review !== undefined,
      decisions,
    });
    progress.stop();
    await writeClusterCsv(options.out, rows);
    const clusters = new Set(rows.map((row) => row.clusterId)).size;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(
      `joinery link: ${rows.length} records, ${result.candidatePairCount} candidate pairs, ${clusters} persons in ${seconds}s → ${options.out}`,
    );
    if (decisions) {
      const same = decisions.filter((decision) => decision.same).length;
      console.error(`joinery link: ${same} pairs decided the same and ${decisions.length - same} different, from ${options.decisions}`);
    }
    if (options.review !== undefined) {
      const pairs = doubtfulPairs(result, decidedPairs);
      await writeReviewCsv(options.review, result, pairs, recordIds);
      console.error(
        `joinery link: ${pairs.length} doubtful pairs to decide → ${options.review} (fill in 'same' with yes or no, then run again with --decisions ${options.review})`,
      );
    }
    const evaluation = labels ? evaluateClusters(rows, labels) : undefined;
    if (evaluation) console.log(formatEvaluation(evaluation, options.labels!));
    if (pairLabels) console.log(formatPairEvaluation(evaluatePairLabels(rows, pairLabels), options.labels!));
    if (options.report !== undefined) {
      const { model } = result;
      await writeReportFile(
        options.report,
        renderLinkReport({
          result,
          inputs: options.input,
          mappings,
          recordIds: rows.map((row) => row.recordId),
          persons: clusters,
          clusterThreshold: model.linkThreshold,
          pairsCompleteFrom: labels ? log2Odds(Math.min(model.reviewThreshold, model.linkThreshold)) : log2Odds(model.linkThreshold),
          labels: labels && evaluation ? { path: options.labels!, truth: labels, evaluation } : undefined,
          generatedAt: new Date(),
        }),
      );
      console.error(`joinery link: model report → ${options.report}`);
    }
  } catch (error) {
    progress.stop();
    if (error instanceof LinkInputError) return failBadInput(error.message);
    console.error(`joinery link: failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

export function registerLinkCommand(program: Command): void {
  program
    .command('link')
    .description('link records of one person across CSV files (or deduplicate one file) into persons')
    .option('--input <file>', 'CSV file; once to deduplicate, twice to link two files', collect, [])
    .option('--id-column <name>', 'column holding each record id')
    .option(
      '--map <SRC=FIELD,...>',
      'map a column to given_name, family_name, birth_date, sex, postcode, address, nhs_number, email, phone or text:NAME (repeatable)',
      collect,
      [],
    )
    .option('--out <file>', 'output CSV: record_id,cluster_id')
    .option('--workers <n>', 'worker threads for pair scoring (default: up to 2)')
    .option(
      '--labels <file>',
      'known answers as record_id,cluster_id (print pairwise and person precision, recall and F1), or decided pairs as record_a,record_b,same (as `joinery review-labels` writes)',
    )
    .option(
      '--report <file>',
      "write the model as an HTML page: each field's m and u, the match weights, what moving the threshold would change",
    )
    .option(
      '--review <file>',
      'write the doubtful pairs for a person to decide, most likely first: record_a,record_b,match_probability,same (blank: fill in yes or no), then each field of both records',
    )
    .option(
      '--decisions <file>',
      'pairs a person decided, as record_a,record_b,same (the --review file filled in; blank rows are skipped): the same are one person, the different never are',
    )
    .exitOverride((error) => {
      // Commander has already printed its one-line message; usage errors are bad input.
      process.exit(error.exitCode === 0 ? 0 : BAD_INPUT_EXIT_CODE);
    })
    .action(runLinkCommand);
}

/**
 * `joinery index`: runs the person index over the database's agency records: links records
 * without a link (or, with --relink-all, re-clusters all of them under reviewers' decisions).
 */
export function registerIndexCommand(program: Command, open: () => Promise<{ db: Kysely<Database>; close(): Promise<void> }>): void {
  program
    .command('index')
    .description('Link the agency records in the database to persons on the spine (the master person index).')
    .option('--relink-all', "re-cluster every record, not only those without a link (reviewers' decisions still hold)")
    .action(async (options: { relinkAll?: boolean }) => {
      const database = await open();
      try {
        const summary = await indexPlaceRecords(database.db, { relinkAll: options.relinkAll === true });
        console.log(
          `Indexed ${summary.records.toLocaleString('en-GB')} agency records against ${summary.persons.toLocaleString('en-GB')} persons in ${summary.seconds.toFixed(1)} s: ` +
            `${summary.linked.toLocaleString('en-GB')} newly linked to a person, ${summary.newPersons.toLocaleString('en-GB')} new persons, ${summary.reviews.toLocaleString('en-GB')} new items to review` +
            `${options.relinkAll ? `, ${summary.relinked.toLocaleString('en-GB')} links changed` : ''}.`,
        );
      } catch (error) {
        console.error(`joinery index: ${(error as Error).message.split('\n')[0]}`);
        process.exitCode = 1;
      } finally {
        await database.close();
      }
    });
}

/**
 * `joinery review-labels`: what reviewers decided, as labelled pairs a data-quality officer can
 * score a `joinery link` run with, and how the model's probabilities compare with the decisions.
 */
export function registerReviewLabelsCommand(program: Command, open: () => Promise<{ db: Kysely<Database>; close(): Promise<void> }>): void {
  program
    .command('review-labels')
    .description(
      "Reviewers' decisions from the review queue as labelled pairs (record_a,record_b,same), and how they compare with the probabilities the model gave.",
    )
    .option('--out <file>', "write the decided pairs as CSV (records named source:source_id; a person's own entry person:ID)")
    .action(async (options: { out?: string }) => {
      const database = await open();
      try {
        const labels = await reviewerPairLabels(database.db);
        if (options.out !== undefined) {
          const rows = labels.map((label) => [
            label.recordA,
            label.recordB,
            label.same ? 'yes' : 'no',
            label.probability.toFixed(4),
            label.decidedAt.toISOString(),
          ]);
          await writeFile(options.out, stringify([['record_a', 'record_b', 'same', 'model_probability', 'decided_at'], ...rows]));
          console.error(`joinery review-labels: ${labels.length.toLocaleString('en-GB')} decided pairs → ${options.out}`);
        }
        console.log(formatAgreement(await reviewerAgreement(database.db, labels)));
      } catch (error) {
        console.error(`joinery review-labels: ${(error as Error).message.split('\n')[0]}`);
        process.exitCode = 1;
      } finally {
        await database.close();
      }
    });
}
