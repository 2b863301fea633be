import { z } from 'zod';
import { IDEMPOTENCY_KEY } from '../../core/idempotency.ts';
import { ERROR_EXAMPLES, MEDIA_EXAMPLES, operationExamples, PAGE_FORM_EXAMPLES, PAGE_PARAM_EXAMPLES, type OperationExamples } from './examples.ts';
import { AUTH_TEXT, HTML_PAGES, HTML_PREFIXES, htmlOperation, OPERATIONS, SECURITY, standardErrors, TAGS } from './operations.ts';
import { errorBody, FIELD_NOTES, REQUEST_SCHEMAS, RESPONSE_SCHEMAS } from './views.ts';
import { buildWebhooks } from './webhooks.ts';

/**
 * zod → OpenAPI 3.1: the document GET /openapi.json serves, built from the named schemas
 * (views.ts) and the operations (operations.ts). Everything OpenAPI needs adjusted in zod's JSON
 * Schema happens in `tidy`.
 */

export type Json = { [key: string]: any };

export const SCHEMA_REF = '#/components/schemas/';
const FORMATS_WITH_OWN_PATTERN = new Set(['date-time', 'date', 'time', 'email', 'uuid', 'duration']);

/**
 * zod's draft 2020-12 output made fit for an OpenAPI 3.1 document: no `$schema` or `$id` inside the
 * document, no zod-internal regex beside a `format` that says the same, and any `$defs` hoisted
 * into components (a `#/$defs/` reference would resolve against the document root).
 */
function tidy(schema: Json, hoist: (name: string, schema: Json) => void, owner: string): Json {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$schema' || key === '$id') continue;
      if (key === '$defs') {
        for (const [name, def] of Object.entries(value as Json)) hoist(`${owner}_${name}`, walk(def) as Json);
        continue;
      }
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')) {
        out.$ref = `${SCHEMA_REF}${owner}_${value.slice('#/$defs/'.length)}`;
        continue;
      }
      out[key] = walk(value);
    }
    if (typeof out.format === 'string' && FORMATS_WITH_OWN_PATTERN.has(out.format)) delete out.pattern;
    return out;
  };
  return walk(schema) as Json;
}

const ZOD_OPTIONS = { target: 'draft-2020-12', unrepresentable: 'any', uri: (id: string) => `${SCHEMA_REF}${id}` } as const;

function annotate(schema: Json, path: string, text: string): boolean {
  let node: Json | undefined = schema;
  for (const part of path.split('.')) {
    if (node?.type === 'array') node = node.items;
    node = node?.properties?.[part];
  }
  if (!node) return false;
  node.description = node.description ? `${text}. ${node.description}` : text;
  return true;
}

export interface BuiltDocument {
  document: Json;
  /** Notes or pages that point nowhere; the test requires none. */
  problems: string[];
}

export interface BuildOptions {
  /** The public URL the API is served at (PAYGATE_PUBLIC_URL): `servers`, and the base of URLs in examples. */
  serverUrl?: string;
}

/** Where the document says the API is when nobody said (tests that build it without a server). */
export const DEFAULT_SERVER_URL = 'http://localhost:3000';

/** OpenAPI's `examples` map from what examples.ts holds: `{ value }`, named `{ summary, value }`s, or a bare value. */
function examplesOf(given: unknown): Json {
  if (given && typeof given === 'object' && !Array.isArray(given)) {
    const entries = Object.entries(given as Json);
    if (entries.length === 1 && entries[0]![0] === 'value') return { example: { value: entries[0]![1] } };
    const named = entries.length > 0 && entries.every(([, v]) => v && typeof v === 'object' && 'summary' in v && 'value' in v && Object.keys(v).length === 2);
    if (named) return Object.fromEntries(entries);
  }
  return { example: { value: given } };
}

