// Read and search over the resource definitions, with the access decision applied to every
// row about a person (and audited: 'read' for a read, 'search' for each person in results).
import { sql, type Kysely } from 'kysely';
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccess, decideRecordAccessForMany, peopleInReach, type AccessAction, type Purpose } from '../consent/index.ts';
import type { Category } from '../consent/index.ts';
import type { CategoryDecision } from '../consent/index.ts';
import { resourceDefs, type ResourceDef, type Row } from './resources.ts';
import { FhirError, invalid, notFound, stopIfClientGone } from './outcome.ts';
import { checkId, textConditionOf, uriCondition, type Cond } from './params.ts';
import { modifiersOf, presenceOf, shape, shapingOf, sortKeysOf, type SortKey } from './search-features.ts';
import { withStoredCopies } from './stored.ts';
import { inReachCondition } from './reach.ts';

export interface FhirContext {
  db: Kysely<Database>;
  actor: SignedInUser;
  /** Absolute base URL of the FHIR endpoint, from PUBLIC_URL, e.g. https://joinery.example/fhir */
  base: string;
  /** Aborted when the client goes away: long work (batches, searches) stops between steps. */
  signal?: AbortSignal;
  /** Prefer: handling=lenient: a search parameter or modifier not offered is ignored (and said so) instead of refused. */
  lenient?: boolean;
  /** A SMART app's patient/ scope: rows about anyone but this person are left out before any decision. */
  confinedTo?: string;
}

export function purposeOf(actor: SignedInUser): Purpose {
  return actor.role === 'citizen' ? 'self' : 'direct_care';
}

export function defFor(type: string): ResourceDef {
  const def = Object.hasOwn(resourceDefs, type) ? resourceDefs[type] : undefined;
  if (!def) throw new FhirError(404, 'not-supported', `resource type ${type} is not supported here`);
  return def;
}

/** Decisions made during one search, by person and category: each is asked (and audited) once. */
export type Decisions = Map<string, Partial<Record<Category, CategoryDecision>>>;

/** Keeps the rows the actor may see (parts redacted), asking the access decision once per person. */
export async function authorise(
  ctx: FhirContext,
  def: ResourceDef,
  rows: Row[],
  action: AccessAction,
  decided: Decisions = new Map(),
): Promise<Row[]> {
  const spec = def.access;
  if (!spec) return rows;
  const only = ctx.confinedTo;
  if (only !== undefined) rows = rows.filter((row) => (spec.membersOf ? spec.membersOf(row).includes(only) : spec.personOf(row) === only));
  const purpose = purposeOf(ctx.actor);
  const wanted = new Map<string, Set<Category>>();
  const want = (personId: string, categories: Category[]) => {
    const known = decided.get(personId);
    const set = wanted.get(personId) ?? new Set<Category>();
    for (const c of categories) if (!known?.[c]) set.add(c);
    if (set.size > 0) wanted.set(personId, set);
  };
  for (const row of rows) {
    const personId = spec.personOf(row);
    if (personId) want(personId, [spec.categoryOf(row), ...(spec.partCategories?.(row) ?? [])]);
    for (const member of spec.membersOf?.(row) ?? []) want(member, ['demographics']);
  }
  // People wanting the same categories are decided together (one query for the facts, one audit append).
  const groups = new Map<string, { categories: Category[]; personIds: string[] }>();
  for (const [personId, set] of wanted) {
    const key = [...set].sort().join();
    const group = groups.get(key) ?? { categories: [...set], personIds: [] };
    group.personIds.push(personId);
    groups.set(key, group);
  }
  for (const { categories, personIds } of groups.values()) {
    const request = { actor: ctx.actor, categories, purpose, action };
    const byPerson =
      personIds.length === 1
        ? new Map([[personIds[0]!, await decideRecordAccess(ctx.db, { ...request, personId: personIds[0]! })]])
        : await decideRecordAccessForMany(ctx.db, { ...request, personIds });
    for (const [personId, access] of byPerson) decided.set(personId, { ...decided.get(personId), ...access.byCategory });
  }
  const orgId = ctx.actor.organisationId;
  const allowedFor =
    (personId: string) =>
    (category: Category, organisationId: string | null): boolean => {
      const decision = decided.get(personId)?.[category];
      if (!decision || decision.scope === 'none') return false;
      if (decision.scope === 'all') return true;
      return organisationId === null || organisationId === orgId;
    };
  const out: Row[] = [];
  for (const row of rows) {
    if (spec.membersOf) {
      const members = spec.membersOf(row).filter((m) => allowedFor(m)('demographics', null));
      if (members.length === 0) continue;
      out.push({ ...row, members });
      continue;
    }
    const personId = spec.personOf(row);
    if (!personId) continue;
    if (spec.gate && !spec.gate(ctx.actor, row)) continue;
    const allowed = allowedFor(personId);
    const orgs = spec.organisationsOf?.(row);
    const category = spec.categoryOf(row);
    const visible = orgs && orgs.length > 0 ? orgs.some((o) => allowed(category, o)) : allowed(category, null);
    if (!visible) continue;
    const redacted = spec.redact ? spec.redact(row, allowed) : row;
    if (redacted) out.push(redacted);
  }
  return out;
}

