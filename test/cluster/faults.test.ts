/**
 * paygate on a three-node Galera cluster under faults (`npm run test:cluster`, PAYGATE_CLUSTER_FULL=1;
 * about five minutes, so not part of `npm test`, which runs test/cluster/galera.test.ts).
 *
 * Each scenario: a fresh database on the cluster, the Alipay and SinoPac simulators notifying with
 * retries, two gateway processes (`server/main.ts` as `npm start` runs it, PAYGATE_INLINE_WORKER=false)
 * behind a small load balancer the providers call, two job worker processes (`server/cli.ts worker`
 * as `npm run worker` runs it, each with the configuration and database of one gateway: a host is a
 * gateway and a worker), and the buyers paying every order over the load window. At 40 % of the
 * load the fault happens:
 *   3. `kill -9` of node 1 (the node HAProxy's writer listener sends everything to), then its
 *      restart, which rejoins by IST;
 *   4. node 1 frozen (SIGSTOP) for 20 s, then resumed;
 *   5. one host's gateway and worker SIGKILLed while the others go on (both restarted 5 s later,
 *      their clocks past the leases they left, as test/reliability/crash.test.ts does);
 * and a multi-writer run: gateway and worker A straight to node 1, gateway and worker B to node 2,
 * node 2 killed and restarted. Then: every acknowledged callback applied, no order differs from the
 * simulators' books, one transition and one payment.paid per order (test/reliability/harness.ts
 * verdict). The gateways' paygate_db_retries_total is read before each stop: transactions run again
 * per 1,000 notifies (certification conflicts are reason "deadlock").
 * A probe writes through HAProxy's writer listener every 100 ms, so the time writes were refused or
 * stalled is measured; each scenario prints one `[cluster]` line of figures.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { migrateLatest, openDb, type Db } from '../../core/db.ts';
import { findGaleraBinaries, GaleraCluster } from '../helpers/galera.ts';
import { freePort, hasExited, waitExit } from '../helpers/mariadb.ts';
import { readAll } from '../helpers/sim-server.ts';
import {
  assertVerdict,
  createOrders,
  Gateway,
  LEASE_JUMP_MS,
  listen,
  newApiKey,
  payAll,
  ROOT,
  sleep,
  startSimulators,
  verdict,
  waitConverged,
  type LoadProgress,
  type Listening,
  type Order,
} from '../reliability/harness.ts';

const FULL = process.env.PAYGATE_CLUSTER_FULL === '1';
const ORDERS = Number(process.env.PAYGATE_CLUSTER_ORDERS ?? 400);
const LOAD_MS = Number(process.env.PAYGATE_CLUSTER_LOAD_MS ?? 30_000);
const binaries = findGaleraBinaries();

let clusterStarting: Promise<GaleraCluster> | undefined;
const cluster = (): Promise<GaleraCluster> => {
  clusterStarting ??= (async () => {
    if ('missing' in binaries) throw new Error(`missing packages: ${binaries.missing.join(', ')}`);
    const c = new GaleraCluster(binaries);
    await c.start();
    return c;
  })();
  return clusterStarting;
};

test.after.always(async () => {
  const c = await clusterStarting?.catch(() => undefined);
  await c?.destroy();
});

function faultTest(title: string, fn: (t: ExecutionContext, c: GaleraCluster) => Promise<void>): void {
  if (!FULL) {
    test.skip(`${title} — run with npm run test:cluster (PAYGATE_CLUSTER_FULL=1)`, () => {});
    return;
  }
  if ('missing' in binaries) {
    test(title, (t) => t.fail(`install ${binaries.missing.join(', ')}`));
    return;
  }
  test.serial(title, async (t) => {
    t.timeout(15 * 60_000);
    await fn(t, await cluster());
  });
}

/** Writes one row through `url` every 100 ms; records how long writes were refused or stalled. */
function writeProbe(url: string) {
  let stop = false;
  const refused: number[] = [];
  let longestStallMs = 0;
  let writes = 0;
  const done = (async () => {
    const conn = () => mysql.createConnection({ uri: url, connectTimeout: 3_000 });
    let c: mysql.Connection | undefined;
    while (!stop) {
      const started = Date.now();
      try {
        if (!c) {
          c = await conn();
          c.on('error', () => undefined); // a lost connection is seen by the next query
        }
        await c.query('INSERT INTO ha_probe (at) VALUES (?)', [started]);
        writes++;
      } catch {
        refused.push(started);
        await c?.destroy();
        c = undefined;
      }
      longestStallMs = Math.max(longestStallMs, Date.now() - started);
      await sleep(100);
    }
    await c?.end().catch(() => undefined);
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { writes, refused: refused.length, refusedForMs: refused.length ? refused[refused.length - 1]! - refused[0]! + 100 : 0, longestStallMs };
    },
  };
}

