// The person index of a whole place lives in memory: 3 to 4 GB at a million people. Under
// V8's default heap limit (about 4 GB) such a process spends most of its time collecting
// garbage near the limit, and then fails. Joinery's processes run with a limit of three
// quarters of the machine's memory instead (plain JavaScript: the launcher may run on an
// older Node before it hands over to Node 24).
import { spawn } from 'node:child_process';
import os from 'node:os';
import v8 from 'node:v8';

const MEGABYTE = 1024 * 1024;

/** The heap limit Joinery wants on this machine, in megabytes. */
export function wantedHeapMegabytes() {
  return Math.max(4096, Math.floor((os.totalmem() / MEGABYTE) * 0.75));
}

/** Node flags that give this machine's wanted heap limit (none if this process has it already). */
function heapFlags() {
  const current = v8.getHeapStatistics().heap_size_limit / MEGABYTE;
  const wanted = wantedHeapMegabytes();
  return current >= wanted ? [] : [`--max-old-space-size=${wanted}`];
}

/**
 * Runs `script` again in a child Node (`node`: which binary) with the wanted heap limit if this
 * process lacks it (or always, given another binary): the promise then never settles, and this
 * process passes signals on and exits with the child's status. Resolves at once if nothing
 * needed doing.
 */
export function ensureHeapLimit(script, node = process.execPath) {
  const flags = heapFlags();
  if (flags.length === 0 && node === process.execPath) return Promise.resolve();
  const child = spawn(node, [...flags, ...process.execArgv, script, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
  child.on('error', (error) => {
    console.error(`cannot start ${node}: ${error.message}`);
    process.exit(1);
  });
  return new Promise(() => {});
}
