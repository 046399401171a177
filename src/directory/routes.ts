// The directory module's HTTP surface: the public Open Referral UK API and the signed-in pages.
import type { FastifyInstance } from 'fastify';
import { registerOrukApi } from './api.ts';
import { registerDirectoryPages } from './web.ts';

export function registerDirectoryRoutes(app: FastifyInstance): void {
  registerOrukApi(app);
  registerDirectoryPages(app);
}
