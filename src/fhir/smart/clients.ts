// SMART apps an administrator registers: a name, the exact redirect URIs it may be sent back to,
// where an EHR launch opens it, whether it is confidential (a secret it proves at the token
// endpoint) or public (PKCE alone), and the most it may ever be granted. Secrets are random,
// shown once and kept only as a SHA-256.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema.ts';
import { RefusedInput } from '../../platform/refused.ts';
import { DEFAULT_CLIENT_SCOPE, parseResourceScope, CONTEXT_SCOPES } from './scopes.ts';

export class SmartRefused extends RefusedInput {}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function randomSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Equal hashes, compared in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * An app's URI: absolute https, or http only to this machine (a desktop app or a test), no
 * fragment and no credentials in it (OAuth 2.0 Security BCP).
 */
export function checkAppUri(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SmartRefused(400, `${what} must be an absolute URL (https://...)`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new SmartRefused(400, `${what} must use https (http only to 127.0.0.1 or localhost)`);
  if (url.hash || value.includes('#')) throw new SmartRefused(400, `${what} must not have a fragment (#...)`);
  if (url.username || url.password) throw new SmartRefused(400, `${what} must not carry a user name or password`);
  if (value.length > 2000) throw new SmartRefused(400, `${what} is too long`);
  return value;
}

export interface NewSmartClient {
  name: string;
  redirectUris: string[];
  launchUri?: string | null;
  confidential?: boolean;
  scope?: string;
  createdBy?: string | null;
}

export interface RegisteredClient {
  clientId: string;
  /** Shown once, for a confidential client. */
  clientSecret?: string;
}

export async function registerSmartClient(db: Kysely<Database>, input: NewSmartClient): Promise<RegisteredClient> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw new SmartRefused(400, 'Give the app a name of up to 200 characters');
  if (input.redirectUris.length === 0) throw new SmartRefused(400, 'Give at least one redirect URI');
  const redirectUris = [...new Set(input.redirectUris.map((u) => checkAppUri(u.trim(), 'a redirect URI')))];
  const launchUri = input.launchUri ? checkAppUri(input.launchUri.trim(), 'the launch URI') : null;
  const scope = (input.scope ?? DEFAULT_CLIENT_SCOPE).split(/\s+/).filter(Boolean);
  for (const word of scope) {
    if (!(CONTEXT_SCOPES as readonly string[]).includes(word) && !parseResourceScope(word))
      throw new SmartRefused(
        400,
        `"${word}" is not a scope Joinery grants (patient/ or user/ resource scopes, ${CONTEXT_SCOPES.join(', ')})`,
      );
  }
  const clientId = `app_${randomBytes(12).toString('base64url')}`;
  const clientSecret = input.confidential ? randomSecret('jss_') : undefined;
  await db
    .insertInto('smart_clients')
    .values({
      id: clientId,
      name,
      secret_hash: clientSecret ? sha256(clientSecret) : null,
      redirect_uris: redirectUris,
      launch_uri: launchUri,
      scope: scope.join(' '),
      created_at: new Date(),
      created_by: input.createdBy ?? null,
      disabled_at: null,
    })
    .execute();
  return { clientId, ...(clientSecret ? { clientSecret } : {}) };
}

export interface SmartClient {
  id: string;
  name: string;
  confidential: boolean;
  secretHash: string | null;
  redirectUris: string[];
  launchUri: string | null;
  scope: string;
  disabled: boolean;
}

function toClient(row: Database['smart_clients']): SmartClient {
  return {
    id: row.id,
    name: row.name,
    confidential: row.secret_hash !== null,
    secretHash: row.secret_hash,
    redirectUris: row.redirect_uris,
    launchUri: row.launch_uri,
    scope: row.scope,
    disabled: row.disabled_at !== null,
  };
}

/** A registered app that has not been disabled. */
export async function liveClient(db: Kysely<Database>, clientId: unknown): Promise<SmartClient | undefined> {
  if (typeof clientId !== 'string' || clientId.length > 100) return undefined;
  const row = await db
    .selectFrom('smart_clients')
    .selectAll()
    .where('id', '=', clientId)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  return row ? toClient(row) : undefined;
}

export async function listSmartClients(db: Kysely<Database>): Promise<SmartClient[]> {
  return (await db.selectFrom('smart_clients').selectAll().orderBy('created_at').orderBy('id').execute()).map(toClient);
}

/** Apps an EHR launch can open (registered with a launch URI), for the "open in an app" page. */
export async function launchableClients(db: Kysely<Database>): Promise<SmartClient[]> {
  return (
    await db
      .selectFrom('smart_clients')
      .selectAll()
      .where('disabled_at', 'is', null)
      .where('launch_uri', 'is not', null)
      .orderBy('name')
      .execute()
  ).map(toClient);
}

/** Disables an app: it can no longer be authorised and every token it holds stops working. False if it was not live. */
export async function disableSmartClient(db: Kysely<Database>, clientId: string, now: Date = new Date()): Promise<boolean> {
  const result = await db
    .updateTable('smart_clients')
    .set({ disabled_at: now })
    .where('id', '=', clientId)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
