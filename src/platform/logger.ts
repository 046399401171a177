// Structured logs with pino. Logs never carry personal data: no bodies, no query strings
// (searches hold names), no cookies, no user names; only ids, routes and status codes.
import pino, { type Logger } from 'pino';

// How long a line may wait to go out with others.
const FLUSH_EVERY_MS = 100;

export function createLogger(level: string): Logger {
  // Written asynchronously and together: lines wait until 4 KB have gathered or a tenth of a
  // second has passed, then go out in one write. One system call per request line cost about
  // 7% of a person page's server time, written as each came. pino flushes what is left when
  // the process exits.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Closed: there is nothing more to write.
    }
  }, FLUSH_EVERY_MS).unref();
  return pino(
    {
      level,
      // The process on every line: `serve --workers` runs several, and a fault is then traced to one.
      base: { service: 'joinery', pid: process.pid },
      redact: { paths: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'], remove: true },
    },
    destination,
  );
}

/** The path without its query string, e.g. "/people/p-1?q=smith" becomes "/people/p-1". */
export function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

// Identifiers an error message can carry from the request or the database (person and household
// ids like p-0000001, UUIDs, a constraint's "Key (person_id)=(...)" detail).
const IDS = [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, /\b[a-z]{1,4}-\d{4,}\b/gi, /\)=\([^)]*\)/g];

/** The text with identifiers masked, for error messages and stacks that go to the log. */
export function withoutIds(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return IDS.reduce((out, pattern) => out.replace(pattern, (match) => (match.startsWith(')=(') ? ')=(…)' : '…')), text);
}

/** An error as the log records it: its kind, and its message and stack without identifiers. */
export function errorForLog(error: Error): { type: string; message: string | undefined; stack: string | undefined } {
  return { type: error.name, message: withoutIds(error.message), stack: withoutIds(error.stack) };
}
