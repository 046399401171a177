// Signed checkpoints of the audit chain head, kept outside the database: an append-only file
// of JSON lines a place can ship to its SIEM. A checkpoint says "event N had this hash", so
// once written, deleting events up to N, truncating, or rewriting them shows on verification
// even to a superuser who controls the database, as long as they hold neither the key nor the file.
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export interface AuditCheckpoint {
  /** The audit log it belongs to (audit_chain_head.log_id), so two databases' files are told apart. */
  log: string;
  seq: number;
  hash: string;
  /** First event hashed with the key; those before it have plain hashes. */
  keyedFrom: number;
  at: string;
  /** Which process wrote it, for whoever reads the SIEM. */
  host: string;
  pid: number;
}

function mac(key: KeyObject, c: AuditCheckpoint): string {
  return createHmac('sha256', key)
    .update(JSON.stringify(['joinery audit checkpoint 1', c.log, c.seq, c.hash, c.keyedFrom, c.at, c.host, c.pid]))
    .digest('hex');
}

export function checkpointLine(key: KeyObject, c: Omit<AuditCheckpoint, 'host' | 'pid' | 'at'>): string {
  const full: AuditCheckpoint = { ...c, at: new Date().toISOString(), host: os.hostname(), pid: process.pid };
  return `${JSON.stringify({ type: 'joinery.audit.checkpoint', ...full, mac: mac(key, full) })}\n`;
}

/**
 * Appends one line in one write on a file opened with O_APPEND: lines from several processes
 * on one machine never interleave, so servers need no coordination to share the file.
 * Synced, so a checkpoint that was reported written survives a crash.
 */
export async function appendCheckpointLine(file: string, line: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const handle = await fs.promises.open(file, 'a', 0o600);
  try {
    const bytes = Buffer.from(line, 'utf8');
    const { bytesWritten } = await handle.write(bytes);
    if (bytesWritten !== bytes.length) throw new Error(`only part of a checkpoint was written to ${file}`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

export type CheckpointLine = { line: number; ok: true; checkpoint: AuditCheckpoint } | { line: number; ok: false };

function parse(key: KeyObject, text: string): AuditCheckpoint | undefined {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    const c: AuditCheckpoint = {
      log: String(raw.log),
      seq: Number(raw.seq),
      hash: String(raw.hash),
      keyedFrom: Number(raw.keyedFrom),
      at: String(raw.at),
      host: String(raw.host),
      pid: Number(raw.pid),
    };
    if (
      raw.type !== 'joinery.audit.checkpoint' ||
      typeof raw.mac !== 'string' ||
      !Number.isInteger(c.seq) ||
      !Number.isInteger(c.keyedFrom)
    )
      return undefined;
    const expected = Buffer.from(mac(key, c), 'hex');
    const given = Buffer.from(raw.mac, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Every line of the file, checked against the key; undefined when there is no file. */
export async function readCheckpoints(file: string, key: KeyObject): Promise<CheckpointLine[] | undefined> {
  let stream: fs.ReadStream;
  try {
    await fs.promises.access(file);
    stream = fs.createReadStream(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const lines: CheckpointLine[] = [];
  let n = 0;
  for await (const text of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
    n += 1;
    if (text.trim() === '') continue;
    const checkpoint = parse(key, text);
    lines.push(checkpoint ? { line: n, ok: true, checkpoint } : { line: n, ok: false });
  }
  return lines;
}
