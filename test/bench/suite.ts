/**
 * One database's share of the run: its write floors, then every path at every connection count
 * against the gateway (the built server, dist/server/main.js, in its own process), then the naive peer, then (MariaDB)
 * one process against two.
 */
import type { Knex } from 'knex';
import http from 'node:http';
import { toNumber } from '../../core/db.ts';
import { freePort } from '../helpers/mariadb.ts';
import type { BenchContext, Database } from './context.ts';
import { dbFloor, dbFloorName, DbFloorWriters } from './db-floor.ts';
import { cloneOrders, notifyParams, ORDER_AMOUNT, type PendingOrder } from './fixtures.ts';
import { startGateway, stopGateway, type Target } from './gateway.ts';
import type { LoadRequest } from './load.ts';
import { estimateRate, measure, PACED_FRACTION } from './measure.ts';
import { wants } from './options.ts';
import { Child, sleep } from './processes.ts';
import { summarize } from './stats.ts';

export type { BenchContext, Database } from './context.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
const ALIPAY_NOTIFY = '/callbacks/alipay/default/notify';

/** Distinct pending orders and their signed TRADE_SUCCESS notifies, enough for `rate` over a whole run. */
async function signedNotifies(ctx: BenchContext, dbase: Database, templateId: string, rate: number, tag: string): Promise<string[]> {
  const n = Math.ceil(rate * (ctx.options.warmupSec + ctx.options.durationSec) * 1.2) + 64;
  const orders = await cloneOrders(dbase.db, templateId, n, tag);
  return ctx.pool.signNotifies(orders.map((o) => notifyParams(o)));
}

function fromList(bodies: readonly string[], path: string): () => LoadRequest | null {
  let i = 0;
  return () => (i < bodies.length ? { method: 'POST', path, headers: FORM, body: bodies[i++]! } : null);
}

const isSuccess = (status: number, body: string) => status === 200 && body === 'success';

