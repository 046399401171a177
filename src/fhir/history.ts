// _history (instance, type and system) and vread of earlier versions. Every version a FHIR
// write makes is kept (fhir_history): the row Joinery's tables give for the resource once the
// write is done, and its stored copy of what was sent; before an update, the version it replaces
// is kept again as it last stood, so a resource made outside the API (the web pages, an import)
// has its first version too. Reading a
// version asks the access decision as it stands now, about that version's own person, category
// and organisations, and only for a resource the reader may see now: a withdrawn consent closes
// the history as it closes the read. Versions made outside the API (the web pages do not make
// versions) or superseded before history was kept are not held, and are left out rather than
// shown wrong.
import { sql, type RawBuilder } from 'kysely';
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { authorise, defFor, readRow, writtenRow, type Decisions, type FhirContext, type Query } from './engine.ts';
import { loadCopies, withCopies, type StoredCopy } from './stored.ts';
import { FhirError, invalid, notFound, stopIfClientGone } from './outcome.ts';
import { checkId } from './params.ts';
import { isClinicalType } from './clinical.ts';
import { resourceDefs, type ResourceDef, type Row } from './resources.ts';
import { collectVersions, type Touched } from './versions.ts';
import { inReachCondition } from './reach.ts';
import { shapeAll, shapingOf, type Shaping } from './search-features.ts';
import { peopleInReach } from '../consent/index.ts';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Keeping versions

/** Rows hold Dates (and Dates in hydrated parts): tagged in JSON so a kept row renders as it did. */
function serialiseRow(row: Row): string {
  return JSON.stringify(row, function (this: Json, key: string, value: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? null : { $date: raw.toISOString() };
    return value;
  });
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const o = value as Json;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$date' && typeof o.$date === 'string') return new Date(o.$date);
    return Object.fromEntries(keys.map((k) => [k, revive(o[k])]));
  }
  return value;
}

const parsed = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);

interface Captured {
  type: string;
  id: string;
  version: number;
  lastUpdated: unknown;
  personId: string | null;
  row: string;
  copy?: StoredCopy;
}

/** The resource's current version as it stands now: its row and stored copy. */
async function captureVersion(ctx: Pick<FhirContext, 'db'>, type: string, id: string): Promise<Captured | undefined> {
  const def = defFor(type);
  const row = await writtenRow(ctx, type, id);
  if (!row) return undefined;
  const copy = def.keptWhole || isClinicalType(type) ? undefined : (await loadCopies(ctx.db, type, [id])).get(id);
  return {
    type,
    id,
    version: Number(row.version_id ?? 1),
    lastUpdated: row.last_updated ?? null,
    personId: def.access?.personOf(row) ?? null,
    row: serialiseRow(row),
    copy,
  };
}

/** Keeps a version (a later keep of the same version replaces it: the version as it last stood). */
async function storeVersion(ctx: Pick<FhirContext, 'db'>, v: Captured): Promise<void> {
  await sql`insert into fhir_history (resource_type, resource_id, version_id, last_updated, person_id, row, copy, copy_organisation_id)
    values (${v.type}, ${v.id}, ${v.version}, ${v.lastUpdated}, ${v.personId}, ${v.row}::jsonb,
      ${v.copy ? JSON.stringify(v.copy.content) : null}::jsonb, ${v.copy?.organisation_id ?? null})
    on conflict (resource_type, resource_id, version_id) do update set last_updated = excluded.last_updated, person_id = excluded.person_id,
      row = excluded.row, copy = excluded.copy, copy_organisation_id = excluded.copy_organisation_id, kept_at = now()`.execute(ctx.db);
}

/**
 * Resources an update of this one also moves on (their writers bump them too), so the versions
 * they leave are kept as they last stood: a Task's ServiceRequest, a role's practitioner, an
 * episode's care network.
 */
async function alsoChanged(ctx: Pick<FhirContext, 'db'>, type: string, id: string): Promise<Touched[]> {
  if (type === 'Task') return [{ type: 'ServiceRequest', id }];
  if (type === 'PractitionerRole') return [{ type: 'Practitioner', id }];
  if (type === 'Practitioner') return [{ type: 'PractitionerRole', id }];
  if (type === 'EpisodeOfCare') {
    const row = await writtenRow(ctx, type, id);
    return typeof row?.person_id === 'string' ? [{ type: 'CareTeam', id: row.person_id }] : [];
  }
  return [];
}