/**
 * The order rows are read in: the _sort keys (nulls last whichever way), then id, which breaks ties
 * so that every row has one place and paging by position neither repeats nor skips a row.
 */
export interface Order {
  keys: Array<SortKey & { desc: boolean }>;
}
const ID_ORDER: Order = { keys: [] };

/** The order as SQL, reversed for a previous link's page (read backwards from its cursor). */
function orderSql(order: Order, backwards: boolean): Cond {
  const dir = (desc: boolean) => (desc !== backwards ? sql`desc` : sql`asc`);
  const parts: Cond[] = [];
  for (const key of order.keys) {
    const e = sql.raw(key.expression);
    parts.push(sql`(${e} is null) ${dir(false)}`, sql`${e} ${dir(key.desc)}`);
  }
  parts.push(sql`r.id ${dir(false)}`);
  return sql.join(parts, sql`, `);
}

/**
 * Rows strictly after the cursor row in the order (before it, backwards). The cursor carries its
 * sort values as text (__sort0...), read with it: compared as the key's type, a null value sorting last.
 */
function cursorCondition(order: Order, cursor: Row, backwards: boolean): Cond {
  const alternatives: Cond[] = [];
  const equal: Cond[] = [];
  const beyond = (desc: boolean) => desc !== backwards;
  order.keys.forEach((key, i) => {
    const e = sql.raw(key.expression);
    const value = cursor[`__sort${i}`];
    if (value === null || value === undefined) {
      // The cursor's value is empty, and empties come last: beyond it (forwards) only more empties.
      if (backwards) alternatives.push(sql.join([...equal, sql`${e} is not null`], sql` and `));
      equal.push(sql`${e} is null`);
      return;
    }
    const v = sql`cast(${String(value)} as ${sql.raw(key.type)})`;
    const after = beyond(key.desc) ? sql`${e} < ${v}` : sql`${e} > ${v}`;
    alternatives.push(sql.join([...equal, backwards ? after : sql`(${after} or ${e} is null)`], sql` and `));
    equal.push(sql`${e} = ${v}`);
  });
  alternatives.push(sql.join([...equal, backwards ? sql`r.id < ${cursor.id}` : sql`r.id > ${cursor.id}`], sql` and `));
  return alternatives.length === 1 ? alternatives[0]! : sql`(${sql.join(alternatives, sql` or `)})`;
}

async function selectRows(
  ctx: Pick<FhirContext, 'db'>,
  def: ResourceDef,
  conditions: Cond[],
  limit: number,
  offset: number,
  backwards = false,
  order: Order = ID_ORDER,
): Promise<Row[]> {
  const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
  const sortColumns = order.keys.map((key, i) => sql`, (${sql.raw(key.expression)})::text as ${sql.id(`__sort${i}`)}`);
  const rows = (
    await sql<Row>`select *${sql.join(sortColumns, sql``)} from (${def.base}) r ${where} order by ${orderSql(order, backwards)} limit ${limit} offset ${offset}`.execute(
      ctx.db,
    )
  ).rows;
  await def.hydrate?.(ctx.db, rows);
  return rows;
}

export async function readRow(ctx: FhirContext, type: string, id: string, action: AccessAction = 'read'): Promise<Row> {
  const def = defFor(type);
  checkId(id);
  const rows = await selectRows(ctx, def, [sql`r.id = ${id}`], 1, 0);
  if (rows.length === 0) throw notFound(type, id);
  const [visible] = await authorise(ctx, def, rows, action);
  if (!visible) throw notFound(type, id);
  return visible;
}

export async function readResource(ctx: FhirContext, type: string, id: string): Promise<Resource> {
  const def = defFor(type);
  const [resource] = await withStoredCopies(ctx, def, [await readRow(ctx, type, id)]);
  return resource!;
}

