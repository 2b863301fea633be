/**
 * paygate on a three-node Galera cluster under faults (`npm run test:cluster`, PAYGATE_CLUSTER_FULL=1;
 * about five minutes, so not part of `npm test`, which runs test/cluster/galera.test.ts).
 *
 * Each scenario: a fresh database on the cluster, the Alipay and SinoPac simulators notifying with
 * retries, two gateway processes (`server/main.ts` as `npm start` runs it, each with its job
 * runner inline) behind a small load balancer the providers call, and the buyers paying every order
 * over the load window. At 40 % of the load the fault happens:
 *   3. `kill -9` of node 1 (the node HAProxy's writer listener sends everything to), then its
 *      restart, which rejoins by IST;
 *   4. node 1 frozen (SIGSTOP) for 20 s, then resumed;
 *   5. one gateway SIGKILLed while the other goes on (restarted after the load, its clock past the
 *      leases it left, as test/reliability/crash.test.ts does);
 * and a multi-writer run: the two gateways straight to node 1 and node 2, node 2 killed and
 * restarted. Then: every acknowledged callback applied, no order differs from the simulators'
 * books, one transition and one payment.paid per order (test/reliability/harness.ts verdict).
 * A probe writes through HAProxy's writer listener every 100 ms, so the time writes were refused or
 * stalled is measured; each scenario prints one `[cluster]` line of figures.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { migrateLatest, openDb, type Db } from '../../core/db.ts';
import { findGaleraBinaries, GaleraCluster } from '../helpers/galera.ts';
import { freePort } from '../helpers/mariadb.ts';
import { readAll } from '../helpers/sim-server.ts';
import {
  assertVerdict,
  createOrders,
  Gateway,
  LEASE_JUMP_MS,
  listen,
  newApiKey,
  payAll,
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
  inject: (c: GaleraCluster, gateways: [Gateway, Gateway]) => Promise<Record<string, unknown>>;
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
  const probe = writeProbe(`${c.writerUrl}/${name}`);
  try {
    await gateways[0].start();
    await gateways[1].start();
    const half = Math.floor(ORDERS / 2);
    const orders: Order[] = [
      ...(await createOrders(gateways[0], half, `HA-${name}-A`)),
      ...(await createOrders(gateways[1], ORDERS - half, `HA-${name}-B`)),
    ];
    const progress: LoadProgress = { done: 0, inFlight: 0 };
    const loadStart = Date.now();
    const load = payAll(sims, orders, LOAD_MS, progress, 4);
    await sleep(LOAD_MS * 0.4);
    const faultFigures = await fault.inject(c, gateways);
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
        await g.stop();
        await g.start({ PAYGATE_TEST_CLOCK_OFFSET_MS: String(LEASE_JUMP_MS) });
      }
      convergeMs = await waitConverged(db, sims, orders, 120_000);
    }
    for (const g of gateways) await g.stop();
    const written = await probe.stop();
    const v = await verdict(db, sims, orders);
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
      converged: convergeMs === null ? 'no' : `${(convergeMs / 1000).toFixed(1)}s`,
      leaseJump,
    };
    process.stdout.write(`[cluster] ${fault.label}: ${Object.entries(line).map(([k, x]) => `${k}=${x}`).join(' ')}\n`);
    t.log(JSON.stringify(line));
    t.not(convergeMs, null, 'providers and gateways agreed in the end');
    if (!fault.leasesMayStay) t.false(leaseJump, 'converged without waiting out a lease');
    assertVerdict(t, v);
    if (!t.passed) t.log(`gateway A log:\n${gateways[0].logTail(40)}\ngateway B log:\n${gateways[1].logTail(40)}`);
  } finally {
    for (const g of gateways) await g.close().catch(() => undefined);
    await probe.stop().catch(() => undefined);
    await balancer.close();
    await sims.close();
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
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

faultTest('galera: one gateway SIGKILLed while the other goes on: nothing lost', async (t, c) => {
  await runScenario(t, c, {
    label: 'SIGKILL gateway A via HAProxy',
    databases: throughHaproxy,
    leasesMayStay: true,
    async inject(_cl, [a]) {
      await a.kill();
      await sleep(5_000);
      await a.start({ PAYGATE_TEST_CLOCK_OFFSET_MS: String(LEASE_JUMP_MS) });
      return { gatewayDownMs: 5_000 };
    },
  });
});

faultTest('galera, multi-writer: gateways straight to node 1 and node 2, node 2 killed and rejoined: nothing lost', async (t, c) => {
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