/** The id a reference names, if it is a plain Type/id of that type (not a urn:uuid a transaction has yet to resolve). */
function namedId(reference: unknown, type: string): string | undefined {
  const m = typeof reference === 'string' ? new RegExp(`^${type}/([A-Za-z0-9\\-.]{1,64})$`).exec(reference) : null;
  return m?.[1];
}

/**
 * Resources a create also moves on, from what it was sent, so the versions they leave are kept
 * as they last stood: a network member's episode moves the care network on, a role its
 * practitioner, a household its members.
 */
export function alsoChangedByCreate(type: string, resource: unknown): Touched[] {
  const r = (resource ?? {}) as Record<string, unknown>;
  const ref = (v: unknown) => (v as { reference?: unknown } | undefined)?.reference;
  const out: Array<Touched | undefined> = [];
  if (type === 'EpisodeOfCare') {
    const id = namedId(ref(r.patient), 'Patient');
    out.push(id ? { type: 'CareTeam', id } : undefined);
  } else if (type === 'PractitionerRole') {
    const id = namedId(ref(r.practitioner), 'Practitioner');
    out.push(id ? { type: 'Practitioner', id } : undefined);
  } else if (type === 'Group' && Array.isArray(r.member)) {
    for (const m of r.member.slice(0, 100) as Array<{ entity?: unknown }>) {
      const id = namedId(ref(m.entity), 'Patient');
      out.push(id ? { type: 'Patient', id } : undefined);
    }
  }
  return out.filter((t): t is Touched => t !== undefined);
}

interface WrittenLike {
  type: string;
  id: string;
  matched?: boolean;
}

/**
 * Runs a write keeping history: the versions an update will replace are read first, as they
 * stand (for a resource made outside the API, its only record of them), then the write runs,
 * and once it is done (its stored copy filed) those it moved on are kept, with every version it
 * made. A write refused keeps nothing. `ctx.db` is where the write runs: inside a transaction
 * Bundle, the versions are kept or rolled back with it.
 */
export async function keepingHistory<T>(ctx: Pick<FhirContext, 'db'>, updating: Touched[], work: () => Promise<T>): Promise<T> {
  const before: Captured[] = [];
  for (const target of updating) {
    if (!checkable(target.id)) continue;
    for (const t of [target, ...(await alsoChanged(ctx, target.type, target.id))]) {
      const captured = await captureVersion(ctx, t.type, t.id);
      if (captured) before.push(captured);
    }
  }
  const { result, touched } = await collectVersions(work);
  const made = [...touched];
  // The resources the write answers with (a Patient made through the person index stamps no version).
  for (const r of (Array.isArray(result) ? result : [result]) as Array<Partial<WrittenLike> | undefined>) {
    if (typeof r?.type !== 'string' || typeof r.id !== 'string' || r.matched) continue;
    if (!made.some((t) => t.type === r.type && t.id === r.id)) made.push({ type: r.type, id: r.id });
  }
  for (const b of before) if (touched.some((t) => t.type === b.type && t.id === b.id)) await storeVersion(ctx, b);
  for (const t of made) {
    const captured = await captureVersion(ctx, t.type, t.id);
    if (captured) await storeVersion(ctx, captured);
  }
  return result;
}

const checkable = (id: string) => /^[A-Za-z0-9\-.]{1,64}$/.test(id);

// ---------------------------------------------------------------------------------------------
// Reading versions

interface Version {
  row: Row;
  copy?: StoredCopy;
}

const KEY = Symbol('version');
type Tagged = Row & { [KEY]?: number };

interface KeptRow {
  resource_id: string;
  version_id: number;
  row: unknown;
  copy: unknown;
  copy_organisation_id: string | null;
}

function versionOf(kept: KeptRow): Version {
  const row = revive(parsed(kept.row)) as Row;
  const copy = kept.copy === null || kept.copy === undefined ? undefined : (parsed(kept.copy) as Json);
  // A kept row renders as its version, whatever the resource's version is now.
  row.version_id = kept.version_id;
  return { row, copy: copy ? { content: copy, received_by: null, organisation_id: kept.copy_organisation_id } : undefined };
}

