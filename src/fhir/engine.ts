// Read and search over the resource definitions, with the access decision applied to every
// row about a person (and audited: 'read' for a read, 'search' for each person in results).
import { sql, type Kysely } from 'kysely';
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { Database } from '../platform/schema.ts';
import type { SignedInUser } from '../auth/accounts.ts';
import { decideRecordAccess, type AccessAction, type Purpose } from '../platform/access.ts';
import type { Category } from '../consent/categories.ts';
import type { CategoryDecision } from '../consent/policy.ts';
import { resourceDefs, type ResourceDef, type Row } from './resources.ts';
import { FhirError, invalid, notFound } from './outcome.ts';
import { checkId, type Cond } from './params.ts';

export interface FhirContext {
  db: Kysely<Database>;
  actor: SignedInUser;
  /** Absolute base URL of the FHIR endpoint, e.g. http://host/fhir */
  base: string;
}

export function purposeOf(actor: SignedInUser): Purpose {
  return actor.role === 'citizen' ? 'self' : 'direct_care';
}

export function defFor(type: string): ResourceDef {
  const def = resourceDefs[type];
  if (!def) throw new FhirError(404, 'not-supported', `resource type ${type} is not supported here`);
  return def;
}

/** Keeps the rows the actor may see (parts redacted), asking the access decision once per person. */
export async function authorise(ctx: FhirContext, def: ResourceDef, rows: Row[], action: AccessAction): Promise<Row[]> {
  const spec = def.access;
  if (!spec) return rows;
  const purpose = purposeOf(ctx.actor);
  const wanted = new Map<string, Set<Category>>();
  const want = (personId: string, categories: Category[]) => {
    const set = wanted.get(personId) ?? new Set<Category>();
    for (const c of categories) set.add(c);
    wanted.set(personId, set);
  };
  for (const row of rows) {
    const personId = spec.personOf(row);
    if (personId) want(personId, [spec.categoryOf(row), ...(spec.partCategories?.(row) ?? [])]);
    for (const member of spec.membersOf?.(row) ?? []) want(member, ['demographics']);
  }
  const decisions = new Map<string, Record<Category, CategoryDecision>>();
  for (const [personId, categories] of wanted) {
    const access = await decideRecordAccess(ctx.db, { actor: ctx.actor, personId, categories: [...categories], purpose, action });
    decisions.set(personId, access.byCategory);
  }
  const orgId = ctx.actor.organisationId;
  const allowedFor = (personId: string) => (category: Category, organisationId: string | null): boolean => {
    const decision = decisions.get(personId)?.[category];
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

async function selectRows(ctx: FhirContext, def: ResourceDef, conditions: Cond[], limit: number, offset: number): Promise<Row[]> {
  const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
  const rows = (await sql<Row>`select * from (${def.base}) r ${where} order by r.id limit ${limit} offset ${offset}`.execute(ctx.db)).rows;
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
  return defFor(type).toFhir(await readRow(ctx, type, id));
}

export type Query = Record<string, string | string[] | undefined>;

const controlParams = new Set(['_count', '_offset', '_include', '_format', '_pretty', '_total']);

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function searchUrl(ctx: FhirContext, type: string, query: Query, overrides: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key in overrides) continue;
    for (const v of values(value)) params.append(key, v);
  }
  for (const [key, value] of Object.entries(overrides)) params.set(key, value);
  return `${ctx.base}/${type}?${params.toString()}`;
}

export async function search(ctx: FhirContext, type: string, query: Query): Promise<Bundle> {
  const def = defFor(type);
  const conditions: Cond[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (controlParams.has(key)) continue;
    const handler = def.params[key];
    if (!handler) {
      throw new FhirError(400, 'not-supported', `${type} cannot be searched by "${key}" here; see /fhir/metadata for the parameters supported`);
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

  // Rows the actor may not see are dropped by the access decision; read on (up to three pages' worth)
  // so a page is full where it can be. The next link continues after the last row looked at.
  const visible: Row[] = [];
  let scanned = 0;
  let more = false;
  while (count > 0) {
    const chunk = await selectRows(ctx, def, conditions, count + 1, offset + scanned);
    const page = chunk.slice(0, count);
    const kept = new Map((await authorise(ctx, def, page, 'search')).map((row) => [row.id, row]));
    let consumed = 0;
    for (const row of page) {
      consumed++;
      const keep = kept.get(row.id);
      if (keep) visible.push(keep);
      if (visible.length === count) break;
    }
    scanned += consumed;
    // More rows exist when this chunk had one beyond the page, or the page was not used up.
    more = chunk.length > count || consumed < page.length;
    if (!more || visible.length >= count || scanned >= count * 3) break;
  }
  const entries: BundleEntry[] = visible.map((row) => ({ fullUrl: `${ctx.base}/${type}/${row.id}`, resource: def.toFhir(row), search: { mode: 'match' } }));

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
    for (const row of await authorise(ctx, targetDef, included, 'search')) {
      const fullUrl = `${ctx.base}/${spec.type}/${row.id}`;
      if (!entries.some((e) => e.fullUrl === fullUrl)) entries.push({ fullUrl, resource: targetDef.toFhir(row), search: { mode: 'include' } });
    }
  }

  const link: BundleLink[] = [{ relation: 'self', url: searchUrl(ctx, type, query, { _count: String(count), _offset: String(offset) }) }];
  if (offset > 0) link.push({ relation: 'previous', url: searchUrl(ctx, type, query, { _count: String(count), _offset: String(Math.max(0, offset - count)) }) });
  if (more) link.push({ relation: 'next', url: searchUrl(ctx, type, query, { _count: String(count), _offset: String(offset + scanned) }) });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date().toISOString(),
    link,
    ...(entries.length > 0 ? { entry: entries } : {}),
  };
}
