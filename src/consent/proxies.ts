// Proxies: a parent acting for their child, or a registered carer acting for the person they
// care for with that person's permission. Every proxy has a start, an end and a scope: a
// parent's ends on the child's 16th birthday (or earlier, when a child able to decide for
// themselves ends it: Gillick competence), a carer's ends with the caring relationship, and
// either can be ended by the person or the proxy. Children's safeguarding is outside every
// proxy's scope. Listing whom one acts for is the proxy's own data.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { RefusedInput } from '../platform/refused.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { personBirthDateSql, personById, personFullNameOf } from '../people/index.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { categories, type Category } from './categories.ts';

type Trx = Transaction<Database>;

/** What a proxy may see unless narrowed: everything but children's safeguarding. */
export const DEFAULT_PROXY_SCOPE: readonly Category[] = categories.filter((c) => c !== 'children_safeguarding');

export const PARENTAL_PROXY_ENDS_AT_AGE = 16;

export class ProxyRefused extends RefusedInput {
  override name = 'ProxyRefused';
}

/** The day a parent's proxy ends: the child's 16th birthday (29 February births: 1 March). */
export function parentalProxyEnds(birthDate: string): Date {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y + PARENTAL_PROXY_ENDS_AT_AGE, m - 1, d));
}

/** The date of birth (YYYY-MM-DD) of the person in column `ref`, read through the people module's fragment. */
const birthDateOf = (ref: 'x.person_id'): RawBuilder<string | null> => sql<string | null>`${sql.raw(personBirthDateSql(ref))}`;

export interface ProxyFor {
  proxyId: number;
  personId: string;
  name: string;
  kind: 'parent' | 'carer';
  until: Date | null;
}

/** The people this person acts for now (the same rule as the access facts). */
export async function proxiesOf(db: Kysely<Database>, proxyPersonId: string, now: Date = new Date()): Promise<ProxyFor[]> {
  const rows = await db
    .selectFrom('proxies as x')
    .select([
      'x.id',
      'x.person_id',
      personFullNameOf('x.person_id').$castTo<string>().as('name'),
      birthDateOf('x.person_id').as('birth_date'),
      'x.kind',
      'x.valid_until',
    ])
    .where('x.proxy_person_id', '=', proxyPersonId)
    .where('x.revoked_at', 'is', null)
    .where('x.valid_from', '<=', now)
    .where((eb) => eb.or([eb('x.valid_until', 'is', null), eb('x.valid_until', '>', now)]))
    .orderBy('birth_date')
    .execute();
  return rows
    .filter((r) => r.kind !== 'parent' || (r.birth_date !== null && parentalProxyEnds(r.birth_date) > now))
    .map((r) => ({ proxyId: Number(r.id), personId: r.person_id, name: r.name, kind: r.kind, until: r.valid_until }));
}

/** The people who act for this person now (the same rule as the access facts): whom to tell when their record is opened in an emergency. */
export async function proxyPersonIdsFor(db: Kysely<Database>, personId: string, now: Date = new Date()): Promise<string[]> {
  const rows = await db
    .selectFrom('proxies as x')
    .select(['x.proxy_person_id', 'x.kind', birthDateOf('x.person_id').as('birth_date')])
    .where('x.person_id', '=', personId)
    .where('x.revoked_at', 'is', null)
    .where('x.valid_from', '<=', now)
    .where((eb) => eb.or([eb('x.valid_until', 'is', null), eb('x.valid_until', '>', now)]))
    .execute();
  return [
    ...new Set(
      rows
        .filter((r) => r.kind !== 'parent' || (r.birth_date !== null && parentalProxyEnds(r.birth_date) > now))
        .map((r) => r.proxy_person_id),
    ),
  ];
}

export interface ActingForMe {
  proxyId: number;
  name: string;
  kind: 'parent' | 'carer';
  since: Date;
  until: Date | null;
}

