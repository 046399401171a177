// Fast bulk inserts that work the same on PGlite and PostgreSQL: one statement per batch, the
// rows sent as one JSON document and expanded with jsonb_to_recordset(). A JSON document is
// far cheaper to build than one PostgreSQL array literal per column (every element escaped in
// JavaScript), and the server parses it in one pass.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface BulkColumn<Row> {
  name: string;
  /** PostgreSQL type, e.g. 'text', 'int', 'date', 'timestamptz', 'boolean', 'jsonb'. */
  type: string;
  value: (row: Row) => unknown;
}

/** A calendar date as written where the process runs (as the pg driver writes one). */
function localDate(date: Date): string {
  return `${String(date.getFullYear()).padStart(4, '0')}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}

export async function bulkInsert<Row>(
  db: Kysely<Database>,
  table: string,
  columns: BulkColumn<Row>[],
  rows: Row[],
  batchSize = 5000,
): Promise<void> {
  const dateColumns = columns.map((c) => c.type === 'date');
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize).map((row) =>
      columns.map((column, i) => {
        const value = column.value(row);
        return dateColumns[i] && value instanceof Date ? localDate(value) : (value ?? null);
      }),
    );
    // Each row is an array; its columns are picked out by position, cast to their types.
    const selectList = sql.join(columns.map((c, i) => (c.type === 'jsonb' ? sql.raw(`r->${i}`) : sql.raw(`(r->>${i})::${c.type}`))));
    await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c.name)))})
      select ${selectList} from jsonb_array_elements(${JSON.stringify(batch)}::jsonb) as r`.execute(db);
  }
}