/** Rows an import just filed copies beside, to say what of the copies is not returned: never shown to anyone as they are. */
export async function filedRows(db: Kysely<Database>, type: string, ids: string[]): Promise<Row[]> {
  if (ids.length === 0) return [];
  const def = defFor(type);
  const rows = (await sql<Row>`select * from (${def.base}) r where r.id = any(${ids}::text[])`.execute(db)).rows;
  await def.hydrate?.(db, rows);
  return rows;
}

/** The row a write just made or changed, for filing its stored copy: never shown to anyone as it is. */
export async function writtenRow(ctx: Pick<FhirContext, 'db'>, type: string, id: string): Promise<Row | undefined> {
  const def = defFor(type);
  const [row] = await selectRows(ctx, def, [sql`r.id = ${id}`], 1, 0);
  return row;
}

export type Query = Record<string, string | string[] | undefined>;

// _after is the position a next link carries: the id of the last entry of the page before (always
// a row the actor saw), so following next links costs a page each rather than a scan from the start.
// _before is the position a previous link carries: the id of the first entry of the page after.
const controlParams = new Set([
  '_count',
  '_offset',
  '_after',
  '_before',
  '_include',
  '_revinclude',
  '_format',
  '_pretty',
  '_total',
  '_sort',
  '_summary',
  '_elements',
]);

// Bounds on the work one search does through the access decision. Rows the actor may not see are
// skipped, so a page can need many rows read; when a bound is reached the Bundle ends there (no
// next link) rather than say anything about what lay beyond. Rows of one person (the usual search,
// by patient) cost one decision however many there are; each person decided is also an audit entry,
// so the people looked at grow with the page asked for, as the rows did before.
const SCAN_ROWS = 5_000;
const CHUNK_ROWS = 500;
const peopleBudget = (skip: number, count: number) => Math.min(1_000, 100 + 3 * (skip + count));

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The search URL with some parameters replaced, or left out where the override is undefined. */
export function searchUrl(ctx: FhirContext, type: string, query: Query, overrides: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key in overrides) continue;
    for (const v of values(value)) params.append(key, v);
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) params.set(key, value);
  return `${ctx.base}/${type}?${params.toString()}`;
}

/**
 * One page of the rows the actor may see, in the order (id order unless _sort): `skip` of them
 * passed over first (after the cursor row `after`, if given), then up to `count`; `more` when a
 * further visible row exists. Paging is over visible rows only, so nothing here depends on the
 * rows the access decision hides.
 */
async function visiblePage(
  ctx: FhirContext,
  def: ResourceDef,
  given: Cond[],
  after: Row | undefined,
  skip: number,
  count: number,
  decided: Decisions,
  backwards = false,
  order: Order = ID_ORDER,
): Promise<VisiblePage> {
  // The people the reader could be allowed anything of (consent's peopleInReach, a superset that
  // grants nothing): rows about anyone else the decision refuses outright. An open search (no
  // parameter but paging) reads only rows about them from the start, so it pages through what the
  // reader may see instead of spending its bound on rows the decision would hide; a narrower
  // search reads as it is (usually one person's rows) and is asked again among them only when it
  // reached its bound before its page was full.
  // Roles with no reach (those the decision shows aggregate figures only, and the data quality
  // reviewers, who compare records on the review page) are not narrowed, and a search of theirs
  // that ends at the bound says nothing: none of those rows is ever theirs to see.
  const scan = (conditions: Cond[]) => scanVisiblePage(ctx, def, conditions, after, skip, count, decided, backwards, order);
  const reach = def.access ? peopleInReach(ctx.actor, new Date()) : undefined;
  const narrowed = reach && inReachCondition(def, reach);
  if (!narrowed) return scan(given);
  const page = given.length > 0 ? await scan(given) : undefined;
  if (page && (page.complete || page.more)) return page;
  const inReach = await scan([...given, narrowed]);
  return { ...inReach, stoppedShort: !inReach.complete && !inReach.more };
}

interface VisiblePage {
  rows: Row[];
  more: boolean;
  /** Every row the conditions select was read: nothing visible lies beyond the page. */
  complete: boolean;
  skipped: number;
  /** Among the people in the reader's reach, the bound on work was reached before the page was full or the rows ran out. */
  stoppedShort?: boolean;
}

