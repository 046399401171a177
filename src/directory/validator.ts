// Validates directory JSON against the official Open Referral UK (HSDS 3 UK profile) JSON
// schemas shipped in ../shared/data/schemas/oruk (never fetched at run time). The folder can be
// moved with JOINERY_ORUK_SCHEMAS.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ORUK_SCHEMA_DIR = process.env.JOINERY_ORUK_SCHEMAS || path.resolve(repoRoot, '..', 'shared', 'data', 'schemas', 'oruk');
/** The version of the standard, as the shipped OpenAPI description names it. */
export const ORUK_PROFILE_VERSION = 'Open Referral UK profile of HSDS 3.0';

/** The schema names ($id) the OpenAPI description refers to. */
const UPSTREAM = 'https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/';

export type OrukSchemaName =
  | 'compiled/service'
  | 'compiled/service_list'
  | 'compiled/service_package'
  | 'compiled/organization'
  | 'compiled/organization_list'
  | 'compiled/service_at_location'
  | 'compiled/service_at_location_list'
  | 'taxonomy'
  | 'taxonomy_term'
  | 'phone'
  | 'organization'
  | 'location'
  | 'service';

let ajv: Ajv2020 | undefined;

/**
 * A link people can follow safely: http or https with a host. The ORUK schemas' "uri" fields are
 * all web links (a service's url, an organisation's website and logo, schedule and taxonomy
 * links), shown as links on directory pages, so javascript:, data: and the like are refused.
 */
export function isWebLink(value: string): boolean {
  if (!/^https?:\/\/[^\s/?#]+\S*$/i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function readSchema(relative: string): Record<string, unknown> {
  const file = path.join(ORUK_SCHEMA_DIR, 'schema', `${relative}.json`);
  if (!fs.existsSync(file)) throw new Error(`the Open Referral UK schemas are not at ${ORUK_SCHEMA_DIR} (set JOINERY_ORUK_SCHEMAS)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function instance(): Ajv2020 {
  if (ajv) return ajv;
  // The schemas carry Frictionless Data keywords (constraints, core, example...): not strict.
  const created = new Ajv2020({ strict: false, allErrors: false });
  addFormats(created);
  created.addFormat('uri', { type: 'string', validate: isWebLink });
  // Every schema, named as the OpenAPI description names it, so relative $refs resolve offline.
  const names = ['schema', 'schema/compiled'].flatMap((folder) => {
    const dir = path.join(ORUK_SCHEMA_DIR, folder);
    if (!fs.existsSync(dir)) throw new Error(`the Open Referral UK schemas are not at ${ORUK_SCHEMA_DIR} (set JOINERY_ORUK_SCHEMAS)`);
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json') && f !== 'openapi.json')
      .sort()
      .map((f) => `${folder === 'schema' ? '' : 'compiled/'}${f.slice(0, -'.json'.length)}`);
  });
  for (const name of names) created.addSchema({ ...readSchema(name), $id: `${UPSTREAM}${name}.json` });
  ajv = created;
  return created;
}

export function orukValidator(name: OrukSchemaName): ValidateFunction {
  const validate = instance().getSchema(`${UPSTREAM}${name}.json`);
  if (!validate) throw new Error(`no ORUK schema ${name}`);
  return validate;
}

/** "services[2].schedules[0].opens_at must match format \"time\"": one line a person can act on. */
export function describeSchemaError(error: ErrorObject, root = ''): string {
  const where =
    (
      root +
      error.instancePath
        .split('/')
        .slice(1)
        .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`))
        .join('')
    ).replace(/^\./, '') || '(top level)';
  if (error.keyword === 'required') return `${where}: ${(error.params as { missingProperty: string }).missingProperty} is required`;
  if (error.keyword === 'format' && (error.params as { format: string }).format === 'uri')
    return `${where} must be a web address starting http:// or https://`;
  if (error.keyword === 'enum')
    return `${where} must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where} ${error.message ?? 'is not valid'}`;
}

/** Errors of `value` against an ORUK schema, each on one line; empty when it validates. */
export function orukErrors(name: OrukSchemaName, value: unknown, root = ''): string[] {
  const validate = orukValidator(name);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => describeSchemaError(e, root));
}
