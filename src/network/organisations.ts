// The network's organisations as fragments other modules embed in their own single statement:
// a name, a kind or the source code an organisation's records arrive under, as plain SQL text
// (prepared statements) or Kysely `sql` (builders). A hot path (the access decision, the person
// page) gains no round trip by asking the owner; the batched queries are in lookups.ts.
import { sql, type RawBuilder } from 'kysely';

/** Kysely: the name of the organisation whose id is in column `ref` (or an expression giving the id), null when none, for a select list. */
export function organisationNameOf(ref: string | RawBuilder<string | null>): RawBuilder<string | null> {
  return sql<string | null>`(select o.name from organisations o where o.id = ${typeof ref === 'string' ? sql.ref(ref) : ref})`;
}

/** Kysely: the name of the organisation whose records arrive under the source code in column `ref` (null when none). */
export function organisationNameOfSource(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select o.name from organisations o where o.source_code = ${sql.ref(ref)} order by o.id limit 1)`;
}

/** Kysely: the kind of the organisation whose id is in column `ref` (null when none). */
export function organisationKindOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select o.kind from organisations o where o.id = ${sql.ref(ref)})`;
}

/** Kysely: the source code records of the organisation in column/parameter `organisation` arrive under. */
export function organisationSourceCodeOf(organisation: RawBuilder<unknown> | string): RawBuilder<string | null> {
  const ref = typeof organisation === 'string' ? sql`${organisation}` : organisation;
  return sql<string | null>`(select o.source_code from organisations o where o.id = ${ref})`;
}

/** SQL text: the source code of the organisation `organisationExpr` names (a scalar subquery). */
export const organisationSourceCodeSql = (organisationExpr: string): string =>
  `(select o.source_code from organisations o where o.id = ${organisationExpr})`;

/** SQL text: the name of the organisation `organisationExpr` names (a scalar subquery). */
export const organisationNameSql = (organisationExpr: string): string =>
  `(select o.name from organisations o where o.id = ${organisationExpr})`;

/**
 * SQL text: the rows of `rowsSql` (which has a `source` column) with the organisation whose
 * records arrive under that source: organisation_id, organisation (its name), kind, then the
 * rows' own columns. Rows of a source no member organisation uses are left out.
 */
export const withOrganisationOfSourceSql = (rowsSql: string): string =>
  `select o.id as organisation_id, o.name as organisation, o.kind, h.* from (${rowsSql}) h join organisations o on o.source_code = h.source`;

/** Kysely: the same as withOrganisationOfSourceSql, for a builder's statement. */
export function withOrganisationOfSource(rows: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`select o.id as organisation_id, o.name as organisation, o.kind, h.* from (${rows}) h join organisations o on o.source_code = h.source`;
}

/** Kysely: the name of the organisation whose source code is the one in column `ref`, case aside (the first by id; null when none). */
export function organisationNameOfSourceAnyCase(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select o.name from organisations o where lower(o.source_code) = lower(${sql.ref(ref)}) order by o.id limit 1)`;
}

/** Kysely: every source code a member organisation's records arrive under, as a table of one column, `source`. */
export const organisationSourceCodes = sql`(select source_code as source from organisations where source_code is not null and source_code <> '')`;

/**
 * Kysely: the source code an organisation is registered with that is `value` case aside (the
 * first in order), else `value` itself: the form records of a feed named in any case are stored under.
 */
export function registeredSourceCodeOr(value: string): RawBuilder<string> {
  return sql<string>`coalesce((select o.source_code from organisations o where lower(o.source_code) = lower(${value}) order by o.source_code limit 1), ${value})`;
}

/** Kysely: the organisations of these kinds, as a table to join on the source code their records arrive under: source, kind. */
export function organisationsOfKinds(kinds: readonly string[]): RawBuilder<{ source: string; kind: string }> {
  return sql<{ source: string; kind: string }>`(select source_code as source, kind from organisations where kind = any(${kinds}::text[]))`;
}

/** Kysely: how many organisations the network has. */
export const organisationCount = sql<number>`(select count(*) from organisations)`;

/** Kysely: how many practitioners (active or not) and services the network has (the administrator's home). */
export const practitionerCount = sql<number>`(select count(*) from practitioners)`;
export const serviceCount = sql<number>`(select count(*) from services)`;