/** visiblePage's scan over the rows `given` selects, within the bounds on a search's work. */
async function scanVisiblePage(
  ctx: FhirContext,
  def: ResourceDef,
  given: Cond[],
  after: Row | undefined,
  skip: number,
  count: number,
  decided: Decisions,
  backwards: boolean,
  order: Order,
): Promise<VisiblePage> {
  const spec = def.access;
  // A rule that needs no decision (audit trails: the person and privacy officers only) is put in
  // the query, so pages fill with rows the actor may see instead of scanning rows they may not.
  const gate = spec?.gateSql?.(ctx.actor);
  const conditions = gate ? [...given, gate] : given;
  // Backwards (a previous link), `after` is the row the page ends before, and rows come in reverse order.
  const from = (cursor: Row | undefined) =>
    cursor === undefined ? conditions : [...conditions, cursorCondition(order, cursor, backwards)];
  if (!spec) {
    // Nothing is hidden: the database pages directly.
    const rows = await selectRows(ctx, def, from(after), count + 1, skip, backwards, order);
    if (rows.length === 0 && skip > 0) {
      // Past the end: how many rows there are is the position of the last one.
      const [last] = (
        await sql<{
          n: number;
        }>`select count(*)::int as n from (select 1 from (${def.base}) r ${from(after).length > 0 ? sql`where ${sql.join(from(after), sql` and `)}` : sql``} limit ${skip}) x`.execute(
          ctx.db,
        )
      ).rows;
      return { rows: [], more: false, complete: true, skipped: Number(last?.n ?? 0) };
    }
    return { rows: rows.slice(0, count), more: rows.length > count, complete: rows.length <= count, skipped: skip };
  }
  const rows: Row[] = [];
  const people = new Set<string>();
  const budget = peopleBudget(skip, count);
  let skipped = 0;
  let lastRow = after;
  let scanned = 0;
  // As many rows as would do if all were visible, then more at a time as rows turn out hidden.
  let size = Math.min(CHUNK_ROWS, skip + count + 1);
  while (scanned < SCAN_ROWS) {
    await stopIfClientGone(ctx.signal);
    const want = Math.min(size, SCAN_ROWS - scanned);
    const read = await selectRows(ctx, def, from(lastRow), want, 0, backwards, order);
    // Rows whose people would go over the budget are not looked at.
    let fits = 0;
    for (const row of read) {
      const personId = spec.personOf(row);
      const fresh = new Set([...(personId ? [personId] : []), ...(spec.membersOf?.(row) ?? [])].filter((p) => !people.has(p)));
      if (people.size + fresh.size > budget) break;
      for (const p of fresh) people.add(p);
      fits++;
    }
    const chunk = read.slice(0, fits);
    scanned += chunk.length;
    const kept = new Map((await authorise(ctx, def, chunk, 'search', decided)).map((row) => [row.id, row]));
    for (const row of chunk) {
      const keep = kept.get(row.id);
      if (!keep) continue;
      if (skipped < skip) skipped++;
      else if (rows.length < count) rows.push(keep);
      else return { rows, more: true, complete: false, skipped };
    }
    // Every row was read: what was found is all there is (a bound reached says nothing of the rest).
    if (fits === read.length && read.length < want) return { rows, more: false, complete: true, skipped };
    if (fits < read.length) break;
    lastRow = chunk.at(-1)!;
    size = Math.min(CHUNK_ROWS, size * 2);
  }
  return { rows, more: false, complete: false, skipped };
}

// ---------------------------------------------------------------------------------------------
// Search parameters as conditions: modifiers, chains and reverse chains

/** A parameter or modifier this server does not offer: refused, or left out under Prefer: handling=lenient. */
class UnsupportedSearch extends FhirError {
  constructor(message: string) {
    super(400, 'not-supported', `${message}; see /fhir/metadata for what is supported`);
  }
}

// Chains and _has are answered in two steps: the rows of the other type that match and that the
// reader may see (through the access decision, as a search of that type would be), then the rows
// referring to them. A row the reader may not see is never counted, so a chain cannot be used to
// learn that a hidden resource exists. Matches beyond this many are refused (narrow the search)
// rather than answered in part.
const CHAIN_LIMIT = 1_000;
// Resources one page's _revinclude adds, each through the access decision; beyond, an outcome says so.
const REVINCLUDE_LIMIT = 1_000;

