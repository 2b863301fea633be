/**
 * The database's own floor through knex (core's openDb: the gateway's pool and pragmas), in this
 * process while the gateway is idle: the writes one applied callback makes, committed as the design
 * requires — the inbox row on its own (durable before anything else), then one transaction with the
 * order update under a version check, the transition row and the outbox event — and, for paths
 * acknowledged on store, the inbox insert alone. No reads: what the gateway reads is its overhead.
 */
import type { Knex } from 'knex';
import type { CoreDeps } from '../../core/deps.ts';
import { storeRaw } from '../../core/inbox.ts';
import { rowToOrder, type OrderRow } from '../../core/orders.ts';
import { recordEvent } from '../../core/outbox.ts';
import type { PaymentProvider } from '../../core/payment-provider.ts';
import type { PendingOrder } from './fixtures.ts';
import { cpuMs } from './processes.ts';
import { summarize, type Summary } from './stats.ts';

export type DbFloorKind = 'callback-writes' | 'inbox-insert';

const fakeProvider = { id: 'alipay', account: 'default' } as PaymentProvider;

let serial = 0;
function request(body: string) {
  return { kind: 'notify' as const, httpMethod: 'POST', contentType: 'application/x-www-form-urlencoded; charset=utf-8', rawBody: body, rawQuery: '', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'remote-address': '127.0.0.1' } };
}

/**
 * Runs `concurrency` loops of `kind` for warmupSec + durationSec; counts the completions in the
 * measured window. `orders` are reused round robin (the version check follows each one's version).
 */
export async function dbFloor(
  db: Knex,
  kind: DbFloorKind,
  concurrency: number,
  orders: readonly PendingOrder[],
  sampleBody: string,
  warmupSec: number,
  durationSec: number,
  /** mariadbd's pid, when its CPU should count (MariaDB). */
  dbPid: number | null = null,
): Promise<Summary & { cpuMsPerOp: number; dbCpuMsPerOp: number | null }> {
  const rows = new Map<string, OrderRow>();
  for (let i = 0; i < orders.length; i += 500) {
    const ids = orders.slice(i, i + 500).map((o) => o.id);
    for (const row of (await db('orders').whereIn('id', ids)) as OrderRow[]) rows.set(row.id, row);
  }
  const deps = (trx: Knex) => ({ db: trx, now: () => new Date() }) as unknown as CoreDeps;
  let next = 0;
  const one = async () => {
    const dedupe = `bench-floor-${process.pid}-${++serial}`;
    const body = `${sampleBody}&notify_id=${dedupe}`;
    if (kind === 'inbox-insert') {
      await storeRaw(deps(db), fakeProvider, request(body), { dedupeKey: dedupe, headers: {} });
      return;
    }
    // Durable first (docs/architecture.md#the-inbox): the inbox row commits on its own, then one transaction moves the
    // order under its version check and writes the transition and the outbox event.
    await storeRaw(deps(db), fakeProvider, request(body), { dedupeKey: dedupe, headers: {} });
    const row = rows.get(orders[next++ % orders.length]!.id)!;
    await db.transaction(async (trx) => {
      const now = new Date();
      const version = Number(row.version);
      const patch = { status: 'paid', version: version + 1, updated_at: now.getTime(), paid_at: now.getTime(), provider_trade_no: dedupe.slice(0, 64) };
      const updated = await trx('orders').where({ id: row.id, version }).update(patch);
      if (updated !== 1) throw new Error(`version check failed on ${row.id}`);
      Object.assign(row, patch);
      await trx('order_transitions').insert({ order_id: row.id, from_status: 'pending', to_status: 'paid', cause: 'provider reported paid', source: 'callback:0', created_at: now.getTime() });
      await recordEvent(trx, rowToOrder(row), 'payment.paid', now, { from: 'pending', cause: 'provider reported paid' });
    });
  };

  const started = performance.now();
  const measureFrom = started + warmupSec * 1000;
  const end = measureFrom + durationSec * 1000;
  const latencies: number[] = [];
  let count = 0;
  // Read inline, not from a timer: on SQLite the loop never yields to the event loop.
  let cpu0: NodeJS.CpuUsage | null = null;
  let db0 = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if (cpu0 === null && t0 >= measureFrom) {
          cpu0 = process.cpuUsage();
          db0 = dbPid ? cpuMs(dbPid) : 0;
        }
        await one();
        const t1 = performance.now();
        if (t0 >= measureFrom) {
          latencies.push(t1 - t0);
          count++;
        }
      }
    }),
  );
  const seconds = (performance.now() - measureFrom) / 1000;
  const used = process.cpuUsage(cpu0 ?? undefined);
  const ops = Math.max(1, count);
  return {
    ...summarize(count, seconds, latencies),
    cpuMsPerOp: (used.user + used.system) / 1000 / ops,
    dbCpuMsPerOp: dbPid ? (cpuMs(dbPid) - db0) / ops : null,
  };
}