/** The versions the reader may see, in the order given, each rendered with its own stored copy. */
async function visibleVersions(
  ctx: FhirContext,
  def: ResourceDef,
  versions: Version[],
  action: 'read' | 'search',
  decided: Decisions,
): Promise<Resource[]> {
  const tagged = versions.map((v, i) => Object.assign({ ...v.row }, { [KEY]: i }) as Tagged);
  const allowed = await authorise(ctx, def, tagged, action, decided);
  const items = allowed.map((row) => ({ row, copy: versions[(row as Tagged)[KEY]!]!.copy }));
  return withCopies(ctx, def, items);
}

async function currentRows(ctx: FhirContext, def: ResourceDef, ids: string[]): Promise<Row[]> {
  if (ids.length === 0) return [];
  const rows = (await sql<Row>`select * from (${def.base}) r where r.id = any(${ids}::text[])`.execute(ctx.db)).rows;
  await def.hydrate?.(ctx.db, rows);
  return rows;
}

async function keptRows(ctx: FhirContext, type: string, keys: Array<{ id: string; version: number }>): Promise<KeptRow[]> {
  if (keys.length === 0) return [];
  return (
    await sql<KeptRow>`select resource_id, version_id, row, copy, copy_organisation_id from fhir_history
      where resource_type = ${type} and (resource_id || '/' || version_id) = any(${keys.map((k) => `${k.id}/${k.version}`)}::text[])`.execute(
      ctx.db,
    )
  ).rows;
}

function entryOf(ctx: FhirContext, type: string, resource: Resource): BundleEntry {
  const version = resource.meta?.versionId ?? '1';
  const first = version === '1';
  return {
    fullUrl: `${ctx.base}/${type}/${resource.id}`,
    resource,
    request: first ? { method: 'POST', url: type } : { method: 'PUT', url: `${type}/${resource.id}` },
    response: {
      status: first ? '201 Created' : '200 OK',
      etag: `W/"${version}"`,
      ...(resource.meta?.lastUpdated ? { lastModified: resource.meta.lastUpdated } : {}),
    },
  };
}

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) {
    if (v.length > 1) throw invalid(`give ${name} once`);
    return v[0];
  }
  return v;
}

const HISTORY_PARAMS = new Set(['_since', '_count', '_offset', '_cursor', '_type', '_format', '_pretty', '_summary', '_elements']);

interface HistoryQuery {
  since?: Date;
  count: number;
  /** _summary and _elements, as a search reads them; _summary=count asks for the total only. */
  shaping: Shaping;
}

function historyQuery(query: Query): HistoryQuery {
  for (const key of Object.keys(query)) {
    if (!HISTORY_PARAMS.has(key))
      throw new FhirError(
        400,
        'not-supported',
        `_history takes _since, _count, _summary and _elements${key === '_at' ? "; _at is not supported: changes made on Joinery's web pages keep no version, so what was current at a moment cannot be told" : `, not ${key}`}`,
      );
  }
  const sinceRaw = single(query, '_since');
  let since: Date | undefined;
  if (sinceRaw !== undefined) {
    since = new Date(sinceRaw);
    if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(sinceRaw) || Number.isNaN(since.getTime()))
      throw invalid('_since must be an instant, e.g. 2026-01-31T09:00:00Z');
  }
  const countRaw = single(query, '_count');
  const count = countRaw === undefined ? 20 : Number(countRaw);
  if (!Number.isInteger(count) || count < 1 || count > 500) throw invalid('_count must be a whole number from 1 to 500');
  return { since, count, shaping: shapingOf(query, { count: true, what: '_history' }) };
}

/** _summary and _elements as given, for the links of a page (each next page is shaped the same way). */
function shapingParams(query: Query): Record<string, string | undefined> {
  return { _summary: single(query, '_summary'), _elements: single(query, '_elements') };
}

