// Access decision cost with a city's worth of people and sharing directives loaded.
// Usage: node bench/access-decision.ts [--people 1000000] [--engine postgres|pglite] [--samples 5000]
// Prints one JSON object. Builds its data with SQL (generate_series) in a throwaway schema.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import type { Database } from '../src/schema.ts';
import { loadAccessFacts } from '../src/consent/facts.ts';
import { decideCategory, type Actor } from '../src/consent/policy.ts';
import { categories } from '../src/consent/categories.ts';
import { decideRecordAccess } from '../src/consent/index.ts';
import { createProgress } from '../src/platform/progress.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '1000000' },
    engine: { type: 'string', default: 'postgres' },
    samples: { type: 'string', default: '5000' },
  },
});
const people = Number(values.people);
const samples = Number(values.samples);
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';

async function open(): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (values.engine === 'pglite') {
    const handle = await openPglite('memory://');
    return { handle, cleanup: () => handle.close() };
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  const handle = await openPostgres(serverUrl, { searchPath: `${schema},public`, max: 4 });
  return {
    handle,
    cleanup: async () => {
      await handle.close();
      await sql`drop schema ${sql.id(schema)} cascade`.execute(admin.db);
      await admin.close();
    },
  };
}

async function build(db: Kysely<Database>): Promise<void> {
  const steps = [
    sql`insert into places values ('place', 'Bench', 'RV', 1, now()); insert into localities values ('loc', 'place', 'Loc');`,
    sql`insert into organisations (id, name, kind, source_code, locality_id, postcode, phone, email, website)
        select 'org-' || g, 'Org ' || g, 'charity', 'S' || g, 'loc', 'RV1 1AA', '', '', '' from generate_series(1, 200) g`,
    sql`insert into teams select 'team-' || g, 'org-' || g, 'Team ' || g from generate_series(1, 200) g`,
    sql`insert into practitioners select 'pr-' || g, 'org-' || g, 'team-' || g, 'A', 'B', 'support_worker', '' from generate_series(1, 200) g`,
    sql`insert into persons (id, given_name, family_name, birth_date, sex) select 'p-' || g, 'Given', 'Family' || g, date '1950-01-01' + (g % 20000), case when g % 2 = 0 then 'female' else 'male' end from generate_series(1, ${people}) g`,
    sql`insert into source_records (source, source_id, fields) select 'S' || (1 + g % 200), 'r' || g, '{}'::jsonb from generate_series(1, ${people * 2}) g`,
    sql`insert into record_links (source_record_id, person_id, method) select id, 'p-' || (1 + (id - 1) % ${people}), 'bench' from source_records`,
    sql`insert into care_relationships (person_id, organisation_id, team_id, practitioner_id, kind, reason)
        select 'p-' || g, 'org-' || (1 + g % 200), 'team-' || (1 + g % 200), 'pr-' || (1 + g % 200), 'network', 'bench' from generate_series(1, ${people}) g`,
    sql`insert into consent_directives (person_id, category, recipient_kind, recipient_id, purposes, decision, valid_until, withdrawn_at)
        select 'p-' || g, case when g % 3 = 0 then '*' else 'health' end, 'network', null, array['direct_care', 'care_coordination'],
               case when g % 5 = 0 then 'deny' else 'permit' end, case when g % 7 = 0 then now() - interval '1 day' end, case when g % 11 = 0 then now() end
        from generate_series(1, ${people}) g`,
    sql`insert into consent_directives (person_id, category, recipient_kind, recipient_id, purposes, decision)
        select 'p-' || g, 'criminal_justice', 'organisation', 'org-' || (1 + g % 200), array['direct_care'], 'deny' from generate_series(1, ${people}, 2) g`,
    sql`analyze`,
  ];
  const progress = createProgress('Building the bench data', steps.length);
  for (const [i, step] of steps.entries()) {
    await step.execute(db);
    progress.update(i + 1, 'tables');
  }
  progress.stop();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const { handle, cleanup } = await open();
try {
  const db = handle.db;
  await migrateToLatest(db);
  const t0 = Date.now();
  await build(db);
  const buildSeconds = (Date.now() - t0) / 1000;
  const user = {
    id: 'bench-user',
    username: 'bench',
    displayName: 'Bench',
    role: 'practitioner' as const,
    personId: null,
    practitionerId: 'pr-7',
    organisationId: 'org-7',
    teamId: 'team-7',
  };
  await db
    .insertInto('users')
    .values({
      id: user.id,
      username: 'bench',
      display_name: 'Bench',
      role: 'practitioner',
      password_hash: null,
      oidc_subject: null,
      person_id: null,
      practitioner_id: 'pr-7',
      organisation_id: 'org-7',
      locked_until: null,
      last_sign_in_at: null,
    })
    .execute();
  const actor: Actor = {
    userId: user.id,
    role: 'practitioner',
    personId: null,
    organisationId: 'org-7',
    teamId: 'team-7',
    practitionerId: 'pr-7',
  };
  const pick = (i: number) => `p-${1 + ((i * 7919) % people)}`;
  // Warm up, then time the decision: facts in one query plus the policy for every category.
  for (let i = 0; i < 200; i++) await loadAccessFacts(db, actor, pick(i));
  const decisionMs: number[] = [];
  let allowed = 0;
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    const facts = { ...(await loadAccessFacts(db, actor, pick(i + 1000))), inReviewQueue: false };
    for (const category of categories)
      if (decideCategory(actor, pick(i + 1000), category, 'direct_care', facts).scope === 'all') allowed += 1;
    decisionMs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  // The same, audited (what a page pays): decision plus the hash-chained audit append.
  const auditedMs: number[] = [];
  for (let i = 0; i < Math.min(samples, 2000); i++) {
    const started = process.hrtime.bigint();
    await decideRecordAccess(db, {
      actor: user,
      personId: pick(i + 50_000),
      categories: ['demographics', 'health'],
      purpose: 'direct_care',
      action: 'read',
    });
    auditedMs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  decisionMs.sort((a, b) => a - b);
  auditedMs.sort((a, b) => a - b);
  const counts = (
    await sql<{ persons: number; directives: number; relationships: number; links: number }>`
    select (select count(*) from persons) as persons, (select count(*) from consent_directives) as directives,
           (select count(*) from care_relationships) as relationships, (select count(*) from record_links) as links`.execute(db)
  ).rows[0];
  console.log(
    JSON.stringify({
      benchmark: 'access-decision',
      engine: handle.kind,
      ...counts,
      buildSeconds,
      samples,
      decisionForAllCategoriesMs: { p50: percentile(decisionMs, 50), p99: percentile(decisionMs, 99), max: decisionMs.at(-1) },
      decisionWithAuditMs: { p50: percentile(auditedMs, 50), p99: percentile(auditedMs, 99), max: auditedMs.at(-1) },
      shareOfCategoryDecisionsAllowingAll: allowed / (samples * categories.length),
    }),
  );
} finally {
  await cleanup();
}
