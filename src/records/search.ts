// Finding a person across the network: typo-tolerant names (trigram similarity), dates of birth
// (forgiving a swapped day and month), NHS numbers and postcodes, returning only people the
// searcher may see. The SQL narrows to people the searcher has a relationship with; the access
// decision then has the last word for each hit, and every hit is audited as a search.
//
// The work is bounded by the query's shape. An NHS number, a date of birth or a postcode picks a
// few people through its index and a name then only ranks them. A name alone is matched against
// the distinct names (person_names, a small table with its own trigram index), and people are
// fetched by exact name, best-matching name first, stopping as soon as enough people the searcher
// may see are found: a misspelt common name no longer means checking every person who shares
// its trigrams. The ranking is the same as matching every person: score (the better of full-name
// and family-name similarity), then family name, given name and id. pg_trgm lives in public, so
// its functions and operator are named there (a schema-isolated search_path still finds them).
// Each search is one statement: persons, households and the name index (person_names and its
// functions) come as people's fragments, the relationship probe as consent's, embedded here.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccessForMany, relationshipProbe } from '../consent/index.ts';
import {
  householdPostcodes,
  livePersonsOfFamilyName,
  livePersonsOfFullName,
  livePersonsWithKeys,
  personNamesLike,
  personsForSearch,
} from '../people/index.ts';
import { swappedDayMonth, type PersonQuery } from './search-query.ts';

export interface SearchHit {
  personId: string;
  name: string;
  birthDate: string | null;
  postcode: string | null;
  score: number;
}

interface Row {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string | null;
  postcode: string | null;
  score: number;
}

const scoreOf = (name: string | null) =>
  name
    ? sql`greatest(public.similarity(lower(p.given_name || ' ' || p.family_name), ${name}), public.similarity(lower(p.family_name), ${name}))`
    : sql`1`;

/** How like the name a person picked by NHS number, date of birth or postcode must be (a name alone needs pg_trgm's 0.3). */
const KEYED_NAME_SIMILARITY = 0.15;

/** NHS number, date of birth and/or postcode: their indexes pick the people; a name only ranks and filters them. */
async function searchByKeys(db: Kysely<Database>, user: SignedInUser, query: PersonQuery, limit: number): Promise<Row[]> {
  const swapped = query.birthDate ? swappedDayMonth(query.birthDate) : null;
  const keyed = livePersonsWithKeys({
    nhsNumber: query.nhsNumber,
    birthDates: query.birthDate ? [query.birthDate, ...(swapped ? [swapped] : [])] : [],
    postcode: query.postcode,
  });
  // The keys have already picked a few people, so the name need only resemble theirs: a
  // transposed letter in a short family name (Simth for Smith) scores 0.2, under the 0.3 a name
  // alone must reach, and the person sought would otherwise be missing beside their own date of birth.
  const nameFilter = query.name ? sql`where ${scoreOf(query.name)} >= ${KEYED_NAME_SIMILARITY}` : sql``;
  return (
    await sql<Row>`
    with keyed as materialized ${keyed}
    select p.id, p.given_name, p.family_name, p.birth_date, h.postcode, ${scoreOf(query.name)}::float8 as score
    from keyed k
    join ${personsForSearch} p on p.id = k.id
    cross join ${relationshipProbe(user, sql`p.id`)} v
    left join ${householdPostcodes} h on h.id = p.household_id
    ${nameFilter}
    order by score desc, p.family_name, p.given_name, p.id
    limit ${limit}`.execute(db)
  ).rows;
}

/**
 * How many people, best-matching name first, a name-only search checks for a relationship with
 * the searcher in each of its two streams. It bounds the work for a misspelt common name that
 * thousands of people match when the searcher knows few of them: only weaker matches beyond the
 * best `candidates` can be missed, and adding a date of birth or postcode finds anyone.
 */
const NAME_CANDIDATES_PER_HIT = 40;

/**
 * A name alone. People matched by full name are taken best name first; people matched by family
 * name are needed only where their family name scores at least as well as the last full-name hit
 * (otherwise they cannot make the list), best family name first. Each stream stops at `limit`
 * people the searcher may see (or after checking its candidates); the final ranking is over at
 * most twice `limit` people.
 */
