// The consent module owns every fact that grants access. This test reads the source of every
// other module and fails if any of them inserts, updates or deletes those tables itself, by
// query builder, raw SQL or bulk insert: the only way in is a function exported by consent/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const GRANTING_TABLES = [
  'care_relationships',
  'consent_directives',
  'proxies',
  'lawful_bases',
  'break_glass_grants',
  'safeguarding_releases',
  // The person's other choices: objecting to case-finding, restrictions (which withhold), and what their informal network may know.
  'casefinding_objections',
  'rights_requests',
  'informal_network_members',
  // Membership of an integrated team: the team's relationships reach its current members.
  'team_memberships',
];
const SRC = join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every way the code base writes a table: Kysely's builders, SQL text, and bulkInsert. */
function writesTo(text: string, table: string): string[] {
  const patterns = [
    new RegExp(`(insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\\(\\s*['"\`]${table}(\\s+as\\s+\\w+)?['"\`]`, 'g'),
    new RegExp(`\\b(insert\\s+into|update|delete\\s+from|truncate(\\s+table)?|alter\\s+table)\\s+${table}\\b`, 'gi'),
    new RegExp(`bulkInsert\\([^)]*?['"\`]${table}['"\`]`, 'g'),
  ];
  return patterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[0]));
}

test('only the consent module writes the facts that grant access', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const path = relative(SRC, file);
    if (path.startsWith('consent/')) continue;
    const text = readFileSync(file, 'utf8');
    for (const table of GRANTING_TABLES) for (const hit of writesTo(text, table)) offenders.push(`${path}: ${hit}`);
  }
  assert.deepEqual(offenders, [], 'write these through the functions in src/consent/index.ts');
});

test('the ownership check recognises each way of writing a table', () => {
  // A check that could never fail checks nothing: each form below must be caught.
  const samples = [
    "await trx.insertInto('care_relationships').values({})",
    "db.updateTable('consent_directives as d').set({})",
    'sql`insert into proxies (person_id) values (1)`',
    'sql`update lawful_bases set ended_at = now()`',
    'sql`delete from break_glass_grants where id = 1`',
    "await bulkInsert(trx, 'care_relationships', columns, rows)",
  ];
  for (const sample of samples)
    assert.ok(
      GRANTING_TABLES.some((t) => writesTo(sample, t).length > 0),
      sample,
    );
  assert.equal(writesTo("db.selectFrom('care_relationships')", 'care_relationships').length, 0);
});

test('no other module imports consent internals: only consent/index.ts', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const path = relative(SRC, file);
    if (path.startsWith('consent/')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(?:\.\.?\/)+consent\/([a-z-]+)\.ts'/g)) {
      if (m[1] !== 'index') offenders.push(`${path}: consent/${m[1]}.ts`);
    }
  }
  assert.deepEqual(offenders, []);
});