/**
 * `npm run worker` as a child process: `node --import=tsx server/cli.ts worker` with the environment
 * its gateway has (database, provider config, public URL), so a node lost under a host takes its
 * gateway's and its worker's connections alike. Started, SIGKILLed and started again like a Gateway.
 */
class JobWorker {
  proc: ChildProcess | undefined;
  /** Exits nobody asked for: `code/signal` of each (reported in the scenario's line). */
  readonly unexpectedExits: string[] = [];
  private expectingExit = false;
  private starts = 0;
  private readonly log: WriteStream;

  constructor(
    readonly gateway: Gateway,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  /** Spawns the worker and resolves once it has migrated and started its job runner ("worker started"). */
  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    const g = this.gateway.options;
    const shifted = Object.keys(extraEnv).some((k) => k.startsWith('PAYGATE_TEST_CLOCK_'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: g.databaseUrl,
      PAYGATE_PUBLIC_URL: g.publicUrl,
      PAYGATE_CONFIG: g.configFile,
      PAYGATE_SIMULATORS: 'off',
      PAYGATE_DEMO_API_KEY: g.apiKey,
      PAYGATE_SECRETS_FILE: `${this.logFile}.secrets`,
      // info: the "worker started" line says it is up; the jobs log little at info.
      LOG_LEVEL: 'info',
      ...extraEnv,
    };
    const args = ['--import=tsx', `--import=${join(ROOT, 'test', 'reliability', 'orphan-guard.ts')}`, ...(shifted ? [`--import=${join(ROOT, 'test', 'reliability', 'clock-shift.ts')}`] : []), 'server/cli.ts', 'worker'];
    const marker = `===== worker start #${++this.starts} at ${new Date().toISOString()} ${JSON.stringify(extraEnv)}`;
    this.log.write(`\n${marker}\n`);
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
      if (hasExited(proc)) throw new Error(`the worker exited (code ${proc.exitCode}, signal ${proc.signalCode}) before it started:\n${this.logTail()}`);
      if (Date.now() > deadline) throw new Error(`the worker had not started after 60 s:\n${this.logTail()}`);
      const text = this.logTail(Infinity);
      if (text.includes(marker) && text.slice(text.lastIndexOf(marker)).includes('"worker started"')) return;
      await sleep(200);
    }
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || hasExited(proc)) return;
    this.expectingExit = true;
    proc.kill('SIGKILL');
    await waitExit(proc, 10_000);
  }

  /** SIGTERM (the runner finishes the job in hand), SIGKILL after 30 s. */
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

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** The gateways serve requests only: the jobs run in the JobWorker processes. */
const GATEWAY_ENV = { PAYGATE_INLINE_WORKER: 'false' };

/** A gateway's paygate_db_retries_total, by reason (its counters start again at 0 when it restarts). */
async function dbRetries(g: Gateway): Promise<Record<string, number>> {
  const byReason: Record<string, number> = {};
  if (!g.running) return byReason;
  const res = await fetch(`${g.base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  // A refused or empty scrape must not read as "no retries".
  if (res.status !== 200 || !text.includes('# TYPE paygate_db_retries_total counter')) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 200)}`);
  for (const m of text.matchAll(/^paygate_db_retries_total\{([^}]*)\} (\d+)/gm)) {
    const reason = /reason="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    byReason[reason] = (byReason[reason] ?? 0) + Number(m[2]);
  }
  return byReason;
}

interface Fault {
  label: string;
  /**
   * Whether the end may need the gateways' clocks moved past leases: only where a gateway itself
   * was killed. A database node lost under a gateway must not leave its rows leased for minutes
   * (core/callbacks.ts gives them back once the database answers again).
   */
  leasesMayStay?: boolean;
  /** The two gateways' database URLs (without the database). */
  databases: (c: GaleraCluster) => [string, string];
  /** Breaks something and repairs it; returns figures for the report. */
  inject: (c: GaleraCluster, hosts: { gateways: [Gateway, Gateway]; workers: [JobWorker, JobWorker] }) => Promise<Record<string, unknown>>;
}

