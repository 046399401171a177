// OpenAPI 3.1 description of Joinery's machine APIs: the FHIR R4 API (/fhir), the import,
// mapping and webhook JSON API (/api), and a pointer to the Open Referral UK API (/oruk).
// The FHIR resources come from the fhir module's definitions, handed in (the fhir module reads
// this one, so this one does not read it back).
import { columnMappingRequest } from './import.ts';
import { openApiSchemaOf } from '../platform/forms.ts';
import { outboxTopics, webhookRequest } from './outbox.ts';

const fhirJson = (ref = '#/components/schemas/Resource') => ({ 'application/fhir+json': { schema: { $ref: ref } } });
const outcome = { description: 'An OperationOutcome saying what is wrong', content: fhirJson('#/components/schemas/OperationOutcome') };
// 413: a resource over 1 MiB or a Bundle over 10 MiB or 100 entries; 429: past the user's requests per minute.
const errors = { 400: outcome, 401: outcome, 403: outcome, 404: outcome, 413: outcome, 429: outcome };
const jsonError = { description: 'What is wrong', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

/** A FHIR record of which something sent was not kept, as the import's report names it. */
const notKeptRecord = {
  type: 'object',
  properties: {
    line: { type: 'integer', description: 'The input line (NDJSON) or entry number (Bundle)' },
    recordId: { type: 'string' },
    elements: { type: 'array', items: { type: 'string' }, description: 'e.g. Patient.gender, Patient.photo[0].data' },
    reason: { type: ['string', 'null'], description: 'Why, when it is more than "Joinery does not hold them"' },
  },
};

/** What the document reads of a FHIR resource definition (fhir/resources.ts, ResourceDef). */
export interface OpenApiResourceDef {
  type: string;
  paramTypes: Readonly<Record<string, string>>;
  includes?: Readonly<Record<string, unknown>>;
  interactions: readonly string[];
  writes: { create: string; update: string };
}

export function openApiDocument(server: string, resourceDefs: Readonly<Record<string, OpenApiResourceDef>>): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/fhir/metadata': {
      get: {
        tags: ['FHIR'],
        summary: 'CapabilityStatement: resources, interactions and search parameters',
        security: [],
        responses: { 200: { description: 'CapabilityStatement', content: fhirJson() } },
      },
    },
    '/fhir': {
      post: {
        tags: ['FHIR'],
        summary: 'A transaction (all or nothing) or batch Bundle',
        requestBody: { required: true, content: fhirJson('#/components/schemas/Bundle') },
        responses: {
          200: { description: 'transaction-response or batch-response Bundle', content: fhirJson('#/components/schemas/Bundle') },
          ...errors,
          412: outcome,
        },
      },
    },
  };
  for (const def of Object.values(resourceDefs)) {
    const params = Object.entries(def.paramTypes).map(([name, type]) => ({
      name,
      in: 'query',
      required: false,
      schema: { type: 'string' },
      description: `FHIR ${type} search parameter${type === 'date' ? ' (prefixes eq, ne, gt, lt, ge, le, sa, eb)' : type === 'token' ? ' (system|code or code)' : type === 'reference' ? ' (Type/id or id)' : ''}`,
    }));
    params.push(
      { name: '_count', in: 'query', required: false, schema: { type: 'string' }, description: 'Page size, 0-500 (default 20)' },
      {
        name: '_offset',
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description: "Paging offset; follow the Bundle's next link",
      },
    );
    if (def.includes)
      params.push({
        name: '_include',
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description: `One of ${Object.keys(def.includes)
          .map((p) => `${def.type}:${p}`)
          .join(', ')}`,
      });
    const typePath: Record<string, unknown> = {
      get: {
        tags: ['FHIR'],
        summary: `Search ${def.type}`,
        parameters: params,
        responses: {
          200: { description: "searchset Bundle, only what the token's user may see", content: fhirJson('#/components/schemas/Bundle') },
          ...errors,
        },
      },
    };
    if (def.interactions.includes('create')) {
      typePath.post = {
        tags: ['FHIR'],
        summary: `Create ${def.type}`,
        description: def.writes.create,
        requestBody: { required: true, content: fhirJson() },
        responses: { 201: { description: 'Created', content: fhirJson() }, ...errors, 422: outcome },
      };
    } else {
      typePath.post = {
        tags: ['FHIR'],
        summary: `Create ${def.type}: not offered`,
        description: def.writes.create,
        responses: { 405: outcome },
      };
    }
    paths[`/fhir/${def.type}`] = typePath;
    const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' } }];
    const instance: Record<string, unknown> = {
      get: {
        tags: ['FHIR'],
        summary: `Read ${def.type}`,
        parameters: idParam,
        responses: { 200: { description: def.type, headers: { ETag: { schema: { type: 'string' } } }, content: fhirJson() }, ...errors },
      },
    };
    if (def.interactions.includes('update')) {
      instance.put = {
        tags: ['FHIR'],
        summary: `Update ${def.type}`,
        description: def.writes.update,
        parameters: [
          ...idParam,
          {
            name: 'If-Match',
            in: 'header',
            required: false,
            schema: { type: 'string' },
            description: 'W/"versionId" for optimistic locking',
          },
        ],
        requestBody: { required: true, content: fhirJson() },
        responses: { 200: { description: 'Updated', content: fhirJson() }, ...errors, 412: outcome, 422: outcome },
      };
    } else {
      instance.put = {
        tags: ['FHIR'],
        summary: `Update ${def.type}: not offered`,
        description: def.writes.update,
        parameters: idParam,
        responses: { 405: outcome },
      };
    }
    if (def.interactions.includes('update')) {
      instance.patch = {
        tags: ['FHIR'],
        summary: `Patch ${def.type} with a JSON Patch (RFC 6902), checked as an update`,
        parameters: [...idParam, { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: { 'application/json-patch+json': { schema: { type: 'array', items: { type: 'object' } } } },
        },
        responses: { 200: { description: 'Patched', content: fhirJson() }, ...errors, 412: outcome, 415: outcome, 422: outcome },
      };
    }
    paths[`/fhir/${def.type}/{id}`] = instance;
    const historyBundle = {
      description: 'history Bundle: the versions the reader may see, newest first',
      content: fhirJson('#/components/schemas/Bundle'),
    };
    const since = [
      { name: '_since', in: 'query', required: false, schema: { type: 'string', format: 'date-time' } },
      { name: '_count', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } },
    ];
    paths[`/fhir/${def.type}/_history`] = {
      get: {
        tags: ['FHIR'],
        summary: `Every version of every ${def.type}`,
        parameters: since,
        responses: { 200: historyBundle, ...errors },
      },
    };
    paths[`/fhir/${def.type}/{id}/_history`] = {
      get: {
        tags: ['FHIR'],
        summary: `Every version of one ${def.type}`,
        parameters: [...idParam, ...since],
        responses: { 200: historyBundle, ...errors },
      },
    };
    paths[`/fhir/${def.type}/{id}/_history/{vid}`] = {
      get: {
        tags: ['FHIR'],
        summary: `One version of a ${def.type} (vread)`,
        parameters: [...idParam, { name: 'vid', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]{1,9}$' } }],
        responses: { 200: { description: def.type, content: fhirJson() }, ...errors },
      },
    };
    paths[`/fhir/${def.type}/$validate`] = {
      post: {
        tags: ['FHIR'],
        summary: `Check a ${def.type} as a create or update would, writing nothing`,
        requestBody: { required: true, content: fhirJson() },
        responses: { 200: { description: 'OperationOutcome', content: fhirJson('#/components/schemas/OperationOutcome') }, ...errors },
      },
    };
  }
  const patientId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' } };
  paths['/fhir/Patient/{id}/$everything'] = {
    get: {
      tags: ['FHIR'],
      summary: 'The Patient and everything about them the reader may see (R4 Patient compartment, and Task)',
      parameters: [
        patientId,
        { name: '_since', in: 'query', required: false, schema: { type: 'string', format: 'date-time' } },
        { name: '_type', in: 'query', required: false, schema: { type: 'string' } },
        { name: '_count', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } },
      ],
      responses: { 200: { description: 'searchset Bundle', content: fhirJson('#/components/schemas/Bundle') }, ...errors },
    },
  };
  paths['/fhir/Patient/{id}/{type}'] = {
    get: {
      tags: ['FHIR'],
      summary: "Compartment search: the type's search within the Patient's compartment",
      parameters: [patientId, { name: 'type', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 200: { description: 'searchset Bundle', content: fhirJson('#/components/schemas/Bundle') }, ...errors },
    },
  };

  paths['/fhir/_history'] = {
    get: {
      tags: ['FHIR'],
      summary: 'Every version of every resource the reader may see, of every type or those _type names, newest first',
      parameters: [
        { name: '_since', in: 'query', required: false, schema: { type: 'string', format: 'date-time' } },
        { name: '_type', in: 'query', required: false, schema: { type: 'string' } },
        { name: '_count', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } },
      ],
      responses: { 200: { description: 'history Bundle', content: fhirJson('#/components/schemas/Bundle') }, ...errors },
    },
  };
  // Bulk Data $export: GET with parameters in the URL, or POST with a Parameters body.
  const exportQuery = [
    { name: 'Prefer', in: 'header', required: true, schema: { type: 'string', enum: ['respond-async'] } },
    { name: '_type', in: 'query', required: false, schema: { type: 'string' } },
    { name: '_since', in: 'query', required: false, schema: { type: 'string', format: 'date-time' } },
    {
      name: '_typeFilter',
      in: 'query',
      required: false,
      schema: { type: 'string' },
      description: 'Searches (Type?param=value), comma-separated',
    },
    { name: '_outputFormat', in: 'query', required: false, schema: { type: 'string', enum: ['application/fhir+ndjson'] } },
  ];
  const accepted = { 202: { description: 'Accepted: poll the Content-Location for the manifest' }, ...errors };
  for (const [path, summary, extra] of [
    ['/fhir/$export', 'Bulk Data export of every type the reader may see', []],
    ['/fhir/Patient/$export', 'Bulk Data export of the Patients the reader may see and their compartments', []],
    ['/fhir/Group/{id}/$export', "Bulk Data export of a household's members the reader may see", [patientId]],
  ] as const) {
    paths[path] = {
      get: { tags: ['FHIR'], summary, parameters: [...extra, ...exportQuery], responses: accepted },
      post: {
        tags: ['FHIR'],
        summary: `${summary} (parameters in a Parameters body)`,
        parameters: [...extra, exportQuery[0]!],
        requestBody: { required: true, content: fhirJson() },
        responses: accepted,
      },
    };
  }

  const importJob = {
    description: 'An import job',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ImportJob' } } },
  };
  Object.assign(paths, {
    '/api/imports': {
      post: {
        tags: ['Imports'],
        summary: 'Upload an agency feed; it is imported in the background (resumable, idempotent on source and record id)',
        parameters: [
          { name: 'source', in: 'query', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' } },
          {
            name: 'mapping',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'Saved column mapping (required for CSV)',
          },
          { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['csv', 'ndjson', 'bundle'] } },
          { name: 'name', in: 'query', required: false, schema: { type: 'string' }, description: 'File name to show' },
        ],
        requestBody: {
          required: true,
          content: {
            'text/csv': { schema: { type: 'string' } },
            'application/x-ndjson': { schema: { type: 'string' } },
            'application/fhir+json': { schema: { $ref: '#/components/schemas/Bundle' } },
          },
        },
        responses: {
          202: importJob,
          400: jsonError,
          401: jsonError,
          403: jsonError,
          409: { ...jsonError, description: 'The same file is being imported now (watch the job it names)' },
        },
      },
      get: {
        tags: ['Imports'],
        summary: 'The latest 50 import jobs',
        responses: {
          200: {
            description: 'Jobs',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/ImportJob' } } } },
              },
            },
          },
          401: jsonError,
          403: jsonError,
        },
      },
    },
    '/api/imports/{id}': {
      get: {
        tags: ['Imports'],
        summary: "An import's progress and counts",
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { 200: importJob, 404: jsonError },
      },
    },
    '/api/imports/{id}/errors': {
      get: {
        tags: ['Imports'],
        summary: 'Row-level errors with their line numbers',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: {
          200: {
            description: 'Errors',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    errors: {
                      type: 'array',
                      items: { type: 'object', properties: { line: { type: 'integer' }, message: { type: 'string' } } },
                    },
                  },
                },
              },
            },
          },
          404: jsonError,
        },
      },
    },
    '/api/imports/{id}/not-kept': {
      get: {
        tags: ['Imports'],
        summary:
          'The FHIR records of which something sent was not kept (a read of the Patient does not return it): line, record id, the elements as FHIRPath-like paths, and why',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: {
          200: {
            description: 'Records',
            content: {
              'application/json': { schema: { type: 'object', properties: { notKept: { type: 'array', items: notKeptRecord } } } },
            },
          },
          401: jsonError,
          403: jsonError,
          404: jsonError,
        },
      },
    },
    '/api/imports/{id}/rejected': {
      get: {
        tags: ['Imports'],
        summary:
          'Download the rows set aside (quarantined) as CSV: line, reason, and the row as sent (up to 2,000 characters), to fix and send again',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: {
          200: { description: 'CSV with the header line,reason,row', content: { 'text/csv': { schema: { type: 'string' } } } },
          401: jsonError,
          403: jsonError,
          404: jsonError,
        },
      },
    },
    '/api/import-mappings/{source}/{name}': {
      put: {
        tags: ['Imports'],
        summary: 'Save a CSV column mapping for a source',
        parameters: [
          { name: 'source', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ColumnMapping' } } } },
        responses: {
          200: { description: 'Saved', content: { 'application/json': { schema: { $ref: '#/components/schemas/ColumnMapping' } } } },
          400: jsonError,
        },
      },
    },
    '/api/webhooks': {
      post: {
        tags: ['Webhooks'],
        summary: 'Subscribe a URL to events (admin); returns the signing secret once',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: openApiSchemaOf(webhookRequest),
            },
          },
        },
        responses: {
          201: {
            description: 'Created',
            content: {
              'application/json': { schema: { type: 'object', properties: { id: { type: 'string' }, secret: { type: 'string' } } } },
            },
          },
          400: jsonError,
        },
      },
      get: {
        tags: ['Webhooks'],
        summary: 'Subscriptions with delivery counts (admin)',
        responses: { 200: { description: 'Subscriptions' } },
      },
    },
    '/oruk/services': {
      get: {
        tags: ['Directory'],
        summary: 'Open Referral UK services (see the directory module)',
        security: [],
        responses: { 200: { description: 'ORUK page of services' } },
      },
    },
  });

  return {
    openapi: '3.1.0',
    info: {
      title: 'Joinery machine APIs',
      version: '0.1.0',
      description:
        'FHIR R4 (/fhir), bulk imports and webhooks (/api). Authenticate with a bearer token (`joinery token create --user NAME`): the token acts as that user and sees only what they may; every access is audited. Limits: one resource 1 MiB, a string 10,000 characters (500 in names, identifiers, telecoms and addresses; 422 too-long), a Bundle 10 MiB and 100 entries (413), API_REQUESTS_PER_MINUTE per user (429). A batch stops when its client disconnects.',
    },
    servers: [{ url: server }],
    security: [{ bearer: [] }],
    tags: [{ name: 'FHIR' }, { name: 'Imports' }, { name: 'Webhooks' }, { name: 'Directory' }],
    paths,
    webhooks: {
      event: {
        post: {
          summary: 'An event from the transactional outbox, signed with the subscription secret',
          parameters: [
            {
              name: 'X-Joinery-Signature',
              in: 'header',
              required: true,
              schema: { type: 'string' },
              description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
            },
          ],
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Event' } } } },
          responses: { 200: { description: 'Any 2xx acknowledges; anything else is retried with exponential backoff' } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Resource: {
          type: 'object',
          required: ['resourceType'],
          properties: { resourceType: { type: 'string' }, id: { type: 'string' } },
          additionalProperties: true,
          description: 'A FHIR R4 resource (http://hl7.org/fhir/R4)',
        },
        Bundle: {
          type: 'object',
          required: ['resourceType', 'type'],
          properties: {
            resourceType: { const: 'Bundle' },
            type: { type: 'string' },
            link: { type: 'array', items: { type: 'object' } },
            entry: { type: 'array', items: { type: 'object' } },
          },
          additionalProperties: true,
        },
        OperationOutcome: {
          type: 'object',
          required: ['resourceType', 'issue'],
          properties: {
            resourceType: { const: 'OperationOutcome' },
            issue: {
              type: 'array',
              items: {
                type: 'object',
                properties: { severity: { type: 'string' }, code: { type: 'string' }, diagnostics: { type: 'string' } },
              },
            },
          },
        },
        Error: { type: 'object', properties: { error: { type: 'string' } } },
        ColumnMapping: openApiSchemaOf(columnMappingRequest),
        ImportJob: {
          type: 'object',
          properties: Object.fromEntries([
            ['jobId', { type: 'integer' }],
            ['status', { type: 'string', enum: ['running', 'done', 'failed'] }],
            ['source', { type: 'string' }],
            ['fileName', { type: 'string' }],
            ['format', { type: 'string' }],
            ['linesDone', { type: 'integer' }],
            ['linesTotal', { type: ['integer', 'null'] }],
            ['percent', { type: ['number', 'null'] }],
            ['stored', { type: 'integer' }],
            ['unchanged', { type: 'integer' }],
            ['linked', { type: 'integer' }],
            ['newPerson', { type: 'integer' }],
            ['review', { type: 'integer' }],
            ['errors', { type: 'integer', description: 'Rows set aside (download them from links.rejected)' }],
            [
              'duplicates',
              { type: 'integer', description: 'Rows set aside because their record id came earlier in the file (the first is kept)' },
            ],
            [
              'encoding',
              {
                type: 'string',
                enum: ['utf-8', 'windows-1252'],
                description: 'windows-1252 when some lines were not UTF-8 and were read as Windows-1252 (see warnings)',
              },
            ],
            ['warnings', { type: 'array', items: { type: 'string' } }],
            ['failure', { type: ['string', 'null'], description: 'Why a failed job stopped; send the same file again to resume it' }],
            [
              'notKept',
              {
                type: 'integer',
                description:
                  'FHIR records of which something sent was not kept beside the person (each named, with the elements, at links.notKept); the rest are returned whole by the FHIR API',
              },
            ],
            ['notKeptRecords', { type: 'array', items: notKeptRecord, description: 'The first 100 of them (GET /api/imports/{id})' }],
          ]),
        },
        Event: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            type: { type: 'string', enum: [...outboxTopics] },
            occurredAt: { type: 'string', format: 'date-time' },
            resource: {
              type: 'object',
              properties: { resourceType: { type: 'string' }, id: { type: 'string' }, reference: { type: 'string' } },
            },
            data: {
              type: 'object',
              description: 'States only (e.g. status, previousStatus), never personal details: read the resource through /fhir',
            },
          },
        },
      },
    },
  };
}
