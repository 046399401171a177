// FHIR search parameter values as SQL conditions: token (system|code), string, date with
// prefixes (eq, ne, gt, lt, ge, le, sa, eb), reference (Type/id or id), uri (whole, :below, :above).
import { sql, type RawBuilder } from 'kysely';
import { invalid } from './outcome.ts';

export type Cond = RawBuilder<unknown>;

export function parseToken(value: string): { system: string | null; code: string } {
  const bar = value.indexOf('|');
  if (bar < 0) return { system: null, code: value };
  return { system: value.slice(0, bar) === '' ? null : value.slice(0, bar), code: value.slice(bar + 1) };
}

/**
 * A token as FHIR reads it: `code` (any system), `system|code`, `system|` (any code of that
 * system) and `|code` (a code with no system). `system` is undefined when no bar was given and
 * '' for `|code`; `code` is '' for `system|`.
 */
export function parseTokenExact(value: string): { system: string | undefined; code: string } {
  const bar = value.indexOf('|');
  if (bar < 0) return { system: undefined, code: value };
  return { system: value.slice(0, bar), code: value.slice(bar + 1) };
}

/**
 * A token parameter over a column whose codes all belong to `systems` (none: the element is text
 * only, so its codes have no system). A system the element does not use finds nothing; `system|`
 * finds every row with a value; `|code` finds nothing where every code has a system.
 */
export function tokenCondition(
  column: string,
  systems: string[],
  value: string,
  map: (code: string) => string | string[] = (c) => c,
): Cond {
  const { system, code } = parseTokenExact(value);
  const col = sql.raw(column);
  if (system !== undefined) {
    if (system === '' ? systems.length > 0 : !systems.includes(system)) return sql`false`;
    if (code === '') return sql`${col} is not null`;
  }
  if (code === '') throw invalid('a token search needs a code, a system| or both');
  const mapped = map(code);
  return Array.isArray(mapped) ? sql`${col} = any(${mapped}::text[])` : sql`${col} = ${mapped}`;
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

const datePattern =
  /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

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
  // Date.UTC rolls 30 February over into March: a day or month that is not real is refused.
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) throw invalid(`"${value}" is not a real date: there is no month ${mo}`);
  if (day !== undefined && (day < 1 || new Date(Date.UTC(year, month! - 1, day)).getUTCMonth() !== month! - 1)) {
    throw invalid(`"${value}" is not a real date: ${y}-${mo} has no day ${d}`);
  }
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59)) throw invalid(`"${value}" is not a real time`);
  return { prefix, start, end };
}

/** A condition on a column for a date parameter; `kind` 'date' compares calendar dates. */
export function dateCondition(column: string, value: string, kind: 'date' | 'instant'): Cond {
  const { prefix, start, end } = parseDateParam(value);
  const col = sql.raw(column);
  const bound = (d: Date) => (kind === 'date' ? sql`${d.toISOString().slice(0, 10)}::date` : sql`${d.toISOString()}::timestamptz`);
  switch (prefix) {
    case 'gt':
    case 'sa':
      return sql`${col} >= ${bound(end)}`;
    case 'ge':
      return sql`${col} >= ${bound(start)}`;
    case 'lt':
    case 'eb':
      return sql`${col} < ${bound(start)}`;
    case 'le':
      return sql`${col} < ${bound(end)}`;
    case 'ne':
      return sql`(${col} < ${bound(start)} or ${col} >= ${bound(end)})`;
    default:
      return sql`(${col} >= ${bound(start)} and ${col} < ${bound(end)})`;
  }
}

/**
 * A date parameter on a Period [startColumn, endColumn), where an end that is null means the
 * period is still going on (an open EpisodeOfCare). Prefixes as FHIR reads them for ranges: gt
 * and ge find periods reaching beyond the value (ongoing ones always do), lt and le those that
 * began before it, eq those lying within it, sa those starting after it, eb those ended before it.
 */
