// Reading CSV files into link records through a column → field mapping.

import { access, constants, open } from 'node:fs/promises';
import { parseFieldKey, RawColumnsBuilder } from './prepare.ts';
import type { RawColumns, RecordIds } from './prepare.ts';
import type { FieldName, LinkRecord } from './types.ts';
import { RefusedInput } from '../platform/refused.ts';

/** A problem with the user's input: reported as one line, exit code 2. */
export class LinkInputError extends RefusedInput {
  constructor(message: string) {
    super(400, message);
  }
}

export interface FieldMapping {
  /** Column in the CSV file. */
  source: string;
  /** FieldName or `text:NAME`. */
  field: string;
}

/** Parses `SRC=FIELD[,SRC=FIELD...]` options (repeatable) into mappings. */
export function parseMappings(options: readonly string[]): FieldMapping[] {
  const mappings: FieldMapping[] = [];
  for (const option of options) {
    for (const item of option.split(',')) {
      if (item.trim() === '') continue;
      const separator = item.indexOf('=');
      const source = item.slice(0, separator).trim();
      const field = item.slice(separator + 1).trim();
      if (separator < 0 || source === '' || field === '') {
        throw new LinkInputError(`--map expects SRC=FIELD, got '${item.trim()}'`);
      }
      if (!parseFieldKey(field)) {
        throw new LinkInputError(
          `unknown field '${field}' in --map: use given_name, family_name, birth_date, sex, postcode, address, nhs_number, email, phone or text:NAME`,
        );
      }
      mappings.push({ source, field });
    }
  }
  if (mappings.length === 0) throw new LinkInputError('no fields mapped: give --map SRC=FIELD');
  return mappings;
}

/** Builds a link record from a CSV row; several columns mapped to one field are joined by a space. */
export function rowToRecord(id: string, row: Record<string, string>, mappings: readonly FieldMapping[]): LinkRecord {
  const record: LinkRecord = { id, fields: {}, text: {} };
  for (const { source, field } of mappings) {
    const value = (row[source] ?? '').trim();
    if (value === '') continue;
    const spec = parseFieldKey(field)!;
    if (spec.kind === 'text') {
      const name = field.slice('text:'.length);
      record.text[name] = record.text[name] ? `${record.text[name]} ${value}` : value;
    } else {
      const name: FieldName = spec.kind;
      record.fields[name] = record.fields[name] ? `${record.fields[name]} ${value}` : value;
    }
  }
  return record;
}

/** Reads one CSV file (header row, values trimmed) into link records. */
export async function readLinkRecords(path: string, idColumn: string, mappings: readonly FieldMapping[]): Promise<LinkRecord[]> {
  const table = await readLinkColumns([path], idColumn, mappings);
  return Array.from({ length: table.count }, (_, record) => {
    const linkRecord: LinkRecord = { id: table.recordIds.get(record), fields: {}, text: {} };
    table.keys.forEach((key, column) => {
      const number = table.rawIds[record * table.keys.length + column]!;
      if (number < 0) return;
      if (key.startsWith('text:')) linkRecord.text[key.slice('text:'.length)] = table.raw[column]![number]!;
      else linkRecord.fields[key as FieldName] = table.raw[column]![number]!;
    });
    return linkRecord;
  });
}

/** Record ids packed as UTF-8 bytes one after another: a few bytes per record rather than a string each. */
class PackedIds implements RecordIds {
  private bytes = Buffer.allocUnsafe(1 << 16);
  private ends = new Float64Array(1024);
  private length = 0;
  count = 0;

  /** Appends `source[start, end)` (the id's bytes as in the file). */
  addBytes(source: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    source.copy(this.bytes, this.length, start, end);
    this.length += end - start;
    this.finish();
  }

  addString(id: string): void {
    this.reserve(Buffer.byteLength(id));
    this.length += this.bytes.write(id, this.length);
    this.finish();
  }

  get(record: number): string {
    return this.bytes.toString('utf8', record === 0 ? 0 : this.ends[record - 1]!, this.ends[record]!);
  }

  /** Gives back unused room once every id is in. */
  trim(): void {
    this.bytes = Buffer.from(this.bytes.subarray(0, this.length));
    this.ends = this.ends.slice(0, this.count);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.length + bytes, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    if (this.count === this.ends.length) {
      const grown = new Float64Array(this.ends.length * 2);
      grown.set(this.ends);
      this.ends = grown;
    }
  }

