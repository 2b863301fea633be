import type { TransitionHook } from '../../core/order-writer.ts';
/**
 * Starts the real app (createApp) on port 0 with FakePay's simulator mounted under /sim/fakepay,
 * in the spirit of got's withServer: the test gets a base URL, an API client, two merchants and
 * the simulator; everything is torn down in `finally`.
 */
import type { ExecutionContext } from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CoreDeps } from '../../core/deps.ts';
import { silentLogger } from '../../core/logger.ts';
import { createMerchant } from '../../core/merchants.ts';
import type { ProviderModule } from '../../core/payment-provider.ts';
import { buildRegistry, type MountedSimulator, type ProvidersConfig } from '../../core/registry.ts';
import { sharedSecret } from '../../core/settings.ts';
import { CallbackGuard, type CallbackGuardOptions } from '../../core/callback-guard.ts';
import { createApp } from '../../server/app.ts';
import { BackgroundTasks } from '../../server/background.ts';
import { GatewayMetrics } from '../../server/metrics.ts';
import type { TestDbHandle } from './db.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import type { FakePaySimulator } from '../../providers/_template/simulator.ts';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface TestApp {
  url: string;
  /** The secret the app signs buyer links with. */
  linkSecret: string;
  deps: CoreDeps;
  background: BackgroundTasks;
  /** This app's own metrics registry (also deps.metrics), served at /metrics. */
  metrics: GatewayMetrics;
  sim: FakePaySimulator;
  /** Every simulator mounted under /sim/<provider>/ (the conformance suite adds accounts on them). */
  simulators: readonly MountedSimulator[];
  merchant: { id: string; apiKey: string };
  other: { id: string; apiKey: string };
  /** Calls the merchant API as `merchant` unless `as` says otherwise. */
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>, as?: { apiKey: string }): Promise<ApiResponse<T>>;
  raw(method: string, path: string, init?: { body?: string; headers?: Record<string, string> }): Promise<ApiResponse<string>>;
  /** Makes the simulator's buyer pay (or decline) and waits for the notify flow to settle. */
  control(action: 'pay' | 'decline' | 'renotify', orderNo: string): Promise<any>;
  close(): Promise<void>;
}

export interface StartOptions {
  ackAfter?: 'stored' | 'applied';
  modules?: ProviderModule<any>[];
  providers?: ProvidersConfig;
  now?: () => Date;
  bodyLimitKb?: number;
  /** PAYGATE_TRUST_PROXY. */
  trustProxy?: boolean;
  newOrderNo?: (now: Date) => string;
  /** Dashboard credentials (defaults to ADMIN below). */
  admin?: { username: string; password: string } | null;
  /** PAYGATE_METRICS_TOKEN for this app's /metrics (open without). */
  metricsToken?: string;
  /** PAYGATE_WEBHOOK_ALLOW_PRIVATE (default true here: test receivers are on 127.0.0.1). */
  webhookAllowPrivate?: boolean;
  /** The callback guard's limits (core/callback-guard.ts); unset, it never throttles. */
  callbackGuard?: Partial<CallbackGuardOptions>;
  /** Run inside every transition's transaction (core/order-writer.ts TransitionHook). */
  hooks?: readonly TransitionHook[];
  /** core/deps.ts storedCallbacks: `worker` leaves callbacks acknowledged on store to the inbox-retry job. */
  storedCallbacks?: 'here' | 'worker';
}

/** Clearly fake dashboard credentials for tests. */
export const ADMIN = { username: 'admin', password: 'fake-admin-password-for-tests' };

let counter = 0;

export async function startApp(handle: TestDbHandle, options: StartOptions = {}): Promise<TestApp> {
  let handler: http.RequestListener = (_req, res) => res.end();
  const server = http.createServer((req, res) => handler(req, res));
  // As in test/helpers/sim-server.ts: idle connections outlive any stall of a loaded machine.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let sim: FakePaySimulator | undefined;
  const modules = options.modules ?? [fakePayModule({ ackAfter: options.ackAfter, onSimulator: (s) => (sim = s) })];
  const metrics = new GatewayMetrics({ db: handle.db, logger: silentLogger, token: options.metricsToken });
  const { registry, simulators } = await buildRegistry({
    metrics,
    modules,
    config: options.providers ?? {},
    publicUrl: url,
    logger: silentLogger,
    // As in production: simulators only where no account is configured at all.
    simulateUnconfigured: Object.keys(options.providers ?? {}).length === 0,
    simulatorTimeScale: 0.001,
  });
  const deps: CoreDeps = {
    db: handle.db,
    registry,
    logger: silentLogger,
    now: options.now ?? (() => new Date()),
    newOrderNo: options.newOrderNo,
    hooks: options.hooks,
    storedCallbacks: options.storedCallbacks,
    metrics,
    // Test receivers listen on 127.0.0.1 (test/server/webhook-target.test.ts turns this off).
    webhookAllowPrivate: options.webhookAllowPrivate ?? true,
  };
  const background = new BackgroundTasks();
  // As in production: one secret per database, so apps on one database are processes of one installation.
  const linkSecret = await sharedSecret(handle.db, 'link_secret');
  // Tests send forgeries by the thousand from 127.0.0.1: the callback guard is off unless a test sets it.
  const callbackGuard = new CallbackGuard(options.callbackGuard ?? { burst: 1e9, refillPerMinute: 1e9, globalBurst: 1e9, globalRefillPerMinute: 1e9 });
  const app = createApp({ ...deps, callbackGuard, metrics, simulators, background, bodyLimitKb: options.bodyLimitKb, trustProxy: options.trustProxy, linkSecret, admin: options.admin === undefined ? ADMIN : options.admin });
  handler = app.callback();

  const n = ++counter;
  const a = await createMerchant(handle.db, { name: `Shop A ${n}` });
  const b = await createMerchant(handle.db, { name: `Shop B ${n}` });
  const merchant = { id: a.merchant.id, apiKey: a.apiKey };
  const other = { id: b.merchant.id, apiKey: b.apiKey };

  const raw = async (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const response = await fetch(url + path, { method, body: init.body, headers: init.headers, redirect: 'manual' });
    const text = await response.text();
    return { status: response.status, body: text, text, headers: response.headers };
  };

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, as = merchant) => {
    const response = await fetch(url + path, {
      method,
      headers: {
        authorization: `Bearer ${as.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as any, text, headers: response.headers };
  };

  return {
    url,
    linkSecret,
    deps,
    background,
    metrics,
    get sim() {
      if (!sim) throw new Error('no FakePay simulator in this app');
      return sim;
    },
    simulators,
    merchant,
    other,
    api,
    raw,
    async control(action, orderNo) {
      const response = await fetch(`${url}/sim/fakepay/_control/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderNo }),
      });
      const result = await response.json();
      await background.drain();
      return result;
    },
    async close() {
      await background.drain();
      await Promise.allSettled(simulators.map((s) => s.instance.close()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Runs `fn` with a started app and always closes it. */
export async function withApp(t: ExecutionContext, handle: TestDbHandle, fn: (app: TestApp) => Promise<void>, options?: StartOptions): Promise<void> {
  const app = await startApp(handle, options);
  try {
    await fn(app);
  } finally {
    await app.close();
  }
  void t;
}

/** A valid create-payment body; override any field. */
export function paymentBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    merchantOrderId: `M${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
    currency: 'TWD',
    amount: 79900,
    items: [{ sku: 'TEE-1', name: 'T-shirt', unitAmount: 39950, quantity: 2 }],
    provider: 'fakepay',
    method: 'card',
    returnUrl: 'https://shop.example/orders/A1001',
    ...overrides,
  };
}
