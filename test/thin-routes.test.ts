// Routes are thin: a file that registers routes parses the request, calls its module's use cases
// (which decide access and hold the SQL) and builds the view; it writes no query itself. Checked
// on the source, so a query slipped into a route fails here rather than in review. The one
// exception is the health check in platform/http.ts, whose whole job is to ask the database
// whether it answers (`select 1`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'src');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** A file registers routes when it calls get/post/put/patch/delete/route on a Fastify instance (app, api, scoped...). */
const REGISTERS_ROUTES = /\b(?:app|api|instance|fastify|scoped|router)\.(?:get|post|put|patch|delete|all|head|options|route)\(/;
/** What a query looks like in this code base: Kysely's builders, or raw `sql` templates. */
const QUERY = /\.(?:selectFrom|insertInto|updateTable|deleteFrom)\(|\bsql(?:<[^`]*>)?`/g;

const HEALTH_CHECK = { file: 'platform/http.ts', text: 'sql`select 1`' };

export function queriesInRoutes(): string[] {
  const found: string[] = [];
  for (const path of sourceFiles(src)) {
    const text = readFileSync(path, 'utf8');
    if (!REGISTERS_ROUTES.test(text)) continue;
    const file = relative(src, path);
    for (const match of text.matchAll(QUERY)) {
      if (file === HEALTH_CHECK.file && text.startsWith(HEALTH_CHECK.text, match.index)) continue;
      const line = text.slice(0, match.index).split('\n').length;
      found.push(`${file}:${line}: ${match[0]}`);
    }
  }
  return found.sort();
}

test('no file that registers routes writes a query: the SQL is in its module’s use cases', () => {
  assert.deepEqual(queriesInRoutes(), [], 'move these queries into a function of the module that owns the table');
});

test('the check finds a query in a route file when there is one', () => {
  const route = "app.get('/x', async () => db.selectFrom('persons').selectAll().execute());";
  assert.ok(REGISTERS_ROUTES.test(route));
  assert.equal([...route.matchAll(QUERY)].length, 1);
  assert.equal([...'await sql<{ n: number }>`select count(*) from t`.execute(db)'.matchAll(QUERY)].length, 1);
});
