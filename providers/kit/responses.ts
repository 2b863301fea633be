import type { z } from 'zod';
import { ProviderUnavailableError } from '../../core/errors.ts';

/**
 * Typed wire structs at the edge: every answer a provider sends over HTTP is parsed once by a zod
 * schema before anything reads it, instead of `Record<string, unknown>` casts. An answer that does
 * not fit is the provider's fault, not ours: a ProviderUnavailableError (HTTP 502, retryable; core
 * tries again later), never a crash. Its message names the operation and the zod issue's path and
 * kind, never a value from the answer (which may hold buyer data), so it can be logged and shown.
 */

export interface ResponseContext {
  /** `SinoPac`, `ECPay`, `Alipay`: the start of the default message. */
  provider: string;
  /** The service or method asked, e.g. `OrderCreate`, `alipay.trade.query`. */
  operation: string;
  /**
   * Makes the error from the detail (`the answer is malformed at CardParam.CardPayURL: …`), for a
   * provider whose faults are a subclass (SinopacFault, EcpayFault). Default: a
   * ProviderUnavailableError `<provider> <operation>: <detail>`.
   */
  fault?: (detail: string) => ProviderUnavailableError;
}

/** `value` as `schema`'s output, or the context's fault naming where it does not fit. */
export function parseProviderResponse<S extends z.ZodType>(schema: S, value: unknown, context: ResponseContext): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(the answer)';
  const detail = `the answer is malformed at ${path.slice(0, 80)}: ${describe(issue)}`;
  throw context.fault ? context.fault(detail) : new ProviderUnavailableError(`${context.provider} ${context.operation}: ${detail}`);
}

/** What is wrong, in zod's words for the kind of issue; only a custom message (the schema's own) is quoted. */
function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'custom':
      return issue.message.slice(0, 120);
    default:
      return issue.code.replace(/_/g, ' ');
  }
}
