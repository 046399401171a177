// Loads everything the access policy needs about one person and one actor in a single query,
// so a decision costs one round trip however many rules there are.
import type { Kysely } from 'kysely';
import { preparedQuery, type BesideColumn } from '../platform/db.ts';
import type { Database } from '../schema.ts';
import { personHeldUnderSourceSql } from '../linkage/index.ts';
import { organisationSourceCodeSql, teamIntegratedSql, teamNameSql } from '../network/index.ts';
import { personBirthDateSql } from '../people/index.ts';
import type { AccessFacts, Actor, Directive, LawfulBasis, Relationship } from './policy.ts';
import type { Category, Purpose } from './categories.ts';

interface FactsRow {
  relationships: Array<{
    organisation_id: string;
    team_id: string | null;
    practitioner_id: string | null;
    kind: Relationship['kind'];
    team_integrated: boolean | null;
  }> | null;
  member_teams: Array<{ team_id: string; name: string }> | null;
  holds_record: boolean;
  directives: Array<{
    id: number;
    category: string;
    recipient_kind: Directive['recipientKind'];
    recipient_id: string | null;
    purposes: string[];
    decision: Directive['decision'];
    valid_from: string;
    valid_until: string | null;
    withdrawn_at: string | null;
    recorded_at: string;
    recorded_for: Directive['recordedFor'];
  }> | null;
  bases: Array<{
    id: number;
    category: string;
    purpose: string;
    basis: LawfulBasis['basis'];
    organisation_id: string | null;
    valid_from: string;
    valid_until: string | null;
    ended_at: string | null;
  }> | null;
  break_glass_until: Date | null;
  proxy_scope: string[] | null;
  safeguarding_released: boolean;
  restrictions: Array<{ organisation_id: string; category: string }> | null;
}

/** How a statement names the actor and the moment: parameters, or the columns of a session's user row. */
interface ActorSql {
  /** The practitioner's organisation (or null). */
  organisation: string;
  user: string;
  /** A timestamptz. */
  now: string;
  /** The citizen's own person (or null). */
  ownPerson: string;
  /** The practitioner (or null). */
  practitioner: string;
}
const actorAsParameters: ActorSql = { organisation: '$2', user: '$3', now: '$4::timestamptz', ownPerson: '$5', practitioner: '$6' };

