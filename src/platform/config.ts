// Configuration comes from environment variables only (twelve-factor), parsed once,
// validated, and reported in one clear line when wrong.
import net from 'node:net';
import path from 'node:path';

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
  /** Claim that names a staff account's username (after users.oidc_subject; an email only when verified). */
  usernameClaim: string;
  /** Scopes asked for: NHS login gives nhs_number, birthdate and identity_proofing_level with `profile`. */
  scopes: string;
  /** The provider's name on the sign-in page ("NHS login"); unset: "your organisation's account". */
  providerName: string | undefined;
  /** NHS login's vector of trust (`vtr`), e.g. ["P9.Cp.Cd","P9.Cp.Ck","P9.Cm"]; unset: not sent. */
  vtr: string | undefined;
  /** A PEM private key file: the client proves itself with a signed JWT (private_key_jwt, as NHS login requires) instead of a secret. */
  clientPrivateKeyFile: string | undefined;
  /** The key's id (kid) as registered with the provider. */
  clientKeyId: string | undefined;
}

/** Where the audit log's key and its checkpoints live: outside the database, by design. */
export interface AuditConfig {
  /** The key itself (JOINERY_AUDIT_KEY); when unset, the key is read from keyFile. */
  key: string | undefined;
  keyFile: string;
  /** Create keyFile when it is missing: only for the default location, and never in production. */
  generateKey: boolean;
  /** Append-only file of signed checkpoints of the chain head. */
  checkpointFile: string;
  /** How often a server writes a checkpoint (when the log has moved on). */
  checkpointSeconds: number;
}

/** Where notifications go out: SMTP for email, GOV.UK Notify for text messages (and email if no SMTP). */
export interface NotifyConfig {
  /** smtp://user:password@host:port or smtps://…; email goes through it when set. */
  smtpUrl: string | undefined;
  /** The From address of emails. */
  from: string;
  /** GOV.UK Notify API key; text messages (and emails, without SMTP_URL) go through Notify when set. */
  notifyApiKey: string | undefined;
  notifyBaseUrl: string | undefined;
  notifySmsTemplateId: string | undefined;
  notifyEmailTemplateId: string | undefined;
  /** The hour (UK time, 0-23) the daily summary goes out. */
  digestHour: number;
  /** Attempts before a notification is marked failed. */
  maxAttempts: number;
}

export interface Config {
  port: number;
  host: string;
  /** postgres://… when set; otherwise the embedded PGlite database in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  logLevel: string;
  /** Send cookies with the Secure flag (on unless explicitly turned off for local http). */
  secureCookies: boolean;
  /** Public base URL, used for OIDC redirects and absolute links. */
  publicUrl: string;
  demoPeople: number;
  demoSeed: number;
  oidc: OidcConfig | undefined;
  signInMaxAttempts: number;
  signInLockMinutes: number;
  sessionHours: number;
  /**
   * Proxies whose X-Forwarded-For/-Proto/-Host are believed (addresses, CIDR ranges, or
   * loopback/linklocal/uniquelocal). Empty: none, so a client cannot choose its own address.
   */
  trustedProxies: string[];
  /** Requests each user (or, without a token, each address) may make per minute to /fhir and to /api. */
  apiRequestsPerMinute: number;
  audit: AuditConfig;
  notify: NotifyConfig;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function intFrom(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function booleanFrom(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${env[name]}")`);
}

function databaseUrlFrom(env: Env): string | undefined {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL is not a valid URL (expected postgres://user@host:5432/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres:// (got ${url.protocol}//)`);
  }
  return raw;
}

function oidcFrom(env: Env, publicUrl: string): OidcConfig | undefined {
  const issuer = env.OIDC_ISSUER;
  if (!issuer) return undefined;
  const clientId = env.OIDC_CLIENT_ID;
  if (!clientId) throw new ConfigError('OIDC_ISSUER is set but OIDC_CLIENT_ID is not');
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new ConfigError(`OIDC_ISSUER is not a valid URL (got "${issuer}")`);
  }
  // Plain http only for a provider on this machine (a local test provider): anywhere else a
  // network could forge the provider's keys and answers.
  if (
    issuerUrl.protocol !== 'https:' &&
    !(issuerUrl.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuerUrl.hostname))
  ) {
    throw new ConfigError('OIDC_ISSUER must start with https:// (http:// only for localhost)');
  }
  const scopes = (env.OIDC_SCOPES || 'openid email profile').trim();
  if (!scopes.split(/\s+/).includes('openid')) throw new ConfigError(`OIDC_SCOPES must include openid (got "${scopes}")`);
  const clientPrivateKeyFile = env.OIDC_CLIENT_PRIVATE_KEY_FILE || undefined;
  if (clientPrivateKeyFile && env.OIDC_CLIENT_SECRET)
    throw new ConfigError('set OIDC_CLIENT_SECRET or OIDC_CLIENT_PRIVATE_KEY_FILE, not both');
  const vtr = env.OIDC_VTR || undefined;
  if (vtr !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vtr);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((v) => typeof v === 'string')) {
      throw new ConfigError(`OIDC_VTR must be a JSON list of vectors of trust, like ["P9.Cp.Cd","P9.Cp.Ck","P9.Cm"] (got "${vtr}")`);
    }
  }
  return {
    issuer,
    clientId,
    clientSecret: env.OIDC_CLIENT_SECRET || undefined,
    redirectUri: env.OIDC_REDIRECT_URI || `${publicUrl}/auth/oidc/callback`,
    usernameClaim: env.OIDC_USERNAME_CLAIM || 'email',
    scopes,
    providerName: env.OIDC_PROVIDER_NAME?.trim() || undefined,
    vtr,
    clientPrivateKeyFile: clientPrivateKeyFile ? path.resolve(clientPrivateKeyFile) : undefined,
    clientKeyId: env.OIDC_CLIENT_KEY_ID || undefined,
  };
}

