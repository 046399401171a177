// Reading an agency's feed: CSV rows through a saved column mapping, NDJSON of FHIR Patients,
// or a FHIR Bundle, as items in input-line order, each a cleaned record or that line's error
// (with the row as sent, to be set aside). Pure input work with no database, so it can run on a
// worker thread (see read-worker.ts). Text is UTF-8; a line that is not is read as Windows-1252
// (see scanFile for why), and files that are not text at all are refused.
import { createHash } from 'node:crypto';
import { isAscii, isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { RefusedInput } from '../platform/refused.ts';
import { isValidNhsNumber } from '../people/index.ts';
import { EARLIEST_BIRTH_DATE, isCalendarDate, type IncomingRecord, type SourceFields } from '../linkage/index.ts';
import { NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX } from './fhir-systems.ts';

export const mappableFields = [
  'given_name',
  'middle_name',
  'family_name',
  'birth_date',
  'sex',
  'nhs_number',
  'phone',
  'email',
  'postcode',
  'address',
] as const;
export type MappableField = (typeof mappableFields)[number];

export interface ColumnMapping {
  source: string;
  name: string;
  idColumn: string;
  columns: Partial<Record<MappableField, string>>;
}

export type ImportFormat = 'csv' | 'ndjson' | 'bundle';

/** A file (or option) that cannot be imported at all: 400 over HTTP, exit code 2 at the command line. */
export class ImportInputError extends RefusedInput {
  constructor(message: string) {
    super(400, message);
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

/** Longest field value taken: a name of megabytes would stall the person index's string comparisons. */
export const MAX_FIELD_LENGTH = 1000;

const fieldNames: Record<MappableField, string> = {
  given_name: 'given name',
  middle_name: 'middle name',
  family_name: 'family name',
  birth_date: 'date of birth',
  sex: 'sex',
  nhs_number: 'NHS number',
  phone: 'phone number',
  email: 'email address',
  postcode: 'postcode',
  address: 'address',
};

/** Why a value cannot be stored as text, if it cannot: PostgreSQL refuses NUL, and JSON's lone surrogates. */
function unstorable(value: string, what: string): string | undefined {
  if (value.includes('\u0000')) return `the ${what} holds a NUL (zero) byte, which is not text`;
  if (!value.isWellFormed()) return `the ${what} holds a broken character (half of a UTF-16 pair)`;
  return undefined;
}

/** Checks and normalises one record's fields; a string is the row's error. */
export function cleanFields(
  sourceId: string | undefined,
  raw: Partial<Record<string, string>>,
): { sourceId: string; fields: SourceFields } | string {
  if (!sourceId || sourceId.trim() === '') return 'the record id is missing';
  if (sourceId.length > 200) return 'the record id is longer than 200 characters';
  const badId = unstorable(sourceId, 'record id');
  if (badId) return badId;
  const fields: SourceFields = {};
  for (const field of mappableFields) {
    const value = raw[field];
    if (typeof value !== 'string') continue;
    const bad = unstorable(value, fieldNames[field]);
    if (bad) return bad;
    if (value.length > MAX_FIELD_LENGTH)
      return `the ${fieldNames[field]} is longer than ${MAX_FIELD_LENGTH.toLocaleString('en-GB')} characters`;
    if (value.trim() !== '') fields[field] = value.trim();
  }
  if (!fields.given_name && !fields.family_name) return 'there is no name (given or family)';
  if (fields.birth_date) {
    const iso = normaliseDate(fields.birth_date);
    if (!iso) return `the date of birth "${fields.birth_date}" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`;
    if (iso > todayIso()) return `the date of birth ${iso} is in the future`;
    if (iso < EARLIEST_BIRTH_DATE) return `the date of birth ${iso} is before ${EARLIEST_BIRTH_DATE.slice(0, 4)}, so it cannot be right`;
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

/**
 * A FHIR Patient as source fields; the record id is the identifier for this source, else the
 * resource id, else its first identifier with a system (system|value), else `fallbackId` (a Bundle
 * entry's fullUrl): Patients in Bundles often have no id.
 */
export function fieldsFromPatient(
  source: string,
  resource: unknown,
  fallbackId?: string,
): { sourceId: string; fields: SourceFields } | string {
  if (!resource || typeof resource !== 'object') return 'not a JSON object';
  const r = resource as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (r.resourceType !== 'Patient')
    return `a ${String(r.resourceType ?? 'resource without resourceType')} is not a Patient (only Patient records are imported)`;
  const identifiers = Array.isArray(r.identifier) ? (r.identifier as Array<{ system?: string; value?: string }>) : [];
  // Without an id, the sender's first identifier (stable from one export to the next), else the fallback.
  const firstIdentifier = identifiers.find(
    (i) => typeof i.system === 'string' && i.system !== '' && typeof i.value === 'string' && i.value !== '',
  );
  const own =
    identifiers.find((i) => i.system === SOURCE_SYSTEM_PREFIX + source)?.value ??
    (typeof r.id === 'string' ? r.id : undefined) ??
    (firstIdentifier ? `${firstIdentifier.system}|${firstIdentifier.value}` : undefined) ??
    fallbackId;
  const names = Array.isArray(r.name) ? (r.name as Array<{ given?: string[]; family?: string; text?: string; use?: string }>) : [];
  // The official name if there is one; a name given only as text is taken whole as the family name
  // (it cannot be split safely: many names put the family name first), and compared as such.
  const chosen = names.find((n) => n.use === 'official') ?? names.find((n) => n.use !== 'old' && n.use !== 'maiden') ?? names[0];
  const name =
    chosen && !chosen.family && !chosen.given?.length && typeof chosen.text === 'string' && chosen.text.trim() !== ''
      ? { family: chosen.text.trim(), given: [] as string[] }
      : chosen;
  const telecom = Array.isArray(r.telecom) ? (r.telecom as Array<{ system?: string; value?: string }>) : [];
  const address = Array.isArray(r.address) ? (r.address[0] as { line?: string[]; postalCode?: string } | undefined) : undefined;
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
// Reading input: items with the input line they came from, or a line's error and the row as sent.

/**
 * A record, or a line set aside with the row as sent. A record carries what it was read from
 * (`raw`: a CSV row's fields, an NDJSON line, a Bundle entry's resource) only as far as the
 * reading thread, which turns it into text if the record is set aside there (a repeated id).
 */
export type InputItem =
  { line: number; record: IncomingRecord; raw?: unknown } | { line: number; error: string; row: string; duplicate?: true };

/** A CSV row as text again (for a row set aside: csv-parse keeps no raw text without a cost per row). */
export function csvRow(fields: readonly string[]): string {
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}

/** The text of a record's row as read (see InputItem). */
export function rowText(raw: unknown): string {
  if (Array.isArray(raw)) return csvRow(raw as string[]);
  if (typeof raw === 'string') return raw;
  return JSON.stringify(raw ?? null) ?? '';
}

const windows1252 = new TextDecoder('windows-1252');

/**
 * The file's bytes as UTF-8, line by line: a line that is valid UTF-8 passes through, any other
 * is read as Windows-1252. Only used on a file the scan found lines of both in (or any
 * non-UTF-8 line), so a clean file keeps the direct path.
 */
function utf8Lines(): Transform {
  let carry: Buffer = Buffer.alloc(0);
  const convert = (region: Buffer): Buffer => {
    if (isUtf8(region)) return region;
    const out: Buffer[] = [];
    let start = 0;
    while (start < region.length) {
      const nl = region.indexOf(10, start);
      const end = nl === -1 ? region.length : nl + 1;
      const line = region.subarray(start, end);
      out.push(isUtf8(line) ? line : Buffer.from(windows1252.decode(line), 'utf8'));
      start = end;
    }
    return Buffer.concat(out);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const joined = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const last = joined.lastIndexOf(10);
      if (last === -1) {
        carry = Buffer.from(joined);
        return done();
      }
      carry = Buffer.from(joined.subarray(last + 1));
      done(null, convert(joined.subarray(0, last + 1)));
    },
    flush(done) {
      done(null, carry.length > 0 ? convert(carry) : undefined);
    },
  });
}

/** The file as UTF-8 bytes: as it is, or through utf8Lines when some lines are not UTF-8. */
function openText(file: string, mixed: boolean): Readable {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  return mixed ? stream.pipe(utf8Lines()) : stream;
}

export async function* csvItems(file: string, mapping: ColumnMapping, mixed = false): AsyncGenerator<InputItem> {
  // Lines csv-parse could not read at all (e.g. a broken quote); the parser reads ahead, so each
  // is held back until the records before it have gone: items come out in line order.
  const unreadable: InputItem[] = [];
  const parser = openText(file, mixed).pipe(
    parse({
      columns: false,
      info: true,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      skip_records_with_error: true,
      trim: true,
    }),
  );
  parser.on('skip', (error: Error & { lines?: number }) => {
    unreadable.push({ line: error.lines ?? 0, error: 'this line could not be read as CSV (check its quotes)', row: '' });
  });
  let header: string[] | undefined;
  // Per mapped field, its column's position; worked out once from the header.
  let positions: Array<[string, number]> = [];
  let idPosition = -1;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const line = item.info.lines;
    if (unreadable.length > 1) unreadable.sort((a, b) => a.line - b.line);
    while (unreadable.length > 0 && unreadable[0]!.line < line) yield unreadable.shift()!;
    if (!header) {
      header = item.record;
      const index = new Map(header.map((name, i) => [name, i]));
      const missing = [mapping.idColumn, ...Object.values(mapping.columns)].filter((c) => c && !index.has(c));
      if (missing.length > 0)
        throw new ImportInputError(`the file has no column ${missing.map((m) => `"${m}"`).join(', ')} that mapping ${mapping.name} needs`);
      positions = Object.entries(mapping.columns).map(([field, column]) => [field, index.get(column!)!]);
      idPosition = index.get(mapping.idColumn)!;
      continue;
    }
    if (item.record.length !== header.length) {
      yield { line, error: `this line has ${item.record.length} fields; the header has ${header.length}`, row: csvRow(item.record) };
      continue;
    }
    const raw: Partial<Record<string, string>> = {};
    for (const [field, position] of positions) raw[field] = item.record[position];
    const cleaned = cleanFields(item.record[idPosition], raw);
    yield typeof cleaned === 'string' ? { line, error: cleaned, row: csvRow(item.record) } : { line, record: cleaned, raw: item.record };
  }
  yield* unreadable.sort((a, b) => a.line - b.line);
}

export async function* ndjsonItems(file: string, source: string, mixed = false): AsyncGenerator<InputItem> {
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: openText(file, mixed), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let resource: unknown;
    try {
      resource = JSON.parse(line === 1 ? text.replace(/^\uFEFF/, '') : text);
    } catch {
      yield { line, error: 'this line is not JSON', row: text };
      continue;
    }
    const cleaned = fieldsFromPatient(source, resource);
    yield typeof cleaned === 'string' ? { line, error: cleaned, row: text } : { line, record: cleaned, raw: text };
  }
}

async function readText(file: string, mixed: boolean): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of openText(file, mixed)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A Bundle's entries, numbered from 1 (the "line" of a bundle import is its entry number), passing
 * over the clinical entries (`clinicalTypes`, see clinical-entries.ts).
 */
export async function* bundleItems(
  file: string,
  source: string,
  clinicalTypes: readonly string[],
  mixed = false,
): AsyncGenerator<InputItem> {
  const clinical = new Set(clinicalTypes);
  let bundle: { resourceType?: string; entry?: Array<{ fullUrl?: string; resource?: unknown }> };
  try {
    bundle = JSON.parse((await readText(file, mixed)).replace(/^\uFEFF/, ''));
  } catch {
    throw new ImportInputError('the file is not JSON');
  }
  if (bundle.resourceType !== 'Bundle') throw new ImportInputError('the file is not a FHIR Bundle');
  const entries = bundle.entry ?? [];
  for (let i = 0; i < entries.length; i++) {
    // Clinical entries (Condition, Encounter, ...) are kept by the fhir module once the Patients are linked.
    const type = (entries[i]?.resource as { resourceType?: unknown } | undefined)?.resourceType;
    if (typeof type === 'string' && clinical.has(type)) continue;
    const cleaned = fieldsFromPatient(source, entries[i]?.resource, entries[i]?.fullUrl);
    yield typeof cleaned === 'string'
      ? { line: i + 1, error: cleaned, row: rowText(entries[i]?.resource) }
      : { line: i + 1, record: cleaned, raw: entries[i]?.resource };
  }
}

export interface FileScan {
  /** SHA-256 of the file: identifies a resumable job. */
  hash: string;
  /** Input lines of a CSV or NDJSON file. */
  lines: number;
  /** Lines that are not valid UTF-8 (read as Windows-1252), and the first of them. */
  nonUtf8Lines: number;
  firstNonUtf8Line: number | null;
  /** Whether any line was valid UTF-8 beyond ASCII (so the file mixes the two). */
  utf8Beyond: boolean;
}

/** Files that are not text: refused up front with what to do instead. */
function refuseNonText(head: Buffer): void {
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new ImportInputError(
      'the file is UTF-16 (Unicode text in two bytes a character), not UTF-8: save it as UTF-8 (in Excel, "CSV UTF-8") and send it again',
    );
  }
  if (
    head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])) ||
    head.subarray(0, 4).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0]))
  ) {
    throw new ImportInputError('the file is a spreadsheet (or another zip archive), not text: save it as CSV UTF-8 and send that');
  }
  let zeros = 0;
  for (let i = head.indexOf(0); i !== -1; i = head.indexOf(0, i + 1)) zeros++;
  if (zeros > head.length / 10) {
    throw new ImportInputError(
      'the file is not text (a tenth of its first bytes are zero: UTF-16 without a byte-order mark, or binary): save it as UTF-8 and send it again',
    );
  }
}

