// Pseudonymous keys for analytics: HMAC-SHA256 of the person id with a secret key, computed
// inside the database (sha256 is built into PostgreSQL and PGlite), so the analytic tables hold
// neither names nor person ids. The key comes from JOINERY_INSIGHT_KEY, or else a random key
// generated once per database and kept in insight_settings.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

export interface PseudonymKey {
  ipadHex: string;
  opadHex: string;
  key: Buffer;
}

/** The HMAC inner and outer padded keys (RFC 2104, SHA-256 block of 64 bytes). */
export function hmacPads(rawKey: Buffer): PseudonymKey {
  const key = rawKey.length > 64 ? createHash('sha256').update(rawKey).digest() : rawKey;
  const block = Buffer.alloc(64);
  key.copy(block);
  const ipad = Buffer.from(block.map((b) => b ^ 0x36));
  const opad = Buffer.from(block.map((b) => b ^ 0x5c));
  return { ipadHex: ipad.toString('hex'), opadHex: opad.toString('hex'), key: rawKey };
}

/** The pseudonym computed in Node (for tests and for checking the SQL). */
export function pseudonymOf(key: PseudonymKey, personId: string): string {
  return createHmac('sha256', key.key).update(personId, 'utf8').digest('hex').slice(0, 32);
}

/** SQL for the pseudonym of a person id column (or expression): 128 bits of HMAC-SHA256, hex. */
export function pseudonymSql(key: PseudonymKey, personId: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`substr(encode(sha256(decode(${key.opadHex}, 'hex') || sha256(decode(${key.ipadHex}, 'hex') || convert_to(${personId}, 'UTF8'))), 'hex'), 1, 32)`;
}

let cached: { db: unknown; key: PseudonymKey } | undefined;

/** The place's pseudonym key: JOINERY_INSIGHT_KEY when set, else one generated and stored once. */
export async function pseudonymKey(db: Kysely<Database>): Promise<PseudonymKey> {
  if (cached && cached.db === db) return cached.key;
  const fromEnv = process.env.JOINERY_INSIGHT_KEY;
  let raw: Buffer;
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error('JOINERY_INSIGHT_KEY must be at least 16 characters');
    raw = Buffer.from(fromEnv, 'utf8');
  } else {
    await db
      .insertInto('insight_settings')
      .values({ key: 'pseudonym_key', value: randomBytes(32).toString('hex') })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await db.selectFrom('insight_settings').select('value').where('key', '=', 'pseudonym_key').executeTakeFirstOrThrow();
    raw = Buffer.from(row.value, 'hex');
  }
  const key = hmacPads(raw);
  cached = { db, key };
  return key;
}
