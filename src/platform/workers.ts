// Serving from several processes on one port (`joinery serve --workers N`): node:cluster's
// primary forks N workers, each a whole server with its own database pool, and hands them
// connections in turn. Node runs JavaScript on one core per process, so this is how one machine's
// cores all serve. Only on PostgreSQL: every worker's sessions, CSRF tokens, audit appends and
// person index go through the database, which many processes share safely; the embedded
// database can be opened by one process only (see data-lock.ts).
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { Logger } from 'pino';
import { ConfigError } from './config.ts';

/** --workers asked of the embedded database, or more than the machine can use: a configuration the start refuses. */
export class WorkersRefused extends ConfigError {
  override name = 'WorkersRefused';
}

/** Whether this process is one of `serve --workers`'s workers (it then serves as one server). */
export const isServingWorker = (): boolean => cluster.isWorker;

/** JOINERY_WORKERS: how many processes `serve` runs when --workers is not given (1 when unset). */
export function workersFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 1;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new WorkersRefused('JOINERY_WORKERS must be a whole number, 1 or more');
  return count;
}

/** The most workers a machine is allowed: more processes than cores only adds switching. */
export const maxWorkers = (): number => Math.max(1, os.availableParallelism()) * 4;

/** Refuses worker counts the configuration cannot serve; says what to do instead. */
export function checkWorkers(count: number, databaseKind: 'pglite' | 'postgres', dataDir: string): void {
  if (count > 1 && databaseKind === 'pglite') {
    throw new WorkersRefused(
      `--workers ${count} needs PostgreSQL (DATABASE_URL): the embedded database in ${dataDir} can be opened by one process only; serve it with one process (drop --workers), or set DATABASE_URL`,
    );
  }
  if (count > maxWorkers()) throw new WorkersRefused(`--workers must be at most ${maxWorkers()} on this machine (4 per core)`);
}

/**
 * The primary: forks `count` workers (which run this same command and serve), resolves with the
 * URL once all are listening, and keeps them running: a worker that dies after it was serving is
 * replaced; one that dies before it ever listened (a port in use, a database that refuses) stops
 * them all, as a single server's start would have failed. SIGINT and SIGTERM stop the workers
 * gracefully (each finishes the requests it has and closes its pool), then the primary exits.
 */
export function superviseWorkers(count: number, logger: Logger): Promise<{ port: number; address: string }> {
  let shuttingDown = false;
  const listening = new Set<Worker>();
  return new Promise((resolve, reject) => {
    let answered = false;
    const fail = (reason: string) => {
      if (answered) return;
      answered = true;
      stopAll();
      reject(new WorkersRefused(reason));
    };
    const stopAll = () => {
      shuttingDown = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    };
    const fork = () => {
      const worker = cluster.fork();
      worker.once('listening', (address) => {
        listening.add(worker);
        if (!answered && listening.size === count) {
          answered = true;
          resolve({ port: address.port, address: address.address ?? '127.0.0.1' });
        }
      });
      worker.once('exit', (code, signal) => {
        const wasListening = listening.delete(worker);
        if (shuttingDown) {
          if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
          return;
        }
        if (!wasListening) return fail(`a worker stopped before it could serve (exit ${code ?? signal})`);
        logger.error({ pid: worker.process.pid, code, signal }, 'a worker stopped; starting another');
        fork();
      });
    };
    const onSignal = (signal: string) => {
      if (shuttingDown) return;
      logger.info({ signal }, 'shutting down the workers');
      stopAll();
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    for (let i = 0; i < count; i++) fork();
  });
}
