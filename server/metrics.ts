import Router from '@koa/router';
import cluster from 'node:cluster';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { dbKind, errorSummary, toNumber, type Db } from '../core/db.ts';
import { AuthenticationError, GatewayError } from '../core/errors.ts';
import { runningJobs, type JobHealth } from '../core/jobs/runner.ts';
import type { Logger } from '../core/logger.ts';
import type { CoreMetrics, ProviderOperation } from '../core/metrics.ts';
import { CREDENTIALS_STATES, type CredentialsState } from '../core/provider-health.ts';

export interface GatewayMetricsOptions {
  /** Read at scrape time for the outbox gauges. */
  db: Db;
  logger: Logger;
  /** PAYGATE_METRICS_TOKEN: when set, GET /metrics wants `Authorization: Bearer <token>`, from anywhere. */
  token?: string;
  /** PAYGATE_METRICS_PUBLIC=true: without a token, answer every client (else see publicUrl). */
  open?: boolean;
  /**
   * PAYGATE_PUBLIC_URL. Without a token (and not open), /metrics answers loopback clients only when
   * it is a localhost URL (the demo), and nobody otherwise (metricsAccess). Left out (tests, tools
   * with no public URL), it counts as local; bootstrap always passes it.
   */
  publicUrl?: string;
  /** Where job health comes from; by default every job runner started in this process. */
  jobs?: () => JobHealth[];
}

/** How long a scrape waits for the outbox query before it reports NaN instead. */
const DB_TIMEOUT_MS = 2_000;

/**
 * prom-client's default process metrics (CPU, memory, event loop lag, GC...), collected once per
 * process into a registry of their own and merged into every scrape: they describe the process, not
 * an app, and each collection starts monitors that are never stopped.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Provider calls run from a few milliseconds (local crypto) to a provider's 10 s timeout. */
const CALL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The gateway's metrics in one prom-client Registry of its own (never the global one, so several apps
 * in one process do not collide), served with the process metrics. Core reports through the CoreMetrics interface; what lives in the
 * database or in the job runner is read when /metrics is scraped.
 */
export class GatewayMetrics implements CoreMetrics {
  readonly registry = new Registry();
  private readonly db: Db;
  private readonly logger: Logger;
  private readonly token: Buffer | null;
  private readonly open: boolean;
  /** PAYGATE_PUBLIC_URL is a localhost URL (metricsAccess). */
  private readonly local: boolean;
  private readonly jobs: () => JobHealth[];

