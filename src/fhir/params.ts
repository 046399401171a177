// FHIR search parameter values as SQL conditions: token (system|code), string, date with
// prefixes (eq, ne, gt, lt, ge, le, sa, eb), reference (Type/id or id).
import { sql, type RawBuilder } from 'kysely';
import { invalid } from './outcome.ts';

export type Cond = RawBuilder<unknown>;

export function parseToken(value: string): { system: string | null; code: string } {
  const bar = value.indexOf('|');
  if (bar < 0) return { system: null, code: value };
  return { system: value.slice(0, bar) === '' ? null : value.slice(0, bar), code: value.slice(bar + 1) };
}

/** The id from `Type/id`, an absolute URL ending in Type/id, or a bare id. */
export function referenceId(value: string, type?: string): string {
  const parts = value.split('/');
  if (parts.length >= 2) {
    const [t, id] = parts.slice(-2);
    if (type && t !== type) throw invalid(`a reference to ${type} was expected, not ${t}`);
    return checkId(id!);
  }
  return checkId(value);
}

export function checkId(id: string): string {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw invalid('that is not a valid FHIR id');
  return id;
}

const datePattern = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** A FHIR date search value as a half-open interval [start, end) of instants. */
export function parseDateParam(value: string): { prefix: string; start: Date; end: Date } {
  const m = datePattern.exec(value);
  if (!m) throw invalid(`"${value}" is not a FHIR date search value (e.g. ge2020-01-01)`);
  const [, prefix = 'eq', y, mo, d, h, mi, s, tz] = m;
  const year = Number(y);
  let start: Date;
  let end: Date;
  if (h !== undefined) {
    const iso = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${tz ?? 'Z'}`;
    start = new Date(iso);
    end = new Date(start.getTime() + (s !== undefined ? 1000 : 60_000));
  } else if (d !== undefined) {
    start = new Date(Date.UTC(year, Number(mo) - 1, Number(d)));
    end = new Date(Date.UTC(year, Number(mo) - 1, Number(d) + 1));
  } else if (mo !== undefined) {
    start = new Date(Date.UTC(year, Number(mo) - 1, 1));
    end = new Date(Date.UTC(year, Number(mo), 1));
  } else {
    start = new Date(Date.UTC(year, 0, 1));
    end = new Date(Date.UTC(year + 1, 0, 1));
  }
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw invalid(`"${value}" is not a real date`);
  return { prefix, start, end };
}

/** A condition on a column for a date parameter; `kind` 'date' compares calendar dates. */
export function dateCondition(column: string, value: string, kind: 'date' | 'instant'): Cond {
  const { prefix, start, end } = parseDateParam(value);
  const col = sql.raw(column);
  const bound = (d: Date) => (kind === 'date' ? sql`${d.toISOString().slice(0, 10)}::date` : sql`${d.toISOString()}::timestamptz`);
  switch (prefix) {
    case 'gt': case 'sa': return sql`${col} >= ${bound(end)}`;
    case 'ge': return sql`${col} >= ${bound(start)}`;
    case 'lt': case 'eb': return sql`${col} < ${bound(start)}`;
    case 'le': return sql`${col} < ${bound(end)}`;
    case 'ne': return sql`(${col} < ${bound(start)} or ${col} >= ${bound(end)})`;
    default: return sql`(${col} >= ${bound(start)} and ${col} < ${bound(end)})`;
  }
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** FHIR string search: case-insensitive "starts with" on any of the columns. */
export function stringCondition(columns: string[], value: string): Cond {
  const pattern = `${escapeLike(value.trim())}%`;
  return sql`(${sql.join(columns.map((c) => sql`${sql.raw(c)} ilike ${pattern}`), sql` or `)})`;
}

/** Comma means OR in FHIR: the condition for each alternative, or-ed. */
export function anyOf(value: string, each: (v: string) => Cond): Cond {
  const parts = value.split(',').filter((p) => p !== '');
  if (parts.length === 0) throw invalid('an empty search value');
  if (parts.length === 1) return each(parts[0]!);
  return sql`(${sql.join(parts.map(each), sql` or `)})`;
}