/** One parameter's condition, with its modifier (no chain): as R4 reads modifiers on its type. */
function paramCondition(def: ResourceDef, name: string, modifier: string | undefined, value: string): Cond {
  const handler = def.params[name];
  const type = def.paramTypes[name];
  if (!handler || !type) throw new UnsupportedSearch(`${def.type} cannot be searched by "${name}" here`);
  if (value.length > 500) throw invalid(`the value of ${name} is too long`);
  if (modifier === undefined) return handler(value);
  const supported = modifiersOf(def, name);
  if (modifier === 'missing' && supported.includes('missing')) {
    const present = sql.raw(presenceOf(def, name)!);
    if (value === 'true') return sql`not coalesce((${present}), false)`;
    if (value === 'false') return sql`coalesce((${present}), false)`;
    throw invalid(`${name}:missing takes true or false`);
  }
  // :not finds the rows without a matching value, those with no value at all included.
  if (modifier === 'not' && supported.includes('not')) return sql`not coalesce((${handler(value)}), false)`;
  if ((modifier === 'exact' || modifier === 'contains') && supported.includes(modifier)) return handler(value, modifier);
  // :text matches the text that goes with a token's codes (a concept's text, a coding's display).
  if (modifier === 'text' && supported.includes('text')) return textConditionOf(handler)!(value);
  if ((modifier === 'below' || modifier === 'above') && supported.includes(modifier)) return uriCondition(handler, value, modifier)!;
  // Terminology this server does not hold: said so, rather than answered wrongly.
  if (type === 'token' && (modifier === 'in' || modifier === 'not-in'))
    throw new UnsupportedSearch(`${def.type}.${name}:${modifier} needs value sets, and no value sets are held on this server`);
  if (type === 'token' && (modifier === 'below' || modifier === 'above'))
    throw new UnsupportedSearch(
      `${def.type}.${name}:${modifier} needs code system hierarchies (a terminology server), which this server does not have`,
    );
  if (supported.includes('type') && Object.hasOwn(resourceDefs, modifier)) {
    return handler(
      value
        .split(',')
        .map((v) => (v.includes('/') ? v : `${modifier}/${v}`))
        .join(','),
    );
  }
  throw new UnsupportedSearch(
    `${def.type}.${name} does not take the modifier :${modifier} here (it takes ${supported.length > 0 ? supported.map((m) => (m === 'type' ? ':[type]' : `:${m}`)).join(', ') : 'none'})`,
  );
}

/**
 * A search's query string (`code=...&date=ge2020`) as one condition, for a Bulk Data _typeFilter:
 * plain parameters with their modifiers only (no chains, _has or control parameters, which would
 * need the access decision at each step of a long-running job). Throws a 400 naming what is not offered.
 */
export function plainSearchCondition(def: ResourceDef, queryString: string): Cond {
  const conditions: Cond[] = [];
  for (const [key, value] of new URLSearchParams(queryString)) {
    if (controlParams.has(key) || key.startsWith('_has:') || key.includes('.'))
      throw new UnsupportedSearch(`${key} cannot be used in a _typeFilter here (search parameters and their modifiers only)`);
    const { name, modifier } = splitModifier(key);
    conditions.push(paramCondition(def, name, modifier, value));
  }
  if (conditions.length === 0) throw invalid(`the _typeFilter for ${def.type} names no search parameter`);
  return sql`(${sql.join(conditions, sql` and `)})`;
}

/** `name:modifier` → its two parts. */
function splitModifier(key: string): { name: string; modifier: string | undefined } {
  const colon = key.indexOf(':');
  return colon < 0 ? { name: key, modifier: undefined } : { name: key.slice(0, colon), modifier: key.slice(colon + 1) };
}

/**
 * `outer` (an expression over r.*) is one of `column` of the rows of `def` matching `conditions`
 * that the reader may see. Types with nothing to hide are a subquery; for the rest, the rows are
 * read through the access decision first (each person asked once, audited as a search).
 */
async function amongVisible(
  ctx: FhirContext,
  outer: string,
  def: ResourceDef,
  conditions: Cond[],
  column: string,
  decided: Decisions,
  what: string,
): Promise<Cond> {
  if (!def.access) {
    return sql`${sql.raw(outer)} in (select r.${sql.raw(column)} from (${def.base}) r where ${sql.join(conditions, sql` and `)})`;
  }
  await stopIfClientGone(ctx.signal);
  const page = await visiblePage(ctx, def, conditions, undefined, 0, CHAIN_LIMIT, decided);
  if (page.more || !page.complete) {
    throw new FhirError(400, 'too-costly', `${what} matches too many resources to answer; narrow it with further parameters`);
  }
  const ids = [...new Set(page.rows.map((row) => row[column]).filter((v): v is string => typeof v === 'string' && v !== ''))];
  return ids.length === 0 ? sql`false` : sql`${sql.raw(outer)} = any(${ids}::text[])`;
}

