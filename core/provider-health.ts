import { errorSummary } from './db.ts';
import { isCredentialsRejection, ProviderMisconfiguredError } from './errors.ts';
import { randomUpperAlnum } from './ids.ts';
import type { Job } from './jobs/runner.ts';
import type { Logger } from './logger.ts';
import type { CoreMetrics } from './metrics.ts';
import type { PaymentProvider, ProbeResult } from './payment-provider.ts';

/**
 * Whether each provider account's credentials work (issue 13 item 6). A wrong key used to look like
 * a provider outage forever: every create "try again". Now a cheap probe (PaymentProvider.probe) at
 * start and every PAYGATE_PROBE_INTERVAL_SECONDS, and a probe run at once when a payment call's
 * fault suggests refused credentials, mark the account `rejected`: /readyz, the dashboard and a metric say so, and
 * its creates answer provider_misconfigured (503) without calling the provider. Only a probe that
 * succeeds clears it. Each process keeps its own view (one registry per process).
 */

/** `unknown`: never probed (or the provider cannot probe). */
export const CREDENTIALS_STATES = ['unknown', 'ok', 'rejected', 'unreachable'] as const;
export type CredentialsState = (typeof CREDENTIALS_STATES)[number];

export interface AccountHealth {
  provider: string;
  account: string;
  state: CredentialsState;
  /** Why (rejected or unreachable), in the provider's words, never with a key; null when ok. */
  reason: string | null;
  /** What set the state: the periodic probe, or a probe a payment call's suspicious fault triggered (watchCredentials). */
  source: 'probe' | 'call' | null;
  /** The last probe or verdict. */
  checkedAt: Date | null;
  /** When the state last changed. */
  since: Date | null;
}

/** A probe that takes longer than this is `unreachable` (providers' own timeouts are 10 s by default). */
export const PROBE_TIMEOUT_MS = 30_000;

const REASON_MAX = 200;
const key = (provider: string, account: string) => `${provider}\u0000${account}`;

export class CredentialsHealth {
  private readonly accounts = new Map<string, AccountHealth>();

  constructor(
    private readonly metrics?: CoreMetrics,
    private readonly logger?: Logger,
  ) {}

  get(provider: string, account: string): AccountHealth {
    const known = this.accounts.get(key(provider, account));
    return known ? { ...known } : { provider, account, state: 'unknown', reason: null, source: null, checkedAt: null, since: null };
  }

  /** Every account with a verdict (accounts never probed are left out). */
  list(): AccountHealth[] {
    return [...this.accounts.values()].map((h) => ({ ...h }));
  }

  rejected(): AccountHealth[] {
    return this.list().filter((h) => h.state === 'rejected');
  }

  /** Throws ProviderMisconfiguredError while the account is rejected: nothing is sent to the provider. */
  assertUsable(provider: string, account: string): void {
    if (this.accounts.get(key(provider, account))?.state === 'rejected') throw new ProviderMisconfiguredError(provider, account);
  }

  /**
   * Records a verdict. An `unreachable` probe proves nothing about the keys, so a rejected account
   * stays rejected until a probe succeeds. Every change of state is logged once (error when the
   * credentials are refused).
   */
  record(provider: string, account: string, result: ProbeResult, source: 'probe' | 'call', now = new Date()): AccountHealth {
    const previous = this.get(provider, account);
    const reason = result.status === 'ok' ? null : result.reason.slice(0, REASON_MAX);
    const keepRejected = previous.state === 'rejected' && result.status === 'unreachable';
    const state: CredentialsState = keepRejected ? 'rejected' : result.status;
    const changed = state !== previous.state;
    const next: AccountHealth = {
      provider,
      account,
      state,
      reason: keepRejected ? previous.reason : reason,
      source: keepRejected ? previous.source : source,
      checkedAt: now,
      since: changed ? now : previous.since,
    };
    this.accounts.set(key(provider, account), next);
    if (this.metrics?.credentials) {
      try {
        this.metrics.credentials(provider, account, state);
      } catch {
        // counting never breaks the payment path
      }
    }
    const fields = { provider, account, credentials: state, reason: next.reason ?? undefined, source };
    if (keepRejected) {
      this.logger?.warn({ ...fields, probe: reason }, 'provider account still marked rejected: the probe could not reach the provider');
    } else if (changed && state === 'rejected') {
      this.logger?.error(fields, 'provider account credentials rejected: its payments answer provider_misconfigured until a probe succeeds; fix the keys in PAYGATE_CONFIG');
    } else if (changed && state === 'unreachable') {
      this.logger?.warn(fields, 'provider account unreachable: its credentials could not be checked');
    } else if (changed && state === 'ok') {
      this.logger?.info(fields, previous.state === 'rejected' ? 'provider account credentials accepted again' : 'provider account credentials accepted');
    }
    return { ...next };
  }
}