  private finish(): void {
    this.ends[this.count++] = this.length;
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const READ_SIZE = 1 << 20;

/** Not CSV (an unclosed or stray quote): reported with the file and line. */
class CsvSyntaxError extends Error {}

/**
 * RFC 4180 records read from a file a chunk at a time: fields separated by commas, records by LF,
 * CRLF or CR, fields optionally in double quotes ("" for a quote, line breaks allowed inside),
 * spaces and tabs around fields ignored, blank lines skipped, a UTF-8 byte order mark dropped.
 * The same reading as csv-parse with bom, trim, skip_empty_lines and relax_column_count, done on
 * the bytes so that a field becomes a string only when it is used.
 */
class CsvRecords {
  /** Bytes of the current record's fields: field f is buffer[starts[f], ends[f]), escaped[f] when it holds "". */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  escaped = new Uint8Array(64);
  fieldCount = 0;
  /** Line of the file the current record starts on (from 1). */
  line = 1;
  buffer = Buffer.allocUnsafe(READ_SIZE * 2);
  private position = 0;
  private filled = 0;
  private atEnd = false;
  private first = true;
  private readonly file: Awaited<ReturnType<typeof open>>;

  constructor(file: Awaited<ReturnType<typeof open>>) {
    this.file = file;
  }

  /** The field as text ('' beyond the record's last field). */
  text(field: number): string {
    if (field >= this.fieldCount) return '';
    const text = this.buffer.toString('utf8', this.starts[field]!, this.ends[field]!);
    return this.escaped[field] === 1 ? text.replace(/""/g, '"') : text;
  }

  /** Moves to the next record; false at the end of the file. */
  async next(): Promise<boolean> {
    for (;;) {
      const after = this.parse();
      if (after >= 0) {
        this.position = after;
        // A blank line (nothing, or only spaces) is no record.
        if (this.fieldCount === 1 && this.starts[0] === this.ends[0] && this.escaped[0] !== 2) continue;
        return true;
      }
      if (this.atEnd) return false;
      await this.read();
    }
  }

  /** Keeps the unparsed tail and reads more of the file after it. */
  private async read(): Promise<void> {
    const tail = this.filled - this.position;
    if (tail > 0 && this.position > 0) this.buffer.copy(this.buffer, 0, this.position, this.filled);
    this.position = 0;
    this.filled = tail;
    if (this.buffer.length - this.filled < READ_SIZE) {
      const grown = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(grown, 0, 0, this.filled);
      this.buffer = grown;
    }
    const { bytesRead } = await this.file.read(this.buffer, this.filled, this.buffer.length - this.filled, null);
    this.filled += bytesRead;
    if (bytesRead === 0) this.atEnd = true;
    if (this.first && this.filled >= 3) {
      this.first = false;
      if (this.buffer[0] === 0xef && this.buffer[1] === 0xbb && this.buffer[2] === 0xbf) this.position = 3;
    }
  }

  private addField(start: number, end: number, escaped: number): void {
    if (this.fieldCount === this.starts.length) {
      const size = this.starts.length * 2;
      const starts = new Int32Array(size);
      const ends = new Int32Array(size);
      const flags = new Uint8Array(size);
      starts.set(this.starts);
      ends.set(this.ends);
      flags.set(this.escaped);
      [this.starts, this.ends, this.escaped] = [starts, ends, flags];
    }
    this.starts[this.fieldCount] = start;
    this.ends[this.fieldCount] = end;
    this.escaped[this.fieldCount++] = escaped;
  }

  /**
   * Parses one record from the current position: the position after it, or -1 when the bytes
   * read so far end inside it (read more; at the end of the file the record ends there).
   */
  private parse(): number {
    const buffer = this.buffer;
    const end = this.filled;
    const final = this.atEnd;
    let i = this.position;
    if (i >= end) return -1;
    this.fieldCount = 0;
    let lines = 0;
    for (;;) {
      while (i < end && (buffer[i] === SPACE || buffer[i] === TAB)) i++;
      if (i < end && buffer[i] === QUOTE) {
        const start = ++i;
        let escaped = 2; // quoted (even when empty: not a blank line)
        for (;;) {
          if (i >= end) {
            if (final) throw new CsvSyntaxError(`Quote Not Closed: the parsing is finished with an opening quote at line ${this.line}`);
            return -1;
          }
          const byte = buffer[i]!;
          if (byte === QUOTE) {
            if (i + 1 >= end && !final) return -1;
            if (buffer[i + 1] === QUOTE) {
              escaped = 1;
              i += 2;
              continue;
            }
            break;
          }
          if (byte === LF) lines++;
          i++;
        }
        this.addField(start, i, escaped);
        i++;
        while (i < end && (buffer[i] === SPACE || buffer[i] === TAB)) i++;
        if (i < end && buffer[i] !== COMMA && buffer[i] !== LF && buffer[i] !== CR) {
          throw new CsvSyntaxError(
            `Invalid Closing Quote: got "${String.fromCharCode(buffer[i]!)}" at line ${this.line + lines} instead of delimiter or record delimiter`,
          );
        }
      } else {
        const start = i;
        while (i < end) {
          const byte = buffer[i]!;
          if (byte === COMMA || byte === LF || byte === CR) break;
          if (byte === QUOTE)
            throw new CsvSyntaxError(`Invalid Opening Quote: a quote is found on field ${this.fieldCount} at line ${this.line + lines}`);
          i++;
        }
        let last = i;
        while (last > start && (buffer[last - 1] === SPACE || buffer[last - 1] === TAB)) last--;
        this.addField(start, last, 0);
      }
      if (i >= end) {
        if (!final) return -1;
        this.line += lines;
        return i;
      }
      const byte = buffer[i]!;
      if (byte === COMMA) {
        i++;
        continue;
      }
      // End of the record: LF, CRLF or CR.
      if (byte === CR) {
        if (i + 1 >= end && !final) return -1;
        if (buffer[i + 1] === LF) i++;
      }
      this.line += lines + 1;
      return i + 1;
    }
  }
}

/**
 * Numbers the distinct values of a column by their bytes as read: a field repeated (a town, a
 * common name, a date) is found without being turned into a string, and a value becomes a string
 * once. An open-addressing table of (hash, number) pairs over the values' bytes kept one after
 * another.
 */
class ByteNumbers {
  private bytes = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  /** Value v's bytes are bytes[starts[v], starts[v + 1]). */
  private starts = new Int32Array(1024);
  private count = 0;
  /** Slot s: the hash at 2s, the number + 1 at 2s + 1 (0: free). */
  private table = new Int32Array(2 << 12);
  private mask = (1 << 12) - 1;
  /** Where find last saw the value it did not find could go, and its hash. */
  private pendingSlot = 0;
  private pendingHash = 0;

  private static hash(source: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ source[i]!, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  /** The number of the value `source[start, end)`, or -1 (and where to add it) when new. */
  find(source: Uint8Array, start: number, end: number): number {
    const h = ByteNumbers.hash(source, start, end);
    const length = end - start;
    const { table, mask, bytes, starts } = this;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const held = table[2 * slot + 1]!;
      if (held === 0) {
        this.pendingSlot = slot;
        this.pendingHash = h;
        return -1;
      }
      if (table[2 * slot] !== h) continue;
      const number = held - 1;
      const at = starts[number]!;
      if (starts[number + 1]! - at !== length) continue;
      let same = true;
      for (let k = 0; k < length && same; k++) same = bytes[at + k] === source[start + k];
      if (same) return number;
    }
  }

  /** Adds the value just not found (find returned -1) under `number`, the next number. */
  add(source: Uint8Array, start: number, end: number, number: number): void {
    const length = end - start;
    if (this.used + length > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.used + length, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    if (number + 2 > this.starts.length) {
      const grown = new Int32Array(this.starts.length * 2);
      grown.set(this.starts);
      this.starts = grown;
    }
    this.bytes.set(source.subarray(start, end), this.used);
    this.starts[number] = this.used;
    this.used += length;
    this.starts[number + 1] = this.used;
    this.count = number + 1;
    this.table[2 * this.pendingSlot] = this.pendingHash;
    this.table[2 * this.pendingSlot + 1] = number + 1;
    if (this.count * 2 > this.mask) this.grow();
  }

  private grow(): void {
    const old = this.table;
    this.mask = this.mask * 2 + 1;
    this.table = new Int32Array(2 * (this.mask + 1));
    for (let slot = 0; slot < old.length / 2; slot++) {
      if (old[2 * slot + 1] === 0) continue;
      let to = old[2 * slot]! & this.mask;
      while (this.table[2 * to + 1] !== 0) to = (to + 1) & this.mask;
      this.table[2 * to] = old[2 * slot]!;
      this.table[2 * to + 1] = old[2 * slot + 1]!;
    }
  }
}

/** JavaScript's trim, only when an end could be whitespace (most values have none). */
function trimmed(text: string): string {
  if (text === '') return text;
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  return first <= SPACE || last <= SPACE || first >= 0x80 || last >= 0x80 ? text.trim() : text;
}

/**
 * Reads CSV files (a header row each, the same mapping) straight into raw columns for linking:
 * each distinct value of a field once, ids packed as bytes, no object per record. Several
 * columns mapped to one field are joined by a space, as rowToRecord does.
 */
export async function readLinkColumns(paths: readonly string[], idColumn: string, mappings: readonly FieldMapping[]): Promise<RawColumns> {
  const keys: string[] = [];
  for (const { field } of mappings) if (!keys.includes(field)) keys.push(field);
  const builder = new RawColumnsBuilder(keys);
  const numbers = keys.map(() => new ByteNumbers());
  const ids = new PackedIds();
  for (const path of paths) {
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new LinkInputError(`cannot read input file '${path}'`);
    }
    const file = await open(path, 'r');
    try {
      const csv = new CsvRecords(file);
      if (!(await csv.next())) throw new LinkInputError(`input file '${path}' is empty`);
      const header = Array.from({ length: csv.fieldCount }, (_, field) => csv.text(field).trim());
      for (const needed of [idColumn, ...mappings.map((mapping) => mapping.source)]) {
        if (!header.includes(needed)) throw new LinkInputError(`input file '${path}' has no column '${needed}'`);
      }
      // A name given twice in the header: its last column, as csv-parse's row objects have it.
      const idField = header.lastIndexOf(idColumn);
      const sources = mappings.map((mapping) => header.lastIndexOf(mapping.source));
      const columnOf = mappings.map((mapping) => keys.indexOf(mapping.field));
      const joined: (string | undefined)[] = keys.map(() => undefined);
      // A column fed by one field of the file: its values are numbered from their bytes.
      const single = keys.map((_, column) => columnOf.filter((of) => of === column).length === 1);
      const encoder = new TextEncoder();
      const setText = (column: number, text: string): void => {
        const bytes = encoder.encode(text);
        let number = numbers[column]!.find(bytes, 0, bytes.length);
        if (number < 0) numbers[column]!.add(bytes, 0, bytes.length, (number = builder.addDistinct(column, text)));
        builder.setNumber(column, number);
      };
      let records = 0;
      while (await csv.next()) {
        records++;
        builder.beginRecord();
        if (idField < csv.fieldCount && csv.escaped[idField] !== 1) ids.addBytes(csv.buffer, csv.starts[idField]!, csv.ends[idField]!);
        else ids.addString(csv.text(idField));
        for (let m = 0; m < mappings.length; m++) {
          const field = sources[m]!;
          const column = columnOf[m]!;
          if (field >= csv.fieldCount) continue;
          const start = csv.starts[field]!;
          const end = csv.ends[field]!;
          if (start === end) continue;
          const first = csv.buffer[start]!;
          const last = csv.buffer[end - 1]!;
          // Plain bytes, no quote doubled, nothing JavaScript's trim could take off: numbered as read.
          if (single[column] && csv.escaped[field] !== 1 && first > SPACE && first < 0x80 && last > SPACE && last < 0x80) {
            let number = numbers[column]!.find(csv.buffer, start, end);
            if (number < 0) numbers[column]!.add(csv.buffer, start, end, (number = builder.addDistinct(column, csv.text(field))));
            builder.setNumber(column, number);
            continue;
          }
          const value = trimmed(csv.text(field));
          if (value === '') continue;
          joined[column] = joined[column] === undefined ? value : `${joined[column]} ${value}`;
        }
        for (let column = 0; column < keys.length; column++) {
          if (joined[column] === undefined) continue;
          setText(column, joined[column]!);
          joined[column] = undefined;
        }
      }
      if (records === 0) throw new LinkInputError(`input file '${path}' has a header but no records`);
    } catch (error) {
      if (error instanceof LinkInputError) throw error;
      if (error instanceof CsvSyntaxError) throw new LinkInputError(`cannot parse '${path}' as CSV: ${error.message}`);
      throw new LinkInputError(`cannot read '${path}': ${(error as Error).message}`);
    } finally {
      await file.close();
    }
  }
  ids.trim();
  return builder.build(ids);
}
