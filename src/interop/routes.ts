// The native JSON API for integration staff and agency systems: bulk import uploads and their
// progress, errors and set-aside rows (as CSV), saved column mappings, webhook subscriptions;
// and /openapi.json.
// Bearer tokens only (JSON APIs for machines: no session, no CSRF).
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiRateLimit, HttpError } from '../platform/http.ts';
import { errorForLog } from '../platform/logger.ts';
import type { SignedInUser } from '../auth/index.ts';
import { userForApiToken } from './tokens.ts';
import { Refusal } from '../platform/refused.ts';
import {
  importErrors,
  importNotKept,
  columnMappingRequest,
  importJob,
  recentImportJobIds,
  isSourceCode,
  loadMapping,
  rejectedCsv,
  runImport,
  saveMapping,
  type ImportFormat,
} from './import.ts';
import { createUploadFolder, startImportReaper } from './uploads.ts';
import { addWebhook, createDispatcher, outboxTopics, webhookRequest, webhooksWithDeliveries } from './outbox.ts';
import { parseJsonBody } from '../platform/forms.ts';
import { openApiDocument, type OpenApiResourceDef } from './openapi.ts';
import type { ClinicalEntries } from './clinical-entries.ts';
import { registerInteropAdminRoutes } from './admin-routes.ts';

const IMPORT_ROLES: ReadonlyArray<SignedInUser['role']> = ['admin', 'data_quality'];

function requireTokenRole(request: FastifyRequest, roles: ReadonlyArray<SignedInUser['role']>): SignedInUser {
  const user = request.user;
  if (!user) throw new HttpError(401, 'Send a bearer token: Authorization: Bearer <token>.');
  if (!roles.includes(user.role)) throw new HttpError(403, 'Your role does not give access to this API.');
  return user;
}

function jobUrl(id: number): string {
  return `/api/imports/${id}`;
}

function jobLinks(id: number) {
  return { self: jobUrl(id), errors: `${jobUrl(id)}/errors`, rejected: `${jobUrl(id)}/rejected`, notKept: `${jobUrl(id)}/not-kept` };
}

/**
 * What these routes take from the fhir module, handed in by src/app.ts (the fhir module reads this
 * one, so this one does not read it back): a Bundle's clinical entries for imports, and the FHIR
 * resources /openapi.json describes.
 */
export interface FromFhir {
  clinical: ClinicalEntries;
  resourceDefs: Readonly<Record<string, OpenApiResourceDef>>;
}