/** Asks the account's provider; null when the provider cannot probe. Never throws. */
export async function probeProvider(provider: PaymentProvider, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult | null> {
  if (typeof provider.probe !== 'function') return null;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      provider.probe(),
      new Promise<ProbeResult>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'unreachable', reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
        timer.unref();
      }),
    ]);
  } catch (err) {
    // probe() should not throw; if it does, the verdict is "could not tell", never "rejected".
    return { status: 'unreachable', reason: errorSummary(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** What probeAccounts needs: the accounts and where verdicts go (ProviderRegistry). */
export interface ProbeTarget {
  readonly credentials: CredentialsHealth;
  list(): readonly { provider: string; account: string }[];
  find(provider: string, account: string): PaymentProvider | undefined;
}

/** Probes every account whose provider can, side by side, and records each verdict. */
export async function probeAccounts(target: ProbeTarget, timeoutMs = PROBE_TIMEOUT_MS): Promise<AccountHealth[]> {
  const done = await Promise.all(
    target.list().map(async ({ provider: id, account }) => {
      const provider = target.find(id, account);
      const result = provider ? await probeProvider(provider, timeoutMs) : null;
      return result ? target.credentials.record(id, account, result, 'probe') : null;
    }),
  );
  return done.filter((h): h is AccountHealth => h !== null);
}

/**
 * The periodic probe as a job for a JobRunner of its own: it runs at once when started, then every
 * `intervalMs`. Every HTTP process runs one (each has its own registry), whether or not it runs the
 * background jobs.
 */
export function providerProbeJob(target: ProbeTarget, intervalMs: number): Job {
  return {
    name: 'provider-probe',
    intervalMs,
    async run() {
      await probeAccounts(target);
      return 0; // never "a full batch": the next run waits the interval
    },
  };
}

/**
 * Contract methods whose fault may say the credentials were refused. verifyCallback is not one of
 * them: it runs on anonymous input (anyone can post a forged notify), and a bank or its WAF that
 * refuses a flood of the calls it causes must not take the account down on demand.
 */
const WATCHED: ReadonlySet<string> = new Set(['create', 'query', 'refund', 'cancel', 'listTransactions']);

/**
 * After a confirming probe, a new call-time verdict within this long reuses it instead of probing
 * again: a stream of faults costs the provider at most one extra call per this interval.
 */
export const CONFIRM_COOLDOWN_MS = 10_000;

/**
 * The provider with every watched call observed. A fault that looks like refused credentials
 * (isCredentialsRejection) is only a suspicion: one answer may be a transient refusal or come from
 * something in between. It triggers a probe at once (one at a time per account, awaited before the
 * fault is rethrown so the caller sees the verdict), and only the probe's answer is recorded (with
 * source `call`); the account stays usable unless the probe answers rejected. A provider that
 * cannot probe is never marked by a call. Success clears nothing: some creates never reach the
 * provider (a provider that signs locally answers without asking anyone), only a probe proves the keys.
 */
export function watchCredentials(
  provider: PaymentProvider,
  health: CredentialsHealth,
  options: { timeoutMs?: number; now?: () => number } = {},
): PaymentProvider {
  const now = options.now ?? Date.now;
  const wrappers = new WeakMap<object, unknown>();
  let confirming: Promise<void> | null = null;
  let confirmedAt = Number.NEGATIVE_INFINITY;
  const confirm = (): Promise<void> => {
    if (confirming) return confirming;
    if (now() - confirmedAt < CONFIRM_COOLDOWN_MS) return Promise.resolve();
    confirming = (async () => {
      try {
        const result = await probeProvider(provider, options.timeoutMs);
        if (result) health.record(provider.id, provider.account, result, 'call');
      } finally {
        confirmedAt = now();
        confirming = null;
      }
    })();
    return confirming;
  };
  return new Proxy(provider, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof name !== 'string' || !WATCHED.has(name) || typeof value !== 'function') return value;
      let wrapper = wrappers.get(value);
      if (!wrapper) {
        const fn = value as (...args: unknown[]) => Promise<unknown>;
        wrapper = async (...args: unknown[]): Promise<unknown> => {
          try {
            return await fn.apply(target, args);
          } catch (err) {
            if (isCredentialsRejection(err)) await confirm();
            throw err;
          }
        };
        wrappers.set(value, wrapper);
      }
      return wrapper;
    },
  });
}

/**
 * A made-up order number for a probe's status query: 20 of [0-9A-Z] like ours (it fits every
 * provider), but starting with letters where ours start with 12 digits (core/order-no.ts), so it can
 * never name a real order.
 */
export function probeOrderNo(): string {
  return `PGPROBE${randomUpperAlnum(13)}`;
}
