import type { z } from 'zod';
import { ValidationError, type ErrorDetail } from './errors.ts';

/** zod issues → one 400 naming every field at fault (`items.0.quantity`). */
export function zodError(error: z.ZodError, prefix: readonly string[] = []): ValidationError {
  const details: ErrorDetail[] = error.issues.flatMap((issue) => {
    const base = [...prefix, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...base, key].join('.'), message: 'is not a known field' }));
    }
    return [{ path: base.join('.'), message: issue.message }];
  });
  const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
  return new ValidationError(summary || 'Invalid request', details);
}

/**
 * NUL and unpaired UTF-16 surrogates (issue 13). Neither survives storage as sent: tried through
 * POST /v1/payments, MariaDB's utf8mb4 kept a NUL byte for byte, but a lone surrogate ("\uD800")
 * reached it as U+FFFD (mysql2 encodes the string as UTF-8 first), and SQLite stored the raw bytes
 * ED A0 80, which are not UTF-8 and read back as three U+FFFD. The provider would have been sent
 * one text and the database kept another; a NUL also cuts C strings in provider SDKs, logs and
 * terminals. So any merchant-supplied text carrying either is refused with the field at fault.
 */
const NUL = /\u0000/;
// With the u flag a well-formed pair is one code point, so \p{Surrogate} matches only a lone half.
const LONE_SURROGATE = /\p{Surrogate}/u;

function textProblem(text: string): string | null {
  if (NUL.test(text)) return 'must not contain a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain an unpaired UTF-16 surrogate (not valid Unicode)';
  return null;
}

interface Visit {
  value: unknown;
  key: string | null;
  parent: Visit | null;
}

function pathOf(visit: Visit, prefix: readonly string[], last?: string): string {
  const keys: string[] = last === undefined ? [] : [last];
  for (let v: Visit | null = visit; v; v = v.parent) if (v.key !== null) keys.push(v.key);
  return [...prefix, ...keys.reverse()].join('.');
}

/**
 * Every string in `value` (keys too) with a NUL or a lone surrogate, as field errors. Walked with a
 * stack of its own and parent links, not recursion or copied paths: a body of deeply nested arrays
 * can neither overflow the call stack nor cost more than its size.
 */
export function unsafeTextDetails(value: unknown, prefix: readonly string[] = []): ErrorDetail[] {
  const found: ErrorDetail[] = [];
  const todo: Visit[] = [{ value, key: null, parent: null }];
  while (todo.length > 0) {
    const visit = todo.pop()!;
    if (typeof visit.value === 'string') {
      const message = textProblem(visit.value);
      if (message) found.push({ path: pathOf(visit, prefix), message });
    } else if (Array.isArray(visit.value)) {
      visit.value.forEach((item, i) => todo.push({ value: item, key: String(i), parent: visit }));
    } else if (visit.value !== null && typeof visit.value === 'object') {
      for (const [key, item] of Object.entries(visit.value)) {
        const message = textProblem(key);
        // The key itself is not printed back: it is the bad text.
        if (message) found.push({ path: pathOf(visit, prefix, '(a field name)'), message });
        else todo.push({ value: item, key, parent: visit });
      }
    }
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix: readonly string[] = []): z.infer<S> {
  const unsafe = unsafeTextDetails(value, prefix);
  if (unsafe.length > 0) {
    throw new ValidationError(unsafe.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; '), unsafe);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw zodError(result.error, prefix);
  return result.data;
}
