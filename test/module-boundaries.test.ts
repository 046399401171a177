// The house's walls. Two rules, with no exceptions list: `platform/` is the ground floor and imports
// no domain module; every other module is entered only through its front door (`index.ts`), by
// other modules and by the composition root beside them in src/ (app.ts, cli.ts, main.ts and the
// table and migration registry, schema.ts, which reads each module's tables from its front door).
// Tests beside a module's code may reach into that module only.
//
// And no new loops between modules: modules are the nodes, an import (type-only ones too) from a
// file of one module to a file of another is an edge, and every loop (strongly connected set of
// modules) must be one of today's, listed below; a loop that shrinks or breaks is taken off the
// list, so it too only gets better.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/**
 * Today's loops between modules, each as its modules in alphabetical order. What would break the
 * one left (README "Layout" and issue #23):
 * - auth sits inside it. Every module names `SignedInUser` from auth, while auth calls up into
 *   consent (NHS login confirms an identity), interop (ending an account revokes its API tokens),
 *   notify (account emails; notify reads contact details back from auth) and people. A principal
 *   type below the modules, API tokens kept by auth and contact details owned by one side would
 *   take auth out.
 * - people reads consent's categories, linkage's person index, records' about-me and budgets'
 *   costs for the person page; consent reads people's held fields and budgets for its export and
 *   correction pages. Those pages are use cases one layer up (they read several modules).
 * - place's locality pages (locality-view.ts, routes.ts) show budgets' and insight's aggregates,
 *   while referrals asks place for localities and insight counts place's residents: the locality
 *   pages belong one layer up, leaving place as geography every module may read.
 * - fhir and interop import each other (resource definitions one way, tokens and Patient fields
 *   the other), and fhir writes through plans, records, referrals and directory; the FHIR API is
 *   a layer over the modules, and the API tokens would sit in auth.
 */
const KNOWN_CYCLES: string[][] = [
  [
    'auth',
    'budgets',
    'consent',
    'directory',
    'fhir',
    'insight',
    'interop',
    'linkage',
    'notify',
    'people',
    'place',
    'plans',
    'records',
    'referrals',
  ],
];

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

test('no new loop between modules, and a loop that has shrunk is taken off the list', () => {
  const found = cyclesOf(moduleGraph()).map((cycle) => cycle.join(', '));
  const known = KNOWN_CYCLES.map((cycle) => [...cycle].sort().join(', '));
  assert.deepEqual(
    found.filter((cycle) => !known.includes(cycle)),
    [],
    'a new loop between modules (or a known one grown): import the other way round, or move what both need to the module that owns it',
  );
  assert.deepEqual(
    known.filter((cycle) => !found.includes(cycle)),
    [],
    'this loop has shrunk or gone: update KNOWN_CYCLES in this file',
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
