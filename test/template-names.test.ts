// Templates are found by name across several folders (the ui layer's and each module's views/), and
// nunjucks quietly takes the first folder holding a name: so each name must be in one folder only,
// and every name a route renders or a template extends, includes or imports must be found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { viewFolders } from '../src/platform/http.ts';

const src = join(import.meta.dirname, '..', 'src');

/** Every file under a folder, as paths. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Each template name and the folders (relative to src/) holding it. */
function foldersByName(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const folder of viewFolders)
    for (const file of filesUnder(folder).filter((f) => f.endsWith('.njk'))) {
      const name = relative(folder, file);
      found.set(name, [...(found.get(name) ?? []), relative(src, folder)]);
    }
  return found;
}

test('the ui layer and every module views folder are searched, and hold every template', () => {
  const folders = viewFolders.map((folder) => relative(src, folder));
  assert.equal(folders[0], join('ui', 'views'), 'the ui layer is searched first');
  const existing = readdirSync(src)
    .map((name) => join(name, 'views'))
    .filter((folder) => existsSync(join(src, folder)));
  assert.deepEqual([...folders].sort(), existing.sort());
  const outside = filesUnder(src)
    .filter((file) => file.endsWith('.njk'))
    .filter((file) => !viewFolders.some((folder) => file.startsWith(folder + '/')))
    .map((file) => relative(src, file));
  assert.deepEqual(outside, [], 'a template outside a views folder is never found');
});

test('no template name is in two folders (nunjucks would silently take the first)', () => {
  const twice = [...foldersByName()].filter(([, folders]) => folders.length > 1).map(([name, folders]) => `${name}: ${folders.join(', ')}`);
  assert.deepEqual(twice, []);
});

test('every template a route renders or a template uses is found', () => {
  const names = foldersByName();
  const missing: string[] = [];
  for (const file of filesUnder(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')))
    for (const [, name] of readFileSync(file, 'utf8').matchAll(/['"`]([a-z0-9-]+\.njk)['"`]/g))
      if (!names.has(name!)) missing.push(`${relative(src, file)} renders ${name}`);
  for (const folder of viewFolders)
    for (const file of filesUnder(folder).filter((f) => f.endsWith('.njk')))
      for (const [, name] of readFileSync(file, 'utf8').matchAll(/\{%-?\s*(?:extends|include|import|from)\s+["']([^"']+)["']/g))
        if (!name!.startsWith('govuk/') && !names.has(name!)) missing.push(`${relative(src, file)} uses ${name}`);
  assert.deepEqual(missing, []);
  assert.ok(names.size > 0);
});