async function searchByName(
  db: Kysely<Database>,
  user: SignedInUser,
  name: string,
  limit: number,
  candidates = limit * NAME_CANDIDATES_PER_HIT,
): Promise<Row[]> {
  return (
    await sql<Row>`
    with matched_names as materialized (
      select n.kind, n.name, n.s from ${personNamesLike(name)} n
    ),
    by_full as materialized (
      select c.id, c.s
      from (
        select p.id, g.s
        from (select m.name, m.s from matched_names m where m.kind = 'full' order by m.s desc, m.name) g
        cross join lateral ${livePersonsOfFullName(sql`g.name`, candidates)} p(id)
        limit ${candidates}) c
      cross join ${relationshipProbe(user, sql`c.id`)} v
      limit ${limit}
    ),
    cutoff as (select case when count(*) >= ${limit} then min(s) else 0 end as s from by_full),
    by_family as materialized (
      select c.id
      from (
        select p.id
        from (select m.name, m.s from matched_names m where m.kind = 'family' and m.s >= (select s from cutoff) order by m.s desc, m.name) g
        cross join lateral ${livePersonsOfFamilyName(sql`g.name`, candidates)} p(id)
        limit ${candidates}) c
      cross join ${relationshipProbe(user, sql`c.id`)} v
      limit ${limit}
    ),
    hits as (select id from by_full union select id from by_family)
    select p.id, p.given_name, p.family_name, p.birth_date, h.postcode, ${scoreOf(name)}::float8 as score
    from hits
    join ${personsForSearch} p on p.id = hits.id
    left join ${householdPostcodes} h on h.id = p.household_id
    order by score desc, p.family_name, p.given_name, p.id
    limit ${limit}`.execute(db)
  ).rows;
}

export async function searchPeople(db: Kysely<Database>, user: SignedInUser, query: PersonQuery, limit = 25): Promise<SearchHit[]> {
  return (await searchPeoplePage(db, user, query, { page: 1, perPage: limit })).hits;
}

/** The most people a search counts and pages through; past it, the searcher is asked to narrow it. */
export const SEARCH_COUNT_LIMIT = 100;

export interface SearchPage {
  hits: SearchHit[];
  /** How many people match, up to SEARCH_COUNT_LIMIT. */
  total: number;
  /** More than SEARCH_COUNT_LIMIT people match. */
  moreThanLimit: boolean;
  page: number;
  perPage: number;
  pages: number;
}

/**
 * One page of a search, and how many people match (up to SEARCH_COUNT_LIMIT). The matches are
 * ranked and counted in SQL (people the searcher has a relationship with); the access decision,
 * and so the audit record of who was found, covers only the page shown: a name on page 3 the
 * searcher never opened was not seen. A name-only search checks no more candidates than one page
 * of 25 did, so counting costs little more than finding.
 */
export async function searchPeoplePage(
  db: Kysely<Database>,
  user: SignedInUser,
  query: PersonQuery,
  options: { page: number; perPage: number },
): Promise<SearchPage> {
  const perPage = Math.max(1, options.perPage);
  const empty = { hits: [], total: 0, moreThanLimit: false, page: 1, perPage, pages: 1 };
  if (user.role !== 'practitioner') return empty;
  const limit = Math.max(SEARCH_COUNT_LIMIT, perPage) + 1;
  const rows =
    query.nhsNumber || query.birthDate || query.postcode || !query.name
      ? await searchByKeys(db, user, query, limit)
      : await searchByName(db, user, query.name, limit, Math.max(25, perPage) * NAME_CANDIDATES_PER_HIT);
  const moreThanLimit = rows.length > limit - 1;
  const total = Math.min(rows.length, limit - 1);
  const pages = Math.max(1, Math.ceil(total / perPage));
  const page = Math.min(Math.max(1, Math.trunc(options.page) || 1), pages);
  const shown = rows.slice((page - 1) * perPage, page * perPage);
  // The access decision for every hit shown at once (one query for the facts, one audit append).
  const access = await decideRecordAccessForMany(db, {
    actor: user,
    personIds: shown.map((r) => r.id),
    categories: ['demographics'],
    purpose: 'direct_care',
    action: 'search',
  });
  const hits = shown
    .filter((r) => access.get(r.id)?.allowed)
    .map((r) => ({
      personId: r.id,
      name: `${r.given_name} ${r.family_name}`,
      birthDate: r.birth_date,
      postcode: r.postcode,
      score: Number(r.score),
    }));
  return { hits, total, moreThanLimit, page, perPage, pages };
}