/** Who can act for this person now: shown to them with a way to end it. */
export async function proxiesFor(db: Kysely<Database>, personId: string, now: Date = new Date()): Promise<ActingForMe[]> {
  const rows = await db
    .selectFrom('proxies as x')
    .select(['x.id', personFullNameOf('x.proxy_person_id').$castTo<string>().as('name'), 'x.kind', 'x.valid_from', 'x.valid_until'])
    .where('x.person_id', '=', personId)
    .where('x.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('x.valid_until', 'is', null), eb('x.valid_until', '>', now)]))
    .orderBy('x.valid_from')
    .execute();
  return rows.map((r) => ({ proxyId: Number(r.id), name: r.name, kind: r.kind, since: r.valid_from, until: r.valid_until }));
}

export interface NewProxy {
  personId: string;
  proxyPersonId: string;
  kind: 'parent' | 'carer';
  permittedBy: string;
  validFrom?: Date;
  scope?: readonly Category[];
}

/**
 * Grants a proxy. A parent's ends on the child's 16th birthday, so a child whose birth date is
 * unknown, or who is 16 already, cannot be given one. Audited by whoever granted it.
 */
export async function grantProxy(trx: Trx, by: SignedInUser | null, input: NewProxy, now: Date = new Date()): Promise<number> {
  if (input.personId === input.proxyPersonId) throw new ProxyRefused(422, 'A person does not act as their own proxy');
  let validUntil: Date | null = null;
  if (input.kind === 'parent') {
    const child = await personById(trx, input.personId);
    if (!child) throw new ProxyRefused(404, 'There is no such person');
    if (!child.birthDate)
      throw new ProxyRefused(422, 'A parent can act for a child only while we know the child is under 16: record the date of birth first');
    validUntil = parentalProxyEnds(child.birthDate);
    if (validUntil <= now)
      throw new ProxyRefused(422, 'This person is 16 or over: they decide for themselves, and can register a carer if they want one');
  }
  const scope = [...(input.scope ?? DEFAULT_PROXY_SCOPE)].filter((c) => c !== 'children_safeguarding');
  const row = await trx
    .insertInto('proxies')
    .values({
      person_id: input.personId,
      proxy_person_id: input.proxyPersonId,
      kind: input.kind,
      permitted_by: input.permittedBy,
      valid_from: input.validFrom ?? now,
      valid_until: validUntil,
      revoked_at: null,
      revoked_by: null,
      scope,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actorUserId: by?.id ?? null,
    actorRole: by?.role ?? null,
    actorOrganisationId: by?.organisationId ?? null,
    action: 'write',
    personId: input.personId,
    category: null,
    purpose: 'self',
    decision: 'success',
    reason: `${input.kind === 'parent' ? 'parental' : 'carer'} proxy registered`,
  });
  return Number(row.id);
}

/**
 * Ends a proxy: by the person it acts for (a child ending a parent's access early, an adult
 * ending a carer's) or by the proxy stepping down. Returns whether it was in force.
 */
export async function endProxy(trx: Trx, by: SignedInUser, proxyId: number, reason: string, now: Date = new Date()): Promise<boolean> {
  const proxy = await trx
    .selectFrom('proxies')
    .select(['person_id', 'proxy_person_id', 'kind'])
    .where('id', '=', proxyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!proxy) return false;
  const party = by.role === 'citizen' && (by.personId === proxy.person_id || by.personId === proxy.proxy_person_id);
  if (!party) throw new ProxyRefused(422, 'Only the person, or the person acting for them, can end this');
  const ended = await trx
    .updateTable('proxies')
    .set({ revoked_at: now, revoked_by: by.id, revoked_reason: reason.slice(0, 300) })
    .where('id', '=', proxyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(ended.numUpdatedRows) !== 1) return false;
  await appendAudit(trx, {
    actorUserId: by.id,
    actorRole: by.role,
    actorOrganisationId: null,
    action: 'write',
    personId: proxy.person_id,
    category: null,
    purpose: 'self',
    decision: 'success',
    reason: by.personId === proxy.person_id ? `the person ended a ${proxy.kind} proxy` : `a ${proxy.kind} stopped acting for the person`,
  });
  return true;
}

/**
 * A carer's proxy ends with the caring relationship (and a parent's with the parent
 * relationship): called by whoever ends that relationship, in the same transaction.
 */
export async function endProxiesWithRelationship(
  trx: Trx,
  by: SignedInUser | null,
  personA: string,
  personB: string,
  now: Date = new Date(),
): Promise<number> {
  const rows = await trx
    .updateTable('proxies')
    .set({ revoked_at: now, revoked_by: by?.id ?? null, revoked_reason: 'the relationship it rested on ended' })
    .where('revoked_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb.and([eb('person_id', '=', personA), eb('proxy_person_id', '=', personB)]),
        eb.and([eb('person_id', '=', personB), eb('proxy_person_id', '=', personA)]),
      ]),
    )
    .returning(['person_id', 'kind'])
    .execute();
  for (const row of rows) {
    await appendAudit(trx, {
      actorUserId: by?.id ?? null,
      actorRole: by?.role ?? null,
      actorOrganisationId: by?.organisationId ?? null,
      action: 'write',
      personId: row.person_id,
      category: null,
      purpose: 'self',
      decision: 'success',
      reason: `${row.kind} proxy ended with the relationship it rested on`,
    });
  }
  return rows.length;
}

export interface SeededProxy {
  personId: string;
  proxyPersonId: string;
  kind: 'parent' | 'carer';
  permittedBy: string;
  validFrom: Date;
  validUntil: Date | null;
}

/** A synthetic place's proxies, in bulk (demo loading only); parents' end on the child's 16th birthday. */
export async function seedProxies(trx: Trx, rows: readonly SeededProxy[]): Promise<void> {
  const ts = (d: Date | null) => d?.toISOString() ?? null;
  await bulkInsert(
    trx,
    'proxies',
    [
      { name: 'person_id', type: 'text', value: (r: SeededProxy) => r.personId },
      { name: 'proxy_person_id', type: 'text', value: (r) => r.proxyPersonId },
      { name: 'kind', type: 'text', value: (r) => r.kind },
      { name: 'permitted_by', type: 'text', value: (r) => r.permittedBy },
      { name: 'valid_from', type: 'timestamptz', value: (r) => ts(r.validFrom) },
      { name: 'valid_until', type: 'timestamptz', value: (r) => ts(r.validUntil) },
    ],
    [...rows],
    10_000,
  );
}