/**
 * The file's SHA-256 (which identifies a resumable job), its lines, and which lines are not
 * UTF-8, in one read of the file through one reused 1 MB buffer (a read stream allocates a fresh
 * buffer per 64 KB, which at a few hundred megabytes costs seconds). UTF-8 is checked natively a
 * megabyte at a time; only a region that fails is looked at line by line.
 *
 * A line that is not UTF-8 is read as Windows-1252 rather than refused: that is what Excel and
 * older agency systems on Windows write (and Latin-1 is the same in every printable character
 * but the 27 Windows adds, such as ’ and €), and refusing would hold back a whole feed for a
 * few accented names. Every byte means something in Windows-1252, so the text may still be
 * wrong if the file was in another code page: the job carries a warning saying how many lines
 * and the first, to check. Line by line, so two systems' exports joined into one file both read
 * right.
 */
export async function scanFile(file: string): Promise<FileScan> {
  const hash = createHash('sha256');
  let count = 0;
  let last = 10;
  let nonUtf8Lines = 0;
  let firstNonUtf8Line: number | null = null;
  let utf8Beyond = false;
  // Bytes after the last newline so far (a line split across reads), and the line they start.
  let carry: Buffer = Buffer.alloc(0);
  const checkRegion = (region: Buffer, firstLine: number) => {
    if (isUtf8(region)) {
      if (!utf8Beyond && !isAscii(region)) utf8Beyond = true;
      return;
    }
    let line = firstLine;
    for (let start = 0; start < region.length; line++) {
      const nl = region.indexOf(10, start);
      const end = nl === -1 ? region.length : nl + 1;
      const text = region.subarray(start, end);
      if (!isUtf8(text)) {
        nonUtf8Lines++;
        firstNonUtf8Line ??= line;
      } else if (!utf8Beyond && !isAscii(text)) utf8Beyond = true;
      start = end;
    }
  };
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let first = true;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      if (first) refuseNonText(chunk.subarray(0, 4096));
      first = false;
      hash.update(chunk);
      const linesBefore = count;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
      last = chunk[bytesRead - 1]!;
      const lastNl = chunk.lastIndexOf(10);
      if (lastNl === -1) {
        carry = Buffer.concat([carry, chunk]);
        continue;
      }
      // The line carried over ends in this chunk: check it whole, then the rest in place.
      const firstNl = chunk.indexOf(10);
      checkRegion(
        carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, firstNl + 1)]) : chunk.subarray(0, firstNl + 1),
        linesBefore + 1,
      );
      checkRegion(chunk.subarray(firstNl + 1, lastNl + 1), linesBefore + 2);
      carry = Buffer.from(chunk.subarray(lastNl + 1));
    }
    if (carry.length > 0) checkRegion(carry, count + 1);
  } finally {
    await handle.close();
  }
  return { hash: hash.digest('hex'), lines: last === 10 ? count : count + 1, nonUtf8Lines, firstNonUtf8Line, utf8Beyond };
}