export function registerInteropRoutes(app: FastifyInstance, fhir: FromFhir): void {
  startWebhookDispatcher(app);
  startImportReaper(app);
  registerInteropAdminRoutes(app);
  // Links come from PUBLIC_URL, never from Host or X-Forwarded-Host (which a client chooses).
  app.get('/openapi.json', async () => openApiDocument(app.joinery.config.publicUrl, fhir.resourceDefs));

  void app.register(
    async (api) => {
      api.addContentTypeParser(
        ['text/csv', 'application/x-ndjson', 'application/ndjson', 'application/fhir+json', 'application/octet-stream'],
        { parseAs: 'buffer', bodyLimit: 200 * 1_048_576 },
        (_request, body, done) => done(null, body),
      );

      api.addHook('onRequest', async (request) => {
        request.user = undefined;
        const header = request.headers.authorization;
        if (!header) return;
        const m = /^Bearer\s+(\S+)$/i.exec(header);
        const user = m ? await userForApiToken(request.server.joinery.database.db, m[1]!) : undefined;
        if (!user) throw new HttpError(401, 'The bearer token is not valid (unknown, expired or revoked).');
        request.user = user;
      });
      api.addHook('preHandler', apiRateLimit(app, 'api'));

      api.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
        // Every refusal (a page's, a domain module's) answers once with its own status and message.
        if (error instanceof Refusal && error.status < 500) return reply.code(error.status).send({ error: error.message });
        const status = error.statusCode ?? 500;
        if (status >= 500) {
          request.log.error({ err: errorForLog(error), path: request.routeOptions.url }, 'api request failed');
          return reply.code(500).send({ error: `The request could not be handled. Reference: ${request.id}` });
        }
        return reply.code(status).send({
          error:
            status === 415
              ? 'This content type is not accepted here.'
              : status === 413
                ? 'The upload is too large.'
                : status === 429
                  ? 'Too many requests. Wait a minute and try again.'
                  : 'The request could not be handled.',
        });
      });

      // Upload a file: it is stored, then imported in the background; poll the job for progress.
      api.post('/imports', { config: { csrf: false } }, async (request, reply) => {
        const user = requireTokenRole(request, IMPORT_ROLES);
        const query = request.query as { source?: string; mapping?: string; format?: string; name?: string };
        if (!query.source || !isSourceCode(query.source))
          throw new HttpError(400, "Give ?source=CODE (the organisation's code: letters, digits, - and _, in either case).");
        const contentType = String(request.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim();
        const format: ImportFormat =
          (query.format as ImportFormat | undefined) ??
          (contentType === 'text/csv' ? 'csv' : contentType.includes('ndjson') ? 'ndjson' : 'bundle');
        if (!['csv', 'ndjson', 'bundle'].includes(format)) throw new HttpError(400, 'format must be csv, ndjson or bundle.');
        const mapping = query.mapping ? await loadMapping(request.server.joinery.database.db, query.source, query.mapping) : undefined;
        if (format === 'csv' && !mapping) throw new HttpError(400, 'A CSV upload needs ?mapping=NAME, a mapping saved for this source.');
        const body = request.body;
        if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, 'The upload is empty.');
        const upload = await createUploadFolder();
        const file = path.join(upload.dir, `${randomUUID()}.${format === 'csv' ? 'csv' : format === 'ndjson' ? 'ndjson' : 'json'}`);
        await fs.promises.writeFile(file, body).catch(async (error: unknown) => {
          await upload.remove();
          throw error;
        });
        const fileName = (query.name ?? `upload.${format}`).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
        const db = request.server.joinery.database.db;
        let resolveJob!: (id: number) => void;
        const jobId = new Promise<number>((resolve) => (resolveJob = resolve));
        const run = runImport(db, {
          source: query.source,
          file,
          fileName,
          clinical: fhir.clinical,
          mapping,
          format,
          createdBy: user.id,
          onProgress: (p) => resolveJob(p.jobId),
        });
        // The copy goes when the import ends, however it ends (a crash: see startImportReaper).
        void run.catch((error: Error) => request.log.warn({ err: { type: error.name } }, 'import stopped')).finally(() => upload.remove());
        const id = await Promise.race([jobId, run.then((p) => p.jobId)]);
        const job = await importJob(db, id);
        return reply
          .code(202)
          .header('location', jobUrl(id))
          .send({ ...job, links: jobLinks(id) });
      });

      api.get('/imports', async (request) => {
        requireTokenRole(request, IMPORT_ROLES);
        const rows = await recentImportJobIds(request.server.joinery.database.db, 50);
        const jobs = [];
        for (const row of rows) jobs.push({ ...(await importJob(request.server.joinery.database.db, row)), links: { self: jobUrl(row) } });
        return { jobs };
      });

      api.get('/imports/:id', async (request) => {
        requireTokenRole(request, IMPORT_ROLES);
        const id = Number((request.params as { id: string }).id);
        const job = Number.isSafeInteger(id) ? await importJob(request.server.joinery.database.db, id) : undefined;
        if (!job) throw new HttpError(404, 'There is no such import.');
        const percent = job.linesTotal ? Math.min(100, Math.round((job.linesDone / job.linesTotal) * 1000) / 10) : null;
        // The first records of which something sent was not kept, each with the elements and why; all of them at links.notKept.
        const notKeptRecords = job.notKept > 0 ? await importNotKept(request.server.joinery.database.db, id, 100) : [];
        return { ...job, percent, notKeptRecords, links: jobLinks(id) };
      });

      api.get('/imports/:id/errors', async (request) => {
        requireTokenRole(request, IMPORT_ROLES);
        const id = Number((request.params as { id: string }).id);
        if (!Number.isSafeInteger(id) || !(await importJob(request.server.joinery.database.db, id)))
          throw new HttpError(404, 'There is no such import.');
        return { errors: await importErrors(request.server.joinery.database.db, id, 1000) };
      });

      // Every record of which something sent was not kept: line, record id, the elements' paths and why.
      api.get('/imports/:id/not-kept', async (request) => {
        requireTokenRole(request, IMPORT_ROLES);
        const id = Number((request.params as { id: string }).id);
        const db = request.server.joinery.database.db;
        if (!Number.isSafeInteger(id) || !(await importJob(db, id))) throw new HttpError(404, 'There is no such import.');
        return { notKept: await importNotKept(db, id, 10_000) };
      });

      // Every row the import set aside, with its line, the reason and the row as sent, to fix and send again.
      api.get('/imports/:id/rejected', async (request, reply) => {
        requireTokenRole(request, IMPORT_ROLES);
        const id = Number((request.params as { id: string }).id);
        const db = request.server.joinery.database.db;
        if (!Number.isSafeInteger(id) || !(await importJob(db, id))) throw new HttpError(404, 'There is no such import.');
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="import-${id}-rejected.csv"`)
          .send(Readable.from(rejectedCsv(db, id)));
      });

      api.put('/import-mappings/:source/:name', { config: { csrf: false } }, async (request) => {
        requireTokenRole(request, IMPORT_ROLES);
        const { source, name } = request.params as { source: string; name: string };
        const body = parseJsonBody(columnMappingRequest, request.body);
        const columns = Object.fromEntries(Object.entries(body.columns).filter(([, column]) => column !== undefined)) as Record<
          string,
          string
        >;
        await saveMapping(request.server.joinery.database.db, { source, name, idColumn: body.idColumn, columns });
        return { source, name, idColumn: body.idColumn, columns };
      });

      api.post('/webhooks', { config: { csrf: false } }, async (request, reply) => {
        const user = requireTokenRole(request, ['admin']);
        const body = parseJsonBody(webhookRequest, request.body);
        const topics = body.topics ?? [...outboxTopics];
        const created = await addWebhook(request.server.joinery.database.db, { url: body.url, topics, createdBy: user.id });
        return reply.code(201).send({
          ...created,
          topics,
          note: 'Keep the secret: it is shown once. Each delivery carries X-Joinery-Signature: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">.',
        });
      });

      api.get('/webhooks', async (request) => {
        requireTokenRole(request, ['admin']);
        const { subscriptions, counts } = await webhooksWithDeliveries(request.server.joinery.database.db);
        return {
          webhooks: subscriptions.map((s) => ({
            ...s,
            deliveries: counts.find((c) => c.subscription_id === s.id) ?? { delivered: 0, failed: 0, pending: 0, skipped: 0 },
          })),
        };
      });
    },
    { prefix: '/api' },
  );
}

/** Delivers webhooks from the outbox while the server runs (a quiet poll when nobody subscribes). */
export function startWebhookDispatcher(app: FastifyInstance): void {
  const dispatcher = createDispatcher(app.joinery.database.db, { intervalMs: 1000 });
  app.addHook('onClose', async () => dispatcher.stop());
}
