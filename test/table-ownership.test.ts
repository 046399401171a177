// Each module owns its tables, as a ratchet (issue #23). A table's owner is the module whose
// migrations create it; other modules reach it only through the owner's functions (a use case,
// or a query fragment the owner exports for a caller to embed). Today's crossings, where a module
// names another module's table in a Kysely call or in SQL, are listed with their counts in
// table-ownership.allowed.json: a new crossing fails this test, and so does a listed one that has
// gone (lower its count or take it off), so the list only shrinks. ARCHITECTURE.md's table of
// owners is checked against the migrations too. Regenerate both after mending crossings:
//   UPDATE_ALLOWLIST=1 node --test test/table-ownership.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const allowedFile = join(root, 'test', 'table-ownership.allowed.json');
const architectureFile = join(root, 'ARCHITECTURE.md');
const update = process.env.UPDATE_ALLOWLIST === '1';

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The module a file belongs to: its folder under src/ ('app' for src/app.ts, cli.ts, main.ts). */
const moduleOf = (file: string): string => relative(src, file).split('/').slice(0, -1)[0] ?? 'app';

/** SQL with its comments (-- to end of line, and block comments) taken out. */
const withoutSqlComments = (text: string): string => text.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');

/** Kysely methods whose first argument names a table ('persons', 'persons as p', or a list of them). */
const tableMethods = new Set([
  'selectFrom',
  'insertInto',
  'updateTable',
  'deleteFrom',
  'mergeInto',
  'replaceInto',
  'innerJoin',
  'leftJoin',
  'rightJoin',
  'fullJoin',
  'innerJoinLateral',
  'leftJoinLateral',
  'using',
  'table',
]);

/** A literal not tagged `sql` is read as SQL only when it starts as SQL does or holds a subquery, so English is not. */
const looksLikeSql = /^\s*(?:select|insert|update|delete|with|from|join|left join|inner join|create|alter|truncate|copy)\b|\(\s*select\s/;

interface ParsedFile {
  module: string;
  file: string;
  /** Tables named by Kysely calls (string literal arguments). */
  kyselyTables: string[];
  /** The SQL text of tagged `sql` templates, `sql.raw` arguments and SQL-looking literals, comments removed. */
  sqlTexts: string[];
}

function parse(file: string, text = readFileSync(file, 'utf8')): ParsedFile {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const kyselyTables: string[] = [];
  const sqlTexts: string[] = [];
  const templateText = (node: ts.TemplateLiteral): string =>
    ts.isNoSubstitutionTemplateLiteral(node)
      ? node.text
      : // A substitution stands in for something unknown: a space keeps words on either side apart.
        [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join(' ${} ');
  const tableNames = (argument: ts.Expression): string[] => {
    if (ts.isStringLiteral(argument) || ts.isNoSubstitutionTemplateLiteral(argument)) return [argument.text.trim().split(/\s+/)[0]!];
    if (ts.isArrayLiteralExpression(argument)) return argument.elements.flatMap((element) => tableNames(element as ts.Expression));
    return [];
  };
  const isSqlTag = (tag: ts.Expression): boolean =>
    (ts.isIdentifier(tag) && tag.text === 'sql') || (ts.isPropertyAccessExpression(tag) && tag.name.text === 'sql');
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.arguments.length > 0) {
      const method = node.expression.name.text;
      const receiver = node.expression.expression;
      if (method === 'table' && !(ts.isIdentifier(receiver) && receiver.text === 'sql')) {
        // only sql.table('x') names a table; other .table(...) calls are someone else's
      } else if (method === 'using' && node.arguments.length !== 1) {
        // .using(...) with more than one argument is not a delete's USING list
      } else if (tableMethods.has(method)) {
        kyselyTables.push(...tableNames(node.arguments[0]!));
      }
    }
    if (ts.isTaggedTemplateExpression(node) && isSqlTag(node.tag)) {
      sqlTexts.push(withoutSqlComments(templateText(node.template)));
    } else if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) &&
      !ts.isTaggedTemplateExpression(node.parent)
    ) {
      // A literal handed to sql.raw is SQL; any other literal only when it reads as SQL from its start.
      const whole = ts.isTemplateExpression(node) ? templateText(node) : node.text;
      const raw =
        ts.isCallExpression(node.parent) &&
        ts.isPropertyAccessExpression(node.parent.expression) &&
        node.parent.expression.name.text === 'raw' &&
        ts.isIdentifier(node.parent.expression.expression) &&
        node.parent.expression.expression.text === 'sql';
      if (raw || looksLikeSql.test(whole)) sqlTexts.push(withoutSqlComments(whole));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { module: moduleOf(file), file: relative(src, file), kyselyTables, sqlTexts };
}

