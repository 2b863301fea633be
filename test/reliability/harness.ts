/**
 * What the crash and DB-outage tests share: the gateway as a real child process (`server/main.ts`,
 * as `npm start` runs it) that can be SIGKILLed and started again on the same port and database;
 * the Alipay and SinoPac simulators in the test process, each on its own HTTP server, sending their
 * notifies with retries; a merchant creating payments through the public API; and the checks of the
 * end state against the providers' truth.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { silentLogger } from '../../core/logger.ts';
import { PROCESSING_LEASE_MS } from '../../core/inbox.ts';
import { createAlipaySimulator, type AlipaySimulator } from '../../providers/alipay/simulator/index.ts';
import { createSinopacSimulator, type SinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import { mysqlRequired, testDbKinds, type TestDbKind } from '../helpers/db.ts';
import { hasExited, waitExit } from '../helpers/mariadb.ts';
import { pool } from './size.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLOCK_SHIFT = join(ROOT, 'test', 'reliability', 'clock-shift.ts');
const ORPHAN_GUARD = join(ROOT, 'test', 'reliability', 'orphan-guard.ts');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const KIND_LABEL: Record<TestDbKind, string> = { sqlite: 'sqlite', mysql: 'mariadb' };

/**
 * How far a gateway's clock is moved so that leases left by a dead (or DB-less) processor have run
 * out (see clock-shift.ts); that also puts every stored row past the inbox-retry job's grace.
 * Kept short of the reconcile job's 10-minute minimum age, so orders still get paid by notifies.
 */
export const LEASE_JUMP_MS = PROCESSING_LEASE_MS + 15_000;

/**
 * PAYGATE_RELIABILITY_REAL_TIME=1: no clock shift; the tests wait for the leases to run out in real
 * time (about 6 minutes more per test).
 */
export const REAL_TIME = process.env.PAYGATE_RELIABILITY_REAL_TIME === '1';

/**
 * The providers' retry schedule in these tests: gaps between attempts, about 12 minutes in all, so
 * no notify runs out of retries while a test waits for it (the real ones are Alipay 25 h and
 * SinoPac 40 min). Short first gaps keep CI quick.
 */
export const RETRY_GAPS_MS = [
  500, 1_000, 1_000, 2_000, 2_000, 3_000, 3_000, 5_000, 5_000, 5_000,
  ...Array<number>(12).fill(10_000),
  ...Array<number>(20).fill(30_000),
];

/**
 * One ava test per database kind, titled `… [sqlite]` / `… [mariadb]`, run one after the other (a
 * gateway, its database and two simulators per test already load this machine). Without
 * PAYGATE_TEST_MYSQL_URL the MariaDB variant is registered as skipped, with the reason in the
 * title, unless PAYGATE_TEST_REQUIRE_MYSQL=1 makes it a failure (as test/helpers/db.ts does).
 */
