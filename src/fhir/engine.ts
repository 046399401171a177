// Read and search over the resource definitions, with the access decision applied to every
// row about a person (and audited: 'read' for a read, 'search' for each person in results).
import { sql, type Kysely } from 'kysely';
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccess, decideRecordAccessForMany, type AccessAction, type Purpose } from '../consent/index.ts';
import type { Category } from '../consent/index.ts';
import type { CategoryDecision } from '../consent/index.ts';
import { resourceDefs, type ResourceDef, type Row } from './resources.ts';
import { FhirError, invalid, notFound, stopIfClientGone } from './outcome.ts';
import { checkId, type Cond } from './params.ts';
import { withStoredCopies } from './stored.ts';

export interface FhirContext {
  db: Kysely<Database>;
  actor: SignedInUser;
  /** Absolute base URL of the FHIR endpoint, from PUBLIC_URL, e.g. https://joinery.example/fhir */
  base: string;
  /** Aborted when the client goes away: long work (batches, searches) stops between steps. */
  signal?: AbortSignal;
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

async function selectRows(
  ctx: FhirContext,
  def: ResourceDef,
  conditions: Cond[],
  limit: number,
  offset: number,
  backwards = false,
): Promise<Row[]> {
  const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
  const rows = (
    await sql<Row>`select * from (${def.base}) r ${where} order by r.id ${backwards ? sql`desc` : sql`asc`} limit ${limit} offset ${offset}`.execute(
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

/** The row a write just made or changed, for filing its stored copy: never shown to anyone as it is. */
export async function writtenRow(ctx: FhirContext, type: string, id: string): Promise<Row | undefined> {
  const def = defFor(type);
  const [row] = await selectRows(ctx, def, [sql`r.id = ${id}`], 1, 0);
  return row;
}

export type Query = Record<string, string | string[] | undefined>;

// _after is the position a next link carries: the id of the last entry of the page before (always
// a row the actor saw), so following next links costs a page each rather than a scan from the start.
// _before is the position a previous link carries: the id of the first entry of the page after.
const controlParams = new Set(['_count', '_offset', '_after', '_before', '_include', '_format', '_pretty', '_total']);

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
 * One page of the rows the actor may see, in id order: `skip` of them passed over first (after
 * the id `after`, if given), then up to `count`; `more` when a further visible row exists. Paging
 * is over visible rows only, so nothing here depends on the rows the access decision hides.
 */
async function visiblePage(
  ctx: FhirContext,
  def: ResourceDef,
  given: Cond[],
  after: string | undefined,
  skip: number,
  count: number,
  decided: Decisions,
  backwards = false,
): Promise<{ rows: Row[]; more: boolean; complete: boolean; skipped: number }> {
  const spec = def.access;
  // A rule that needs no decision (audit trails: the person and privacy officers only) is put in
  // the query, so pages fill with rows the actor may see instead of scanning rows they may not.
  const gate = spec?.gateSql?.(ctx.actor);
  const conditions = gate ? [...given, gate] : given;
  // Backwards (a previous link), `after` is the id the page ends before, and rows come in descending order.
  const from = (id: string | undefined) =>
    id === undefined ? conditions : [...conditions, backwards ? sql`r.id < ${id}` : sql`r.id > ${id}`];
  if (!spec) {
    // Nothing is hidden: the database pages directly.
    const rows = await selectRows(ctx, def, from(after), count + 1, skip, backwards);
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
  let lastId = after;
  let scanned = 0;
  // As many rows as would do if all were visible, then more at a time as rows turn out hidden.
  let size = Math.min(CHUNK_ROWS, skip + count + 1);
  while (scanned < SCAN_ROWS) {
    await stopIfClientGone(ctx.signal);
    const want = Math.min(size, SCAN_ROWS - scanned);
    const read = await selectRows(ctx, def, from(lastId), want, 0, backwards);
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
    lastId = chunk.at(-1)!.id;
    size = Math.min(CHUNK_ROWS, size * 2);
  }
  return { rows, more: false, complete: false, skipped };
}

export async function search(ctx: FhirContext, type: string, query: Query): Promise<Bundle> {
  const def = defFor(type);
  const conditions: Cond[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (controlParams.has(key)) continue;
    const handler = def.params[key];
    if (!handler) {
      throw new FhirError(
        400,
        'not-supported',
        `${type} cannot be searched by "${key}" here; see /fhir/metadata for the parameters supported`,
      );
    }
    for (const v of values(value)) {
      if (v.length > 500) throw invalid(`the value of ${key} is too long`);
      conditions.push(handler(v));
    }
  }
  const countRaw = values(query._count)[0];
  const count = countRaw === undefined ? 20 : Number(countRaw);
  if (!Number.isInteger(count) || count < 0 || count > 500) throw invalid('_count must be a whole number from 0 to 500');
  const offsetRaw = values(query._offset)[0];
  const offset = offsetRaw === undefined ? 0 : Number(offsetRaw);
  if (!Number.isInteger(offset) || offset < 0 || offset > 10_000_000) throw invalid('_offset must be a whole number, 0 or more');
  const afterRaw = values(query._after)[0];
  const after = afterRaw === undefined ? undefined : checkId(afterRaw);
  const beforeRaw = values(query._before)[0];
  const before = beforeRaw === undefined ? undefined : checkId(beforeRaw);
  if (after !== undefined && before !== undefined) throw invalid('give _after or _before, not both');

  const totalMode = values(query._total)[0] ?? 'estimate';
  if (!['none', 'estimate', 'accurate'].includes(totalMode)) throw invalid('_total must be none, estimate or accurate');

  // _offset counts the rows the actor may see; a next link's _after says where its page starts.
  const decided: Decisions = new Map();
  let page =
    count > 0
      ? await visiblePage(
          ctx,
          def,
          conditions,
          after ?? before,
          after === undefined && before === undefined ? offset : 0,
          count,
          decided,
          before !== undefined,
        )
      : { rows: [], more: false, complete: false, skipped: 0 };
  if (before !== undefined) {
    // A previous link's page, read backwards: in order again, and whether a visible row follows it.
    const rows = page.rows.reverse();
    const following = rows.length > 0 ? await visiblePage(ctx, def, conditions, rows.at(-1)!.id, 0, 1, decided) : { rows: [] };
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

  // _include: referenced resources, each through its own access decision.
  for (const include of values(query._include)) {
    const [source, param, target] = include.split(':');
    if (source !== type || !param) throw invalid(`_include=${include} is not supported; use ${type}:<parameter>`);
    const spec = def.includes?.[param];
    if (!spec || (target && target !== spec.type)) throw invalid(`_include=${include} is not supported for ${type}`);
    const ids = [...new Set(visible.map((row) => row[spec.column]).filter((v): v is string => typeof v === 'string' && v !== ''))];
    if (ids.length === 0) continue;
    const targetDef = defFor(spec.type);
    const included = await selectRows(ctx, targetDef, [sql`r.id = any(${ids}::text[])`], ids.length, 0);
    for (const resource of await withStoredCopies(ctx, targetDef, await authorise(ctx, targetDef, included, 'search', decided))) {
      const fullUrl = `${ctx.base}/${spec.type}/${resource.id}`;
      if (!entries.some((e) => e.fullUrl === fullUrl)) entries.push({ fullUrl, resource, search: { mode: 'include' } });
    }
  }

  const link: BundleLink[] = [{ relation: 'self', url: searchUrl(ctx, type, query, { _count: String(count), _offset: String(offset) }) }];
  // previous reads back from this page's first row (a cursor, as next is): no scan from the start.
  if (offset > 0) {
    link.push({
      relation: 'previous',
      url: searchUrl(
        ctx,
        type,
        query,
        visible.length > 0
          ? { _count: String(count), _offset: String(Math.max(0, offset - count)), _after: undefined, _before: String(visible[0]!.id) }
          : { _count: String(count), _offset: String(Math.max(0, offset - count)), _after: undefined, _before: undefined },
      ),
    });
  }
  if (more)
    link.push({
      relation: 'next',
      url: searchUrl(ctx, type, query, {
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
    ...(entries.length > 0 ? { entry: entries } : {}),
  };
}
