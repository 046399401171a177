// One process at a time in a data folder. PGlite is PostgreSQL in a single process with no lock of
// its own: two processes on one folder each cache and write pages unseen by the other, losing
// acknowledged writes and breaking the audit chain. The holder creates `joinery.lock` with O_EXCL
// (atomic on local file systems), writing who it is; a lock whose holder has stopped (killed, or
// its pid now someone else's: see process-owner.ts) is stale and taken over. A pid rather than a
// heartbeat (as proper-lockfile keeps, by rewriting the lock's mtime on a timer) because a busy
// event loop, e.g. loading a city's person index, must never let a live holder look stale.
import fs from 'node:fs';
import path from 'node:path';
import { hasStopped, thisProcess, type ProcessOwner } from './process-owner.ts';

export const LOCK_FILE = 'joinery.lock';

export interface FolderHolder extends ProcessOwner {
  /** The URL the holder serves, once it does (so a refused command can point there). */
  serving?: string;
}

export class FolderInUse extends Error {
  override name = 'FolderInUse';
  readonly folder: string;
  readonly holder: FolderHolder;
  constructor(folder: string, holder: FolderHolder) {
    super(`${folder} is in use by process ${holder.pid} on ${holder.host}`);
    this.folder = folder;
    this.holder = holder;
  }
}

/** Folders this process holds, with the lock file's content as written. */
const held = new Map<string, string>();

function parseHolder(raw: string): FolderHolder | undefined {
  try {
    const value = JSON.parse(raw) as Partial<FolderHolder>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    return {
      host: value.host,
      pid: value.pid,
      started: typeof value.started === 'string' ? value.started : null,
      ...(typeof value.serving === 'string' ? { serving: value.serving } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Moves a stale lock out of the way, unless it changed since it was read (another process took
 * it over first): then it is put back, and the caller tries again.
 */
function removeStale(file: string, staleContent: string): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (fs.readFileSync(aside, 'utf8') !== staleContent) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // Someone else's lock is already in place; theirs stands.
    }
  }
  fs.rmSync(aside, { force: true });
}

let exitHookInstalled = false;
function releaseAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A process that exits without closing its database still gives its folders back.
  process.once('exit', () => {
    for (const folder of held.keys()) releaseNow(folder);
  });
}

function releaseNow(folder: string): void {
  const content = held.get(folder);
  if (content === undefined) return;
  held.delete(folder);
  const file = path.join(folder, LOCK_FILE);
  try {
    if (fs.readFileSync(file, 'utf8') === content) fs.rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}

/** A lock file this young with no readable holder is being written right now: wait for it. */
const UNREADABLE_GRACE_MS = 5000;

/** Takes the folder for this process, or throws FolderInUse naming the holder. Returns the release. */
export async function lockFolder(folder: string): Promise<() => void> {
  const resolved = path.resolve(folder);
  const file = path.join(resolved, LOCK_FILE);
  if (held.has(resolved)) throw new FolderInUse(resolved, parseHolder(held.get(resolved)!) ?? thisProcess());
  for (let attempt = 0; attempt < 50; attempt++) {
    const content = `${JSON.stringify({ ...thisProcess(), since: new Date().toISOString() })}\n`;
    try {
      fs.writeFileSync(file, content, { flag: 'wx' });
      held.set(resolved, content);
      releaseAllOnExit();
      return () => releaseNow(resolved);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let raw: string;
    let age: number;
    try {
      raw = fs.readFileSync(file, 'utf8');
      age = Date.now() - fs.statSync(file).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const holder = parseHolder(raw);
    if (!holder) {
      if (age < UNREADABLE_GRACE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      removeStale(file, raw);
      continue;
    }
    // Our own pid but not a folder we hold: a previous process that had the same pid.
    const stale = holder.host === thisProcess().host && holder.pid === process.pid ? true : hasStopped(holder);
    if (!stale) throw new FolderInUse(resolved, holder);
    removeStale(file, raw);
  }
  throw new FolderInUse(resolved, parseHolder(fs.readFileSync(file, 'utf8')) ?? thisProcess());
}

/** Records in the lock the URL this process serves the folder's data on. */
export function noteServing(folder: string, url: string): void {
  const resolved = path.resolve(folder);
  const content = held.get(resolved);
  if (content === undefined) return;
  const next = `${JSON.stringify({ ...(JSON.parse(content) as object), serving: url })}\n`;
  const file = path.join(resolved, LOCK_FILE);
  // Written aside and renamed over, so a reader never sees a half-written lock.
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, next);
  fs.renameSync(temporary, file);
  held.set(resolved, next);
}