/** A chained parameter (subject:Patient.family, subject.identifier): one level deep, through a reference parameter. */
async function chainCondition(ctx: FhirContext, def: ResourceDef, key: string, value: string, decided: Decisions): Promise<Cond> {
  const dot = key.indexOf('.');
  const { name, modifier: typeHint } = splitModifier(key.slice(0, dot));
  const chained = key.slice(dot + 1);
  const spec = def.includes?.[name];
  if (!spec || def.paramTypes[name] !== 'reference') throw new UnsupportedSearch(`${def.type}.${name} cannot be chained here`);
  if (typeHint !== undefined && typeHint !== spec.type) {
    throw new UnsupportedSearch(`${def.type}.${name} refers to ${spec.type} here, not ${typeHint}`);
  }
  if (chained.includes('.')) throw new UnsupportedSearch(`chains are followed one level deep here, not ${key}`);
  const target = defFor(spec.type);
  const { name: targetName, modifier } = splitModifier(chained);
  const condition = paramCondition(target, targetName, modifier, value);
  return amongVisible(ctx, `r.${spec.column}`, target, [condition], 'id', decided, `the chain ${key}`);
}

/** A reverse chain: _has:Observation:subject:code=X finds the rows that matching, visible Observations refer to. */
async function hasCondition(ctx: FhirContext, def: ResourceDef, key: string, value: string, decided: Decisions): Promise<Cond> {
  const [, sourceType = '', param = '', sourceParam = '', modifier, ...rest] = key.split(':');
  if (sourceParam === '_has' || rest.length > 0) throw new UnsupportedSearch(`_has is followed one level deep here, not ${key}`);
  if (!Object.hasOwn(resourceDefs, sourceType)) throw new UnsupportedSearch(`${key}: ${sourceType} is not a type served here`);
  const source = resourceDefs[sourceType]!;
  const spec = source.includes?.[param];
  if (!spec || spec.type !== def.type) throw new UnsupportedSearch(`${key}: ${sourceType}.${param} does not refer to ${def.type} here`);
  const condition = paramCondition(source, sourceParam, modifier, value);
  return amongVisible(ctx, 'r.id', source, [condition], spec.column, decided, key);
}

/**
 * The conditions of a search's parameters (the control parameters aside), each value of a
 * parameter repeated being and-ed. Under Prefer: handling=lenient a parameter or modifier not
 * offered is left out (its key is returned in `ignored`) instead of refused.
 */
async function searchConditions(
  ctx: FhirContext,
  def: ResourceDef,
  query: Query,
  decided: Decisions,
): Promise<{ conditions: Cond[]; ignored: string[] }> {
  const conditions: Cond[] = [];
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (controlParams.has(key)) continue;
    try {
      for (const v of values(value)) {
        if (v.length > 500) throw invalid(`the value of ${key} is too long`);
        if (key.startsWith('_has:')) conditions.push(await hasCondition(ctx, def, key, v, decided));
        else if (key.includes('.')) conditions.push(await chainCondition(ctx, def, key, v, decided));
        else {
          const { name, modifier } = splitModifier(key);
          conditions.push(paramCondition(def, name, modifier, v));
        }
      }
    } catch (error) {
      if (error instanceof UnsupportedSearch && ctx.lenient) {
        ignored.push(key);
        continue;
      }
      throw error;
    }
  }
  return { conditions, ignored };
}

/** _sort: keys the type can be sorted by, - for descending. */
function parseSort(ctx: FhirContext, def: ResourceDef, raw: string | undefined, ignored: string[]): Order {
  if (raw === undefined || raw.trim() === '') return ID_ORDER;
  const sortable = sortKeysOf(def.type);
  const keys: Order['keys'] = [];
  for (const part of raw.split(',')) {
    const desc = part.startsWith('-');
    const name = desc ? part.slice(1) : part;
    const key = Object.hasOwn(sortable, name) ? sortable[name] : undefined;
    if (!key) {
      if (ctx.lenient) {
        ignored.push(`_sort=${part}`);
        continue;
      }
      throw new UnsupportedSearch(`${def.type} cannot be sorted by "${name}" here (it can by ${Object.keys(sortable).join(', ')})`);
    }
    if (name === '_id') {
      // id is always the last key: sorting by it ends the order.
      keys.push({ ...key, desc });
      break;
    }
    keys.push({ ...key, desc });
  }
  return { keys };
}

/**
 * The row a next (or previous) link's position names, with its sort values. Under _sort the
 * position is where that row sorts, so it must be a row the reader may see: a hidden or unknown
 * row gives the same refusal, and where a hidden row sorts is never told.
 */
