// The README is part of the product: its configuration table must cover every variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { configDocumentation } from '../src/platform/config.ts';

test('the README documents every configuration variable and both commands', () => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const variable of configDocumentation) assert.ok(readme.includes(`| \`${variable.name}\` |`), `README lacks ${variable.name}`);
  assert.ok(readme.includes('npm install && npm start'));
  assert.ok(readme.includes('npm test'));
});