const parsed = (() => {
  let files: ParsedFile[] | undefined;
  return (): ParsedFile[] => (files ??= sourceFiles(src).map((file) => parse(file)));
})();

/** Each table and the module whose migrations create it; problems where a table has none or two. */
export function tableOwners(): { owners: Map<string, string>; problems: string[] } {
  const creators = new Map<string, Set<string>>();
  const gone = new Set<string>();
  for (const { module, sqlTexts } of parsed()) {
    for (const sqlText of sqlTexts) {
      for (const match of sqlText.matchAll(/\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?"?([a-z_][a-z_0-9]*)"?/g)) {
        const set = creators.get(match[1]!) ?? new Set<string>();
        set.add(module);
        creators.set(match[1]!, set);
      }
      for (const match of sqlText.matchAll(/\balter\s+table\s+(?:if\s+exists\s+)?([a-z_][a-z_0-9]*)\s+rename\s+to\s+([a-z_][a-z_0-9]*)/g)) {
        gone.add(match[1]!);
        creators.set(match[2]!, new Set([module]));
      }
      for (const match of sqlText.matchAll(/\bdrop\s+table\s+(?:if\s+exists\s+)?([a-z_][a-z_0-9]*)/g)) gone.add(match[1]!);
    }
  }
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const [table, modules] of creators) {
    if (gone.has(table)) continue;
    if (modules.size > 1) problems.push(`${table} is created by more than one module: ${[...modules].sort().join(', ')}`);
    owners.set(table, [...modules][0]!);
  }
  // Every table in the Kysely Database interface must be created by a migration, by the module
  // that declares it.
  const schemaText = readFileSync(join(src, 'schema.ts'), 'utf8');
  const interfaces =
    /interface Database extends ([^{]+)\{/
      .exec(schemaText)?.[1]!
      .split(',')
      .map((name) => name.trim()) ?? [];
  for (const { module, file } of parsed()) {
    const text = readFileSync(join(src, file), 'utf8');
    for (const name of interfaces) {
      const body = new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`).exec(text)?.[1];
      if (body === undefined) continue;
      for (const match of body.matchAll(/^ {2}([a-z_][a-z_0-9]*)\s*:/gm)) {
        const table = match[1]!;
        const owner = owners.get(table);
        if (owner === undefined) problems.push(`${table} (in ${name}) is created by no migration`);
        else if (owner !== module) problems.push(`${table} is declared by ${module} (${name}) but created by ${owner}'s migrations`);
      }
    }
  }
  return { owners: new Map([...owners].sort(([a], [b]) => a.localeCompare(b))), problems };
}

