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

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix: readonly string[] = []): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw zodError(result.error, prefix);
  return result.data;
}
