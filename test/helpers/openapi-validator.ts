/**
 * Validates values against what the published OpenAPI document says, with a JSON Schema validator
 * (ajv, draft 2020-12, the dialect OpenAPI 3.1 uses): the schema found at a pointer into the
 * document, its `#/components/schemas/...` references resolved to those components of the same
 * document, as a reader of the document would resolve them.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const DOCUMENT_ID = 'https://paygate.test/openapi.json';

/** `['paths', '/v1/payments', 'post']` → a URI fragment (JSON Pointer, RFC 6901, percent-encoded). */
export function pointer(parts: readonly string[]): string {
  return `#${parts.map((p) => `/${encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('')}`;
}

export interface DocumentValidator {
  /** Problems of `value` against the schema at `at` in the document; empty when it conforms. */
  check(at: readonly string[], value: unknown): string[];
}

/** The node of `document` at `at`. */
function nodeAt(document: unknown, at: readonly string[]): unknown {
  return at.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), document);
}

const SCHEMAS = '#/components/schemas/';

/** `schema` with every `#/components/schemas/X` reference pointing at X's own id (added once, compiled once). */
function linked(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(linked);
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => {
      if (k !== '$ref' || typeof v !== 'string') return [k, linked(v)];
      if (!v.startsWith(SCHEMAS)) throw new Error(`a reference this validator cannot follow: ${v}`);
      return [k, `${DOCUMENT_ID}/components/${v.slice(SCHEMAS.length)}`];
    }),
  );
}

export function documentValidator(document: unknown): DocumentValidator {
  // Each component under an id of its own, so a schema that many pointers share is compiled once.
  const ajv = new Ajv2020({ strict: false, allErrors: true, inlineRefs: false });
  addFormats(ajv);
  const components = (nodeAt(document, ['components', 'schemas']) ?? {}) as Record<string, unknown>;
  for (const [name, schema] of Object.entries(components)) ajv.addSchema({ ...(linked(schema) as object), $id: `${DOCUMENT_ID}/components/${name}` });
  const compiled = new Map<string, ValidateFunction>();
  return {
    check(at, value) {
      const schema = nodeAt(document, at);
      if (schema === undefined) return [`nothing at ${pointer(at)}`];
      const key = JSON.stringify(linked(schema));
      let validate = compiled.get(key);
      if (!validate) {
        validate = ajv.compile(JSON.parse(key) as object);
        compiled.set(key, validate);
      }
      return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    },
  };
}
