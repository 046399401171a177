#!/usr/bin/env node
// `joinery` / `npx joinery`: runs the TypeScript CLI on Node 24 (type stripping) with the heap
// limit a city's person index needs (heap-limit.mjs). If this process is an older system Node,
// the same command runs on the project's pinned Node 24.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHeapLimit } from './heap-limit.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'src', 'cli.ts');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  // Hands over to a child with the larger heap (and never returns) unless this process has it.
  await ensureHeapLimit(cli);
  await import(cli);
} else {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(`joinery needs Node 24 or later (this is ${process.version}); run npm install first`);
    process.exit(1);
  }
  await ensureHeapLimit(cli, pinned);
}
