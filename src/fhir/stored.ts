// Keeping what a partner sends: each resource created or updated through the API is stored as
// received (fhir_resources, with its identifiers in fhir_identifiers so foreign ones can be
// searched), and a read merges it with the domain view. The domain tables stay the truth for
// what Joinery models (a name changed on the web page wins over an older copy); elements Joinery
// does not model come back from the copy. After a write the read-back is compared with what was
// sent, and anything that did not come back is named in an OperationOutcome warning.
//
// The copy is personal data under the access decision: it is merged only into a resource the
// reader was already allowed (the same person and category as the domain row), and a Patient's
// elements that say something about health (its GP, whether and when they died, and extensions,
// whose meaning Joinery cannot know, so they are treated as the most sensitive) are a separate
// category, decided (and audited) on their own.
import { sql, type Kysely } from 'kysely';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import { decideRecordAccess, type Category } from '../consent/index.ts';
import { userOrganisationIdOf } from '../auth/index.ts';
import { NHS_NUMBER_SYSTEM, PERSON_SYSTEM, SOURCE_SYSTEM_PREFIX, type ResourceDef, type Row } from './resources.ts';
import type { FhirContext } from './engine.ts';

type Json = Record<string, unknown>;

/** A Patient's elements that fall under health rather than demographics. */
const PATIENT_HEALTH_ELEMENTS = new Set(['generalPractitioner', 'deceasedBoolean', 'deceasedDateTime', 'extension', 'modifierExtension']);

/** The category of one stored element: the row's own, but a Patient's health elements are health. */
export function elementCategory(type: string, element: string, rowCategory: Category): Category {
  return type === 'Patient' && PATIENT_HEALTH_ELEMENTS.has(element) ? 'health' : rowCategory;
}

/**
 * Elements not kept of resources every token holder may read (the network's staff): a
 * practitioner's home address, birth date, photo and gender are theirs, not the network's. The
 * write's warnings name them.
 */
const NOT_KEPT: Record<string, string[]> = { Practitioner: ['address', 'birthDate', 'photo', 'gender'], PractitionerRole: [] };

/**
 * Stores the resource as received (less id and meta, which are the server's), and its identifiers.
 * `organisationId` is the sender when no signed-in writer says it (an agency feed's organisation);
 * otherwise the sender is the writer's organisation.
 */
export async function keepReceived(
  db: Kysely<Database>,
  ctx: FhirContext | null,
  type: string,
  id: string,
  resource: Resource,
  personId: string | null,
  category: Category,
  organisationId: string | null = null,
): Promise<void> {
  const { id: _id, meta: _meta, ...content } = resource as unknown as Json;
  for (const element of NOT_KEPT[type] ?? []) delete content[element];
  await sql`insert into fhir_resources (resource_type, resource_id, person_id, category, content, received_at, received_by, organisation_id)
    values (${type}, ${id}, ${personId}, ${category}, ${JSON.stringify(content)}::jsonb, now(), ${ctx?.actor.id ?? null}, ${organisationId})
    on conflict (resource_type, resource_id) do update set person_id = excluded.person_id, category = excluded.category,
      content = excluded.content, received_at = excluded.received_at, received_by = excluded.received_by,
      organisation_id = excluded.organisation_id`.execute(db);
  await sql`delete from fhir_identifiers where resource_type = ${type} and resource_id = ${id}`.execute(db);
  const identifiers = Array.isArray(content.identifier) ? (content.identifier as Array<{ system?: string; value?: string }>) : [];
  for (const identifier of identifiers) {
    if (typeof identifier.value !== 'string' || identifier.value === '') continue;
    await sql`insert into fhir_identifiers (resource_type, resource_id, system, value) values (${type}, ${id}, ${identifier.system ?? ''}, ${identifier.value})`.execute(
      db,
    );
  }
}

export interface StoredCopy {
  content: Json;
  received_by: string | null;
  organisation_id: string | null;
}

export async function loadCopies(db: Kysely<Database>, type: string, ids: string[]): Promise<Map<string, StoredCopy>> {
  if (ids.length === 0) return new Map();
  const rows = (
    await sql<{ resource_id: string; content: unknown; received_by: string | null; organisation_id: string | null }>`
    select f.resource_id, f.content, f.received_by, coalesce(f.organisation_id, ${userOrganisationIdOf('f.received_by')}) as organisation_id
    from fhir_resources f
    where f.resource_type = ${type} and f.resource_id = any(${ids}::text[]) and not f.whole`.execute(db)
  ).rows;
  return new Map(
    rows.map((r) => [
      r.resource_id,
      {
        content: (typeof r.content === 'string' ? JSON.parse(r.content) : r.content) as Json,
        received_by: r.received_by,
        organisation_id: r.organisation_id,
      },
    ]),
  );
}

const norm = (v: unknown) => (typeof v === 'string' ? v.replace(/\s/g, '').toLowerCase() : v);
const JOINERY_SYSTEMS = (system: unknown) =>
  system === NHS_NUMBER_SYSTEM || system === PERSON_SYSTEM || (typeof system === 'string' && system.startsWith(SOURCE_SYSTEM_PREFIX));