function historyUrl(path: string, params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, v);
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/** Every version of one resource the reader may see, newest first (GET [type]/[id]/_history). */
export async function instanceHistory(ctx: FhirContext, type: string, id: string, query: Query): Promise<Bundle> {
  const def = defFor(type);
  checkId(id);
  const { since, count, shaping } = historyQuery(query);
  if (query._type !== undefined) throw new FhirError(400, 'not-supported', '_type is for system history (GET /fhir/_history)');
  const offsetRaw = single(query, '_offset');
  const offset = offsetRaw === undefined ? 0 : Number(offsetRaw);
  if (!Number.isInteger(offset) || offset < 0) throw invalid('_offset must be a whole number, 0 or more');
  const decided: Decisions = new Map();
  // The resource as it is now, through the access decision: no history of what the reader may not see now.
  const current = await readRow(ctx, type, id, 'read');
  const kept = (
    await sql<KeptRow>`select resource_id, version_id, row, copy, copy_organisation_id from fhir_history
      where resource_type = ${type} and resource_id = ${id} and version_id < ${Number(current.version_id)}
      order by version_id desc limit 1000`.execute(ctx.db)
  ).rows;
  const [now] = await withCopies(ctx, def, [{ row: current, copy: (await loadCopies(ctx.db, type, [id])).get(id) }]);
  const earlier = await visibleVersions(ctx, def, kept.map(versionOf), 'read', decided);
  const all = [now!, ...earlier].filter((r) => !since || (r.meta?.lastUpdated !== undefined && new Date(r.meta.lastUpdated) >= since));
  const counting = shaping.summary === 'count';
  const page = counting ? [] : shapeAll(all.slice(offset, offset + count), shaping);
  const path = `${ctx.base}/${type}/${id}/_history`;
  const params = { _since: since ? single(query, '_since') : undefined, _count: String(count), ...shapingParams(query) };
  const link: BundleLink[] = [{ relation: 'self', url: historyUrl(path, { ...params, _offset: String(offset) }) }];
  if (counting) return { resourceType: 'Bundle', type: 'history', timestamp: new Date().toISOString(), total: all.length, link };
  if (offset > 0) link.push({ relation: 'previous', url: historyUrl(path, { ...params, _offset: String(Math.max(0, offset - count)) }) });
  if (offset + count < all.length) link.push({ relation: 'next', url: historyUrl(path, { ...params, _offset: String(offset + count) }) });
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: new Date().toISOString(),
    total: all.length,
    link,
    ...(page.length > 0 ? { entry: page.map((r) => entryOf(ctx, type, r)) } : {}),
  };
}

/** One version (GET [type]/[id]/_history/[vid]): the current one as a read, an earlier one if kept and allowed. */
export async function readVersion(ctx: FhirContext, type: string, id: string, vid: string): Promise<Resource> {
  const def = defFor(type);
  checkId(id);
  const current = await readRow(ctx, type, id, 'read');
  if (!/^\d{1,9}$/.test(vid)) throw notFound(type, `${id}/_history/${vid}`);
  const version = Number(vid);
  const gone = () =>
    new FhirError(
      404,
      'not-found',
      `version ${vid} of ${type}/${id} is not available: it was not kept (made outside the API, or before history was kept), or it is not shown to you`,
    );
  if (version === Number(current.version_id)) {
    const [now] = await withCopies(ctx, def, [{ row: current, copy: (await loadCopies(ctx.db, type, [id])).get(id) }]);
    return now!;
  }
  if (version < 1 || version > Number(current.version_id)) throw notFound(type, `${id}/_history/${vid}`);
  const kept = await keptRows(ctx, type, [{ id, version }]);
  if (kept.length === 0) throw gone();
  const [resource] = await visibleVersions(ctx, def, kept.map(versionOf), 'read', new Map());
  if (!resource) throw gone();
  return resource;
}

// Bounds on one page's work, as for searches (engine.ts): rows the reader may not see are passed
// over, and when the bound is reached the page ends there, with no next link, rather than say
// anything about what lay beyond. A page first decides one more candidate than it shows, and
// decides further candidates (twice as many each time, up to CHUNK_ROWS) only while those were
// refused, so a page's access decisions and rendering grow with the page, not with the database.
const SCAN_ROWS = 5_000;
const CHUNK_ROWS = 200;
// Candidates' keys (no personal data) read at once: one sort of the types' keys costs about the
// same for 1,000 as for 21, and a reader who may see little needs many.
const KEY_ROWS = 1_000;

