// Which process holds something (the embedded database's folder, an import job), and whether that
// process is still running. A pid alone is not enough: after a crash and restart (a container
// especially) the same pid comes back for a different process, so on Linux the holder's start
// time since boot and the boot id are kept with it, telling a live holder from a reused pid.
import fs from 'node:fs';
import os from 'node:os';

export interface ProcessOwner {
  host: string;
  pid: number;
  /** Boot id and start time of the process on Linux; null where that cannot be read. */
  started: string | null;
}

let bootId: string | null | undefined;

function readBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/** The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), with the boot id. */
function startedOf(pid: number): string | null {
  const boot = readBootId();
  if (boot === null) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return ticks ? `${boot}/${ticks}` : null;
  } catch {
    return null;
  }
}

let self: ProcessOwner | undefined;

export function thisProcess(): ProcessOwner {
  self ??= { host: os.hostname(), pid: process.pid, started: startedOf(process.pid) };
  return self;
}

export function isThisProcess(owner: ProcessOwner): boolean {
  const me = thisProcess();
  return owner.host === me.host && owner.pid === me.pid && (owner.started === null || me.started === null || owner.started === me.started);
}

/**
 * True only when the owner is known to have stopped: it ran on this host and its pid is free, or
 * now belongs to a process started at another time. An owner on another host cannot be checked
 * from here (callers fall back on a heartbeat), so it counts as running.
 */
export function hasStopped(owner: ProcessOwner): boolean {
  if (owner.host !== os.hostname()) return false;
  if (owner.pid === process.pid) return !isThisProcess(owner);
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to another user, so it is running.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (owner.started === null) return false;
  const now = startedOf(owner.pid);
  return now !== null && now !== owner.started;
}