/**
 * The domain view with the stored copy's elements: the copy's own for what Joinery does not
 * model; for what it does, the copy's richer form (all names, every address line, the name's use)
 * while it still agrees with the domain, else the domain's value followed by the copy's others.
 */
function merge(type: string, view: Json, copy: Json, allowed: (element: string) => boolean): Json {
  const out: Json = { ...view };
  for (const [element, value] of Object.entries(copy)) {
    if (!allowed(element)) continue;
    if (!(element in view)) {
      out[element] = value;
      continue;
    }
    if (type !== 'Patient' || !Array.isArray(value) || !Array.isArray(view[element])) continue;
    const ours = view[element] as Json[];
    const theirs = value as Json[];
    if (element === 'identifier') {
      // The sender's identifiers in their order, the NHS number as Joinery now holds it, then Joinery's own.
      const nhs = ours.find((o) => o.system === NHS_NUMBER_SYSTEM);
      const kept = theirs.flatMap((i) =>
        i.system === NHS_NUMBER_SYSTEM
          ? nhs
            ? [norm(i.value) === norm(nhs.value) ? i : { ...i, value: nhs.value }]
            : []
          : JOINERY_SYSTEMS(i.system)
            ? []
            : [i],
      );
      out.identifier = [...kept, ...ours.filter((o) => !kept.some((k) => k.system === o.system))];
    } else if (element === 'name') {
      // The name Joinery took is the sender's official one (else the first in use), or its text alone.
      type Name = { family?: string; given?: string[]; text?: string; use?: string };
      const names = theirs as Name[];
      const first = names.find((n) => n.use === 'official') ?? names.find((n) => n.use !== 'old' && n.use !== 'maiden') ?? names[0];
      const mine = ours[0] as Name | undefined;
      const agrees =
        first &&
        mine &&
        (first.family || first.given?.length
          ? norm(first.family) === norm(mine.family) && norm(first.given?.[0]) === norm(mine.given?.[0])
          : norm(first.text) === norm(mine.family));
      out.name = agrees ? theirs : [...ours, ...theirs.filter((n) => n !== first)];
    } else if (element === 'address') {
      const first = theirs[0] as { postalCode?: string } | undefined;
      const mine = ours[0] as { postalCode?: string } | undefined;
      out.address = first && mine && norm(first.postalCode) === norm(mine.postalCode) ? theirs : [...ours, ...theirs.slice(1)];
    } else if (element === 'telecom') {
      // The sender's list while it still holds every contact Joinery has; else Joinery's first.
      const held = (o: Json) => theirs.some((t) => t.system === o.system && norm(t.value) === norm(o.value));
      out.telecom = ours.every(held)
        ? theirs
        : [...ours, ...theirs.filter((t) => !ours.some((o) => o.system === t.system && norm(o.value) === norm(t.value)))];
    }
  }
  // Gender other is kept as Joinery's unknown: the copy says which.
  if (type === 'Patient' && view.gender === 'unknown' && copy.gender === 'other') out.gender = 'other';
  return out;
}

/**
 * The resource as a reader allowed everything of it would see it: the row's view with the whole
 * copy merged in. Never shown as it is: an import compares it with what was sent, to say what was
 * not kept.
 */
export function wholeView(def: ResourceDef, row: Row, copy: StoredCopy | undefined): Resource {
  const view = def.toFhir(row);
  return copy ? (merge(def.type, view as unknown as Json, copy.content, () => true) as unknown as Resource) : view;
}

/**
 * Resources for rows the reader may see, each with its stored copy merged in: elements of the row's
 * own category as the row was allowed; other categories (a Patient's health elements) only where
 * the access decision allows them for that person (scope all, or the copy sent by the reader's
 * own organisation), decided once per person and category, and audited.
 */
export async function withStoredCopies(ctx: FhirContext, def: ResourceDef, rows: Row[]): Promise<Resource[]> {
  const copies = await loadCopies(
    ctx.db,
    def.type,
    rows.map((r) => r.id),
  );
  if (copies.size === 0) return rows.map((row) => def.toFhir(row));
  return withCopies(
    ctx,
    def,
    rows.map((row) => ({ row, copy: copies.get(row.id) })),
  );
}

/**
 * Which of a stored copy's elements the reader may see, for each row: elements of the row's own
 * category as the row was allowed, others (a Patient's health elements) only where the access
 * decision allows them for that person, decided once per person, category and sender, and audited.
 */
