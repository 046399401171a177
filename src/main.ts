// Starting and stopping the server, shared by `joinery serve` and `joinery demo`.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createApp, type AppOptions } from './app.ts';
import { noteServing } from './platform/data-lock.ts';

export class StartupError extends Error {
  override name = 'StartupError';
}

export async function listen(options: AppOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createApp(options);
  const { port, host } = options.config;
  try {
    await app.listen({ port, host });
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`port ${port} is already in use; stop the other program or set PORT to a free port`);
    if (code === 'EACCES') throw new StartupError(`not allowed to listen on port ${port}; use a port above 1024 (set PORT)`);
    throw new StartupError(`cannot listen on ${host}:${port}: ${(error as Error).message}`);
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '127.0.0.1' || host === '::' ? 'localhost' : host;
  const url = `http://${shownHost}:${actualPort}`;
  // A command refused the embedded database's folder can then say where the server is.
  if (options.database.kind === 'pglite') noteServing(options.database.location, url);
  return { app, url };
}

/** Close cleanly on Ctrl-C or a container stop, so PGlite flushes its files. */
export function closeOnSignals(close: () => Promise<void>, logger: Logger): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
