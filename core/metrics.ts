import type { PaymentProvider } from './payment-provider.ts';

/**
 * What core reports about its own work. Core knows no metrics library: server/metrics.ts implements
 * this with prom-client, and without it (`CoreDeps.metrics` unset) nothing is counted. An
 * implementation must never throw: it is called on the payment path.
 */
export interface CoreMetrics {
  /**
   * A callback's handling ended: the outcome its inbox row now records (`applied`, `duplicate`,
   * `rejected`, `displayed`...), or `fault` (retried later), `gave_up`, `unstored` (not stored: the
   * provider was told to try again), `redelivered` (answered from a row already finished).
   */
  callback(provider: string, account: string, outcome: string): void;
  /** An order moved; called once its transaction has committed. */
  transition(from: string, to: string): void;
  /** One call of a provider contract method: `fault` when it threw (a decline is a result: `ok`). */
  providerCall(provider: string, operation: ProviderOperation, result: 'ok' | 'fault', seconds: number): void;
  /**
   * A transaction the database rolled back as a whole is run again (core/db.ts
   * retryingTransaction): `reason` is deadlock (on Galera also a lost certification), lock_wait,
   * busy (SQLite), not_ready (a Galera node outside the primary component) or version (an
   * optimistic version race lost).
   */
  dbRetry?(operation: string, reason: string): void;
  /** An account's credentials verdict changed or was confirmed (core/provider-health.ts). */
  credentials?(provider: string, account: string, state: 'unknown' | 'ok' | 'rejected' | 'unreachable'): void;
}

/** The contract methods that reach the provider (or do its crypto), each timed. */
export const PROVIDER_OPERATIONS = ['create', 'query', 'refund', 'cancel', 'listTransactions', 'verifyCallback'] as const;
export type ProviderOperation = (typeof PROVIDER_OPERATIONS)[number];

const TIMED: ReadonlySet<string> = new Set(PROVIDER_OPERATIONS);

/**
 * The provider with every contract method in PROVIDER_OPERATIONS timed. Everything else (id,
 * capabilities, an absent optional method) reads through unchanged, and methods run with the
 * provider itself as `this`. One wrapper per method function, so the identity of
 * `provider.query` is stable and a wrapper is never wrapped again.
 */
export function timedProvider(provider: PaymentProvider, metrics: CoreMetrics): PaymentProvider {
  const wrappers = new WeakMap<object, unknown>();
  const made = new WeakSet<object>();
  return new Proxy(provider, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof key !== 'string' || !TIMED.has(key) || typeof value !== 'function' || made.has(value)) return value;
      let wrapper = wrappers.get(value);
      if (!wrapper) {
        const operation = key as ProviderOperation;
        const fn = value as (...args: unknown[]) => unknown;
        const timed = async (...args: unknown[]): Promise<unknown> => {
          const started = performance.now();
          try {
            const result = await fn.apply(target, args);
            metrics.providerCall(target.id, operation, 'ok', (performance.now() - started) / 1000);
            return result;
          } catch (err) {
            metrics.providerCall(target.id, operation, 'fault', (performance.now() - started) / 1000);
            throw err;
          }
        };
        made.add(timed);
        wrappers.set(value, timed);
        wrapper = timed;
      }
      return wrapper;
    },
  });
}