export function buildOpenApi(options: BuildOptions = {}): BuiltDocument {
  const serverUrl = (options.serverUrl ?? DEFAULT_SERVER_URL).replace(/\/+$/, '');
  const examples = operationExamples(serverUrl);
  const opExamples = (op: { id: string }): OperationExamples => examples[op.id] ?? {};
  const problems: string[] = [];
  const schemas: Json = {};
  const hoist = (name: string, schema: Json) => (schemas[name] = schema);
  const names = new Map<z.ZodType, string>();
  for (const [group, io] of [
    [REQUEST_SCHEMAS, 'input'],
    [RESPONSE_SCHEMAS, 'output'],
  ] as const) {
    const registry = z.registry<{ id: string }>();
    for (const [name, schema] of Object.entries(group)) {
      registry.add(schema, { id: name });
      names.set(schema, name);
    }
    const generated = z.toJSONSchema(registry, { ...ZOD_OPTIONS, io }).schemas as Json;
    for (const [name, schema] of Object.entries(generated)) schemas[name] = tidy(schema, hoist, name);
  }
  for (const [name, notes] of Object.entries(FIELD_NOTES)) {
    for (const [path, text] of Object.entries(notes)) {
      if (!schemas[name] || !annotate(schemas[name], path, text)) problems.push(`FIELD_NOTES.${name}: no field ${path}`);
    }
  }
  const ref = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const name = names.get(schema);
    return name ? { $ref: `${SCHEMA_REF}${name}` } : tidy(z.toJSONSchema(schema, { ...ZOD_OPTIONS, io }) as Json, hoist, 'Inline');
  };

  const operations = [...OPERATIONS];
  for (const page of HTML_PAGES) {
    if (!HTML_PREFIXES.some((p) => page[1] === p || page[1].startsWith(`${p}/`))) problems.push(`HTML_PAGES: ${page[1]} is not under ${HTML_PREFIXES.join(' or ')}`);
    operations.push(htmlOperation(page));
  }

  const paths: Json = {};
  for (const op of operations) {
    const parameters: Json[] = [];
    for (const [, name] of op.path.matchAll(/\{(\w+)\}/g)) {
      const description = op.params?.[name!];
      if (!description) problems.push(`${op.method.toUpperCase()} ${op.path}: path parameter ${name} is not described`);
      const example = opExamples(op).params?.[name!] ?? PAGE_PARAM_EXAMPLES[name!];
      if (example === undefined) problems.push(`${op.method.toUpperCase()} ${op.path}: path parameter ${name} has no example`);
      parameters.push({ name, in: 'path', required: true, description: description ?? name, schema: { type: 'string' }, ...(example === undefined ? {} : { example }) });
    }
    if (op.query) {
      const query = tidy(z.toJSONSchema(op.query, { ...ZOD_OPTIONS, io: 'input' }) as Json, hoist, `${op.id}Query`);
      const required = new Set<string>(query.required ?? []);
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        const note = op.queryNotes?.[name];
        const example = opExamples(op).query?.[name];
        if (example === undefined) problems.push(`${op.method.toUpperCase()} ${op.path}: query parameter ${name} has no example`);
        parameters.push({ name, in: 'query', required: required.has(name), ...(note ? { description: note } : {}), schema, ...(example === undefined ? {} : { example }) });
      }
    }
    if (op.auth === 'merchant' && op.method === 'post') parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });

    const operation: Json = {
      operationId: op.id,
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      security: SECURITY[op.auth],
      'x-paygate-auth': AUTH_TEXT[op.auth],
      ...(parameters.length ? { parameters } : {}),
    };
    const requestExample = opExamples(op).request ?? PAGE_FORM_EXAMPLES[`${op.method.toUpperCase()} ${op.path}`];
    if (op.body && requestExample === undefined) problems.push(`${op.method.toUpperCase()} ${op.path}: the request body has no example`);
    if (op.body instanceof z.ZodType) {
      operation.requestBody = { required: !op.body.safeParse(undefined).success, content: { 'application/json': { schema: ref(op.body, 'input'), examples: examplesOf(requestExample) } } };
    } else if (op.body) {
      // A form or a provider's own bytes: the example is the raw body, as a string.
      operation.requestBody = { required: false, description: op.body.description, content: { [op.body.media]: { schema: {}, examples: { example: { value: requestExample } } } } };
    }
    const replies = { ...standardErrors(op), ...op.responses };
    operation.responses = Object.fromEntries(
      Object.keys(replies)
        .sort()
        .map((status) => {
          const reply = replies[status]!;
          const example = opExamples(op).responses?.[status] ?? (reply.json === errorBody ? ERROR_EXAMPLES[status] : undefined) ?? (reply.media ? MEDIA_EXAMPLES[reply.media] : undefined);
          if ((reply.json || reply.media) && example === undefined) problems.push(`${op.method.toUpperCase()} ${op.path}: answer ${status} has no example`);
          const content = reply.json
            ? { 'application/json': { schema: ref(reply.json, 'output'), examples: examplesOf(example) } }
            : reply.media
              ? { [reply.media]: { schema: reply.media === 'application/json' ? { type: 'object' } : { type: 'string' }, examples: examplesOf(example) } }
              : undefined;
          return [status, { description: reply.description, ...(content ? { content } : {}) }];
        }),
    );
    paths[op.path] ??= {};
    if (paths[op.path][op.method]) problems.push(`${op.method.toUpperCase()} ${op.path} is described twice`);
    paths[op.path][op.method] = operation;
  }

  const document = {
    openapi: '3.1.0',
    info: {
      title: 'paygate',
      version: 'v1',
      description:
        'A multi-provider payment gateway. Amounts are integer minor units of their currency everywhere (NT$799 is 79900). ' +
        'Errors are `{"error":{"code","message","details"}}`. Every merchant POST takes an `Idempotency-Key`.',
    },
    servers: [{ url: serverUrl, description: 'This installation (PAYGATE_PUBLIC_URL)' }],
    tags: TAGS,
    paths,
    webhooks: buildWebhooks(serverUrl),
    components: {
      schemas,
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'The same key with the same request replays the first answer (`Idempotent-Replayed: true`); with another request it is a 409',
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
        },
      },
      securitySchemes: {
        merchantApiKey: { type: 'http', scheme: 'bearer', description: 'The merchant’s API key (`npm run paygate -- merchant:create`)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'PAYGATE_METRICS_TOKEN; unset, /metrics answers loopback clients only (or everyone with PAYGATE_METRICS_PUBLIC=true)' },
        // server/admin/context.ts SESSION_COOKIE
        operatorSession: { type: 'apiKey', in: 'cookie', name: 'paygate_admin', description: 'The dashboard session, set by signing in at /admin/login' },
      },
    },
  };
  return { document, problems };
}

/** A route path in the router's syntax (`/v1/payments/:id`) as an OpenAPI template (`/v1/payments/{id}`). */
export function openApiPath(routerPath: string): string {
  return routerPath.replace(/:(\w+)/g, '{$1}');
}

/** The zod schema of an operation's documented JSON answer, for tests that hold live answers to it. */
export function documentedAnswer(method: string, path: string, status: number): z.ZodType | undefined {
  const op = OPERATIONS.find((o) => o.method === method.toLowerCase() && o.path === path);
  if (!op) return undefined;
  return ({ ...standardErrors(op), ...op.responses })[status]?.json;
}
