// Finding a person across the network: typo-tolerant names (trigram similarity), dates of birth
// (forgiving a swapped day and month), NHS numbers and postcodes, returning only people the
// searcher may see. The SQL narrows to people the searcher has a relationship with; the access
// decision then has the last word for each hit, and every hit is audited as a search.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../platform/schema.ts';
import type { SignedInUser } from '../auth/accounts.ts';
import { decideRecordAccess } from '../platform/access.ts';
import { swappedDayMonth, type PersonQuery } from './search-query.ts';

export interface SearchHit { personId: string; name: string; birthDate: string | null; postcode: string | null; score: number }

function relationshipFilter(user: SignedInUser): RawBuilder<unknown> {
  return sql`(
    exists (select 1 from care_relationships r where r.person_id = p.id and r.ended_at is null
              and (r.practitioner_id = ${user.practitionerId} or (r.practitioner_id is null and r.team_id = ${user.teamId})
                   or (r.practitioner_id is null and r.team_id is null and r.organisation_id = ${user.organisationId})))
    or exists (select 1 from record_links l join source_records s on s.id = l.source_record_id
               join organisations o on o.source_code = s.source
               where l.person_id = p.id and l.superseded_at is null and o.id = ${user.organisationId})
    or exists (select 1 from break_glass_grants g where g.person_id = p.id and g.user_id = ${user.id} and g.expires_at > now())
  )`;
}

export async function searchPeople(db: Kysely<Database>, user: SignedInUser, query: PersonQuery, limit = 25): Promise<SearchHit[]> {
  if (user.role !== 'practitioner') return [];
  const conditions: RawBuilder<unknown>[] = [sql`p.merged_into is null`];
  if (query.nhsNumber) conditions.push(sql`p.nhs_number = ${query.nhsNumber}`);
  if (query.birthDate) {
    const swapped = swappedDayMonth(query.birthDate);
    conditions.push(swapped ? sql`p.birth_date in (${query.birthDate}::date, ${swapped}::date)` : sql`p.birth_date = ${query.birthDate}::date`);
  }
  if (query.postcode) conditions.push(sql`replace(upper(h.postcode), ' ', '') = ${query.postcode}`);
  if (query.name) conditions.push(sql`(lower(p.given_name || ' ' || p.family_name) % ${query.name} or lower(p.family_name) % ${query.name})`);
  conditions.push(relationshipFilter(user));
  const score = query.name
    ? sql`greatest(similarity(lower(p.given_name || ' ' || p.family_name), ${query.name}), similarity(lower(p.family_name), ${query.name}))`
    : sql`1`;
  const rows = await sql<{ id: string; given_name: string; family_name: string; birth_date: string | null; postcode: string | null; score: number }>`
    select p.id, p.given_name, p.family_name, p.birth_date, h.postcode, ${score}::float8 as score
    from persons p left join households h on h.id = p.household_id
    where ${sql.join(conditions, sql` and `)}
    order by score desc, p.family_name, p.given_name, p.id
    limit ${limit}`.execute(db);
  const hits: SearchHit[] = [];
  for (const r of rows.rows) {
    const access = await decideRecordAccess(db, { actor: user, personId: r.id, categories: ['demographics'], purpose: 'direct_care', action: 'search' });
    if (access.allowed) hits.push({ personId: r.id, name: `${r.given_name} ${r.family_name}`, birthDate: r.birth_date, postcode: r.postcode, score: Number(r.score) });
  }
  return hits;
}