async function copyAccess(
  ctx: FhirContext,
  def: ResourceDef,
  items: Array<{ row: Row; copy?: StoredCopy }>,
): Promise<Array<(element: string) => boolean>> {
  const decided = new Map<string, boolean>();
  const out: Array<(element: string) => boolean> = [];
  for (const { row, copy } of items) {
    if (!copy) {
      out.push(() => true);
      continue;
    }
    const spec = def.access;
    const personId = spec?.personOf(row) ?? null;
    const rowCategory = spec?.categoryOf(row) ?? 'demographics';
    const extra = [
      ...new Set(
        Object.keys(copy.content)
          .map((e) => elementCategory(def.type, e, rowCategory))
          .filter((c) => c !== rowCategory),
      ),
    ];
    for (const category of extra) {
      const key = `${personId}|${category}|${copy.organisation_id}`;
      if (decided.has(key) || !personId) continue;
      const access = await decideRecordAccess(ctx.db, {
        actor: ctx.actor,
        personId,
        categories: [category],
        purpose: ctx.actor.role === 'citizen' ? 'self' : 'direct_care',
        action: 'read',
      });
      const scope = access.byCategory[category]?.scope ?? 'none';
      decided.set(
        key,
        scope === 'all' || (scope !== 'none' && copy.organisation_id !== null && copy.organisation_id === ctx.actor.organisationId),
      );
    }
    out.push((element: string) => {
      const category = elementCategory(def.type, element, rowCategory);
      return category === rowCategory || (personId !== null && decided.get(`${personId}|${category}|${copy.organisation_id}`) === true);
    });
  }
  return out;
}

/**
 * Resources for rows the reader may see, each with the stored copy given beside it merged in (a
 * row of an earlier version comes with the copy of that version): what of the copy is shown is
 * decided as copyAccess says.
 */
export async function withCopies(ctx: FhirContext, def: ResourceDef, items: Array<{ row: Row; copy?: StoredCopy }>): Promise<Resource[]> {
  const allowed = await copyAccess(ctx, def, items);
  return items.map(({ row, copy }, i) => {
    const view = def.toFhir(row);
    return copy ? (merge(def.type, view as unknown as Json, copy.content, allowed[i]!) as unknown as Resource) : view;
  });
}

/**
 * Whether the reader may see every element the resource's stored copy could hold: for a Patient,
 * its health elements (GP, deceased, extensions) of this person from this copy's sender. Decided
 * from the access decision and the copy's sender only, never from what the copy holds, so the
 * answer tells nothing of what is hidden. A change made from what the reader sees (a JSON Patch)
 * is refused otherwise: it would rewrite, and file under the writer, what they are not shown.
 */
export async function seesWholeCopy(ctx: FhirContext, def: ResourceDef, row: Row): Promise<boolean> {
  const copy = (await loadCopies(ctx.db, def.type, [row.id])).get(row.id);
  if (!copy) return true;
  const personId = def.access?.personOf(row) ?? null;
  const rowCategory = def.access?.categoryOf(row) ?? 'demographics';
  const extra =
    def.type === 'Patient' ? [...new Set([...PATIENT_HEALTH_ELEMENTS].map((e) => elementCategory(def.type, e, rowCategory)))] : [];
  for (const category of extra.filter((c) => c !== rowCategory)) {
    if (!personId) return false;
    const access = await decideRecordAccess(ctx.db, {
      actor: ctx.actor,
      personId,
      categories: [category],
      purpose: ctx.actor.role === 'citizen' ? 'self' : 'direct_care',
      action: 'read',
    });
    const scope = access.byCategory[category]?.scope ?? 'none';
    const allowed =
      scope === 'all' || (scope !== 'none' && copy.organisation_id !== null && copy.organisation_id === ctx.actor.organisationId);
    if (!allowed) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// What did not come back

function paths(value: unknown, at: string, out: Map<string, string>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => paths(v, `${at}[${i}]`, out));
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) paths(v, `${at}.${k}`, out);
    return;
  }
  out.set(at, JSON.stringify(value));
}

/** FHIRPath-like paths of the values sent that the read-back does not have (ids and meta aside). */
export function notKept(sent: Resource, readBack: Resource): string[] {
  const { id: _a, meta: _b, ...s } = sent as unknown as Json;
  const { id: _d, meta: _e, ...r } = readBack as unknown as Json;
  const want = new Map<string, string>();
  const have = new Map<string, string>();
  paths(s, sent.resourceType, want);
  paths(r, sent.resourceType, have);
  const haveValues = new Set([...have.entries()].map(([p, v]) => `${p.replace(/\[\d+\]/g, '[]')}=${v}`));
  const missing: string[] = [];
  for (const [path, value] of want) {
    if (path.endsWith('.reference') && /^"(urn:|https?:)/.test(value)) continue; // rewritten to Type/id in Bundles
    if (have.get(path) === value || haveValues.has(`${path.replace(/\[\d+\]/g, '[]')}=${value}`)) continue;
    missing.push(path);
  }
  return missing;
}

export function notKeptOutcome(type: string, id: string, missing: string[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue:
      missing.length === 0
        ? [{ severity: 'information', code: 'informational', diagnostics: `${type}/${id}: everything sent was kept` }]
        : missing.slice(0, 100).map((path) => ({
            severity: 'warning' as const,
            code: 'informational' as const,
            diagnostics: `${path} was not kept`,
            expression: [path],
          })),
  };
}
