// The audit log's key: the secret the chain's HMACs and the checkpoints are made with. It lives
// outside the database (an environment variable or a file), so whoever controls the database
// alone cannot recompute the chain after rewriting it.
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type AuditConfig } from '../platform/config.ts';

/**
 * Reads the key the configuration names; undefined when its file is missing and may not be
 * generated. A KeyObject, not bytes: HMAC with one costs about 5 µs an event, with raw bytes 40.
 */
export function readAuditKey(config: AuditConfig, options: { generate: boolean }): KeyObject | undefined {
  if (config.key !== undefined) return createSecretKey(Buffer.from(config.key, 'utf8'));
  let text: string;
  try {
    text = fs.readFileSync(config.keyFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`cannot read the audit key file ${config.keyFile}: ${(error as Error).message}`);
    if (!options.generate) return undefined;
    if (!config.generateKey) {
      throw new ConfigError(
        `no audit key: set JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE (${config.keyFile} does not exist; in production Joinery never makes one up)`,
      );
    }
    text = generateKeyFile(config.keyFile);
  }
  const key = text.trim();
  if (key.length < 32) throw new ConfigError(`the audit key in ${config.keyFile} must be at least 32 characters`);
  return createSecretKey(Buffer.from(key, 'utf8'));
}

/**
 * Writes a new random key readable by its owner only. Written aside and linked into place, so
 * two processes starting at once agree on one key and neither ever reads half a file.
 */
function generateKeyFile(file: string): string {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(aside, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(aside, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.unlinkSync(aside);
    }
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot create the audit key file ${file}: ${(error as Error).message} (set JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE)`,
    );
  }
}

let activeKey: KeyObject | undefined;
let confirmed = false;

/** Uses this key from now on in this process (tests; or a key the caller has already read). */
export function setAuditKey(key: string | KeyObject): void {
  activeKey = typeof key === 'string' ? createSecretKey(Buffer.from(key, 'utf8')) : key;
  confirmed = false;
}

/** The process's key, read from the environment's configuration the first time it is needed. */
export function auditKey(): KeyObject {
  activeKey ??= readAuditKey(loadConfig().audit, { generate: true })!;
  return activeKey;
}

/** Whether this process has checked its key against the chain already (see log.ts). */
export function auditKeyConfirmed(): boolean {
  return confirmed;
}

export function confirmAuditKey(): void {
  confirmed = true;
}
