// The house's walls. Two rules, with no exceptions list: `platform/` is the ground floor and imports
// no domain module; every other module is entered only through its front door (`index.ts`), by
// other modules and by the composition root beside them in src/ (app.ts, cli.ts, main.ts and the
// table and migration registry, schema.ts, which reads each module's tables from its front door).
// Tests beside a module's code may reach into that module only.
//
// And no loop between modules: modules are the nodes, an import (type-only ones too) from a file
// of one module to a file of another is an edge, and the graph must have no loop (strongly
// connected set of modules), so the modules stand in layers, each importing only those below.
// Today's layers, bottom up (a module's layer is one more than the highest it imports):
//   audit, network, synth, ui < people < auth, place < directory, linkage, notify < consent, interop
//   < budgets, records < referrals < plans < fhir, insight, web < demo
// A module lower down that needs something of one above is handed it by the composition root
// (src/app.ts, src/cli.ts) through a port it declares (auth/ports.ts, linkage's
// IdentityReviewAccess, directory's typical waits, interop's FromFhir).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function sourceFiles(directory: string, withTests = false): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path, withTests);
    return name.endsWith('.ts') && (withTests || !name.endsWith('.test.ts')) ? [path] : [];
  });
}

/** The module a file belongs to: its folder under src/ ('' for src/ itself: app.ts, cli.ts, main.ts). */
const moduleOf = (file: string): string => relative(src, file).split('/').slice(0, -1)[0] ?? '';

/** Every import between two modules (or from src/ itself): importing file, imported file, their modules. */
function imports(withTests = false): Array<{ file: string; target: string; from: string; to: string }> {
  const found: Array<{ file: string; target: string; from: string; to: string }> = [];
  for (const file of sourceFiles(src, withTests)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.{1,2}\/[^']+)'|\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g,
    )) {
      const target = resolve(dirname(file), (match[1] ?? match[2])!);
      if (!target.startsWith(src + '/')) continue;
      const from = moduleOf(file);
      const to = moduleOf(target);
      if (to !== from && to !== '') found.push({ file, target, from, to });
    }
  }
  return found;
}

/** Every crossing that breaks a rule, as 'from-file -> imported-file: rule'. */
export function boundaryCrossings(): string[] {
  const crossings: string[] = [];
  // Tests beside a module's code count too: they reach into their own module only (loops are counted without them).
  for (const { file, target, from, to } of imports(true)) {
    const edge = `${relative(src, file)} -> ${relative(src, target)}`;
    if (from === 'platform') crossings.push(`${edge}: platform imports a domain module`);
    else if (to !== 'platform' && relative(join(src, to), target) !== 'index.ts') {
      crossings.push(
        `${edge}: ${existsSync(join(src, to, 'index.ts')) ? `past ${to}'s front door` : `into ${to}, which has no front door (index.ts)`}`,
      );
    }
  }
  return crossings.sort();
}

/** Module → the modules its files import (src/ itself, the composition root, left out). */
export function moduleGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of imports()) {
    if (from === '') continue;
    if (!graph.has(from)) graph.set(from, new Set());
    if (!graph.has(to)) graph.set(to, new Set());
    graph.get(from)!.add(to);
  }
  return graph;
}

/** The loops of a graph: its strongly connected components of two or more nodes (Tarjan), each sorted. */
export function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

test('no way past a front door, and platform imports no domain module', () => {
  assert.deepEqual(
    boundaryCrossings(),
    [],
    "import the module's index.ts (export what you need from it; give the module one if it has none), or keep platform free of domain modules",
  );
});

test('no loop between modules: they stand in layers', () => {
  assert.deepEqual(
    cyclesOf(moduleGraph()).map((cycle) => cycle.join(', ')),
    [],
    'a loop between modules: import the other way round, move what both need to the lower one, or have the composition root hand the lower one a port',
  );
});

test('the rules find a crossing and a loop when there is one', () => {
  // Guard against checks that pass because they read nothing.
  const graph = moduleGraph();
  assert.ok(graph.get('consent')?.has('audit') && graph.get('records')?.has('consent'), 'the graph sees imports between modules');
  assert.deepEqual(
    cyclesOf(
      new Map([
        ['a', new Set(['b'])],
        ['b', new Set(['c'])],
        ['c', new Set(['a'])],
        ['d', new Set(['a'])],
      ]),
    ),
    [['a', 'b', 'c']],
  );
  assert.deepEqual(
    cyclesOf(
      new Map([
        ['a', new Set(['b'])],
        ['b', new Set<string>()],
      ]),
    ),
    [],
  );
});
