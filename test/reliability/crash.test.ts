/**
 * Issue 5, reliability suite: "A server process killed with SIGKILL at random moments during a
 * 5,000-callback load, then restarted → every callback that was acknowledged is applied; providers'
 * retries of the unacknowledged ones complete the rest; 0 orders differ from the providers' truth
 * at the end."
 *
 * The gateway runs as `npm start` does (server/main.ts in a child process, background jobs inline)
 * on a fresh database. Payments are created through the merchant API, half Alipay (acknowledged
 * only once applied) and half SinoPac (acknowledged once stored; the PayToken exchange follows,
 * finished by the inbox-retry job when the process dies first). The simulators pay every order and
 * notify with retries while the gateway is SIGKILLed 2–4 times at random moments and started again
 * on the same port and database each time.
 *
 * A notify row being processed when the process dies stays leased for PROCESSING_LEASE_MS (5 min);
 * until then provider retries of it are answered "try again". The last restart therefore comes up
 * with its clock that far ahead (clock-shift.ts) instead of the test waiting 5 minutes.
 * PAYGATE_RELIABILITY_REAL_TIME=1 leaves the clock alone and waits it out (about 5 more minutes).
 *
 * CI size: 160 orders paid over 15 s. PAYGATE_RELIABILITY_FULL=1: 5,000 orders over 60 s.
 */
import { randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openTestDb, type TestDbHandle } from '../helpers/db.ts';
import { freePort } from '../helpers/mariadb.ts';
import {
  assertVerdict,
  createOrders,
  deliveries,
  Gateway,
  KIND_LABEL,
  lastResort,
  LEASE_JUMP_MS,
  leasedRows,
  newApiKey,
  payAll,
  perDbTest,
  REAL_TIME,
  sleep,
  startSimulators,
  verdict,
  waitConverged,
  type LoadProgress,
  type Simulators,
} from './harness.ts';
import { figure, FULL, size } from './size.ts';

const ORDERS = size(160, 5_000);
const LOAD_MS = size(15_000, 60_000);
const BURST = 10;

perDbTest(`SIGKILL 2-4 times during ${ORDERS} paid notifies: every acknowledged notify applied, 0 orders differ from the providers`, async (t, kind) => {
  t.timeout(FULL || REAL_TIME ? 30 * 60_000 : 5 * 60_000);
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'paygate-crash-'));
  let handle: TestDbHandle | undefined;
  let sims: Simulators | undefined;
  let gateway: Gateway | undefined;
  const unregister = lastResort(() => {
    gateway?.proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (handle?.kind === 'sqlite') rmSync(dirname(handle.url.slice('sqlite:'.length)), { recursive: true, force: true });
  });
  try {
    handle = await openTestDb(kind, { migrate: false }); // the gateway migrates it, as npm start does
    sims = await startSimulators(dir);
    gateway = new Gateway({ port: await freePort(), databaseUrl: handle.url, configFile: sims.configFile, apiKey: newApiKey(), logFile: join(dir, 'gateway.log') });
    await gateway.start();

    const createStart = Date.now();
    const orders = await createOrders(gateway, ORDERS, `CRASH-${Date.now()}`);
    const createSeconds = (Date.now() - createStart) / 1000;
    t.is(orders.length, ORDERS);

    // 2-4 kills, one at a random moment in each equal slice of the load (a restart takes a second or two).
    const kills = 2 + randomInt(3);
    // Payments come in bursts of BURST; each kill lands while at least half a burst of first
    // notifies is on its way (waiting up to 2 s for that), so it catches rows half-processed.
    const killLog: { atMs: number; paid: number; inFlight: number; deliveries: number; leasedAfter: number }[] = [];
    const progress: LoadProgress = { done: 0, inFlight: 0, pausedMs: 0 };
    const loadStart = Date.now();
    const load = payAll(sims, orders, LOAD_MS, progress, BURST);
    const killer = (async () => {
      const slice = (LOAD_MS * 0.8) / kills;
      for (let k = 0; k < kills; k++) {
        // In load time: the restarts before this kill do not count (payAll skips them too).
        const at = () => loadStart + progress.pausedMs! + LOAD_MS * 0.05 + slice * k + offset;
        const offset = randomInt(Math.floor(slice * 0.7));
        if (at() > Date.now()) await sleep(at() - Date.now());
        const giveUp = Date.now() + 2_000;
        while (progress.inFlight < BURST / 2 && Date.now() < giveUp) await new Promise((r) => setImmediate(r));
        const inFlight = progress.inFlight;
        const down = Date.now();
        progress.downSince = down;
        await gateway!.kill();
        const leasedAfter = await leasedRows(handle!.db);
        killLog.push({ atMs: Date.now() - loadStart, paid: progress.done, inFlight, deliveries: deliveries(sims!).length, leasedAfter });
        // The last restart comes back with its clock past the leases the dead processes left.
        await gateway!.start(k === kills - 1 && !REAL_TIME ? { PAYGATE_TEST_CLOCK_OFFSET_MS: String(LEASE_JUMP_MS) } : {});
        progress.pausedMs! += Date.now() - down;
        progress.downSince = null;
        await sleep(randomInt(300));
      }
    })();
    const [payErrors] = await Promise.all([load, killer]);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    t.deepEqual(payErrors.slice(0, 5), [], `${payErrors.length} payments could not be made at the simulator`);
    t.is(killLog.length, kills);
    // The load may finish just before the last kill; the others must land while payments are made.
    t.true(killLog.filter((k) => k.paid < ORDERS).length >= Math.max(1, kills - 1), `kills landed while payments were still being made: ${JSON.stringify(killLog)}`);

    const convergeMs = await waitConverged(handle.db, sims, orders, REAL_TIME ? LEASE_JUMP_MS + 5 * 60_000 : FULL ? 15 * 60_000 : 120_000);
    // Quiesce (graceful stop: background work drains) before reading the end state.
    await gateway.stop();
    const v = await verdict(handle.db, sims, orders);
    const all = deliveries(sims);
    const failedAttempts = all.filter((d) => !d.ok).length;
    figure(`crash [${KIND_LABEL[kind]}]`, {
      orders: ORDERS,
      kills,
      acknowledged: v.acknowledged,
      retried: v.retried,
      failedDeliveries: failedAttempts,
      inFlightAtKills: killLog.map((k) => k.inFlight).join('/'),
      leasedAtKills: killLog.map((k) => k.leasedAfter).join('/'),
      differences: v.differences.length,
      ackedNotApplied: v.ackedNotApplied.length,
      paidBy: Object.entries(v.sources).map(([k, n]) => `${k}=${n}`).join(','),
      converged: convergeMs === null ? 'no' : `${(convergeMs / 1000).toFixed(1)}s`,
      createSeconds: createSeconds.toFixed(1),
      loadSeconds: loadSeconds.toFixed(1),
      seconds: ((Date.now() - started) / 1000).toFixed(1),
    });
    t.log(`kills: ${JSON.stringify(killLog)}`);

    t.not(convergeMs, null, 'providers and gateway agreed before the deadline');
    t.true(failedAttempts > 0 && v.retried > 0, 'the kills cost deliveries that the providers had to retry');
    t.is(gateway.unexpectedExits.length, 0, `the gateway never died by itself: ${gateway.unexpectedExits.join(', ')}`);
    assertVerdict(t, v);
    if (!t.passed) t.log(`gateway log tail:\n${gateway.logTail(60)}`);
  } finally {
    await gateway?.close().catch(() => {});
    await sims?.close().catch(() => {});
    await handle?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    unregister();
  }
});
