import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import { hostname } from 'node:os';
import v8 from 'node:v8';
import { loadConfig, type AppConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { JobRunner } from '../core/jobs/runner.ts';
import { providerProbeJob } from '../core/provider-health.ts';
import { createApp } from './app.ts';
import { BackgroundTasks } from './background.ts';
import { appDeps, bootstrap, ensureDemoMerchant } from './bootstrap.ts';
import { backgroundJobs } from './jobs.ts';
import { checkPortFree, listenOn } from './port.ts';

/**
 * `npm start`: migrate, then serve. With PAYGATE_WORKERS=N > 1 (node:cluster) the primary migrates,
 * creates the demo merchant, settles the dashboard password and runs the job runner (unless
 * PAYGATE_INLINE_WORKER=false), then forks N HTTP workers that share the port and do nothing else.
 */
async function main(): Promise<void> {
  limitHeapGrowth();
  const config = loadConfig();
  if (config.workers > 1) {
    if (cluster.isPrimary) return primary(config);
    return serve(config, true);
  }
  return serve(config, false);
}

/**
 * V8 lets the old generation grow to up to 4× what survived the last full GC before collecting
 * again. Under load (requests in flight long enough to be promoted) that took the heap from ~40 MB
 * live to ~200 MB committed and the process past 300 MB RSS (npm run bench); growing by at most
 * 30 % keeps it under 200 MB at no throughput cost the benchmark can see. The flag is read at
 * each GC, so setting it now works; an operator's own setting (NODE_OPTIONS or a node flag) wins.
 */
const HEAP_GROWING_PERCENT = 30;
function limitHeapGrowth(): void {
  const given = `${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`;
  if (!/heap[-_]growing[-_]percent/.test(given)) v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** How long in-flight requests may run after SIGTERM before their connections are cut. */
const DRAIN_MS = 25_000;
/** Header naming the cluster worker that answered (only when clustering: it tells them apart). */
const WORKER_HEADER = 'X-Paygate-Worker';

/** One HTTP server process: the whole of `npm start` alone, or one cluster worker. */
async function serve(config: AppConfig, clustered: boolean): Promise<void> {
  // The port first: when it is taken, say so and exit before a password or key is made up or shown.
  // Until the app is built, requests get a 503 (the migrations may take a moment).
  let handler: http.RequestListener = (_req, res) => {
    res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' });
    res.end('paygate is starting\n');
  };
  const server = http.createServer((req, res) => handler(req, res));
  await listenOn(server, config.port, config.host);
  // A cluster worker finds the database migrated, the demo merchant made and the password set.
  const runtime = await bootstrap(config, { migrate: !clustered });
  const { deps, logger } = runtime;
  // With the job runner in another process (the cluster primary, or `npm run worker`), what follows
  // an ack on store is left to it, off this process's event loop (core/deps.ts storedCallbacks).
  deps.storedCallbacks = clustered || !config.inlineWorker ? 'worker' : 'here';
  // The banner (demo key, dashboard password) is one block after the start-up log lines.
  runtime.secrets.hold();
  if (!clustered) await ensureDemoMerchant(runtime.db, config.demoApiKey, runtime.secrets);

  const background = new BackgroundTasks();
  const app = createApp(await appDeps(config, runtime, background));
  const callback = app.callback();
  const workerId = String(cluster.worker?.id ?? '');
  handler = clustered
    ? (req, res) => {
        res.setHeader(WORKER_HEADER, workerId);
        void callback(req, res);
      }
    : callback;
  if (!clustered) {
    logger.info({ url: config.publicUrl, port: config.port, database: config.databaseUrl.split(':')[0] }, 'paygate listening');
  }
  // Log lines still buffered go out first, so the banner comes after them, not in their midst.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  runtime.secrets.flush();

  const runner = new JobRunner(backgroundJobs(deps, `${hostname()}:${process.pid}`, config), logger);
  if (!clustered && config.inlineWorker) runner.start();
  // Every HTTP process probes its own registry's accounts (creates consult it): now, without holding
  // up the listen, then every PAYGATE_PROBE_INTERVAL_SECONDS. Its timers are unref'd.
  const probes = new JobRunner(config.probeIntervalMs > 0 ? [providerProbeJob(deps.registry, config.probeIntervalMs)] : [], logger);
  probes.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, worker: workerId || undefined }, 'shutting down');
    // Stop taking requests and let the ones in flight finish before the database goes away: a
    // checkout between the provider's answer and our write must be allowed to write.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const hardStop = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    hardStop.unref();
    await closed;
    await probes.stop();
    await runner.stop();
    await background.drain();
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // The primary is gone (killed outright): a worker must not serve on alone.
  if (clustered) process.on('disconnect', () => void stop('primary gone'));
}

