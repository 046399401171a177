// Person search ranks like matching every person (the plain trigram query it replaced), only
// without touching every person who shares a common name's trigrams; it returns only people
// the searcher has a relationship with, audits every hit, and keeps up with new and renamed people.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import type { Database } from '../schema.ts';
import { migrateToLatest } from '../schema.ts';
import { createDemoAccounts, loadSyntheticPlace } from '../demo/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { parsePersonQuery } from './search-query.ts';
import { searchPeople } from './search.ts';

/** The reference: every person whose name matches, filtered by relationship, ranked. */
async function referenceSearch(db: Kysely<Database>, user: SignedInUser, name: string) {
  return (
    await sql<{ id: string; score: number }>`
    select p.id, greatest(public.similarity(lower(p.given_name || ' ' || p.family_name), ${name}), public.similarity(lower(p.family_name), ${name}))::float8 as score
    from persons p
    where p.merged_into is null and (lower(p.given_name || ' ' || p.family_name) operator(public.%) ${name} or lower(p.family_name) operator(public.%) ${name})
      and (exists (select 1 from care_relationships r where r.person_id = p.id and r.ended_at is null
                     and (r.practitioner_id = ${user.practitionerId} or (r.practitioner_id is null and r.team_id = ${user.teamId})
                          or (r.practitioner_id is null and r.team_id is null and r.organisation_id = ${user.organisationId})))
           or exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
                      where l.person_id = p.id and l.superseded_at is null and o.id = ${user.organisationId}))
    order by score desc, p.family_name, p.given_name, p.id
    limit 25`.execute(db)
  ).rows;
}

for (const target of await testDatabaseTargets()) {
  describe(`person search on ${target.kind}`, () => {
    let database: DatabaseHandle;
    let user: SignedInUser;
    before(async () => {
      database = await target.open();
      await migrateToLatest(database.db);
      await loadSyntheticPlace(database.db, { seed: 11, people: 1500 });
      await createDemoAccounts(database.db);
      const row = await database.db
        .selectFrom('users')
        .leftJoin('practitioners', 'practitioners.id', 'users.practitioner_id')
        .select([
          'users.id',
          'users.username',
          'users.display_name',
          'users.person_id',
          'users.practitioner_id',
          'users.organisation_id',
          'practitioners.team_id',
        ])
        .where('users.username', '=', 'practitioner')
        .executeTakeFirstOrThrow();
      user = {
        id: row.id,
        username: row.username,
        displayName: row.display_name,
        role: 'practitioner',
        personId: row.person_id,
        practitionerId: row.practitioner_id,
        organisationId: row.organisation_id,
        teamId: row.team_id,
      };
    });
    after(async () => {
      await database.close();
    });

    test('names, misspelt or not, rank as matching every person would, and only people the searcher knows come back', async () => {
      const known = (
        await sql<{ given_name: string; family_name: string }>`
        select p.given_name, p.family_name from persons p
        where exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
                      where l.person_id = p.id and l.superseded_at is null and o.id = ${user.organisationId})
        order by p.id limit 12`.execute(database.db)
      ).rows;
      assert.ok(known.length > 0);
      const queries = known
        .flatMap((p) => [
          `${p.given_name} ${p.family_name.slice(0, -1)}`,
          `${p.given_name.slice(1)} ${p.family_name}`,
          p.family_name,
          p.family_name.slice(0, -1),
        ])
        .concat(['smith', 'jon', 'qqzx vvwy']);
      for (const q of queries) {
        const name = parsePersonQuery(q).name!;
        const [hits, reference] = await Promise.all([
          searchPeople(database.db, user, parsePersonQuery(q)),
          referenceSearch(database.db, user, name),
        ]);
        assert.deepEqual(
          hits.map((h) => h.score.toFixed(6)),
          reference.map((r) => Number(r.score).toFixed(6)),
          `scores for "${q}"`,
        );
        if (reference.length < 25)
          assert.deepEqual(
            hits.map((h) => h.personId),
            reference.map((r) => r.id),
            `people for "${q}"`,
          );
      }
    });

    test('every hit is audited as a search', async () => {
      const before = Number(
        (await sql<{ n: number }>`select count(*) as n from audit_events where action = 'search'`.execute(database.db)).rows[0]!.n,
      );
      const hits = await searchPeople(database.db, user, parsePersonQuery('smith'));
      assert.ok(hits.length > 0);
      const audited = await database.db
        .selectFrom('audit_events')
        .select(['person_id', 'decision'])
        .where('action', '=', 'search')
        .orderBy('seq', 'desc')
        .limit(hits.length)
        .execute();
      assert.deepEqual(new Set(audited.map((a) => a.person_id)), new Set(hits.map((h) => h.personId)));
      assert.ok(audited.every((a) => a.decision === 'allow'));
      const after = Number(
        (await sql<{ n: number }>`select count(*) as n from audit_events where action = 'search'`.execute(database.db)).rows[0]!.n,
      );
      assert.equal(after - before, hits.length);
    });

    test('a person added or renamed after the place was loaded is found by name', async () => {
      const stranger = { id: 'p-search-test', given_name: 'Xanthippe', family_name: 'Quorndon' };
      await database.db
        .insertInto('persons')
        .values({ ...stranger, birth_date: '1970-01-01' } as never)
        .execute();
      assert.equal((await searchPeople(database.db, user, parsePersonQuery('xanthippe quorndn'))).length, 0, 'no relationship yet');
      await database.db
        .insertInto('care_relationships')
        .values({
          person_id: stranger.id,
          organisation_id: user.organisationId!,
          team_id: null,
          practitioner_id: user.practitionerId,
          kind: 'network',
          role_label: null,
          reason: 'search test',
          ended_at: null,
          recorded_by: null,
        })
        .execute();
      assert.deepEqual(
        (await searchPeople(database.db, user, parsePersonQuery('xanthippe quorndn'))).map((h) => h.personId),
        [stranger.id],
      );
      await database.db.updateTable('persons').set({ family_name: 'Wexcombe' }).where('id', '=', stranger.id).execute();
      assert.deepEqual(
        (await searchPeople(database.db, user, parsePersonQuery('xanthipe wexcombe'))).map((h) => h.personId),
        [stranger.id],
      );
      assert.deepEqual(
        (await searchPeople(database.db, user, parsePersonQuery('wexcomb'))).map((h) => h.personId),
        [stranger.id],
      );
    });
  });
}
