// Where the audit key comes from: made once for the demo, never made up in production.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../platform/config.ts';
import { readAuditKey } from './key.ts';

const folder = () => fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-key-'));

test('without a configured key, one is made once beside the data folder, readable by its owner only, and kept', () => {
  const dir = folder();
  const config = loadConfig({ JOINERY_DATA_DIR: path.join(dir, 'data') }).audit;
  assert.equal(readAuditKey(config, { generate: false }), undefined, 'checking never makes a key');
  const first = readAuditKey(config, { generate: true })!;
  const file = path.join(dir, 'audit.key');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'nothing is put in the data folder');
  assert.ok(readAuditKey(config, { generate: true })!.equals(first), 'the same key on the next start');
  fs.rmSync(dir, { recursive: true });
});

test('JOINERY_AUDIT_KEY or a key file is used as given; in production a missing key stops the start', () => {
  const dir = folder();
  const secret = 'k'.repeat(40);
  const fromEnv = readAuditKey(loadConfig({ JOINERY_AUDIT_KEY: secret }).audit, { generate: true })!;
  fs.writeFileSync(path.join(dir, 'secret'), `${secret}\n`);
  const fromFile = readAuditKey(loadConfig({ JOINERY_AUDIT_KEY_FILE: path.join(dir, 'secret') }).audit, { generate: true })!;
  assert.ok(fromFile.equals(fromEnv), 'a file holding the same key (with its newline) is the same key');
  assert.throws(
    () => readAuditKey(loadConfig({ NODE_ENV: 'production', JOINERY_DATA_DIR: path.join(dir, 'data') }).audit, { generate: true }),
    (error: unknown) =>
      error instanceof ConfigError && /^no audit key: set JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE/.test(error.message),
  );
  assert.throws(
    () => readAuditKey(loadConfig({ JOINERY_AUDIT_KEY_FILE: path.join(dir, 'missing') }).audit, { generate: true }),
    /^ConfigError: no audit key/,
  );
  fs.writeFileSync(path.join(dir, 'short'), 'too short\n');
  assert.throws(
    () => readAuditKey(loadConfig({ JOINERY_AUDIT_KEY_FILE: path.join(dir, 'short') }).audit, { generate: true }),
    /must be at least 32 characters/,
  );
  fs.rmSync(dir, { recursive: true });
});