/** The cluster primary: everything that must happen once, then N workers, kept at N until stopped. */
async function primary(config: AppConfig): Promise<void> {
  // Before the dashboard password is made up and handed to the workers: is the port free at all?
  await checkPortFree(config.port, config.host);
  const runtime = await bootstrap(config);
  const { deps, logger } = runtime;
  if (runtime.simulators.length > 0) {
    // Each simulator keeps its trades, nonces and retry timers in one process's memory; N workers
    // would be N different banks, and a pay page served by one would be unknown to the next.
    const ids = runtime.simulators.map((s) => s.providerId).join(', ');
    await runtime.close();
    throw new ConfigError(
      `PAYGATE_WORKERS=${config.workers} cannot run with provider simulators (${ids}): a simulator keeps its state in one ` +
        `process's memory. Configure real accounts for every provider in PAYGATE_CONFIG and set PAYGATE_SIMULATORS=off, ` +
        `or run one process (PAYGATE_WORKERS=1).`,
      [{ path: 'PAYGATE_WORKERS', message: 'needs PAYGATE_SIMULATORS=off and configured provider accounts' }],
    );
  }
  runtime.secrets.hold();
  await ensureDemoMerchant(runtime.db, config.demoApiKey, runtime.secrets);
  // appDeps makes up (and prints) the dashboard password when none is set: once, here, so every
  // worker takes the same one through its environment. It also creates the shared link secret.
  const { admin } = await appDeps(config, runtime, new BackgroundTasks());
  const workerEnv = admin ? { PAYGATE_ADMIN_PASSWORD: admin.password } : {};

  const runner = new JobRunner(backgroundJobs(deps, `${hostname()}:${process.pid}`, config), logger);

  let stopping = false;
  let exitCode = 0;
  const workers = new Set<Worker>();
  const listening = new Set<Worker>();
  const recentRestarts: number[] = [];
  let announced = false;

  const stop = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    exitCode = Math.max(exitCode, code);
    logger.info({ signal }, 'shutting down');
    const exited = [...workers].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    const hardStop = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, DRAIN_MS + 5_000);
    hardStop.unref();
    await Promise.all(exited);
    await runner.stop();
    await runtime.close();
    process.exit(exitCode);
  };

  const fork = () => {
    const worker = cluster.fork(workerEnv);
    workers.add(worker);
    worker.once('listening', () => {
      listening.add(worker);
      if (!announced && listening.size === config.workers) {
        announced = true;
        logger.info({ url: config.publicUrl, port: config.port, database: config.databaseUrl.split(':')[0], workers: config.workers }, 'paygate listening');
        runtime.secrets.flush();
      }
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      const wasListening = listening.delete(worker);
      if (stopping) {
        if (code !== 0) exitCode = 1;
        return;
      }
      // A worker that never came up will not come up by trying again (a bad port, a bad key).
      if (!wasListening) {
        logger.error({ worker: worker.id, code, signal }, 'a worker failed to start');
        void stop('worker failed to start', 1);
        return;
      }
      const now = Date.now();
      recentRestarts.push(now);
      while (recentRestarts.length > 0 && recentRestarts[0]! < now - 60_000) recentRestarts.shift();
      if (recentRestarts.length > 5 * config.workers) {
        logger.error({ worker: worker.id, code, signal }, 'workers keep dying; giving up');
        void stop('workers keep dying', 1);
        return;
      }
      logger.error({ worker: worker.id, code, signal }, 'a worker died; starting another');
      // Not unref'd: with every worker gone this timer may be all that keeps the primary alive.
      setTimeout(() => void (stopping || fork()), 1_000);
    });
  };

  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  for (let i = 0; i < config.workers; i++) fork();
  if (config.inlineWorker) runner.start();
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`paygate: ${err.message}\n`);
  } else {
    process.stderr.write(`paygate failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  process.exit(1);
});
