import { ValidationError } from '../../core/errors.ts';

/**
 * Reading the fields of what a provider (or the buyer's browser on its behalf) sends: a form, a query
 * string, a JSON object. One rule for every provider: **a field named twice is refused**, with a
 * ValidationError naming the field. A signature or MAC covers one value per name; which copy
 * `URLSearchParams` or `JSON.parse` keeps (the last) is not what a signer meant, so the message is
 * malformed. In a callback, inspectCallback throws it (core stores the row as `malformed` and answers
 * 4xx, changing nothing); verifyCallback reports it as `{ verified: false }`.
 *
 * Fields are defined, never assigned: a field named `__proto__` stays a field (and then fails the
 * signature), not a change of the object's prototype that silently drops it.
 */

/** The code of the ValidationError for a field named twice. */
export const REPEATED_FIELD = 'repeated_field';

function repeated(name: string): ValidationError {
  return ValidationError.field(name.slice(0, 64), 'is sent more than once', REPEATED_FIELD);
}

function define<T>(target: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/** A form body or query string (URL-decoded, empty values kept) as fields; throws on a repeated name. */
export function parseFormStrict(input: string | URLSearchParams): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of typeof input === 'string' ? new URLSearchParams(input) : input) {
    if (Object.hasOwn(fields, name)) throw repeated(name);
    define(fields, name, value);
  }
  return fields;
}

/**
 * JSON text that must be one object, with no key repeated in it or in any object nested in it
 * (JSON.parse would keep the last silently). Throws a ValidationError on `body` for text that is not
 * JSON or not an object, and one naming the key for a repeated key.
 */
export function parseJsonObjectStrict(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    // JSON.parse defines a `__proto__` key as an own property, like any other.
    value = JSON.parse(text);
  } catch {
    throw ValidationError.field('body', 'is not valid JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw ValidationError.field('body', 'must be a JSON object');
  const twice = firstRepeatedKey(text);
  if (twice !== null) throw repeated(twice);
  return value as Record<string, unknown>;
}

/**
 * The first key that repeats within one object of `text`, which JSON.parse has already accepted (so
 * the scan only needs to tell strings, objects and arrays apart). Keys are compared decoded:
 * `"a"` and `"\u0061"` are the same key.
 */
export function firstRepeatedKey(text: string): string | null {
  // One frame per open object ({ keys }) or array (null); `expectKey` after `{` and after `,` in an object.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) return null; // not JSON: JSON.parse is the judge of that
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return null;
}
