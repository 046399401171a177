// The house's walls, as a ratchet. Two rules the code is moving to: `platform/` is the ground
// floor and imports no domain module; every other module is entered only through its front door
// (`index.ts`), and a module without one yet is a listed exception, not a licence. Today's exceptions are listed in module-boundaries.allowed.json: a new
// crossing fails this test, and so does a listed one that has gone (take it off the list), so
// the list only shrinks. Tests beside a module's code may reach into that module only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const allowedFile = join(root, 'test', 'module-boundaries.allowed.json');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The module a file belongs to: its folder under src/ ('' for src/ itself). */
const moduleOf = (file: string): string => relative(src, file).split('/').slice(0, -1)[0] ?? '';

/** Every crossing that breaks a rule, as 'from-file -> imported-file: rule'. */
export function boundaryCrossings(): string[] {
  const modules = readdirSync(src).filter((name) => statSync(join(src, name)).isDirectory());
  const frontDoors = new Set(modules.filter((name) => {
    try {
      return statSync(join(src, name, 'index.ts')).isFile();
    } catch {
      return false;
    }
  }));
  const crossings: string[] = [];
  for (const file of sourceFiles(src)) {
    const from = moduleOf(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), match[1]!);
      if (!target.startsWith(src + '/')) continue;
      const to = moduleOf(target);
      if (to === from || to === '') continue;
      const edge = `${relative(src, file)} -> ${relative(src, target)}`;
      if (from === 'platform') crossings.push(`${edge}: platform imports a domain module`);
      else if (to !== 'platform' && relative(join(src, to), target) !== 'index.ts') {
        crossings.push(`${edge}: ${frontDoors.has(to) ? `past ${to}'s front door` : `into ${to}, which has no front door (index.ts) yet`}`);
      }
    }
  }
  return crossings.sort();
}

test('no new way past a front door, and platform takes on no new domain import', () => {
  const allowed: string[] = JSON.parse(readFileSync(allowedFile, 'utf8')) as string[];
  const found = boundaryCrossings();
  const added = found.filter((crossing) => !allowed.includes(crossing));
  const gone = allowed.filter((crossing) => !found.includes(crossing));
  assert.deepEqual(added, [], 'import the module\'s index.ts (export what you need from it; give the module one if it has none), or keep platform free of domain modules');
  assert.deepEqual(gone, [], 'these crossings are mended: take them off test/module-boundaries.allowed.json');
});

test('the rule finds a crossing when there is one', () => {
  // Guard against a check that passes because it reads nothing.
  const found = boundaryCrossings();
  assert.ok(found.some((crossing) => crossing.startsWith('platform/schema.ts -> ') && crossing.endsWith('platform imports a domain module')),
    'platform/schema.ts assembles every module\'s migrations today, and the check sees it');
});