// The facts about one person, as columns; `person` is how the query names the person:
// $1 for one person, t.person_id for several; `a` the actor (by default $2 the practitioner's
// organisation (or null), $3 user, $4 now, $5 the citizen's own person (or null), $6 the practitioner (or null)).
const factsColumns = (person: string, a: ActorSql = actorAsParameters) => `
    (select json_agg(json_build_object('organisation_id', r.organisation_id, 'team_id', r.team_id, 'practitioner_id', r.practitioner_id, 'kind', r.kind,
            'team_integrated', ${teamIntegratedSql('r.team_id')}))
       from care_relationships r where r.person_id = ${person} and r.ended_at is null) as relationships,
    -- The practitioner's current team memberships: an integrated team's relationship reaches its current members only.
    (select json_agg(json_build_object('team_id', m.team_id, 'name', ${teamNameSql('m.team_id')}))
       from team_memberships m
       where ${a.practitioner}::text is not null and m.practitioner_id = ${a.practitioner} and m.started_at <= ${a.now} and (m.ended_at is null or m.ended_at > ${a.now})) as member_teams,
    -- Whether the practitioner's organisation holds a record of the person: the person index's
    -- answer (linkage) over the organisation's source code (network), embedded here.
    (${a.organisation}::text is not null and ${personHeldUnderSourceSql(person, organisationSourceCodeSql(a.organisation))}) as holds_record,
    (select json_agg(json_build_object('id', d.id, 'category', d.category, 'recipient_kind', d.recipient_kind, 'recipient_id', d.recipient_id,
            'purposes', d.purposes, 'decision', d.decision, 'valid_from', d.valid_from, 'valid_until', d.valid_until,
            'withdrawn_at', d.withdrawn_at, 'recorded_at', d.recorded_at, 'recorded_for', d.recorded_for))
       from consent_directives d where d.person_id = ${person}) as directives,
    (select json_agg(json_build_object('id', b.id, 'category', b.category, 'purpose', b.purpose, 'basis', b.basis,
            'organisation_id', b.organisation_id, 'valid_from', b.valid_from, 'valid_until', b.valid_until, 'ended_at', b.ended_at))
       from lawful_bases b where b.person_id = ${person}) as bases,
    (select max(g.expires_at) from break_glass_grants g where g.person_id = ${person} and g.user_id = ${a.user} and g.expires_at > ${a.now}) as break_glass_until,
    -- Proxies in force: not revoked, within their dates, and a parent's only while the child is under 16
    -- (checked against the birth date as it is now, so a corrected birth date counts at once).
    (select array_agg(distinct c) from proxies x, unnest(x.scope) as c
       where ${a.ownPerson}::text is not null and x.person_id = ${person} and x.proxy_person_id = ${a.ownPerson}
         and x.revoked_at is null and x.valid_from <= ${a.now} and (x.valid_until is null or x.valid_until > ${a.now})
         and (x.kind <> 'parent' or coalesce(${personBirthDateSql(person)} + interval '16 years' > ${a.now}, false))) as proxy_scope,
    (${a.ownPerson}::text is not null and exists (
       select 1 from safeguarding_releases sr where sr.person_id = ${person} and sr.withdrawn_at is null and sr.released_at <= ${a.now})) as safeguarding_released,
    -- Restrictions the data owner has put in force at the person's request (Art. 18).
    (select json_agg(json_build_object('organisation_id', rr.organisation_id, 'category', rr.category))
       from rights_requests rr where rr.person_id = ${person} and rr.status = 'restricted') as restrictions`;

// Built on first use, not as the module loads: the fragments come from modules that may still be
// loading then (linkage's routes import this module's front door).
let accessFactsSql: string | undefined;
const ACCESS_FACTS_SQL = (): string => (accessFactsSql ??= `select ${factsColumns('$1')}`);
// $1 the people (text[]): one row of facts per person, in one round trip.
let accessFactsManySql: string | undefined;
const ACCESS_FACTS_MANY_SQL = (): string =>
  (accessFactsManySql ??= `select t.person_id, ${factsColumns('t.person_id')} from unnest($1::text[]) as t(person_id)`);

// The facts beside a session look-up (auth's userForSessionWith), which names the signed-in
// account's row `signed_in` (id, role, person_id, practitioner_id, organisation_id): the actor as
// decideRecordAccess would pass it, taken from that row. The person and the moment are this
// column's own parameters, and the answer names them and the account, so a decision uses it only
// for the actor, person and moment it was read for.
const signedInActor = (now: string): ActorSql => ({
  organisation: `(case when signed_in.role = 'practitioner' then signed_in.organisation_id end)`,
  user: 'signed_in.id',
  now,
  ownPerson: `(case when signed_in.role = 'citizen' then signed_in.person_id end)`,
  practitioner: `(case when signed_in.role = 'practitioner' then signed_in.practitioner_id end)`,
});
const besideSessionSql = new Map<number, string>();

/**
 * The access facts about one person for whoever a session is signed in as, as a column the
 * session look-up's own statement carries: a request's first round trip then also brings the
 * facts its decision needs, read in the same snapshot as the session itself. Read back by
 * decideRecordAccessAndRead (its `prefetched`); facts read for another person, account or
 * moment are never used.
 */
export function accessFactsBesideSession(personId: string, now: Date): BesideColumn {
  return {
    name: 'access_facts',
    sql(first) {
      let text = besideSessionSql.get(first);
      if (text === undefined) {
        const person = `$${first}::text`;
        const at = `$${first + 1}::timestamptz`;
        text = `(select to_json(f) from (select ${person} as person_id, signed_in.id as user_id, ${at} as at, ${factsColumns(person, signedInActor(at))}) f)`;
        besideSessionSql.set(first, text);
      }
      return text;
    },
    values: [personId, now],
  };
}

