// CSV downloads that are safe to open in a spreadsheet: a text cell that a spreadsheet would read
// as a formula (=HYPERLINK(...) in a service's name, say) is prefixed with a quote, as OWASP
// advises for CSV injection, so it shows as the text it is. Numbers, negative ones too, stay numbers.
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/** One cell as written: text that starts like a formula gets a leading ' (a plain number does not). */
export function formulaSafe(cell: unknown): unknown {
  if (typeof cell !== 'string' || !FORMULA_START.test(cell) || PLAIN_NUMBER.test(cell)) return cell;
  return `'${cell}`;
}

/** Rows as CSV, every text cell formula-safe. */
export function safeCsv(rows: readonly (readonly unknown[])[]): string {
  return stringify(rows.map((row) => row.map(formulaSafe)));
}
