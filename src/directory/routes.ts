// The directory module's HTTP surface: the public Open Referral UK API and the signed-in pages.
import type { FastifyInstance } from 'fastify';
import { registerOrukApi } from './api.ts';
import { registerDirectoryPages, type TypicalWaits } from './web.ts';

/** `waits`: services' typical waits, from the module that holds referrals (given by src/app.ts). */
export function registerDirectoryRoutes(app: FastifyInstance, waits: TypicalWaits): void {
  registerOrukApi(app);
  registerDirectoryPages(app, waits);
}