/** The facts a session look-up carried (accessFactsBesideSession), if they are about this actor and person. */
export function prefetchedAccessFacts(
  value: unknown,
  actor: Actor,
  personId: string,
): { facts: Omit<AccessFacts, 'inReviewQueue'>; now: Date } | undefined {
  const row = value as (FactsRow & { person_id: string; user_id: string; at: string }) | null | undefined;
  if (!row || typeof row !== 'object' || row.person_id !== personId || row.user_id !== actor.userId) return undefined;
  const now = new Date(row.at);
  return { facts: toFacts(row, now), now };
}

const toDate = (value: string | null): Date | null => (value === null ? null : new Date(value));

function toFacts(row: FactsRow, now: Date): Omit<AccessFacts, 'inReviewQueue'> {
  return {
    now,
    relationships: (row.relationships ?? []).map((r) => ({
      organisationId: r.organisation_id,
      teamId: r.team_id,
      practitionerId: r.practitioner_id,
      kind: r.kind,
      teamIntegrated: r.team_integrated === true,
    })),
    memberTeams: (row.member_teams ?? []).map((t) => ({ teamId: t.team_id, name: t.name })),
    organisationHoldsRecord: Boolean(row.holds_record),
    directives: (row.directives ?? []).map((d) => ({
      id: Number(d.id),
      category: d.category as Category | '*',
      recipientKind: d.recipient_kind,
      recipientId: d.recipient_id,
      purposes: d.purposes as Purpose[],
      decision: d.decision,
      validFrom: new Date(d.valid_from),
      validUntil: toDate(d.valid_until),
      withdrawnAt: toDate(d.withdrawn_at),
      recordedAt: new Date(d.recorded_at),
      recordedFor: d.recorded_for,
    })),
    lawfulBases: (row.bases ?? []).map((b) => ({
      id: Number(b.id),
      category: b.category as Category | '*',
      purpose: b.purpose as Purpose,
      basis: b.basis,
      organisationId: b.organisation_id,
      validFrom: new Date(b.valid_from),
      validUntil: toDate(b.valid_until),
      endedAt: toDate(b.ended_at),
    })),
    breakGlassUntil: row.break_glass_until ? new Date(row.break_glass_until) : null,
    proxyScope: row.proxy_scope === null ? null : (row.proxy_scope as Category[]),
    safeguardingReleased: Boolean(row.safeguarding_released),
    restrictions: (row.restrictions ?? []).map((r) => ({ organisationId: r.organisation_id, category: r.category })),
  };
}

const actorParams = (actor: Actor, now: Date) => [
  actor.role === 'practitioner' ? actor.organisationId : null,
  actor.userId,
  now,
  actor.role === 'citizen' ? actor.personId : null,
  actor.role === 'practitioner' ? actor.practitionerId : null,
];

export async function loadAccessFacts(
  db: Kysely<Database>,
  actor: Actor,
  personId: string,
  now: Date = new Date(),
): Promise<Omit<AccessFacts, 'inReviewQueue'>> {
  const rows = await preparedQuery<FactsRow>(db, 'joinery_access_facts', ACCESS_FACTS_SQL(), [personId, ...actorParams(actor, now)]);
  return toFacts(rows[0]!, now);
}

/** The facts for several people at once (a page of search results), in one round trip. */
export async function loadAccessFactsForMany(
  db: Kysely<Database>,
  actor: Actor,
  personIds: readonly string[],
  now: Date = new Date(),
): Promise<Map<string, Omit<AccessFacts, 'inReviewQueue'>>> {
  const facts = new Map<string, Omit<AccessFacts, 'inReviewQueue'>>();
  if (personIds.length === 0) return facts;
  const rows = await preparedQuery<FactsRow & { person_id: string }>(db, 'joinery_access_facts_many', ACCESS_FACTS_MANY_SQL(), [
    [...new Set(personIds)],
    ...actorParams(actor, now),
  ]);
  for (const row of rows) facts.set(row.person_id, toFacts(row, now));
  return facts;
}
