import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig, ConfigError } from './config.ts';

test('defaults serve on port 3000 from the embedded database folder', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.dataDir, path.resolve('.joinery/data'));
  assert.equal(config.secureCookies, false);
  assert.equal(config.oidc, undefined);
});

test('PORT, JOINERY_DATA_DIR and DATABASE_URL are honoured', () => {
  const config = loadConfig({ PORT: '8080', JOINERY_DATA_DIR: '/tmp/j', DATABASE_URL: 'postgres://127.0.0.1:5432/test' });
  assert.equal(config.port, 8080);
  assert.equal(config.dataDir, '/tmp/j');
  assert.equal(config.databaseUrl, 'postgres://127.0.0.1:5432/test');
});

test('bad values fail with one line naming the variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^PORT must be a whole number from 0 to 65535 \(got "eighty"\)$/],
    [{ PORT: '70000' }, /^PORT must be/],
    [{ DATABASE_URL: 'mysql://x/y' }, /^DATABASE_URL must start with postgres:\/\//],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL is not a valid URL/],
    [{ SECURE_COOKIES: 'maybe' }, /^SECURE_COOKIES must be true or false/],
    [{ OIDC_ISSUER: 'https://id.example' }, /^OIDC_ISSUER is set but OIDC_CLIENT_ID is not$/],
    [{ JOINERY_AUDIT_KEY: 'short' }, /^JOINERY_AUDIT_KEY must be at least 32 characters$/],
    [
      { JOINERY_AUDIT_KEY: 'k'.repeat(32), JOINERY_AUDIT_KEY_FILE: '/run/secrets/audit' },
      /^set JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE, not both$/,
    ],
    [{ JOINERY_AUDIT_CHECKPOINT_SECONDS: '0' }, /^JOINERY_AUDIT_CHECKPOINT_SECONDS must be a whole number from 1 to 86400/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    );
  }
});

test('https public URLs turn on secure cookies and OIDC redirect defaults follow the public URL', () => {
  const config = loadConfig({ PUBLIC_URL: 'https://joinery.example/', OIDC_ISSUER: 'https://id.example', OIDC_CLIENT_ID: 'joinery' });
  assert.equal(config.secureCookies, true);
  assert.equal(config.oidc?.redirectUri, 'https://joinery.example/auth/oidc/callback');
});

test('no proxy is trusted unless TRUSTED_PROXIES names it; a malformed entry fails in one line', () => {
  assert.deepEqual(loadConfig({}).trustedProxies, []);
  assert.deepEqual(loadConfig({ TRUSTED_PROXIES: '10.0.0.5, 10.1.0.0/16,loopback,fd00::/8' }).trustedProxies, [
    '10.0.0.5',
    '10.1.0.0/16',
    'loopback',
    'fd00::/8',
  ]);
  for (const bad of ['*', 'true', '10.0.0.300', '10.0.0.0/33', 'proxy.example']) {
    assert.throws(
      () => loadConfig({ TRUSTED_PROXIES: bad }),
      (error: unknown) => error instanceof ConfigError && /^TRUSTED_PROXIES must list proxy addresses/.test(error.message),
      bad,
    );
  }
  assert.equal(loadConfig({ API_REQUESTS_PER_MINUTE: '30' }).apiRequestsPerMinute, 30);
  assert.throws(
    () => loadConfig({ API_REQUESTS_PER_MINUTE: '0' }),
    (error: unknown) => error instanceof ConfigError && /^API_REQUESTS_PER_MINUTE must be a whole number/.test(error.message),
  );
});

test('the audit key and its checkpoints live beside the data folder, never in it, unless told otherwise', () => {
  const { audit } = loadConfig({ JOINERY_DATA_DIR: '/srv/joinery/data' });
  assert.deepEqual(audit, {
    key: undefined,
    keyFile: '/srv/joinery/audit.key',
    generateKey: true,
    checkpointFile: '/srv/joinery/audit-checkpoints.log',
    checkpointSeconds: 60,
  });
  assert.equal(loadConfig({ NODE_ENV: 'production' }).audit.generateKey, false, 'production never makes up a key');
  const given = loadConfig({
    JOINERY_AUDIT_KEY_FILE: '/run/secrets/audit',
    JOINERY_AUDIT_CHECKPOINT_FILE: '/var/log/joinery/audit.log',
    JOINERY_AUDIT_CHECKPOINT_SECONDS: '10',
  }).audit;
  assert.deepEqual(
    [given.keyFile, given.generateKey, given.checkpointFile, given.checkpointSeconds],
    ['/run/secrets/audit', false, '/var/log/joinery/audit.log', 10],
  );
});