/** A FHIR Bundle's input lines: its entries (0 when it is not JSON; reading it says why). */
export async function bundleEntries(file: string): Promise<number> {
  try {
    return (JSON.parse(await fs.promises.readFile(file, 'utf8')) as { entry?: unknown[] }).entry?.length ?? 0;
  } catch {
    return 0;
  }
}

/**
 * The Patients of an NDJSON or Bundle feed that became records, each with its record id and the
 * resource as sent, read again after the import so the fhir module can keep them as received
 * (see clinical-entries.ts). A record id given again later in the file is passed over: the first
 * was stored, as the importer keeps it.
 */
export async function* receivedPatients(
  file: string,
  format: Exclude<ImportFormat, 'csv'>,
  source: string,
  clinicalTypes: readonly string[],
  mixed = false,
): AsyncGenerator<{ line: number; sourceId: string; resource: Record<string, unknown> }> {
  const items = format === 'ndjson' ? ndjsonItems(file, source, mixed) : bundleItems(file, source, clinicalTypes, mixed);
  const seen = new Set<string>();
  for await (const item of items) {
    if (!('record' in item) || seen.has(item.record.sourceId)) continue;
    seen.add(item.record.sourceId);
    const resource: unknown = typeof item.raw === 'string' ? JSON.parse(item.raw.replace(/^\uFEFF/, '')) : item.raw;
    yield { line: item.line, sourceId: item.record.sourceId, resource: resource as Record<string, unknown> };
  }
}
