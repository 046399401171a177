// One error model (issue 23): every refusal in src/ extends `Refusal` (platform/refused.ts), so the
// web, JSON API, ORUK and FHIR error handlers answer it once with its own status and message, and
// a refusal escaping a route is a 4xx answer, never a 500. What stays a plain Error is a failure
// (start-up, configuration, database, a sender or a batch giving up), listed here by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Refusal, RefusedInput, NotAllowed } from '../src/platform/refused.ts';
import { HttpError } from '../src/platform/http.ts';
import { asFhirError, FhirError } from '../src/fhir/outcome.ts';

/** Failures, not refusals: nothing the user can change by asking differently. */
const FAILURES = new Set([
  'ConfigError',
  'StartupError',
  'DatabaseOpenError',
  'MigrationError',
  'FolderInUse',
  'SendFailure',
  'BatchAbandoned',
  'CsvSyntaxError',
  'DatabaseInUseError',
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Every `class A extends B` in src/, as A → B. */
function classParents(): Map<string, { parent: string; file: string }> {
  const parents = new Map<string, { parent: string; file: string }>();
  for (const file of sourceFiles(path.resolve(import.meta.dirname, '..', 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bclass\s+(\w+)\s+extends\s+([\w.]+)/g)) {
      parents.set(m[1]!, { parent: m[2]!, file: path.relative(process.cwd(), file) });
    }
  }
  return parents;
}

test('every error class in src/ is a refusal (extends Refusal) or a listed failure', () => {
  const parents = classParents();
  const errorClasses = [...parents.keys()].filter((name) => {
    // Follow the chain up to a class not declared in src/.
    let at = name;
    for (let i = 0; i < 20 && parents.has(at); i++) at = parents.get(at)!.parent;
    return at === 'Error';
  });
  assert.ok(errorClasses.length > 30, `found ${errorClasses.length} error classes: the scan is reading src/`);
  // A class is a refusal or a failure if it, or a class it extends, is Refusal or a listed failure.
  const stray = errorClasses.filter((name) => {
    let at = name;
    while (parents.has(at) && at !== 'Refusal' && !FAILURES.has(at)) at = parents.get(at)!.parent;
    return at !== 'Refusal' && !FAILURES.has(at);
  });
  assert.deepEqual(
    stray.map((name) => `${name} (${parents.get(name)!.file})`),
    [],
    'a refusal must extend Refusal (or RefusedInput / NotAllowed), or be listed here as a failure',
  );
  for (const name of FAILURES) assert.ok(parents.has(name), `${name} is listed as a failure but no longer exists: take it off the list`);
});

test('a refusal carries its status (also as Fastify reads it) and its class name, whatever it extends', () => {
  const cases: Array<[Refusal, number]> = [
    [new RefusedInput(422, 'The plan needs a goal'), 422],
    [new NotAllowed('Your role does not allow this'), 403],
    [new HttpError(404, 'Page not found'), 404],
    [new FhirError(412, 'conflict', 'the resource has changed'), 412],
  ];
  for (const [refusal, status] of cases) {
    assert.ok(refusal instanceof Refusal);
    assert.equal(refusal.status, status);
    assert.equal(refusal.statusCode, status);
  }
  class ListingRefused extends RefusedInput {}
  assert.equal(new ListingRefused(400, 'x').name, 'ListingRefused');
});

test('under /fhir any refusal becomes an OperationOutcome issue of the matching kind', () => {
  const kinds: Array<[Refusal, number, string]> = [
    [new RefusedInput(400, 'bad date'), 400, 'invalid'],
    [new NotAllowed('no relationship'), 403, 'forbidden'],
    [new RefusedInput(404, 'no such service'), 404, 'not-found'],
    [new RefusedInput(409, 'already exists'), 409, 'conflict'],
    [new RefusedInput(422, 'a rule of the domain'), 422, 'business-rule'],
    [new HttpError(429, 'too many'), 429, 'throttled'],
  ];
  for (const [refusal, status, code] of kinds) {
    const fhir = asFhirError(refusal);
    assert.equal(fhir.status, status);
    assert.equal(fhir.code, code);
    assert.equal(fhir.message, refusal.message);
  }
  const own = new FhirError(400, 'structure', 'not a resource', ['Patient.name']);
  assert.equal(asFhirError(own), own, 'a FHIR refusal keeps its own issue code and expression');
});