async function runScenario(t: ExecutionContext, c: GaleraCluster, fault: Fault): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'paygate-cluster-'));
  const name = `pg_ha_${Date.now().toString(36)}`;
  const admin = await mysql.createConnection({ uri: c.writerUrl });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.query(`CREATE TABLE \`${name}\`.ha_probe (id BIGINT AUTO_INCREMENT PRIMARY KEY, at BIGINT NOT NULL)`);
  await admin.end();
  const db: Db = openDb(`${c.writerUrl}/${name}`);
  await migrateLatest(db);
  const sims = await startSimulators(dir);
  const apiKey = newApiKey();
  const [urlA, urlB] = fault.databases(c);
  const gateways: [Gateway, Gateway] = [
    new Gateway({ port: await freePort(), databaseUrl: `${urlA}/${name}`, configFile: sims.configFile, apiKey, logFile: join(dir, 'a.log'), publicUrl: '' }),
    new Gateway({ port: await freePort(), databaseUrl: `${urlB}/${name}`, configFile: sims.configFile, apiKey, logFile: join(dir, 'b.log'), publicUrl: '' }),
  ];
  // The providers call one address; it hands each request to the gateways in turn, and to the
  // other when one does not answer (a load balancer's health check, in one line).
  let turn = 0;
  const balancer: Listening = await listen(async (req, res) => {
    const body = await readAll(req);
    const order = turn++ % 2 ? [gateways[1], gateways[0]] : [gateways[0], gateways[1]];
    for (const g of order) {
      if (!g.running) continue;
      try {
        const answer = await fetch(g.base + req.url, {
          method: req.method,
          headers: { 'content-type': String(req.headers['content-type'] ?? 'application/octet-stream') },
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
          redirect: 'manual',
          signal: AbortSignal.timeout(30_000),
        });
        const payload = Buffer.from(await answer.arrayBuffer());
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' }).end(payload);
        return;
      } catch {
        // that gateway is gone: the other one
      }
    }
    res.writeHead(502).end('no gateway');
  });
  for (const g of gateways) g.options.publicUrl = balancer.base;
  const workers: [JobWorker, JobWorker] = [new JobWorker(gateways[0], join(dir, 'worker-a.log')), new JobWorker(gateways[1], join(dir, 'worker-b.log'))];
  const probe = writeProbe(`${c.writerUrl}/${name}`);
  // Transactions the gateways ran again, by reason, added up over their runs.
  const retries: Record<string, number> = {};
  const stopGateway = async (g: Gateway) => {
    for (const [reason, n] of Object.entries(await dbRetries(g))) retries[reason] = (retries[reason] ?? 0) + n;
    await g.stop();
  };
  try {
    await Promise.all([gateways[0].start(GATEWAY_ENV), gateways[1].start(GATEWAY_ENV), workers[0].start(), workers[1].start()]);
    const half = Math.floor(ORDERS / 2);
    const orders: Order[] = [
      ...(await createOrders(gateways[0], half, `HA-${name}-A`)),
      ...(await createOrders(gateways[1], ORDERS - half, `HA-${name}-B`)),
    ];
    const progress: LoadProgress = { done: 0, inFlight: 0 };
    const loadStart = Date.now();
    const load = payAll(sims, orders, LOAD_MS, progress, 4);
    await sleep(LOAD_MS * 0.4);
    const faultFigures = await fault.inject(c, { gateways, workers });
    const payErrors = await load;
    const loadSeconds = (Date.now() - loadStart) / 1000;
    t.deepEqual(payErrors.slice(0, 5), [], `${payErrors.length} payments could not be made at the simulator`);

    let convergeMs = await waitConverged(db, sims, orders, 45_000);
    let leaseJump = false;
    if (convergeMs === null) {
      // Rows a process was working on when it lost its database stay leased for their lease
      // (5 min): the gateways come back with their clocks past it instead of the test waiting.
      leaseJump = true;
      for (const g of gateways) {
        await stopGateway(g);
        await g.start({ ...GATEWAY_ENV, PAYGATE_TEST_CLOCK_OFFSET_MS: String(LEASE_JUMP_MS) });
      }
      for (const w of workers) {
        await w.stop();
        await w.start({ PAYGATE_TEST_CLOCK_OFFSET_MS: String(LEASE_JUMP_MS) });
      }
      convergeMs = await waitConverged(db, sims, orders, 120_000);
    }
    for (const g of gateways) await stopGateway(g);
    for (const w of workers) await w.stop();
    const written = await probe.stop();
    const v = await verdict(db, sims, orders);
    const workerExits = workers.flatMap((w, i) => w.unexpectedExits.map((e) => `${'AB'[i]} ${e}`));
    const line = {
      orders: ORDERS,
      loadSeconds: loadSeconds.toFixed(1),
      ...faultFigures,
      probeWrites: written.writes,
      probeRefused: written.refused,
      probeRefusedForMs: written.refusedForMs,
      probeLongestStallMs: written.longestStallMs,
      acknowledged: v.acknowledged,
      retriedDeliveries: v.retried,
      differences: v.differences.length,
      ackedNotApplied: v.ackedNotApplied.length,
      dbRetries: Object.entries(retries).map(([reason, n]) => `${reason}:${n}`).join(',') || 0,
      certificationRetriesPer1000Notifies: ((1000 * (retries.deadlock ?? 0)) / Math.max(1, v.deliveries)).toFixed(1),
      notifies: v.deliveries,
      workerExits: workerExits.join(',') || 'none',
      converged: convergeMs === null ? 'no' : `${(convergeMs / 1000).toFixed(1)}s`,
      leaseJump,
    };
    process.stdout.write(`[cluster] ${fault.label}: ${Object.entries(line).map(([k, x]) => `${k}=${x}`).join(' ')}\n`);
    t.log(JSON.stringify(line));
    t.not(convergeMs, null, 'providers and gateways agreed in the end');
    if (!fault.leasesMayStay) t.false(leaseJump, 'converged without waiting out a lease');
    assertVerdict(t, v);
    t.deepEqual(gateways.flatMap((g, i) => g.unexpectedExits.map((e) => `gateway ${'AB'[i]} ${e}`)), [], 'no gateway exited on its own');
    // `npm run worker` stays up while its database is away (server/cli.ts keeps the process alive
    // until SIGTERM): it used to exit with status 0 once its connections had all dropped.
    t.deepEqual(workerExits, [], 'no worker exited on its own');
    if (!t.passed) t.log(`gateway A log:\n${gateways[0].logTail(40)}\ngateway B log:\n${gateways[1].logTail(40)}\nworker A log:\n${workers[0].logTail()}\nworker B log:\n${workers[1].logTail()}`);
  } finally {
    for (const g of gateways) await g.close().catch(() => undefined);
    for (const w of workers) await w.kill().catch(() => undefined);
    await probe.stop().catch(() => undefined);
    await balancer.close();
    await sims.close();
    await db.destroy();
    if (process.env.PAYGATE_CLUSTER_KEEP_LOGS) console.error(`[cluster] logs kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

const throughHaproxy = (c: GaleraCluster): [string, string] => [c.writerUrl, c.writerUrl];

faultTest('galera: kill -9 of the writer node under load, then its IST rejoin: every acknowledged notify applied, nothing differs', async (t, c) => {
  await runScenario(t, c, {
    label: 'kill -9 node 1 (writer) via HAProxy',
    databases: throughHaproxy,
    async inject(cl) {
      await cl.kill(1);
      const killedAt = Date.now();
      await sleep(5_000);
      await cl.restart(1);
      return { nodeDownMs: Date.now() - killedAt };
    },
  });
});

faultTest('galera: the writer node frozen for 20 s, then resumed: the cluster and HAProxy route around it, nothing lost', async (t, c) => {
  await runScenario(t, c, {
    label: 'SIGSTOP node 1 (writer) 20 s via HAProxy',
    databases: throughHaproxy,
    async inject(cl) {
      cl.freeze(1);
      await sleep(20_000);
      return { frozenMs: 20_000, backInClusterMs: await cl.thaw(1) };
    },
  });
});

faultTest('galera: one host\'s gateway and worker SIGKILLed while the others go on: nothing lost', async (t, c) => {
  await runScenario(t, c, {
    label: 'SIGKILL gateway A and worker A via HAProxy',
    databases: throughHaproxy,
    leasesMayStay: true,
    async inject(_cl, { gateways: [a], workers: [w] }) {
      await Promise.all([a.kill(), w.kill()]);
      await sleep(5_000);
      await Promise.all([a.start({ ...GATEWAY_ENV, PAYGATE_TEST_CLOCK_OFFSET_MS: String(LEASE_JUMP_MS) }), w.start({ PAYGATE_TEST_CLOCK_OFFSET_MS: String(LEASE_JUMP_MS) })]);
      return { hostDownMs: 5_000 };
    },
  });
});

faultTest('galera, multi-writer: gateway and worker A straight to node 1, B to node 2, node 2 killed and rejoined: nothing lost', async (t, c) => {
  await runScenario(t, c, {
    label: 'multi-writer, kill -9 node 2',
    databases: (cl) => [cl.nodeUrl(1), cl.nodeUrl(2)],
    async inject(cl) {
      await cl.kill(2);
      const killedAt = Date.now();
      await sleep(5_000);
      await cl.restart(2);
      return { nodeDownMs: Date.now() - killedAt };
    },
  });
});