  private readonly callbacks = new Counter({
    name: 'paygate_callbacks_total',
    help: 'Provider callbacks handled, by the outcome their inbox row records (applied, duplicate, rejected, displayed...), or fault / gave_up / unstored / redelivered / handed_off',
    labelNames: ['provider', 'account', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly transitions = new Counter({
    name: 'paygate_order_transitions_total',
    help: 'Order state changes committed, by from and to state',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });
  private readonly dbRetries = new Counter({
    name: 'paygate_db_retries_total',
    help: 'Transactions run again after the database rolled them back whole, by operation and reason (deadlock: also a Galera certification conflict; lock_wait; busy; not_ready; version)',
    labelNames: ['operation', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly providerCalls = new Histogram({
    name: 'paygate_provider_call_duration_seconds',
    help: 'Provider contract calls by operation; result is fault when the call threw (a decline is ok)',
    labelNames: ['provider', 'operation', 'result'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });
  private readonly providerCredentials = new Gauge({
    name: 'paygate_provider_credentials',
    help: 'Whether each provider account\'s credentials work, as its last probe or call found: 1 for the current state (ok, rejected, unreachable), 0 for the others; rejected means its payments answer provider_misconfigured',
    labelNames: ['provider', 'account', 'state'] as const,
    registers: [this.registry],
  });
  private readonly outboxPending = new Gauge({
    name: 'paygate_outbox_pending_events',
    help: 'Merchant events not yet delivered (delivery_status pending), read at scrape time',
    registers: [this.registry],
  });
  private readonly outboxOldest = new Gauge({
    name: 'paygate_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest merchant event not yet delivered (0 when none), read at scrape time',
    registers: [this.registry],
  });
  private readonly outboxOverdue = new Gauge({
    name: 'paygate_outbox_overdue_seconds',
    help: 'How long the most overdue pending delivery has been due (0 when none): grows when no worker delivers',
    registers: [this.registry],
  });
  private readonly jobLastRun = new Gauge({
    name: 'paygate_job_last_run_timestamp_seconds',
    help: 'When the background job last started a run (runners in this process)',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly jobLastSuccess = new Gauge({
    name: 'paygate_job_last_success_timestamp_seconds',
    help: 'When a run of the background job last ended without an error',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly jobConsecutiveFailures = new Gauge({
    name: 'paygate_job_consecutive_failures',
    help: 'Runs of the background job in a row that failed (0 after a success)',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly jobRuns = new Counter({
    name: 'paygate_job_runs_total',
    help: 'Runs of the background job since its runner started',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly jobFailures = new Counter({
    name: 'paygate_job_failures_total',
    help: 'Failed runs of the background job since its runner started',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  /** Served only once the database turned out to be a Galera node (refreshGalera). */
  private readonly galeraRegistry = new Registry();
  private galera: boolean | undefined;
  private readonly wsrepClusterSize = new Gauge({
    name: 'paygate_db_wsrep_cluster_size',
    help: 'Galera: nodes in the cluster, as the database node this process reaches counts them (wsrep_cluster_size), read at scrape time; absent when the database is not a Galera node',
    registers: [this.galeraRegistry],
  });
  private readonly wsrepLocalState = new Gauge({
    name: 'paygate_db_wsrep_local_state',
    help: 'Galera: the state of the database node this process reaches (wsrep_local_state: 4 Synced, 2 Donor/Desynced, 1 Joining, 3 Joined), read at scrape time',
    registers: [this.galeraRegistry],
  });

  constructor(options: GatewayMetricsOptions) {
    this.db = options.db;
    this.logger = options.logger;
    this.token = options.token ? digest(options.token) : null;
    this.open = options.open ?? false;
    this.local = options.publicUrl === undefined || isLocalUrl(options.publicUrl);
    this.jobs = options.jobs ?? runningJobs;
    // Once per installation start: a cluster's primary says it, its workers (same settings) do not.
    if (this.token === null && !this.open && !this.local && !cluster.isWorker) {
      this.logger.warn(
        { publicUrl: options.publicUrl },
        'GET /metrics answers 403 to every client: PAYGATE_PUBLIC_URL is not a localhost URL and PAYGATE_METRICS_TOKEN is not set; set the token (Prometheus sends it as a bearer token) to scrape',
      );
    }
  }

  callback(provider: string, account: string, outcome: string): void {
    this.safely(() => this.callbacks.inc({ provider, account, outcome }));
  }

  transition(from: string, to: string): void {
    this.safely(() => this.transitions.inc({ from, to }));
  }

  dbRetry(operation: string, reason: string): void {
    this.safely(() => this.dbRetries.inc({ operation, reason }));
  }

  providerCall(provider: string, operation: ProviderOperation, result: 'ok' | 'fault', seconds: number): void {
    this.safely(() => this.providerCalls.observe({ provider, operation, result }, seconds));
  }

  credentials(provider: string, account: string, state: CredentialsState): void {
    // One series per state, the current one 1: an alert on {state="rejected"} == 1 needs no join.
    this.safely(() => {
      for (const s of CREDENTIALS_STATES) if (s !== 'unknown') this.providerCredentials.set({ provider, account, state: s }, s === state ? 1 : 0);
    });
  }

  /** Whether a request may read the metrics (metricsAccess); `authorization` is its header. */
  access(request: { authorization: string; socketAddress: string | undefined; forwarded: boolean }): MetricsAccess {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization);
    const tokenValid = this.token !== null && match !== null && timingSafeEqual(digest(match[1]!), this.token);
    return metricsAccess({ token: this.token !== null, open: this.open, local: this.local }, { ...request, tokenValid });
  }

  /** The exposition text, with what is read at scrape time (outbox, jobs) brought up to date. */
  async render(): Promise<string> {
    this.refreshJobs();
    await this.refreshOutbox();
    await this.refreshGalera();
    return Registry.merge([this.registry, ...(this.galera ? [this.galeraRegistry] : []), processMetrics()]).metrics();
  }

  /** Counting must never break the payment path it observes. */
  private safely(count: () => void): void {
    try {
      count();
    } catch (err) {
      this.logger.warn({ err: errorSummary(err) }, 'metric not recorded');
    }
  }

  private refreshJobs(): void {
    // Several runners in one process (tests) report one series per job name.
    const byName = new Map<string, JobHealth>();
    for (const h of this.jobs()) {
      const seen = byName.get(h.name);
      byName.set(h.name, seen ? mergeHealth(seen, h) : h);
    }
    for (const metric of [this.jobLastRun, this.jobLastSuccess, this.jobConsecutiveFailures, this.jobRuns, this.jobFailures]) metric.reset();
    for (const h of byName.values()) {
      const job = { job: h.name };
      if (h.lastRunAt) this.jobLastRun.set(job, h.lastRunAt.getTime() / 1000);
      if (h.lastSuccessAt) this.jobLastSuccess.set(job, h.lastSuccessAt.getTime() / 1000);
      this.jobConsecutiveFailures.set(job, h.consecutiveFailures);
      this.jobRuns.inc(job, h.runs);
      this.jobFailures.inc(job, h.failures);
    }
  }

  /**
   * Two cheap queries: the aggregate runs over events_delivery_idx (delivery_status,
   * next_attempt_at; the index carries the id) for the pending rows only, then one primary-key read.
   */
  private async refreshOutbox(): Promise<void> {
    try {
      const now = Date.now();
      const stats = await withTimeout(
        this.db('events').where({ delivery_status: 'pending' }).count({ pending: '*' }).min({ firstId: 'id', due: 'next_attempt_at' }).first(),
      );
      const pending = toNumber(stats?.pending ?? 0);
      let oldest = 0;
      let overdue = 0;
      if (pending > 0 && stats?.firstId != null) {
        const first = await withTimeout(this.db('events').where({ id: stats.firstId }).first('created_at'));
        if (first) oldest = Math.max(0, (now - toNumber(first.created_at)) / 1000);
        overdue = Math.max(0, (now - toNumber(stats.due)) / 1000);
      }
      this.outboxPending.set(pending);
      this.outboxOldest.set(oldest);
      this.outboxOverdue.set(overdue);
    } catch (err) {
      // The scrape still answers (process and counters); NaN says "unknown", never a reassuring 0.
      this.logger.warn({ err: errorSummary(err) }, 'outbox metrics could not be read');
      for (const gauge of [this.outboxPending, this.outboxOldest, this.outboxOverdue]) gauge.set(Number.NaN);
    }
  }

  /**
   * One status read on MariaDB (none on SQLite); a server without wsrep answers no rows and the
   * gauges stay out of the exposition. A Galera node that does not answer reads NaN.
   */
  private async refreshGalera(): Promise<void> {
    if (this.galera === false || dbKind(this.db) !== 'mysql') return;
    try {
      const [rows] = (await withTimeout(this.db.raw("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state')"))) as [{ Variable_name: string; Value: string }[]];
      const value = (name: string) => rows.find((r) => r.Variable_name.toLowerCase() === name)?.Value;
      if (this.galera === undefined) this.galera = value('wsrep_local_state') !== undefined;
      if (!this.galera) return;
      this.wsrepClusterSize.set(Number(value('wsrep_cluster_size') ?? Number.NaN));
      this.wsrepLocalState.set(Number(value('wsrep_local_state') ?? Number.NaN));
    } catch (err) {
      if (!this.galera) return;
      this.logger.warn({ err: errorSummary(err) }, 'Galera status could not be read');
      for (const gauge of [this.wsrepClusterSize, this.wsrepLocalState]) gauge.set(Number.NaN);
    }
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (!a || !b) return a ?? b;
  return a > b ? a : b;
}

function mergeHealth(a: JobHealth, b: JobHealth): JobHealth {
  return {
    ...a,
    runs: a.runs + b.runs,
    failures: a.failures + b.failures,
    handled: a.handled + b.handled,
    lastRunAt: latest(a.lastRunAt, b.lastRunAt),
    lastSuccessAt: latest(a.lastSuccessAt, b.lastSuccessAt),
    consecutiveFailures: Math.max(a.consecutiveFailures, b.consecutiveFailures),
  };
}

async function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from the database within ${DB_TIMEOUT_MS} ms`)), DB_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export type MetricsAccess = 'allow' | 'unauthorized' | 'forbidden';

/**
 * Who may read /metrics (it shows business volume). With a token: whoever carries it, from
 * anywhere, and nobody else (401). Without: everyone when PAYGATE_METRICS_PUBLIC=true. Otherwise
 * only a demo (PAYGATE_PUBLIC_URL on localhost: `local`) answers, and only a client on this machine;
 * everything else gets 403. "On this machine" is the TCP peer, never a header a client writes, and a
 * request that came through a proxy (X-Forwarded-For, Forwarded or X-Real-IP) is not local. That is
 * not enough on its own: a TLS proxy on the same host that adds no forwarding header (nginx
 * `proxy_pass` as written in most guides) makes every internet client look like 127.0.0.1, so an
 * installation with a public URL needs the token.
 */
export function metricsAccess(
  policy: { token: boolean; open: boolean; local: boolean },
  request: { tokenValid: boolean; socketAddress: string | undefined; forwarded: boolean },
): MetricsAccess {
  if (policy.token) return request.tokenValid ? 'allow' : 'unauthorized';
  if (policy.open) return 'allow';
  if (!policy.local) return 'forbidden';
  return isLoopback(request.socketAddress) && !request.forwarded ? 'allow' : 'forbidden';
}

/** `http(s)://localhost…`, `127.x.x.x` or `[::1]`: a demo on this machine, not a public installation. */
export function isLocalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** 127.0.0.0/8, ::1, and 127.x as an IPv4-mapped IPv6 address (a dual-stack socket's view of it). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/**
 * GET /metrics in Prometheus text format, answered as metricsAccess decides: with
 * PAYGATE_METRICS_TOKEN set, only `Authorization: Bearer <token>` (401 otherwise); without, only
 * loopback clients of a localhost demo (403 otherwise) unless PAYGATE_METRICS_PUBLIC=true.
 */
export function metricsRoutes(deps: { metrics?: GatewayMetrics }): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const { metrics } = deps;
    if (!metrics) throw new GatewayError('not_found', 'Metrics are not enabled in this process', { httpStatus: 404 });
    const access = metrics.access({
      authorization: ctx.get('authorization'),
      // The socket's peer, not ctx.ip (which PAYGATE_TRUST_PROXY takes from X-Forwarded-For).
      socketAddress: ctx.req.socket.remoteAddress,
      forwarded: PROXY_HEADERS.some((name) => ctx.get(name) !== ''),
    });
    if (access === 'unauthorized') {
      throw new AuthenticationError('A valid metrics token is required (Authorization: Bearer <PAYGATE_METRICS_TOKEN>)');
    }
    if (access === 'forbidden') {
      throw new GatewayError(
        'forbidden',
        'Metrics need PAYGATE_METRICS_TOKEN here (without it only a localhost demo answers clients on its own machine); or PAYGATE_METRICS_PUBLIC=true',
        { httpStatus: 403 },
      );
    }
    ctx.body = await metrics.render();
    ctx.set('Content-Type', metrics.registry.contentType);
    ctx.set('Cache-Control', 'no-store');
  });
  return router;
}