export function periodCondition(startColumn: string, endColumn: string, value: string): Cond {
  const { prefix, start, end } = parseDateParam(value);
  const s = sql.raw(startColumn);
  const e = sql.raw(endColumn);
  const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;
  switch (prefix) {
    case 'gt':
      return sql`(${e} is null or ${e} >= ${at(end)})`;
    case 'ge':
      return sql`(${e} is null or ${e} >= ${at(start)})`;
    case 'lt':
      return sql`${s} < ${at(start)}`;
    case 'le':
      return sql`${s} < ${at(end)}`;
    case 'sa':
      return sql`${s} >= ${at(end)}`;
    case 'eb':
      return sql`(${e} is not null and ${e} < ${at(start)})`;
    case 'ne':
      return sql`not (${s} >= ${at(start)} and ${e} is not null and ${e} < ${at(end)})`;
    case 'ap':
      return sql`(${s} < ${at(end)} and (${e} is null or ${e} >= ${at(start)}))`;
    default:
      return sql`(${s} >= ${at(start)} and ${e} is not null and ${e} < ${at(end)})`;
  }
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * How a string parameter matches (R4): by default case-insensitively at the start; `:exact` the
 * whole value as written (case and accents included); `:contains` anywhere, case-insensitively.
 */
export type StringMode = 'exact' | 'contains' | undefined;

/** A string match on one SQL expression. */
export function stringMatch(expression: Cond, value: string, mode: StringMode): Cond {
  if (mode === 'exact') return sql`${expression} = ${value}`;
  const pattern = mode === 'contains' ? `%${escapeLike(value.trim())}%` : `${escapeLike(value.trim())}%`;
  return sql`${expression} ilike ${pattern}`;
}

/** FHIR string search on any of the columns: starts with (default), :exact or :contains. */
export function stringCondition(columns: string[], value: string, mode?: StringMode): Cond {
  return sql`(${sql.join(
    columns.map((c) => stringMatch(sql.raw(c), value, mode)),
    sql` or `,
  )})`;
}

export type ParamHandler = (value: string, mode?: StringMode) => Cond;

/** String parameters whose handler honours :exact and :contains (the rest refuse them, rather than ignore them). */
const modeAware = new WeakSet<ParamHandler>();

/** Marks a string parameter's handler as honouring :exact and :contains. */
export function stringParam(handler: ParamHandler): ParamHandler {
  modeAware.add(handler);
  return handler;
}

export function honoursStringModes(handler: ParamHandler): boolean {
  return modeAware.has(handler);
}

/** Comma means OR in FHIR: the condition for each alternative, or-ed. */
export function anyOf(value: string, each: (v: string) => Cond): Cond {
  const parts = value.split(',').filter((p) => p !== '');
  if (parts.length === 0) throw invalid('an empty search value');
  if (parts.length === 1) return each(parts[0]!);
  return sql`(${sql.join(parts.map(each), sql` or `)})`;
}

/**
 * Token parameters that honour :text, with the condition matching the text that goes with their
 * codes (a CodeableConcept's text, a Coding's display): case-insensitively, anywhere in it.
 */
const textConditions = new WeakMap<ParamHandler, (value: string) => Cond>();

/** Marks a token parameter's handler as honouring :text, matched by `text`. */
export function withText(handler: ParamHandler, text: (value: string) => Cond): ParamHandler {
  textConditions.set(handler, (value) => anyOf(value, text));
  return handler;
}

export function textConditionOf(handler: ParamHandler): ((value: string) => Cond) | undefined {
  return textConditions.get(handler);
}

/** `expression` holds the text, case-insensitively, anywhere (the :text modifier). */
export function textMatch(expression: Cond, value: string): Cond {
  const words = value.trim();
  if (words === '') throw invalid(':text needs some text');
  return sql`${expression} ilike ${`%${escapeLike(words)}%`}`;
}

/**
 * The texts of CodeableConcepts (an element holding one or a list of them) in a kept resource's
 * content, matched as :text matches: each concept's text and each of its codings' display.
 */
export function conceptTextCondition(content: string, elements: string[], value: string): Cond {
  const match = (e: Cond) => textMatch(e, value);
  return sql`(${sql.join(
    elements.map((element) => {
      const el = sql`${sql.raw(content)}->${element}`;
      return sql`exists (select 1 from jsonb_array_elements(case jsonb_typeof(${el}) when 'array' then ${el} when 'object' then jsonb_build_array(${el}) else '[]'::jsonb end) cc
        where ${match(sql`cc->>'text'`)} or exists (select 1 from jsonb_array_elements(case jsonb_typeof(cc->'coding') when 'array' then cc->'coding' else '[]'::jsonb end) c
          where ${match(sql`c->>'display'`)}))`;
    }),
    sql` or `,
  )})`;
}

/** uri parameters' handlers, with the SQL expression of their value, for :below and :above. */
const uriExpressions = new WeakMap<ParamHandler, string>();

/**
 * A uri parameter over an SQL expression: the whole uri by default; `:below` the uri or any under
 * it (the value is a prefix of it, at a path boundary); `:above` the uri or any above it (it is a
 * prefix of the value).
 */
export function uriParam(expression: string): ParamHandler {
  const handler: ParamHandler = (v) => anyOf(v, (x) => sql`${sql.raw(expression)} = ${x}`);
  uriExpressions.set(handler, expression);
  return handler;
}

/** The uri and each uri above it, path segment by segment (https://a.example/x/y: .../x/y, .../x, https://a.example). */
function above(uri: string): string[] {
  const parts = uri.split('/');
  const out: string[] = [];
  // Never shorter than the scheme and authority (https://host).
  const least = /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? 3 : 1;
  for (let n = parts.length; n >= least; n--) {
    const prefix = parts.slice(0, n).join('/');
    if (prefix !== '') out.push(prefix);
  }
  return out;
}

export function uriCondition(handler: ParamHandler, value: string, mode: 'below' | 'above'): Cond | undefined {
  const expression = uriExpressions.get(handler);
  if (expression === undefined) return undefined;
  const e = sql.raw(expression);
  return anyOf(value, (x) => {
    const base = x.replace(/\/+$/, '');
    if (base === '') throw invalid(`:${mode} needs a uri`);
    return mode === 'below'
      ? sql`(${e} = ${base} or ${e} like ${`${escapeLike(base)}/%`})`
      : sql`rtrim(${e}, '/') = any(${above(base)}::text[])`;
  });
}

export function isUriParam(handler: ParamHandler): boolean {
  return uriExpressions.has(handler);
}