async function cursorRow(ctx: FhirContext, def: ResourceDef, id: string, order: Order, decided: Decisions): Promise<Row> {
  if (order.keys.length === 0) return { id } as Row;
  const rows = await selectRows(ctx, def, [sql`r.id = ${id}`], 1, 0, false, order);
  const [visible] = rows.length > 0 ? await authorise(ctx, def, rows, 'search', decided) : [];
  if (!visible) throw invalid('that paging position is no longer one you can use: start the search again from its first page');
  return visible;
}

export async function search(ctx: FhirContext, type: string, query: Query): Promise<Bundle> {
  const def = defFor(type);
  const decided: Decisions = new Map();
  const { conditions, ignored } = await searchConditions(ctx, def, query, decided);
  const order = parseSort(ctx, def, values(query._sort)[0], ignored);

  const { summary, elements } = shapingOf(query, { count: true, what: 'a search' });

  const countRaw = values(query._count)[0];
  const count = summary === 'count' ? 0 : countRaw === undefined ? 20 : Number(countRaw);
  if (!Number.isInteger(count) || count < 0 || count > 500) throw invalid('_count must be a whole number from 0 to 500');
  const offsetRaw = values(query._offset)[0];
  const offset = offsetRaw === undefined ? 0 : Number(offsetRaw);
  if (!Number.isInteger(offset) || offset < 0 || offset > 10_000_000) throw invalid('_offset must be a whole number, 0 or more');
  const afterRaw = values(query._after)[0];
  const after = afterRaw === undefined ? undefined : checkId(afterRaw);
  const beforeRaw = values(query._before)[0];
  const before = beforeRaw === undefined ? undefined : checkId(beforeRaw);
  if (after !== undefined && before !== undefined) throw invalid('give _after or _before, not both');

  const totalMode = summary === 'count' ? 'accurate' : (values(query._total)[0] ?? 'estimate');
  if (!['none', 'estimate', 'accurate'].includes(totalMode)) throw invalid('_total must be none, estimate or accurate');

  // _offset counts the rows the actor may see; a next link's _after says where its page starts.
  const cursorId = after ?? before;
  const cursor = cursorId === undefined || count === 0 ? undefined : await cursorRow(ctx, def, cursorId, order, decided);
  let page =
    count > 0
      ? await visiblePage(
          ctx,
          def,
          conditions,
          cursor,
          after === undefined && before === undefined ? offset : 0,
          count,
          decided,
          before !== undefined,
          order,
        )
      : { rows: [], more: false, complete: false, skipped: 0 };
  if (before !== undefined) {
    // A previous link's page, read backwards: in order again, and whether a visible row follows it.
    const rows = page.rows.reverse();
    const following = rows.length > 0 ? await visiblePage(ctx, def, conditions, rows.at(-1)!, 0, 1, decided, false, order) : { rows: [] };
    page = { rows, more: following.rows.length > 0, complete: false, skipped: 0 };
  }
  const { rows: visible, more, complete, skipped } = page;
  // Bundle.total counts the rows the actor may see, never the hidden ones (which would tell what the
  // access decision withholds). When the last page is reached it is known at no cost (its position
  // plus its rows), and given unless _total=none. Before then, _total=accurate counts the visible
  // rows through the access decision, as pages are filled, up to the bound on a search's work; past
  // that bound (and for the default, estimate) no total is given rather than a wrong one.
  let total: number | undefined;
  if (totalMode !== 'none') {
    // The page's position: the rows skipped, or for a next link's page the _offset it carries.
    const position = after === undefined && before === undefined ? skipped : offsetRaw === undefined ? undefined : offset;
    if (complete && position !== undefined) total = position + visible.length;
    else if (totalMode === 'accurate') {
      const counted = await visiblePage(ctx, def, conditions, undefined, 0, SCAN_ROWS, decided);
      if (counted.complete) total = counted.rows.length;
    }
  }
  const entries: BundleEntry[] = (await withStoredCopies(ctx, def, visible)).map((resource) => ({
    fullUrl: `${ctx.base}/${type}/${resource.id}`,
    resource,
    search: { mode: 'match' },
  }));
  const seen = new Set(entries.map((e) => e.fullUrl));
  const include = (entryType: string, resources: Resource[]) => {
    for (const resource of resources) {
      const fullUrl = `${ctx.base}/${entryType}/${resource.id}`;
      if (seen.has(fullUrl)) continue;
      seen.add(fullUrl);
      entries.push({ fullUrl, resource, search: { mode: 'include' } });
    }
  };
  const notes: string[] = ignored.map((key) => `${key} is not supported here and was ignored (Prefer: handling=lenient)`);
  // A page that stopped at the bound on a search's work, neither full nor at the end, says so:
  // there may be more the reader may see, which a narrower search (e.g. by patient) finds.
  const stoppedShort = count > 0 && before === undefined && page.stoppedShort === true;

  // _include: referenced resources, each through its own access decision.
  for (const wanted of values(query._include)) {
    const [source, param, target] = wanted.split(':');
    const spec = source === type && param ? def.includes?.[param] : undefined;
    if (!spec || (target && target !== spec.type)) {
      if (ctx.lenient) {
        notes.push(`_include=${wanted} is not supported here and was ignored (Prefer: handling=lenient)`);
        continue;
      }
      throw new UnsupportedSearch(`_include=${wanted} is not supported for ${type} (use ${type}:<parameter>)`);
    }
    const ids = [...new Set(visible.map((row) => row[spec.column]).filter((v): v is string => typeof v === 'string' && v !== ''))];
    if (ids.length === 0) continue;
    const targetDef = defFor(spec.type);
    const included = await selectRows(ctx, targetDef, [sql`r.id = any(${ids}::text[])`], ids.length, 0);
    include(spec.type, await withStoredCopies(ctx, targetDef, await authorise(ctx, targetDef, included, 'search', decided)));
  }

  // _revinclude: resources referring to this page's, each through its own access decision.
  for (const wanted of values(query._revinclude)) {
    const [source = '', param = '', target] = wanted.split(':');
    const sourceDef = Object.hasOwn(resourceDefs, source) ? resourceDefs[source] : undefined;
    const spec = param ? sourceDef?.includes?.[param] : undefined;
    if (!sourceDef || !spec || spec.type !== type || (target && target !== type)) {
      if (ctx.lenient) {
        notes.push(`_revinclude=${wanted} is not supported here and was ignored (Prefer: handling=lenient)`);
        continue;
      }
      throw new UnsupportedSearch(`_revinclude=${wanted} is not supported for ${type}`);
    }
    if (visible.length === 0) continue;
    await stopIfClientGone(ctx.signal);
    const referring = await visiblePage(
      ctx,
      sourceDef,
      [sql`r.${sql.raw(spec.column)} = any(${visible.map((r) => r.id)}::text[])`],
      undefined,
      0,
      REVINCLUDE_LIMIT,
      decided,
    );
    include(source, await withStoredCopies(ctx, sourceDef, referring.rows));
    if (referring.more || !referring.complete) {
      notes.push(`_revinclude=${wanted}: only the first ${referring.rows.length} resources are included; ask for fewer per page (_count)`);
    }
  }

  const shaped: BundleEntry[] =
    summary !== undefined || elements ? entries.map((e) => ({ ...e, resource: shape(e.resource!, summary, elements) })) : entries;
  if (notes.length > 0 || stoppedShort) {
    shaped.push({
      resource: {
        resourceType: 'OperationOutcome',
        issue: [
          ...notes.map((diagnostics) => ({ severity: 'warning' as const, code: 'not-supported' as const, diagnostics })),
          ...(stoppedShort
            ? [
                {
                  severity: 'warning' as const,
                  code: 'incomplete' as const,
                  diagnostics:
                    'This search stopped at the most one request may read, so there may be more results than shown: narrow it (for example by patient or date) to see them',
                },
              ]
            : []),
        ],
      },
      search: { mode: 'outcome' },
    });
  }

  // The links carry what was used: parameters left out under lenient handling are not in them.
  const used: Query = Object.fromEntries(Object.entries(query).filter(([key]) => !ignored.includes(key)));
  const link: BundleLink[] = [{ relation: 'self', url: searchUrl(ctx, type, used, { _count: String(count), _offset: String(offset) }) }];
  // previous reads back from this page's first row (a cursor, as next is): no scan from the start.
  if (offset > 0) {
    link.push({
      relation: 'previous',
      url: searchUrl(
        ctx,
        type,
        used,
        visible.length > 0
          ? { _count: String(count), _offset: String(Math.max(0, offset - count)), _after: undefined, _before: String(visible[0]!.id) }
          : { _count: String(count), _offset: String(Math.max(0, offset - count)), _after: undefined, _before: undefined },
      ),
    });
  }
  if (more)
    link.push({
      relation: 'next',
      url: searchUrl(ctx, type, used, {
        _count: String(count),
        _offset: String(offset + count),
        _after: String(visible.at(-1)!.id),
        _before: undefined,
      }),
    });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date().toISOString(),
    ...(total !== undefined ? { total } : {}),
    link,
    ...(shaped.length > 0 ? { entry: shaped } : {}),
  };
}