/**
 * Where a version sorts in history: when it changed (us, its microseconds since 1970, which the
 * cursor carries: a JavaScript date would lose the microseconds and skip versions made in the
 * same millisecond), its type (system history), its id and its version.
 */
interface Key {
  type: string;
  id: string;
  version_id: number;
  current: boolean;
  us: string;
}

interface Position {
  us: string;
  type: string;
  id: string;
  version: number;
}

const US = sql`(floor(extract(epoch from x.k) * 1000000))::bigint`;

/**
 * Every version of one type as a candidate: each resource as it is now (its current version) and
 * its kept earlier versions, of resources the type's gate lets the reader's role near at all and,
 * when `reach` is given, about someone in the reader's reach (an earlier version is shown only of
 * a resource the reader may see now, so it goes by the resource's person now). Only keys: nothing
 * personal is read or decided here.
 */
function candidatesOf(ctx: FhirContext, type: string, since: Date | undefined, reach: RawBuilder<unknown> | undefined) {
  const def = defFor(type);
  const conditions = [def.access?.gateSql?.(ctx.actor), reach && inReachCondition(def, reach)].filter((c) => c !== undefined);
  const where = (first: 'where' | 'and') => (conditions.length === 0 ? sql`` : sql`${sql.raw(first)} ${sql.join(conditions, sql` and `)}`);
  return sql`select ${type}::text as type, x.id, x.version_id, x.current, ${US} as us from (
      select r.id, r.version_id::int as version_id, r.last_updated::timestamptz as last_updated, true as current,
        coalesce(r.last_updated::timestamptz, 'epoch'::timestamptz) as k
      from (${def.base}) r ${where('where')}
      union all
      select h.resource_id, h.version_id, h.last_updated, false, coalesce(h.last_updated, 'epoch'::timestamptz)
      from fhir_history h join (${def.base}) r on r.id = h.resource_id
      where h.resource_type = ${type} and h.version_id < r.version_id::int ${where('and')}
    ) x ${since ? sql`where x.last_updated >= ${since.toISOString()}::timestamptz` : sql``}`;
}

/**
 * The next `want` candidates of these types after `after`, newest first, merged across types on
 * (when, type, id, version) before anything is decided: the order system history pages in (type
 * names compared byte by byte, as the cursor carries them). The reader's reach is listed once
 * for the statement and narrows every type about people.
 */
async function nextCandidates(
  ctx: FhirContext,
  types: string[],
  since: Date | undefined,
  after: Position | undefined,
  want: number,
): Promise<Key[]> {
  const inReach = peopleInReach(ctx.actor, new Date());
  const reach = inReach ? sql`reach` : undefined;
  const branches = sql.join(
    types.map((t) => sql`(${candidatesOf(ctx, t, since, reach)})`),
    sql` union all `,
  );
  const cursor = after
    ? sql`where (c.us, c.type collate "C", c.id, c.version_id) < (${after.us}::bigint, ${after.type}::text collate "C", ${after.id}, ${after.version}::int)`
    : sql``;
  return (
    await sql<Key>`${inReach ? sql`with reach as materialized (select distinct s.person_id from ${inReach} s where s.person_id is not null) ` : sql``}select c.type, c.id, c.version_id, c.current, c.us::text as us from (${branches}) c ${cursor}
      order by c.us desc, c.type collate "C" desc, c.id desc, c.version_id desc limit ${want}`.execute(ctx.db)
  ).rows;
}

/**
 * The candidates of one type the reader may see, rendered, in the order given: each resource as
 * it is now through the access decision (earlier versions only of what the reader may see now),
 * then each earlier version on its own person, category and organisations. The decisions for all
 * the candidates are asked together (people wanting the same categories in one batch).
 */