async function createTemplate(target: Target, apiKey: string): Promise<string> {
  const res = await fetch(`${target.base}/v1/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(paymentBody('alipay', `TEMPLATE-${Date.now()}`)),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`the template payment answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

function paymentBody(provider: 'alipay' | 'sinopac', merchantOrderId: string): Record<string, unknown> {
  const amount = provider === 'alipay' ? ORDER_AMOUNT : 79_900;
  return {
    merchantOrderId,
    currency: provider === 'alipay' ? 'CNY' : 'TWD',
    amount,
    items: [{ sku: 'TEA-300', name: 'Oolong tea 300g', unitAmount: amount, quantity: 1 }],
    provider,
    method: provider === 'alipay' ? 'page' : 'atm',
    returnUrl: 'https://shop.example/orders/bench',
  };
}

/** POST on a fresh connection (so that, clustered, each may reach another worker): status, body, the worker header. */
function postFresh(base: string, path: string, body: string): Promise<{ status: number; body: string; worker: string | null }> {
  return new Promise((resolve) => {
    const req = http.request(
      `${base}${path}`,
      { method: 'POST', agent: false, headers: { ...FORM, connection: 'close', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), worker: (res.headers['x-paygate-worker'] as string | undefined) ?? null }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: err.message, worker: null }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/**
 * One connection at a time, each request on a fresh one, until every worker has applied a few
 * verified notifies: the callback guard (core/callback-guard.ts) trusts an address only once a
 * fresh notify from it verified, and until then admits `burst` requests at a time, so 64
 * connections at once from a cold start would be answered 429. A single process learns it in the
 * 1-connection run before; a cluster's workers each keep their own guard. Uses bodies from the front
 * of `bodies`; returns how many.
 */
async function learnTrust(ctx: BenchContext, target: Target, bodies: readonly string[]): Promise<number> {
  const verified = new Map<string, number>();
  let used = 0;
  const enough = () => verified.size >= target.processes && [...verified.values()].every((n) => n >= 3);
  while (!enough() && used < bodies.length && used < 60 * target.processes) {
    const r = await postFresh(target.base, ALIPAY_NOTIFY, bodies[used++]!);
    if (r.status === 200 && r.body === 'success') verified.set(r.worker ?? 'single', (verified.get(r.worker ?? 'single') ?? 0) + 1);
  }
  ctx.log(`  trust learned at 1 connection: ${used} notifies, verified by worker ${JSON.stringify(Object.fromEntries(verified))}${enough() ? '' : ' (NOT every worker)'}`);
  return used;
}

/**
 * What a floor leaves behind must not become work for the gateway's worker process: the inbox rows
 * of the inbox-insert floor are unprocessed (the worker's retry job would take each one after its
 * 30 s grace and fail to verify its made-up signature, writing as it goes: on SQLite, lock waits for
 * the gateway), and every floor's outbox events are due at once (webhook deliveries). Both go, right
 * after each floor run, well inside the grace.
 */
async function clearFloorRows(db: Knex, orders: readonly PendingOrder[]): Promise<void> {
  await db('provider_callbacks').where('dedupe_key', 'like', 'bench-floor-%').whereNull('processed_at').delete();
  for (let i = 0; i < orders.length; i += 500) {
    const ids = orders.slice(i, i + 500).map((o) => o.id);
    await db('webhook_attempts').whereIn('event_id', db('events').select('id').whereIn('order_id', ids)).delete();
    await db('events').whereIn('order_id', ids).delete();
  }
}

async function unprocessedCallbacks(db: Knex): Promise<number> {
  const [row] = (await db('provider_callbacks').whereNull('processed_at').count({ n: '*' })) as { n: unknown }[];
  return toNumber(row?.n);
}

async function sinopacRows(db: Knex): Promise<number> {
  const [row] = (await db('provider_callbacks').where({ provider: 'sinopac', kind: 'notify' }).count({ n: '*' })) as { n: unknown }[];
  return toNumber(row?.n);
}

export async function benchDatabase(ctx: BenchContext, dbase: Database): Promise<void> {
  const { options } = ctx;
  const kind = dbase.kind;
  ctx.log(`\n${kind}: gateway up, template order, floors`);
  // The layout each database is run in: SQLite in one process (`npm start`, its inline worker: a
  // worker process would be a second writer on the file, and at a thousand writes a second the
  // two wait on SQLite's one write lock past busy_timeout), MariaDB as a gateway and a worker process.
  const inlineMain = kind === 'sqlite';
  let gateway = await startGateway(ctx, dbase, 1, 'main', { inlineWorker: inlineMain });
  const templateId = await createTemplate(gateway, ctx.apiKey);
  // Trusted before any path runs, whichever runs first and at whatever connection count (the
  // callback guard would answer a cold start at 64 connections, or unverifiable SinoPac acks, 429).
  const trustOrders = await cloneOrders(dbase.db, templateId, 12, 'trust');
  await learnTrust(ctx, gateway, await ctx.pool.signNotifies(trustOrders.map((o) => notifyParams(o))));
  gateway.child.rss.phase = 'idle while the bench measured its floors';

  // Floors: the rows one applied callback writes (one transaction) and the inbox insert alone,
  // through the driver's prepared statements (the machine's floor) and through knex (what the query
  // builder costs), at the same concurrency as the paths.
  const floorOrders = await cloneOrders(dbase.db, templateId, 2_000, 'floor');
  const sample = notifyParams(floorOrders[0]!);
  const sampleBody = new URLSearchParams({ ...sample, sign_type: 'RSA2', sign: 'x'.repeat(344) }).toString();
  const writers = await DbFloorWriters.open(dbase);
  ctx.log(`  driver floors: ${writers.settings}`);
  try {
    for (const c of options.connections) {
      for (const floor of ['notify-tx', 'inbox-insert'] as const) {
        for (const via of ['driver', 'knex'] as const) {
          const s = await dbFloor(writers, dbase.db, floor, via, c, floorOrders, sampleBody, Math.min(1, options.warmupSec), options.floorSec, dbase.dbPid);
          await clearFloorRows(dbase.db, floorOrders);
          const name = dbFloorName(floor, via);
          ctx.floors.push({ name, db: kind, connections: c, rate: s.rate, p50: s.p50, p99: s.p99, cpuMsPerOp: s.cpuMsPerOp, dbCpuMsPerOp: s.dbCpuMsPerOp });
          ctx.log(`  floor ${name} c=${c}: ${Math.round(s.rate)}/s p99 ${s.p99.toFixed(2)} ms, CPU ${s.cpuMsPerOp.toFixed(3)}${s.dbCpuMsPerOp === null ? '' : `+${s.dbCpuMsPerOp.toFixed(3)} db`} ms/op`);
        }
      }
    }
  } finally {
    await writers.close();
  }

  ctx.log(`${kind}: paths`);
  if (wants(options, 'notify')) {
    for (const c of options.connections) {
      const bodies = await signedNotifies(ctx, dbase, templateId, estimateRate(ctx, kind, 'notify', c, 1), `n${c}`);
      await measure(ctx, dbase, gateway, 'notify', c, { next: fromList(bodies, ALIPAY_NOTIFY), ok: isSuccess });
    }
  }

  if (wants(options, 'notify-dup')) {
    const [order] = await cloneOrders(dbase.db, templateId, 1, 'dup');
    const [body] = await ctx.pool.signNotifies([notifyParams(order as PendingOrder)]);
    const first = await fetch(`${gateway.base}${ALIPAY_NOTIFY}`, { method: 'POST', headers: FORM, body });
    if ((await first.text()) !== 'success') throw new Error('the first delivery of the duplicate notify was not accepted');
    for (const c of options.connections) {
      await measure(ctx, dbase, gateway, 'notify-dup', c, { next: () => ({ method: 'POST', path: ALIPAY_NOTIFY, headers: FORM, body }), ok: isSuccess });
    }
  }

  // The latency targets are for a load the gateway carries: after the runs at saturation, each of
  // these paths runs once more at the top connection count, paced at PACED_FRACTION of its peak.
  const top = Math.max(...options.connections);
  const levels = (path: string) => [
    ...options.connections.map((c) => ({ c, paced: null as number | null })),
    { c: top, paced: PACED_FRACTION * (ctx.paths.find((p) => p.db === kind && p.path === path && p.connections === top && p.offeredRate === null)?.rate ?? 0) },
  ];

  if (wants(options, 'sinopac-ack')) {
    const shopNo = ctx.bank.config.ShopNo;
    let token = 0;
    const stamp = Date.now().toString(36).toUpperCase();
    // The acks' token exchanges run where the layout puts the job runner: in the worker process
    // (`sinopac-ack`, MariaDB's layout) or in the gateway's own background (`sinopac-ack-here`,
    // SQLite's one process). Then once more, paced as the main layout's paced run, in the other
    // layout, to show what each costs the ack.
    const mainPath = inlineMain ? 'sinopac-ack-here' : 'sinopac-ack';
    const otherPath = inlineMain ? 'sinopac-ack' : 'sinopac-ack-here';
    const count = options.connections.length + 1;
    let other: Target | null = null;
    for (let i = 0; i <= count; i++) {
      // The paced level's rate is half the peak just measured, so each level is read when its turn comes.
      const run = i < count ? { ...levels(mainPath)[i]!, other: false } : { ...levels(mainPath)[count - 1]!, other: true };
      const { c, paced } = run;
      if (paced !== null && paced <= 0) continue;
      if (run.other && !other) {
        gateway.child.rss.phase = 'idle while the other layout ran';
        other = await startGateway(ctx, dbase, 1, 'ack-other-layout', { inlineWorker: !inlineMain });
        await learnTrust(ctx, other, await ctx.pool.signNotifies((await cloneOrders(dbase.db, templateId, 12, 'trust-other')).map((o) => notifyParams(o))));
      }
      const target = run.other && other ? other : gateway;
      const before = await unprocessedCallbacks(dbase.db);
      const workerCpu0 = target.worker ? target.worker.rss.cpuMs() : 0;
      const acks0 = await sinopacRows(dbase.db);
      const entry = await measure(
        ctx,
        dbase,
        target,
        run.other ? otherPath : mainPath,
        c,
        {
          next: () => ({ method: 'POST', path: '/callbacks/sinopac/default/notify', headers: { 'content-type': 'application/json' }, body: `{"ShopNo":"${shopNo}","PayToken":"B${stamp}${c}X${++token}"}` }),
          ok: (status, body) => status === 200 && body === '{"Status":"S"}',
        },
        {},
        paced,
      );
      // Acknowledged on store: each token is then exchanged with the bank (by the worker process,
      // or in the gateway's background). Wait for that before the next run, and report how long
      // the backlog took and, with a worker process, its CPU per ack.
      target.child.rss.phase = `SinoPac token exchanges after sinopac-ack c=${c}`;
      const drained = performance.now();
      let left = await unprocessedCallbacks(dbase.db);
      while (left > before && performance.now() - drained < 120_000) {
        await sleep(250);
        left = await unprocessedCallbacks(dbase.db);
      }
      entry.extra['backlog drained after (s)'] = (performance.now() - drained) / 1000;
      if (left > before) entry.extra['left unprocessed'] = left - before;
      if (target.worker) {
        target.worker.rss.sample();
        // Over every ack this run stored (warm-up too), each exchanged by the worker.
        entry.extra['worker CPU ms/ack'] = (target.worker.rss.cpuMs() - workerCpu0) / Math.max(1, (await sinopacRows(dbase.db)) - acks0);
      }
    }
    if (other) await stopGateway(ctx, dbase, other, 'ack-other-layout');
  }

  for (const provider of ['alipay', 'sinopac'] as const) {
    const path = `create-${provider}`;
    if (!wants(options, path)) continue;
    let serial = 0;
    const stamp = Date.now().toString(36);
    for (let i = 0; i < options.connections.length + 1; i++) {
      const { c, paced } = levels(path)[i]!;
      if (paced !== null && paced <= 0) continue;
      await measure(
        ctx,
        dbase,
        gateway,
        path,
        c,
        {
          next: () => {
            const id = `C${provider[0]}${stamp}-${c}-${++serial}`;
            return {
              method: 'POST',
              path: '/v1/payments',
              headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json', 'idempotency-key': id },
              body: JSON.stringify(paymentBody(provider, id)),
            };
          },
          ok: (status) => status === 201,
        },
        provider === 'sinopac'
          ? {
              start: () => ctx.bank.resetTiming(),
              extra: async () => {
                const trips = await ctx.bank.roundTrips();
                const trip = summarize(trips.length, 1, trips);
                return { 'bank p50 ms': trip.p50, 'bank p99 ms': trip.p99 };
              },
            }
          : {},
        paced,
      );
    }
  }
  await stopGateway(ctx, dbase, gateway, 'main');

  if (wants(options, 'naive')) {
    ctx.log(`${kind}: naive peer`);
    const port = await freePort();
    const naive: Target = {
      child: await Child.start({
        name: `naive (${kind})`,
        script: 'test/bench/naive-server.ts',
        env: { PORT: String(port), DATABASE_URL: dbase.url, PAYGATE_CONFIG: ctx.configFile },
        readyUrl: `http://127.0.0.1:${port}/healthz`,
      }),
      base: `http://127.0.0.1:${port}`,
      processes: 1,
    };
    ctx.children.add(naive.child);
    try {
      for (const c of options.connections) {
        const bodies = await signedNotifies(ctx, dbase, templateId, estimateRate(ctx, kind, 'naive', c, 1) * 1.3, `v${c}`);
        await measure(ctx, dbase, naive, 'naive', c, { next: fromList(bodies, '/notify'), ok: isSuccess });
      }
    } finally {
      await naive.child.stop();
      ctx.children.delete(naive.child);
    }
    for (const p of ctx.paths) {
      if (p.db !== kind || p.path === 'naive' || p.offeredRate !== null) continue;
      const peer = ctx.paths.find((n) => n.db === kind && n.path === 'naive' && n.connections === p.connections);
      if (peer && p.rate > 0) p.costVsNaive = peer.rate / p.rate;
    }
  }

  if (kind === 'mariadb' && options.cluster && wants(options, 'notify')) {
    const c = Math.max(...options.connections);
    ctx.log(`${kind}: PAYGATE_WORKERS=1 against 2, notify at ${c} connections`);
    for (const processes of [1, 2]) {
      const label = `${processes} process${processes > 1 ? 'es' : ''}`;
      gateway = await startGateway(ctx, dbase, processes, `workers-${processes}`);
      try {
        const bodies = await signedNotifies(ctx, dbase, templateId, estimateRate(ctx, kind, 'notify-cluster', c, processes), `k${processes}`);
        const warm = await learnTrust(ctx, gateway, [...bodies.slice(0, 60 * processes)]);
        await measure(ctx, dbase, gateway, 'notify-cluster', c, { next: fromList(bodies.slice(warm), ALIPAY_NOTIFY), ok: isSuccess });
      } finally {
        await stopGateway(ctx, dbase, gateway, label);
      }
    }
  }
}
