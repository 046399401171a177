// Reading an agency's feed: CSV rows through a saved column mapping, NDJSON of FHIR Patients,
// or a FHIR Bundle, as items in input-line order, each a cleaned record or that line's error.
// Pure input work with no database, so it can run on a worker thread (see read-worker.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { isValidNhsNumber } from '../people/nhs-number.ts';
import { isCalendarDate } from '../linkage/normalise.ts';
import type { SourceFields } from '../linkage/person-index.ts';
import type { IncomingRecord } from './link-batch.ts';
import { NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX } from '../fhir/resources.ts';

export const mappableFields = ['given_name', 'middle_name', 'family_name', 'birth_date', 'sex', 'nhs_number', 'phone', 'email', 'postcode', 'address'] as const;
export type MappableField = (typeof mappableFields)[number];

export interface ColumnMapping { source: string; name: string; idColumn: string; columns: Partial<Record<MappableField, string>> }

export type ImportFormat = 'csv' | 'ndjson' | 'bundle';

export class ImportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportInputError';
  }
}

export function formatOf(file: string): ImportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'bundle';
  throw new ImportInputError(`cannot tell the format of ${path.basename(file)}: use .csv, .ndjson or .json (a FHIR Bundle)`);
}

// ---------------------------------------------------------------------------------------------
// Field cleaning: row-level errors for what cannot be taken, normal forms for the rest.

/** YYYY-MM-DD or DD/MM/YYYY as YYYY-MM-DD; null when it is not a real date. (Arithmetic, not Date: this runs per row.) */
function normaliseDate(raw: string): string | null {
  const value = raw.trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const uk = iso ? null : /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (!iso && !uk) return null;
  const year = iso ? iso[1]! : uk![3]!;
  const month = iso ? iso[2]! : uk![2]!.padStart(2, '0');
  const day = iso ? iso[3]! : uk![1]!.padStart(2, '0');
  return isCalendarDate(Number(year), Number(month), Number(day)) ? `${year}-${month}-${day}` : null;
}

/** Today as YYYY-MM-DD, worked out at most once a minute (dates of birth are checked against it per row). */
let today = { iso: '', until: 0 };
function todayIso(): string {
  const now = Date.now();
  if (now >= today.until) today = { iso: new Date(now).toISOString().slice(0, 10), until: now + 60_000 };
  return today.iso;
}

/** Checks and normalises one record's fields; a string is the row's error. */
export function cleanFields(sourceId: string | undefined, raw: Partial<Record<string, string>>): { sourceId: string; fields: SourceFields } | string {
  if (!sourceId || sourceId.trim() === '') return 'the record id is missing';
  if (sourceId.length > 200) return 'the record id is longer than 200 characters';
  const fields: SourceFields = {};
  for (const field of mappableFields) {
    const value = raw[field];
    if (typeof value === 'string' && value.trim() !== '') fields[field] = value.trim();
  }
  if (!fields.given_name && !fields.family_name) return 'there is no name (given or family)';
  if (fields.birth_date) {
    const iso = normaliseDate(fields.birth_date);
    if (!iso) return `the date of birth "${fields.birth_date}" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`;
    if (iso > todayIso()) return `the date of birth ${iso} is in the future`;
    fields.birth_date = iso;
  }
  if (fields.nhs_number) {
    const digits = fields.nhs_number.replace(/[\s-]/g, '');
    if (!/^\d{10}$/.test(digits)) return `the NHS number "${fields.nhs_number}" is not 10 digits`;
    // A wrong check digit is kept as received (agencies mistype): the index weighs it, never trusts it.
    fields.nhs_number = isValidNhsNumber(digits) ? digits : fields.nhs_number;
  }
  return { sourceId: sourceId.trim(), fields };
}

/** A FHIR Patient as source fields; the record id is the identifier for this source, else the resource id. */
export function fieldsFromPatient(source: string, resource: unknown): { sourceId: string; fields: SourceFields } | string {
  if (!resource || typeof resource !== 'object') return 'not a JSON object';
  const r = resource as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (r.resourceType !== 'Patient') return `a ${String(r.resourceType ?? 'resource without resourceType')} is not a Patient (only Patient records are imported)`;
  const identifiers = Array.isArray(r.identifier) ? r.identifier as Array<{ system?: string; value?: string }> : [];
  const own = identifiers.find((i) => i.system === SOURCE_SYSTEM_PREFIX + source)?.value ?? (typeof r.id === 'string' ? r.id : undefined);
  const name = Array.isArray(r.name) ? r.name[0] as { given?: string[]; family?: string } | undefined : undefined;
  const telecom = Array.isArray(r.telecom) ? r.telecom as Array<{ system?: string; value?: string }> : [];
  const address = Array.isArray(r.address) ? r.address[0] as { line?: string[]; postalCode?: string } | undefined : undefined;
  return cleanFields(own, {
    given_name: name?.given?.[0],
    middle_name: name?.given?.slice(1).join(' '),
    family_name: name?.family,
    birth_date: typeof r.birthDate === 'string' ? r.birthDate : undefined,
    sex: r.gender === 'female' || r.gender === 'male' ? r.gender : undefined,
    nhs_number: identifiers.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value,
    phone: telecom.find((t) => t.system === 'phone')?.value,
    email: telecom.find((t) => t.system === 'email')?.value,
    postcode: address?.postalCode,
    address: address?.line?.join(', '),
  });
}