async function visibleCandidates(ctx: FhirContext, type: string, keys: Key[], decided: Decisions): Promise<Map<Key, Resource>> {
  const def = defFor(type);
  const ids = [...new Set(keys.map((c) => c.id))];
  const now = new Map((await authorise(ctx, def, await currentRows(ctx, def, ids), 'search', decided)).map((r) => [r.id, r]));
  const kept = new Map(
    (
      await keptRows(
        ctx,
        type,
        keys.filter((c) => !c.current && now.has(c.id)).map((c) => ({ id: c.id, version: c.version_id })),
      )
    ).map((k) => [`${k.resource_id}/${k.version_id}`, versionOf(k)]),
  );
  const currentCopies = await loadCopies(ctx.db, type, [...now.keys()]);
  const wanted: Array<{ key: Key; version: Version }> = [];
  for (const key of keys) {
    const row = now.get(key.id);
    if (!row) continue;
    if (key.current) {
      if (Number(row.version_id) === key.version_id) wanted.push({ key, version: { row, copy: currentCopies.get(key.id) } });
    } else {
      const version = kept.get(`${key.id}/${key.version_id}`);
      if (version) wanted.push({ key, version });
    }
  }
  // The current rows were decided above; earlier versions are decided on their own person, category and organisations.
  const tagged = wanted.map((w, i) => Object.assign({ ...w.version.row }, { [KEY]: i }) as Tagged);
  const allowed = new Map((await authorise(ctx, def, tagged, 'search', decided)).map((row) => [(row as Tagged)[KEY]!, row] as const));
  const shown = wanted.flatMap((w, i) => (allowed.has(i) ? [{ key: w.key, row: allowed.get(i)!, copy: w.version.copy }] : []));
  const rendered = await withCopies(ctx, def, shown);
  return new Map(rendered.map((resource, i) => [shown[i]!.key, resource]));
}

interface HistoryPage {
  items: Array<{ key: Key; resource: Resource }>;
  /** A further visible version follows the page. */
  more: boolean;
  /** Every version was read: nothing lies beyond. */
  complete: boolean;
}

/**
 * Up to `count` versions of these types the reader may see, newest first, after `start`. The
 * candidates are read in (when, type, id, version) order; when the bound on work is reached
 * before the page is full, the page ends there (neither more nor complete).
 */
async function historyPage(
  ctx: FhirContext,
  types: string[],
  since: Date | undefined,
  count: number,
  start: Position | undefined,
): Promise<HistoryPage> {
  let cursor = start;
  // One page's decisions, by person and category: each is asked (and audited) once, whatever the type.
  const decided: Decisions = new Map();
  const items: HistoryPage['items'] = [];
  // Candidates' keys are read KEY_ROWS at a time; they are decided and rendered in batches, the
  // first one more than the page shows.
  let buffered: Key[] = [];
  let read = 0;
  let exhausted = false;
  let batch = Math.min(count + 1, CHUNK_ROWS);
  for (;;) {
    await stopIfClientGone(ctx.signal);
    if (buffered.length === 0) {
      if (exhausted) return { items, more: false, complete: true };
      if (read >= SCAN_ROWS) return { items, more: false, complete: false };
      const asked = Math.min(KEY_ROWS, SCAN_ROWS - read);
      buffered = await nextCandidates(ctx, types, since, cursor, asked);
      read += buffered.length;
      exhausted = buffered.length < asked;
      if (buffered.length === 0) return { items, more: false, complete: true };
      const last = buffered.at(-1)!;
      cursor = { us: last.us, type: last.type, id: last.id, version: last.version_id };
    }
    const chunk = buffered.splice(0, batch);
    const byType = new Map<string, Key[]>();
    for (const key of chunk) byType.set(key.type, [...(byType.get(key.type) ?? []), key]);
    const visible = new Map<Key, Resource>();
    for (const [type, keys] of byType)
      for (const [key, resource] of await visibleCandidates(ctx, type, keys, decided)) visible.set(key, resource);
    for (const key of chunk) {
      const resource = visible.get(key);
      if (!resource) continue;
      if (items.length === count) return { items, more: true, complete: false };
      items.push({ key, resource });
    }
    // Refused candidates are passed over: decide more of them at once next time, up to the chunk size.
    batch = Math.min(batch * 2, CHUNK_ROWS);
  }
}

