// Fast bulk inserts that work the same on PGlite and PostgreSQL: one statement per batch,
// columns passed as arrays and expanded with unnest().
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';

export interface BulkColumn<Row> {
  name: string;
  /** PostgreSQL array element type, e.g. 'text', 'int', 'date', 'timestamptz', 'boolean', 'jsonb'. */
  type: string;
  value: (row: Row) => unknown;
}

export async function bulkInsert<Row>(db: Kysely<Database>, table: string, columns: BulkColumn<Row>[], rows: Row[], batchSize = 5000): Promise<void> {
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    // jsonb travels as text[] and is cast per element (arrays of jsonb serialise poorly).
    const arrays = columns.map((c) => batch.map((r) => {
      const v = c.value(r);
      return c.type === 'jsonb' && v !== null ? JSON.stringify(v) : v;
    }));
    const unnestArgs = sql.join(columns.map((c, i) => sql`${arrays[i]}::${sql.raw(c.type === 'jsonb' ? 'text' : c.type)}[]`));
    const selectList = sql.join(columns.map((c, i) => (c.type === 'jsonb' ? sql.raw(`c${i}::jsonb`) : sql.raw(`c${i}`))));
    const aliases = sql.raw(columns.map((_, i) => `c${i}`).join(', '));
    await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c.name)))})
      select ${selectList} from unnest(${unnestArgs}) as t(${aliases})`.execute(db);
  }
}
