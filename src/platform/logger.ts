// Structured logs with pino. Logs never carry personal data: no bodies, no query strings
// (searches hold names), no cookies, no user names; only ids, routes and status codes.
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'joinery' },
    redact: { paths: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'], remove: true },
  });
}

/** The path without its query string, e.g. "/people/p-1?q=smith" becomes "/people/p-1". */
export function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