function historyBundle(
  ctx: FhirContext,
  path: string,
  params: Record<string, string | undefined>,
  cursorRaw: string | undefined,
  page: HistoryPage,
  cursorOf: (key: Key) => string,
  shaping: Shaping,
): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: historyUrl(path, { ...params, _cursor: cursorRaw }) }];
  if (shaping.summary === 'count') {
    // The total only: given when every version the reader may see was counted within the bound on work.
    return {
      resourceType: 'Bundle',
      type: 'history',
      timestamp: new Date().toISOString(),
      ...(page.complete ? { total: page.items.length } : {}),
      link,
    };
  }
  if (page.more && page.items.length > 0)
    link.push({ relation: 'next', url: historyUrl(path, { ...params, _cursor: cursorOf(page.items.at(-1)!.key) }) });
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: new Date().toISOString(),
    // Known without counting only for a whole history on one page.
    ...(page.complete && cursorRaw === undefined ? { total: page.items.length } : {}),
    link,
    ...(page.items.length > 0 ? { entry: page.items.map((i) => entryOf(ctx, i.key.type, shapeAll([i.resource], shaping)[0]!)) } : {}),
  };
}

/**
 * Every version of every resource of a type the reader may see, newest first
 * (GET [type]/_history): versions kept, and each resource as it is now. Pages follow a cursor
 * on the last entry shown (when it changed, its id, its version), always an entry the reader saw.
 */
export async function typeHistory(ctx: FhirContext, type: string, query: Query): Promise<Bundle> {
  defFor(type);
  const { since, count, shaping } = historyQuery(query);
  if (single(query, '_offset') !== undefined) throw invalid('type history pages with the next link it gives, not _offset');
  if (single(query, '_type') !== undefined) throw new FhirError(400, 'not-supported', '_type is for system history (GET /fhir/_history)');
  const cursorRaw = single(query, '_cursor');
  const m = cursorRaw === undefined ? null : /^(-?\d{1,17})~([A-Za-z0-9\-.]{1,64})~(\d{1,9})$/.exec(cursorRaw);
  if (cursorRaw !== undefined && !m) throw invalid('_cursor is not one this server gave');
  const start = m ? { us: m[1]!, type, id: m[2]!, version: Number(m[3]) } : undefined;
  const page = await historyPage(ctx, [type], since, shaping.summary === 'count' ? SCAN_ROWS : count, start);
  const params = { _since: since ? single(query, '_since') : undefined, _count: String(count), ...shapingParams(query) };
  return historyBundle(ctx, `${ctx.base}/${type}/_history`, params, cursorRaw, page, (k) => `${k.us}~${k.id}~${k.version_id}`, shaping);
}

/**
 * Every version of every resource the reader may see, of every type (or those `_type` names),
 * newest first (GET /fhir/_history), ordered by when each version was made, then type, then id
 * and version. The candidates of all the types are merged on that order before any access is
 * decided, and only as many are decided as the page needs (more only when those were refused),
 * so a page costs in proportion to the page rather than to every type's history. The cursor is
 * the last entry shown (one the reader saw).
 */
export async function systemHistory(ctx: FhirContext, query: Query): Promise<Bundle> {
  const { since, count, shaping } = historyQuery(query);
  if (single(query, '_offset') !== undefined) throw invalid('system history pages with the next link it gives, not _offset');
  const typeRaw = query._type === undefined ? undefined : (Array.isArray(query._type) ? query._type : [query._type]).join(',');
  const types =
    typeRaw === undefined ? Object.keys(resourceDefs) : [...new Set(typeRaw.split(',').map((t) => t.trim()))].filter((t) => t !== '');
  for (const t of types) defFor(t);
  if (types.length === 0) throw invalid('_type names no type');
  const cursorRaw = single(query, '_cursor');
  const m = cursorRaw === undefined ? null : /^(-?\d{1,17})~([A-Z][A-Za-z]{1,63})~([A-Za-z0-9\-.]{1,64})~(\d{1,9})$/.exec(cursorRaw);
  if (cursorRaw !== undefined && (!m || !types.includes(m[2]!))) throw invalid('_cursor is not one this server gave');
  const start = m ? { us: m[1]!, type: m[2]!, id: m[3]!, version: Number(m[4]) } : undefined;
  const page = await historyPage(ctx, types, since, shaping.summary === 'count' ? SCAN_ROWS : count, start);
  const params = { _since: since ? single(query, '_since') : undefined, _type: typeRaw, _count: String(count), ...shapingParams(query) };
  return historyBundle(ctx, `${ctx.base}/_history`, params, cursorRaw, page, (k) => `${k.us}~${k.type}~${k.id}~${k.version_id}`, shaping);
}