function auditFrom(env: Env, dataDir: string, isProduction: boolean): AuditConfig {
  const key = env.JOINERY_AUDIT_KEY || undefined;
  const keyFile = env.JOINERY_AUDIT_KEY_FILE || undefined;
  if (key !== undefined && keyFile !== undefined) throw new ConfigError('set JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE, not both');
  if (key !== undefined && key.trim().length < 32) throw new ConfigError('JOINERY_AUDIT_KEY must be at least 32 characters');
  // By default beside the data folder, never inside it: a copy of the database carries no key.
  const configFolder = path.dirname(dataDir);
  return {
    key: key?.trim(),
    keyFile: path.resolve(keyFile ?? path.join(configFolder, 'audit.key')),
    generateKey: keyFile === undefined && !isProduction,
    checkpointFile: path.resolve(env.JOINERY_AUDIT_CHECKPOINT_FILE || path.join(configFolder, 'audit-checkpoints.log')),
    checkpointSeconds: intFrom(env, 'JOINERY_AUDIT_CHECKPOINT_SECONDS', 60, 1, 24 * 60 * 60),
  };
}

function notifyFrom(env: Env): NotifyConfig {
  const smtpUrl = env.SMTP_URL || undefined;
  if (smtpUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(smtpUrl);
    } catch {
      throw new ConfigError('SMTP_URL is not a valid URL (expected smtp://user:password@host:587 or smtps://…:465)');
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
      throw new ConfigError(`SMTP_URL must start with smtp:// or smtps:// (got ${url.protocol}//)`);
  }
  const from = env.NOTIFY_FROM || 'Joinery <no-reply@joinery.invalid>';
  if (!/^[^\s@<>]+@[^\s@<>]+$|<[^\s@<>]+@[^\s@<>]+>$/.test(from))
    throw new ConfigError(`NOTIFY_FROM must be an email address, like Joinery <no-reply@example.org> (got "${from}")`);
  const notifyApiKey = env.NOTIFY_API_KEY || undefined;
  const notifySmsTemplateId = env.NOTIFY_SMS_TEMPLATE_ID || undefined;
  const notifyEmailTemplateId = env.NOTIFY_EMAIL_TEMPLATE_ID || undefined;
  if (!notifyApiKey && (notifySmsTemplateId || notifyEmailTemplateId))
    throw new ConfigError('NOTIFY_SMS_TEMPLATE_ID or NOTIFY_EMAIL_TEMPLATE_ID is set but NOTIFY_API_KEY is not');
  return {
    smtpUrl,
    from,
    notifyApiKey,
    notifyBaseUrl: env.NOTIFY_BASE_URL || undefined,
    notifySmsTemplateId,
    notifyEmailTemplateId,
    digestHour: intFrom(env, 'NOTIFY_DIGEST_HOUR', 8, 0, 23),
    maxAttempts: intFrom(env, 'NOTIFY_MAX_ATTEMPTS', 8, 1, 50),
  };
}