// ---------------------------------------------------------------------------------------------
// Reading input: items with the input line they came from, or a line's error.

export type InputItem = { line: number; record: IncomingRecord } | { line: number; error: string };

export async function* csvItems(file: string, mapping: ColumnMapping, skipThrough: number): AsyncGenerator<InputItem> {
  // Lines csv-parse could not read at all (e.g. a broken quote); the parser reads ahead, so each
  // is held back until the records before it have gone: items come out in line order.
  const unreadable: InputItem[] = [];
  const parser = fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(parse({
    columns: false, info: true, bom: true, skip_empty_lines: true, relax_column_count: true, skip_records_with_error: true, trim: true,
  }));
  parser.on('skip', (error: Error & { lines?: number }) => {
    unreadable.push({ line: error.lines ?? 0, error: 'this line could not be read as CSV (check its quotes)' });
  });
  let header: string[] | undefined;
  // Per mapped field, its column's position; worked out once from the header.
  let positions: Array<[string, number]> = [];
  let idPosition = -1;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const line = item.info.lines;
    if (unreadable.length > 1) unreadable.sort((a, b) => a.line - b.line);
    while (unreadable.length > 0 && unreadable[0]!.line < line) {
      const held = unreadable.shift()!;
      if (held.line > skipThrough) yield held;
    }
    if (!header) {
      header = item.record;
      const index = new Map(header.map((name, i) => [name, i]));
      const missing = [mapping.idColumn, ...Object.values(mapping.columns)].filter((c) => c && !index.has(c));
      if (missing.length > 0) throw new ImportInputError(`the file has no column ${missing.map((m) => `"${m}"`).join(', ')} that mapping ${mapping.name} needs`);
      positions = Object.entries(mapping.columns).map(([field, column]) => [field, index.get(column!)!]);
      idPosition = index.get(mapping.idColumn)!;
      continue;
    }
    if (line <= skipThrough) continue;
    if (item.record.length !== header.length) {
      yield { line, error: `this line has ${item.record.length} fields; the header has ${header.length}` };
      continue;
    }
    const raw: Partial<Record<string, string>> = {};
    for (const [field, position] of positions) raw[field] = item.record[position];
    const cleaned = cleanFields(item.record[idPosition], raw);
    yield typeof cleaned === 'string' ? { line, error: cleaned } : { line, record: cleaned };
  }
  for (const held of unreadable.sort((a, b) => a.line - b.line)) if (held.line > skipThrough) yield held;
}

export async function* ndjsonItems(file: string, source: string, skipThrough: number): AsyncGenerator<InputItem> {
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (line <= skipThrough || text.trim() === '') continue;
    let resource: unknown;
    try {
      resource = JSON.parse(text);
    } catch {
      yield { line, error: 'this line is not JSON' };
      continue;
    }
    const cleaned = fieldsFromPatient(source, resource);
    yield typeof cleaned === 'string' ? { line, error: cleaned } : { line, record: cleaned };
  }
}

/** A Bundle's entries, numbered from 1 (the "line" of a bundle import is its entry number). */
export async function* bundleItems(file: string, source: string, skipThrough: number): AsyncGenerator<InputItem> {
  let bundle: { resourceType?: string; entry?: Array<{ resource?: unknown }> };
  try {
    bundle = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch {
    throw new ImportInputError('the file is not JSON');
  }
  if (bundle.resourceType !== 'Bundle') throw new ImportInputError('the file is not a FHIR Bundle');
  const entries = bundle.entry ?? [];
  for (let i = skipThrough; i < entries.length; i++) {
    const cleaned = fieldsFromPatient(source, entries[i]?.resource);
    yield typeof cleaned === 'string' ? { line: i + 1, error: cleaned } : { line: i + 1, record: cleaned };
  }
}

/**
 * The file's SHA-256 (which identifies a resumable job) and its lines (the input lines of a CSV
 * or NDJSON file), in one read of the file through one reused 1 MB buffer: a read stream
 * allocates a fresh buffer per 64 KB, which at a few hundred megabytes costs seconds.
 */
export async function scanFile(file: string): Promise<{ hash: string; lines: number }> {
  const hash = createHash('sha256');
  let count = 0;
  let last = 10;
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
      last = chunk[bytesRead - 1]!;
    }
  } finally {
    await handle.close();
  }
  return { hash: hash.digest('hex'), lines: last === 10 ? count : count + 1 };
}

/** A FHIR Bundle's input lines: its entries (0 when it is not JSON; reading it says why). */
export async function bundleEntries(file: string): Promise<number> {
  try {
    return (JSON.parse(await fs.promises.readFile(file, 'utf8')) as { entry?: unknown[] }).entry?.length ?? 0;
  } catch {
    return 0;
  }
}
