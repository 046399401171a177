// Temporary copies of uploaded import files. Each lives in a folder named after the process that
// holds it (joinery-import-<pid>-XXXXXX), removed when its import ends or fails; a folder whose
// process has died (a server killed mid-import) is removed at the next server start, when the
// lost job is marked failed too (see startImportReaper).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hasStopped } from '../platform/process-owner.ts';
import { reapLostImports } from './import.ts';

const PREFIX = 'joinery-import-';
const OWNED = /^joinery-import-(\d+)-/;

/** Upload folders this process is using now. */
const live = new Set<string>();

export async function createUploadFolder(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  live.add(dir);
  return {
    dir,
    async remove() {
      live.delete(dir);
      await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Removes upload folders left by processes that have stopped (and this pid's, from an earlier life). */
export async function removeLostUploads(): Promise<number> {
  const tmp = os.tmpdir();
  let removed = 0;
  for (const name of await fs.promises.readdir(tmp).catch(() => [] as string[])) {
    const pid = Number(OWNED.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isSafeInteger(pid)) continue;
    const dir = path.join(tmp, name);
    const lost = pid === process.pid ? !live.has(dir) : hasStopped({ host: os.hostname(), pid, started: null });
    if (!lost) continue;
    await fs.promises.rm(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** How often a server looks for import jobs other processes lost (their heartbeat stopped). */
const REAP_EVERY_MS = 60_000;

/**
 * At start, and every minute while serving: import jobs whose process died are marked failed
 * (resumable by sending the file again), and their upload copies removed.
 */
export function startImportReaper(app: FastifyInstance): void {
  const reap = async () => {
    try {
      const jobs = await reapLostImports(app.joinery.database.db);
      const uploads = await removeLostUploads();
      if (jobs + uploads > 0) app.log.warn({ jobs, uploads }, 'import jobs whose process stopped were marked failed');
    } catch (error) {
      app.log.warn({ err: { type: (error as Error).name } }, 'could not check for lost import jobs');
    }
  };
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    await reap();
    timer = setInterval(() => void reap(), REAP_EVERY_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}