const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustedProxiesFrom(env: Env): string[] {
  const raw = env.TRUSTED_PROXIES?.trim();
  if (!raw) return [];
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = net.isIP(address ?? '');
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!PROXY_PRESETS.has(entry) && (family === 0 || !prefixOk || extra !== undefined)) {
      throw new ConfigError(`TRUSTED_PROXIES must list proxy addresses or ranges, like 10.0.0.5,10.1.0.0/16 or loopback (got "${entry}")`);
    }
  }
  return entries;
}

export function loadConfig(env: Env = process.env): Config {
  const port = intFrom(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const publicUrl = (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/$/, '');
  const isProduction = env.NODE_ENV === 'production';
  const dataDir = path.resolve(env.JOINERY_DATA_DIR || '.joinery/data');
  return {
    port,
    host,
    databaseUrl: databaseUrlFrom(env),
    dataDir,
    logLevel: env.LOG_LEVEL || (isProduction ? 'info' : 'warn'),
    secureCookies: booleanFrom(env, 'SECURE_COOKIES', publicUrl.startsWith('https://') || isProduction),
    publicUrl,
    demoPeople: intFrom(env, 'JOINERY_DEMO_PEOPLE', 20_000, 100, 2_000_000),
    demoSeed: intFrom(env, 'JOINERY_DEMO_SEED', 2026, 0, 2 ** 31 - 1),
    oidc: oidcFrom(env, publicUrl),
    signInMaxAttempts: intFrom(env, 'SIGN_IN_MAX_ATTEMPTS', 5, 1, 100),
    signInLockMinutes: intFrom(env, 'SIGN_IN_LOCK_MINUTES', 15, 1, 24 * 60),
    sessionHours: intFrom(env, 'SESSION_HOURS', 8, 1, 24 * 30),
    trustedProxies: trustedProxiesFrom(env),
    apiRequestsPerMinute: intFrom(env, 'API_REQUESTS_PER_MINUTE', 1200, 1, 1_000_000),
    audit: auditFrom(env, dataDir, isProduction),
    notify: notifyFrom(env),
  };
}

/** The README's table is generated from this list, so the two never drift. */
export const configDocumentation: Array<{ name: string; default: string; meaning: string }> = [
  { name: 'PORT', default: '3000', meaning: 'HTTP port for `serve` and `demo`.' },
  { name: 'HOST', default: '127.0.0.1', meaning: 'Interface to listen on (0.0.0.0 in a container).' },
  { name: 'DATABASE_URL', default: '(unset)', meaning: 'postgres://… to use a PostgreSQL server; unset uses embedded PGlite.' },
  { name: 'JOINERY_DATA_DIR', default: '.joinery/data', meaning: 'Folder of the embedded database (PGlite).' },
  { name: 'PUBLIC_URL', default: 'http://localhost:PORT', meaning: 'Public base URL (OIDC redirect, links).' },
  { name: 'SECURE_COOKIES', default: 'on for https or production', meaning: 'Mark session cookies Secure.' },
  { name: 'LOG_LEVEL', default: 'warn (info in production)', meaning: 'pino log level; logs never carry personal data.' },
  { name: 'NODE_ENV', default: '(unset)', meaning: '`production` turns on production defaults.' },
  {
    name: 'JOINERY_WORKERS',
    default: '1',
    meaning: 'Processes `serve` runs on one port when `--workers` is not given (PostgreSQL only: see Deployment).',
  },
  { name: 'JOINERY_DEMO_PEOPLE', default: '20000', meaning: 'Residents in the demo place loaded by `demo`.' },
  { name: 'JOINERY_DEMO_SEED', default: '2026', meaning: 'Seed of the demo place (same seed, same place).' },
  { name: 'SIGN_IN_MAX_ATTEMPTS', default: '5', meaning: 'Failed sign-ins before an account is locked.' },
  { name: 'SIGN_IN_LOCK_MINUTES', default: '15', meaning: 'How long a locked account stays locked.' },
  { name: 'SESSION_HOURS', default: '8', meaning: 'Session lifetime.' },
  {
    name: 'TRUSTED_PROXIES',
    default: '(unset: none)',
    meaning:
      'Comma-separated addresses or CIDR ranges of the reverse proxies in front of Joinery (or loopback, linklocal, uniquelocal). Only their X-Forwarded-For and X-Forwarded-Proto are believed; unset, the connecting address is the client (so a client cannot pick its own address to dodge the sign-in limit). Links in the APIs always come from PUBLIC_URL, never from forwarded headers.',
  },
  {
    name: 'API_REQUESTS_PER_MINUTE',
    default: '1200',
    meaning:
      'Requests each user (by bearer token, else by address) may make per minute to the FHIR API and to the JSON API; past it, 429. Counted per process.',
  },
  {
    name: 'JOINERY_INSIGHT_KEY',
    default: '(a random key kept in the database)',
    meaning: 'Secret for the pseudonymous keys analytics run on (HMAC of person ids).',
  },
  {
    name: 'JOINERY_AUDIT_KEY',
    default: '(unset)',
    meaning:
      'Secret key (32+ characters) of the audit chain (HMAC-SHA256) and its checkpoints. Keep it outside the database, e.g. in a secrets manager; every process on one database needs the same key.',
  },
  {
    name: 'JOINERY_AUDIT_KEY_FILE',
    default: 'audit.key beside the data folder',
    meaning:
      'File holding the audit key instead. Generated (mode 0600) when missing, except in production, where the key or this file must be given.',
  },
  {
    name: 'JOINERY_AUDIT_CHECKPOINT_FILE',
    default: 'audit-checkpoints.log beside the data folder',
    meaning:
      'Append-only file of signed checkpoints of the audit chain head, one JSON line each; ship it to your SIEM. One file per database.',
  },
  {
    name: 'JOINERY_AUDIT_CHECKPOINT_SECONDS',
    default: '60',
    meaning: 'How often a server writes a checkpoint (when the log has moved on).',
  },
  {
    name: 'SMTP_URL',
    default: '(unset)',
    meaning:
      'Mail server for notification and account emails: smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465. Unset: email goes through GOV.UK Notify if configured, otherwise each email is marked "not configured" on /admin/notifications.',
  },
  { name: 'NOTIFY_FROM', default: 'Joinery <no-reply@joinery.invalid>', meaning: 'From address of emails sent through SMTP_URL.' },
  {
    name: 'NOTIFY_API_KEY',
    default: '(unset)',
    meaning:
      'GOV.UK Notify API key; text messages go through Notify (with NOTIFY_SMS_TEMPLATE_ID), and emails too when SMTP_URL is unset (with NOTIFY_EMAIL_TEMPLATE_ID).',
  },
  { name: 'NOTIFY_SMS_TEMPLATE_ID', default: '(unset)', meaning: 'Notify text message template whose content is ((body)).' },
  {
    name: 'NOTIFY_EMAIL_TEMPLATE_ID',
    default: '(unset)',
    meaning: 'Notify email template whose subject is ((subject)) and content ((body)).',
  },
  { name: 'NOTIFY_BASE_URL', default: 'GOV.UK Notify', meaning: 'Another Notify API address (a stub for testing).' },
  { name: 'NOTIFY_DIGEST_HOUR', default: '8', meaning: 'Hour of the day (UK time) the daily summary goes to those who chose one.' },
  {
    name: 'NOTIFY_MAX_ATTEMPTS',
    default: '8',
    meaning: 'Attempts at sending one notification (retried with exponential backoff from 30 seconds) before it is marked failed.',
  },
  { name: 'OIDC_ISSUER', default: '(unset)', meaning: 'OpenID Connect issuer URL; turns on single sign-on.' },
  { name: 'OIDC_CLIENT_ID', default: '(unset)', meaning: 'OIDC client id (required with OIDC_ISSUER).' },
  { name: 'OIDC_CLIENT_SECRET', default: '(unset)', meaning: 'OIDC client secret (confidential clients).' },
  { name: 'OIDC_REDIRECT_URI', default: 'PUBLIC_URL/auth/oidc/callback', meaning: 'OIDC redirect URI registered with the issuer.' },
  {
    name: 'OIDC_USERNAME_CLAIM',
    default: 'email',
    meaning: "Claim matched to a staff account's username when no account has the subject (email only when email_verified).",
  },
  { name: 'OIDC_SCOPES', default: 'openid email profile', meaning: 'Scopes asked of the provider (must include openid).' },
  { name: 'OIDC_PROVIDER_NAME', default: '(unset)', meaning: 'Name on the sign-in link, e.g. NHS login.' },
  { name: 'OIDC_VTR', default: '(unset)', meaning: 'Vector of trust sent to NHS login, a JSON list.' },
  {
    name: 'OIDC_CLIENT_PRIVATE_KEY_FILE',
    default: '(unset)',
    meaning:
      'PEM private key (RSA or EC P-256) for private_key_jwt client authentication, as NHS login requires; instead of OIDC_CLIENT_SECRET.',
  },
  { name: 'OIDC_CLIENT_KEY_ID', default: '(unset)', meaning: 'The key id (kid) of that key as registered with the provider.' },
];
