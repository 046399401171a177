// Reading CSV files into link records through a column → field mapping.

import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { parseFieldKey } from './prepare.ts';
import type { FieldName, LinkRecord } from './types.ts';

/** A problem with the user's input: reported as one line, exit code 2. */
export class LinkInputError extends Error {
  override name = 'LinkInputError';
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
export async function readLinkRecords(
  path: string,
  idColumn: string,
  mappings: readonly FieldMapping[],
): Promise<LinkRecord[]> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new LinkInputError(`cannot read input file '${path}'`);
  }
  let sawHeader = false;
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      columns: (header: string[]) => {
        sawHeader = true;
        const columns = header.map((column) => column.trim());
        for (const needed of [idColumn, ...mappings.map((mapping) => mapping.source)]) {
          if (!columns.includes(needed)) throw new LinkInputError(`input file '${path}' has no column '${needed}'`);
        }
        return columns;
      },
    }),
  );
  const records: LinkRecord[] = [];
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      records.push(rowToRecord(row[idColumn] ?? '', row, mappings));
    }
  } catch (error) {
    if (error instanceof LinkInputError) throw error;
    const cause = error instanceof LinkInputError ? error : (error as { cause?: unknown }).cause;
    if (cause instanceof LinkInputError) throw cause;
    throw new LinkInputError(`cannot parse '${path}' as CSV: ${(error as Error).message}`);
  }
  if (!sawHeader) throw new LinkInputError(`input file '${path}' is empty`);
  if (records.length === 0) throw new LinkInputError(`input file '${path}' has a header but no records`);
  return records;
}