export function perDbTest(title: string, fn: (t: ExecutionContext, kind: TestDbKind) => Promise<void>, unavailable?: () => string | null): void {
  for (const kind of testDbKinds()) {
    const reason = kind === 'mysql' ? (unavailable?.() ?? null) : null;
    if (reason === null) test.serial(`${title} [${KIND_LABEL[kind]}]`, (t) => fn(t, kind));
    else if (mysqlRequired()) test.serial(`${title} [mariadb]`, (t) => void t.fail(`PAYGATE_TEST_REQUIRE_MYSQL=1 but ${reason}`));
    else test.skip(`${title} [mariadb] — skipped: ${reason}`, () => {});
  }
  if (!process.env.PAYGATE_TEST_MYSQL_URL) {
    if (mysqlRequired()) {
      test.serial(`${title} [mariadb]`, (t) => {
        t.fail('PAYGATE_TEST_REQUIRE_MYSQL=1 but PAYGATE_TEST_MYSQL_URL is not set');
      });
    } else {
      test.skip(`${title} [mariadb] — skipped: no MariaDB on this machine (set PAYGATE_TEST_MYSQL_URL or install mariadb-server)`, () => {});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Last-resort cleanup

const lastResorts = new Set<() => void>();
let lastResortInstalled = false;

/**
 * Registers synchronous cleanup for when this test worker ends before a test's `finally` can run
 * (ava's timeout or an interrupt terminates the worker): kill the gateway, remove temp dirs.
 * Returns the function that unregisters it, for the `finally` that did the cleanup itself.
 */
export function lastResort(cleanup: () => void): () => void {
  if (!lastResortInstalled) {
    lastResortInstalled = true;
    const runAll = (): void => {
      for (const fn of [...lastResorts]) {
        try {
          fn();
        } catch {
          // keep going: the rest still needs cleaning
        }
      }
      lastResorts.clear();
    };
    process.on('exit', runAll);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(signal, () => {
        runAll();
        process.kill(process.pid, signal); // this listener is gone: the default action ends the worker
      });
    }
  }
  lastResorts.add(cleanup);
  return () => void lastResorts.delete(cleanup);
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

export interface Listening {
  base: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(handler: http.RequestListener): Promise<Listening> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Simulators

export interface Simulators {
  alipay: AlipaySimulator;
  sinopac: SinopacSimulator;
  /** The PAYGATE_CONFIG file pointing the gateway's `default` accounts at them. */
  configFile: string;
  close(): Promise<void>;
}

/** Both simulators on their own servers, with RETRY_GAPS_MS; writes `<dir>/paygate-config.json`. */
export async function startSimulators(dir: string): Promise<Simulators> {
  let alipay: AlipaySimulator | undefined;
  let sinopac: SinopacSimulator | undefined;
  const alipayServer = await listen((req, res) => alipay!.handler(req, res));
  const sinopacServer = await listen((req, res) => sinopac!.handler(req, res));
  alipay = createAlipaySimulator({ baseUrl: alipayServer.base, logger: silentLogger }, { notifyScheduleMs: RETRY_GAPS_MS });
  sinopac = createSinopacSimulator({ baseUrl: sinopacServer.base, logger: silentLogger }, { atmAutoPayMs: null, backendRetryMs: RETRY_GAPS_MS });
  const configFile = join(dir, 'paygate-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({ providers: { alipay: { default: alipay.accountConfig('default') }, sinopac: { default: sinopac.accountConfig('default') } } }),
  );
  return {
    alipay,
    sinopac,
    configFile,
    async close() {
      await Promise.allSettled([alipay!.close(), sinopac!.close()]);
      await Promise.allSettled([alipayServer.close(), sinopacServer.close()]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The gateway process

export interface GatewayOptions {
  port: number;
  databaseUrl: string;
  configFile: string;
  /** Base of the callback URLs the providers are given (default: the gateway itself). */
  publicUrl?: string;
  apiKey: string;
  /** Every run's stdout and stderr are appended here. */
  logFile: string;
}

/** `server/main.ts` as a child process: started, SIGKILLed and started again on one port and database. */
export class Gateway {
  proc: ChildProcess | undefined;
  starts = 0;
  /** Exits nobody asked for (a crash): `code/signal` of each. */
  readonly unexpectedExits: string[] = [];
  private expectingExit = false;
  private readonly log: WriteStream;

  constructor(readonly options: GatewayOptions) {
    this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  get base(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** Spawns the gateway and resolves once /healthz answers (it listens only after migrating). */
  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    if (this.proc && !hasExited(this.proc)) throw new Error('the gateway is already running');
    const shifted = Object.keys(extraEnv).some((k) => k.startsWith('PAYGATE_TEST_CLOCK_'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(this.options.port),
      HOST: '127.0.0.1',
      DATABASE_URL: this.options.databaseUrl,
      PAYGATE_PUBLIC_URL: this.options.publicUrl ?? this.base,
      PAYGATE_CONFIG: this.options.configFile,
      PAYGATE_SIMULATORS: 'off',
      PAYGATE_DEMO_API_KEY: this.options.apiKey,
      // The dashboard's made-up password goes to a file when stdout is not a terminal: beside the log.
      PAYGATE_SECRETS_FILE: `${this.options.logFile}.secrets`,
      PAYGATE_INLINE_WORKER: 'true',
      LOG_LEVEL: process.env.PAYGATE_RELIABILITY_LOG_LEVEL ?? 'warn',
      ...extraEnv,
    };
    const args = ['--import=tsx', `--import=${ORPHAN_GUARD}`, ...(shifted ? [`--import=${CLOCK_SHIFT}`] : []), 'server/main.ts'];
    this.starts++;
    this.log.write(`\n===== start #${this.starts} at ${new Date().toISOString()} ${JSON.stringify(extraEnv)}\n`);
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.expectingExit = false;
    proc.stdout!.pipe(this.log, { end: false });
    proc.stderr!.pipe(this.log, { end: false });
    proc.once('exit', (code, signal) => {
      this.log.write(`===== exit code=${code} signal=${signal} at ${new Date().toISOString()}\n`);
      if (!this.expectingExit) this.unexpectedExits.push(`${code}/${signal}`);
    });

    const deadline = Date.now() + 60_000;
    for (;;) {
      if (hasExited(proc)) throw new Error(`the gateway exited (code ${proc.exitCode}, signal ${proc.signalCode}) before it was ready:\n${this.logTail()}`);
      if (Date.now() > deadline) throw new Error(`the gateway was not ready after 60 s:\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  }

  get running(): boolean {
    return this.proc !== undefined && !hasExited(this.proc);
  }

  /** SIGKILL: no shutdown handler runs, requests in flight are cut, transactions are left to the database. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || hasExited(proc)) return;
    this.expectingExit = true;
    proc.kill('SIGKILL');
    await waitExit(proc, 10_000);
  }

  signal(signal: NodeJS.Signals): void {
    this.proc?.kill(signal);
  }

  /** SIGTERM (graceful: in-flight requests and background work finish), SIGKILL after 30 s. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || hasExited(proc)) return;
    this.expectingExit = true;
    proc.kill('SIGTERM');
    if (!(await waitExit(proc, 30_000))) {
      proc.kill('SIGKILL');
      await waitExit(proc, 5_000);
    }
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** What the gateway logged at warn and above, counted by message and error (pino JSON lines). */
  logSummary(): Record<string, number> {
    const counts: Record<string, number> = {};
    let text = '';
    try {
      text = readFileSync(this.options.logFile, 'utf8');
    } catch {
      return counts;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
        if ((entry.level ?? 0) < 40) continue;
        const err = typeof entry.err === 'string' ? entry.err : entry.err ? JSON.stringify(entry.err) : '';
        const key = `${entry.msg ?? ''}${err ? `: ${err.slice(0, 80)}` : ''}`;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        // not a log line
      }
    }
    return counts;
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((r) => this.log.end(r));
  }
}

export const newApiKey = (): string => `pk_test_${randomBytes(16).toString('hex')}`;

// ---------------------------------------------------------------------------------------------
// A tap on the wire between the providers and the gateway

export interface TapRecord {
  path: string;
  /** When the provider's request reached the tap / when the provider had its answer or gave up. */
  start: number;
  end: number;
  /** answered: the gateway's answer was passed on; aborted: the provider gave up first (its timeout);
   *  unreachable: the gateway could not be reached (the provider sees a network error). */
  outcome: 'answered' | 'aborted' | 'unreachable';
  status: number;
  body: string;
}

/**
 * A transparent HTTP proxy in front of the gateway that records when each request began and ended
 * and what the provider got: the simulators' own delivery log has only the end of each attempt.
 */
export async function startTap(targetPort: number): Promise<Listening & { records: TapRecord[] }> {
  // One connection per request: a reused keep-alive socket that the gateway closes as idle just as
  // a request goes out would look like an unreachable gateway, which is the tap's fault, not its.
  const agent = new http.Agent({ keepAlive: false, maxSockets: 512 });
  const records: TapRecord[] = [];
  const server = await listen((req, res) => {
    const rec: TapRecord = { path: req.url ?? '', start: Date.now(), end: 0, outcome: 'answered', status: 0, body: '' };
    let settled = false;
    const settle = (outcome: TapRecord['outcome'], status = 0, body = ''): void => {
      if (settled) return;
      settled = true;
      Object.assign(rec, { end: Date.now(), outcome, status, body });
      records.push(rec);
    };
    res.on('close', () => {
      if (!res.writableFinished) settle('aborted');
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(parts).toString('utf8');
          if (res.destroyed) return settle('aborted');
          res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'text/plain' });
          res.end(body, () => settle('answered', answer.statusCode ?? 0, body));
        });
        answer.on('error', (err) => {
          settle('unreachable', 0, err.message);
          res.destroy();
        });
      });
      up.on('error', (err) => {
        settle('unreachable', 0, err.message);
        res.destroy();
      });
      up.end(Buffer.concat(chunks));
    });
  });
  return {
    ...server,
    records,
    close: async () => {
      agent.destroy();
      await server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The merchant

export interface Order {
  id: string;
  orderNo: string;
  provider: 'alipay' | 'sinopac';
  amount: number;
}

/**
 * `n` payments through POST /v1/payments, alternating Alipay (page, CNY) and SinoPac (ATM, TWD),
 * with amounts that differ per order. The buyer opens each Alipay hand-off, so its simulator knows
 * the trade before it is paid.
 */
export async function createOrders(gateway: Gateway, n: number, tag: string): Promise<Order[]> {
  return pool(n, 16, async (i) => {
    const provider = i % 2 === 0 ? 'alipay' : 'sinopac';
    const unit = provider === 'alipay' ? 1_000 + i : 10_000 + i * 100;
    const body = {
      merchantOrderId: `${tag}-${i}`,
      currency: provider === 'alipay' ? 'CNY' : 'TWD',
      amount: unit * 2,
      items: [{ sku: `SKU-${i}`, name: 'Oolong tea 300g', unitAmount: unit, quantity: 2 }],
      provider,
      method: provider === 'alipay' ? 'page' : 'atm',
    };
    // As a merchant does: a transport error (a kept-alive socket closed under us on a loaded
    // machine) is sent again under the same Idempotency-Key, which makes that safe.
    const send = () =>
      fetch(`${gateway.base}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.options.apiKey}`, 'content-type': 'application/json', 'idempotency-key': `${tag}-${i}` },
        body: JSON.stringify(body),
      });
    let res = await send().catch(() => null);
    // ...and while its first try may still be running, the key answers 409 in progress: wait. A 5xx
    // is not kept under the key (server/middleware/idempotency.ts) and says "try again": a provider
    // call that ran out of time on a loaded machine is retried as a merchant would.
    const again = (r: Response | null) => !r || r.status === 409 || r.status === 502 || r.status === 503;
    for (let attempt = 1; attempt < 5 && again(res); attempt++) {
      if (res) await res.arrayBuffer();
      await sleep(200 * attempt);
      res = await send().catch(() => null);
    }
    if (!res) res = await send();
    const text = await res.text();
    if (res.status !== 201) throw new Error(`POST /v1/payments answered ${res.status}: ${text}`);
    const created = JSON.parse(text) as { id: string; orderNo: string; status: string; action?: { type: string; url?: string } };
    if (created.status !== 'pending') throw new Error(`payment ${created.id} is ${created.status}, not pending`);
    if (provider === 'alipay') {
      if (created.action?.type !== 'redirect' || !created.action.url) throw new Error(`payment ${created.id} has no redirect: ${text}`);
      const handoff = await fetch(created.action.url, { redirect: 'manual' });
      await handoff.arrayBuffer();
      if (handoff.status >= 400) throw new Error(`the Alipay hand-off answered ${handoff.status}`);
    }
    return { id: created.id, orderNo: created.orderNo, provider, amount: body.amount };
  });
}

export interface LoadProgress {
  /** Payments made whose first notify has been answered (or failed). */
  done: number;
  /** Payments waiting for the answer to their first notify right now. */
  inFlight: number;
  /**
   * Time the gateway spent down on purpose (a kill and its restart), which the schedule skips: on
   * a loaded machine a restart can take seconds, and the buyers must not all pay meanwhile.
   */
  pausedMs?: number;
  /** Set while the gateway is down on purpose: no buyer starts paying until it is back. */
  downSince?: number | null;
}

/**
 * The buyers pay every order at its provider, spread evenly over `durationMs` in bursts of `burst`
 * payments at once (at most 64 payments waiting for their first notify at a time). Each provider
 * then notifies, retrying until acknowledged.
 */
export async function payAll(
  sims: Simulators,
  orders: readonly Order[],
  durationMs: number,
  progress: LoadProgress = { done: 0, inFlight: 0 },
  burst = 1,
): Promise<string[]> {
  const errors: string[] = [];
  const started = Date.now();
  const gap = (durationMs / Math.max(1, orders.length)) * burst;
  await pool(orders.length, 64, async (i) => {
    // Re-read after each short sleep: a pause added meanwhile moves this payment later.
    for (;;) {
      const wait = started + (progress.pausedMs ?? 0) + Math.floor(i / burst) * gap - Date.now();
      if (wait <= 0 && progress.downSince == null) break;
      await sleep(Math.min(Math.max(wait, 20), 100));
    }
    const order = orders[i]!;
    progress.inFlight++;
    try {
      if (order.provider === 'alipay') await sims.alipay.pay(order.orderNo);
      else await sims.sinopac.pay(order.orderNo);
    } catch (err) {
      errors.push(`${order.orderNo}: ${(err as Error).message}`);
    } finally {
      progress.inFlight--;
      progress.done++;
    }
  });
  return errors;
}

// ---------------------------------------------------------------------------------------------
// The providers' side of the story

export interface Delivery {
  provider: 'alipay' | 'sinopac';
  orderNo: string;
  /** notify_id (Alipay) or PayToken (SinoPac): one notification and its retries. */
  notification: string;
  kind: string;
  ok: boolean;
  status: number;
  body: string;
  at: number;
}

export function deliveries(sims: Simulators): Delivery[] {
  return [
    ...sims.alipay.deliveries.map((d) => ({ provider: 'alipay' as const, orderNo: d.outTradeNo, notification: d.notifyId, kind: d.kind, ok: d.ok, status: d.status, body: d.body, at: Date.parse(d.at) })),
    ...sims.sinopac.deliveries.map((d) => ({ provider: 'sinopac' as const, orderNo: d.orderNo, notification: d.payToken, kind: d.kind, ok: d.ok, status: d.status, body: d.body, at: Date.parse(d.at) })),
  ];
}

/** Order numbers each provider considers paid, with the provider's trade number where it has one. */
export function providerTruth(sims: Simulators): Map<string, { provider: string; tradeNo: string | null }> {
  const paid = new Map<string, { provider: string; tradeNo: string | null }>();
  for (const trade of sims.alipay.trades) if (trade.status === 'TRADE_SUCCESS') paid.set(trade.outTradeNo, { provider: 'alipay', tradeNo: trade.tradeNo });
  for (const order of sims.sinopac.orders) if (order.status === 'paid') paid.set(order.orderNo, { provider: 'sinopac', tradeNo: null });
  return paid;
}

/** Notifications whose retry chain has not (yet) ended in an acknowledgement. */
export function unacknowledged(all: readonly Delivery[]): Set<string> {
  const open = new Set<string>();
  const acked = new Set<string>();
  for (const d of all) (d.ok ? acked : open).add(d.notification);
  for (const n of acked) open.delete(n);
  return open;
}

// ---------------------------------------------------------------------------------------------
// The gateway's database

async function chunked<T>(ids: readonly string[], query: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += 500) out.push(...(await query(ids.slice(i, i + 500))));
  return out;
}

export interface DbState {
  status: Map<string, string>;
  tradeNo: Map<string, string | null>;
  /** order id → its transitions into `paid` (from, source). */
  paidTransitions: Map<string, { from: string; source: string }[]>;
  paidEvents: Map<string, number>;
  /** Notify rows not processed yet. */
  unprocessed: number;
  /** Notify rows with an outcome other than applied / duplicate. */
  oddOutcomes: Map<string, number>;
  notifyRows: number;
}

export async function readDb(db: Knex, orders: readonly Order[]): Promise<DbState> {
  const ids = orders.map((o) => o.id);
  const rows = await chunked(ids, (c) => db('orders').whereIn('id', c).select('id', 'status', 'provider_trade_no'));
  const transitions = await chunked(ids, (c) => db('order_transitions').whereIn('order_id', c).where('to_status', 'paid').select('order_id', 'from_status', 'source'));
  const events = await chunked(ids, (c) => db('events').whereIn('order_id', c).where('type', 'payment.paid').select('order_id'));
  const inbox = (await db('provider_callbacks').where('kind', 'notify').select('processed_at', 'outcome')) as { processed_at: unknown; outcome: string | null }[];
  const state: DbState = {
    status: new Map(rows.map((r: { id: string; status: string }) => [r.id, r.status])),
    tradeNo: new Map(rows.map((r: { id: string; provider_trade_no: string | null }) => [r.id, r.provider_trade_no])),
    paidTransitions: new Map(),
    paidEvents: new Map(),
    unprocessed: inbox.filter((r) => r.processed_at === null).length,
    oddOutcomes: new Map(),
    notifyRows: inbox.length,
  };
  for (const r of transitions as { order_id: string; from_status: string; source: string }[]) {
    const list = state.paidTransitions.get(r.order_id) ?? [];
    list.push({ from: r.from_status, source: r.source });
    state.paidTransitions.set(r.order_id, list);
  }
  for (const r of events as { order_id: string }[]) state.paidEvents.set(r.order_id, (state.paidEvents.get(r.order_id) ?? 0) + 1);
  for (const r of inbox) {
    if (r.processed_at === null || r.outcome === 'applied' || r.outcome === 'duplicate') continue;
    state.oddOutcomes.set(String(r.outcome), (state.oddOutcomes.get(String(r.outcome)) ?? 0) + 1);
  }
  return state;
}

/** Notify rows some processor holds a lease on (rows left behind by a killed or DB-less processor). */
export async function leasedRows(db: Knex): Promise<number> {
  const [row] = (await db('provider_callbacks').where('kind', 'notify').whereNull('processed_at').whereNotNull('lease_owner').count({ n: '*' })) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

/**
 * Polls until every notification the providers sent has been acknowledged, every order they were
 * paid for is paid in the gateway's database and no notify row is left unprocessed; or until
 * `timeoutMs`. Returns how long it took, or null on timeout.
 */
export async function waitConverged(db: Knex, sims: Simulators, orders: readonly Order[], timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  const truth = providerTruth(sims);
  for (;;) {
    const open = unacknowledged(deliveries(sims));
    if (open.size === 0) {
      const state = await readDb(db, orders).catch(() => null);
      if (state && state.unprocessed === 0 && orders.every((o) => !truth.has(o.orderNo) || state.status.get(o.id) === 'paid')) return Date.now() - started;
    }
    if (Date.now() - started > timeoutMs) return null;
    await sleep(500);
  }
}

export interface Verdict {
  orders: number;
  providerPaid: number;
  acknowledged: number;
  acknowledgedOrders: number;
  /** Acknowledged (by the gateway) but the order is not paid in its database. */
  ackedNotApplied: string[];
  /** Orders whose paid/unpaid state (or provider trade number) differs from the provider's. */
  differences: string[];
  /** Orders without exactly one pending→paid transition. */
  transitionFaults: string[];
  /** Orders without exactly one payment.paid event. */
  eventFaults: string[];
  /** Notifications whose retries never got an acknowledgement. */
  neverAcknowledged: number;
  deliveries: number;
  retried: number;
  /** Paid transitions by where they came from: callback / reconcile / other. */
  sources: Record<string, number>;
  unprocessed: number;
  oddOutcomes: Record<string, number>;
}

/** The end state checked against the providers' truth (docs/architecture.md#the-state-machine, docs/architecture.md#callbacks-durable-first-then-verify-then-answer; issue 5). */
export async function verdict(db: Knex, sims: Simulators, orders: readonly Order[]): Promise<Verdict> {
  const state = await readDb(db, orders);
  const truth = providerTruth(sims);
  const all = deliveries(sims);
  const byNo = new Map(orders.map((o) => [o.orderNo, o]));
  const ackedOrders = new Set(all.filter((d) => d.ok).map((d) => d.orderNo));
  const sources: Record<string, number> = {};
  const v: Verdict = {
    orders: orders.length,
    providerPaid: orders.filter((o) => truth.has(o.orderNo)).length,
    acknowledged: all.filter((d) => d.ok).length,
    acknowledgedOrders: ackedOrders.size,
    ackedNotApplied: [...ackedOrders].filter((no) => state.status.get(byNo.get(no)?.id ?? '') !== 'paid'),
    differences: [],
    transitionFaults: [],
    eventFaults: [],
    neverAcknowledged: unacknowledged(all).size,
    deliveries: all.length,
    retried: all.filter((d) => d.kind === 'retry').length,
    sources,
    unprocessed: state.unprocessed,
    oddOutcomes: Object.fromEntries(state.oddOutcomes),
  };
  for (const o of orders) {
    const status = state.status.get(o.id);
    const provider = truth.get(o.orderNo);
    if (!!provider !== (status === 'paid')) v.differences.push(`${o.orderNo} (${o.provider}): provider ${provider ? 'paid' : 'unpaid'}, gateway ${status}`);
    else if (provider?.tradeNo && state.tradeNo.get(o.id) !== provider.tradeNo) v.differences.push(`${o.orderNo}: trade no ${state.tradeNo.get(o.id)} ≠ ${provider.tradeNo}`);
    const paid = state.paidTransitions.get(o.id) ?? [];
    if (provider && (paid.length !== 1 || paid[0]!.from !== 'pending')) v.transitionFaults.push(`${o.orderNo}: ${JSON.stringify(paid)}`);
    for (const p of paid) {
      const source = `${o.provider}:${p.source.split(':')[0]}`;
      sources[source] = (sources[source] ?? 0) + 1;
    }
    const events = state.paidEvents.get(o.id) ?? 0;
    if (provider && events !== 1) v.eventFaults.push(`${o.orderNo}: ${events} payment.paid events`);
  }
  return v;
}

/** The assertions both tests make on the end state. */
export function assertVerdict(t: ExecutionContext, v: Verdict): void {
  t.is(v.providerPaid, v.orders, 'the providers took every payment');
  t.deepEqual(v.ackedNotApplied.slice(0, 10), [], `${v.ackedNotApplied.length} acknowledged notifies belong to orders that are not paid`);
  t.deepEqual(v.differences.slice(0, 10), [], `${v.differences.length} orders differ from the providers' truth`);
  t.deepEqual(v.transitionFaults.slice(0, 10), [], `${v.transitionFaults.length} orders without exactly one pending→paid transition`);
  t.deepEqual(v.eventFaults.slice(0, 10), [], `${v.eventFaults.length} orders without exactly one payment.paid event`);
  t.is(v.neverAcknowledged, 0, 'every notification was acknowledged in the end');
  t.is(v.unprocessed, 0, 'no notify row left unprocessed');
  t.deepEqual(v.oddOutcomes, {}, 'every notify row was applied or a duplicate');
  t.is(v.sources['alipay:reconcile'] ?? 0, 0, 'Alipay orders were paid by their notifies, not by reconciliation');
}