/** Tables named in SQL text: after from/join/into/update/table/using, and each in a from list. */
function sqlTables(sqlText: string): string[] {
  const found: string[] = [];
  const ident = '"?([a-z_][a-z_0-9]*)"?(?![.(a-z_0-9])';
  for (const match of sqlText.matchAll(
    new RegExp(
      `\\b(?:join|into|update|truncate|alter\\s+table|lock\\s+table|copy)\\s+(?:only\\s+|if\\s+exists\\s+|lateral\\s+)?${ident}`,
      'gi',
    ),
  ))
    found.push(match[1]!.toLowerCase());
  // from a [as] x, b [as] y: every item of the list ('extract(year from col)' names a column, which the ident rule skips as it is followed by '.' or ')'
  for (const match of sqlText.matchAll(
    /\b(?:from|using)\s+((?:"?[a-z_][a-z_0-9]*"?(?:\s+(?:as\s+)?(?!where|join|left|right|inner|full|cross|on|group|order|limit|union|except|intersect|returning|set|natural|lateral)[a-z_][a-z_0-9]*)?\s*,\s*)*"?[a-z_][a-z_0-9]*"?)(?![.(a-z_0-9])/gi,
  )) {
    for (const item of match[1]!.split(',')) found.push(item.trim().split(/\s+/)[0]!.replaceAll('"', '').toLowerCase());
  }
  return found;
}

/** Every place a module names another module's table, counted as 'file -> owner.table': count. */
export function tableCrossings(owners: Map<string, string>, files: ParsedFile[] = parsed()): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { module, file, kyselyTables, sqlTexts } of files) {
    const named = [...kyselyTables, ...sqlTexts.flatMap(sqlTables)];
    for (const table of named) {
      const owner = owners.get(table);
      if (owner === undefined || owner === module) continue;
      const key = `${file} -> ${owner}.${table}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

const startMarker = '<!-- table owners: generated by UPDATE_ALLOWLIST=1 node --test test/table-ownership.test.ts -->';
const endMarker = '<!-- end of table owners -->';

/** ARCHITECTURE.md's table of owners, as the migrations say it should read. */
function ownersTable(owners: Map<string, string>): string {
  const byModule = new Map<string, string[]>();
  for (const [table, module] of owners) byModule.set(module, [...(byModule.get(module) ?? []), table]);
  const rows = [...byModule]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([module, tables]) => `| ${module} | ${tables.map((t) => `\`${t}\``).join(', ')} |`);
  return [startMarker, '| Module | Tables it owns |', '| --- | --- |', ...rows, endMarker].join('\n');
}

test('every table has exactly one owner, the module whose migrations create it', () => {
  const { owners, problems } = tableOwners();
  assert.deepEqual(problems, []);
  assert.ok(
    owners.size > 50 && owners.get('persons') === 'people' && owners.get('referrals') === 'referrals',
    'the migrations are read (persons belongs to people, referrals to referrals)',
  );
});

test("ARCHITECTURE.md names each table's owner as the migrations do", () => {
  const { owners } = tableOwners();
  const text = readFileSync(architectureFile, 'utf8');
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  assert.ok(start >= 0 && end > start, `ARCHITECTURE.md holds the table of owners between ${startMarker} and ${endMarker}`);
  const current = text.slice(start, end + endMarker.length);
  const wanted = ownersTable(owners);
  if (update && current !== wanted) writeFileSync(architectureFile, text.slice(0, start) + wanted + text.slice(end + endMarker.length));
  else
    assert.equal(current, wanted, "ARCHITECTURE.md's table of owners disagrees with the migrations: regenerate it with UPDATE_ALLOWLIST=1");
});

test("no new use of another module's table, and none listed that has gone", (t) => {
  const { owners } = tableOwners();
  const found = tableCrossings(owners);
  const byModule: Record<string, number> = {};
  for (const [key, count] of Object.entries(found)) {
    const module = key.split('/')[0]!.endsWith('.ts') ? 'app' : key.split('/')[0]!;
    byModule[module] = (byModule[module] ?? 0) + count;
  }
  t.diagnostic(
    `${Object.values(found).reduce((a, b) => a + b, 0)} crossings: ${Object.entries(byModule)
      .sort()
      .map(([m, n]) => `${m} ${n}`)
      .join(', ')}`,
  );
  if (update) {
    writeFileSync(allowedFile, JSON.stringify(found, null, 1) + '\n');
    return;
  }
  const allowed = JSON.parse(readFileSync(allowedFile, 'utf8')) as Record<string, number>;
  const added = Object.entries(found)
    .filter(([key, count]) => count > (allowed[key] ?? 0))
    .map(([key, count]) => `${key}: ${count} (listed ${allowed[key] ?? 0})`);
  const gone = Object.entries(allowed)
    .filter(([key, count]) => (found[key] ?? 0) < count)
    .map(([key, count]) => `${key}: ${found[key] ?? 0} (listed ${count})`);
  assert.deepEqual(
    added,
    [],
    "go through the owning module's index.ts: ask it for a use case or a query fragment to embed (ARCHITECTURE.md)",
  );
  assert.deepEqual(gone, [], 'these crossings are mended: regenerate test/table-ownership.allowed.json with UPDATE_ALLOWLIST=1');
});

test('the check sees a crossing when there is one, and not English in comments', () => {
  const { owners } = tableOwners();
  const tables = sqlTables(
    withoutSqlComments(
      'select p.id from persons p, households h join referrals r on true -- from services\nwhere extract(year from p.born) > 1 /* join teams */',
    ),
  );
  assert.deepEqual(tables.sort(), ['households', 'persons', 'referrals']);
  // A file in the demo loader's folder naming other modules' tables (as its seeds once did), so the
  // check is shown to work however few real crossings are left.
  const seed = parse(
    join(src, 'demo', 'example-seed.ts'),
    "await sql`select n.person_id from needs n join practitioners pr on true`.execute(db);\nawait db.selectFrom('persons').selectAll().execute();\nawait db.selectFrom('places').selectAll().execute();",
  );
  assert.deepEqual(
    tableCrossings(owners, [seed]),
    {
      'demo/example-seed.ts -> network.practitioners': 1,
      'demo/example-seed.ts -> people.needs': 1,
      'demo/example-seed.ts -> people.persons': 1,
      'demo/example-seed.ts -> place.places': 1,
    },
    "the check sees a module naming other modules' tables, in SQL and in Kysely calls",
  );
});
