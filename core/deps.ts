import type { Db } from './db.ts';
import type { Logger } from './logger.ts';
import type { CoreMetrics } from './metrics.ts';
import type { ProviderRegistry } from './registry.ts';
import type { TransitionHook } from './order-writer.ts';

/** What the services need from the outside world; tests swap the clock and the logger. */
export interface CoreDeps {
  db: Db;
  registry: ProviderRegistry;
  logger: Logger;
  now: () => Date;
  hooks?: readonly TransitionHook[];
  /** Issues order numbers; tests that need a particular shape (a sandbox's "ends in 9") swap it. */
  newOrderNo?: (now: Date) => string;
  /** Counts callbacks, transitions and provider calls (server/metrics.ts); nothing is counted without it. */
  metrics?: CoreMetrics;
  /**
   * PAYGATE_WEBHOOK_ALLOW_PRIVATE: merchant webhooks may go to loopback, private, link-local and
   * metadata addresses (local development, tests). Off: refused after DNS (core/webhook-target.ts).
   */
  webhookAllowPrivate?: boolean;
  /**
   * Where the rest of a callback acknowledged on store (a token to exchange, say) runs: `here`, in
   * the background of the process that stored it (the default: one process with its inline worker),
   * or `worker`: the row is left due at once to the inbox-retry job of the job runner, in another
   * process (`npm run worker`, or the cluster primary), so it never shares the ack's event loop.
   */
  storedCallbacks?: 'here' | 'worker';
  /** PAYGATE_TIME_ZONE: the IANA zone every date a person reads is shown in (Asia/Taipei when unset). */
  timeZone?: string;
}
