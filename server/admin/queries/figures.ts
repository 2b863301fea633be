import { toNumber, type Db } from '../../../core/db.ts';
import type { OrderStatus } from '../../../core/state-machine.ts';

/**
 * Daily figures per provider for the dashboard's charts. Days are UTC, bucketed in SQL with
 * integer arithmetic both engines share. Display-free.
 */

/** Money moved: paid, including orders refunded later. */
export const PAID_STATUSES: readonly OrderStatus[] = ['paid', 'partially_refunded', 'refunded'];
/** Orders that reached an outcome: paid (however refunded since), failed, cancelled or expired. */
export const DECIDED_STATUSES: readonly OrderStatus[] = [...PAID_STATUSES, 'failed', 'cancelled', 'expired'];

export const DAY_MS = 86_400_000;

export interface DailyProviderFigures {
  /** UTC day, as its midnight in epoch ms. */
  day: number;
  /** Null for orders whose buyer has not chosen a provider yet. */
  provider: string | null;
  /** Orders created that day. */
  created: number;
  /** Of those, how many are paid now (including refunded since). */
  paid: number;
  /** Of those, how many reached an outcome (paid, failed, cancelled, expired). */
  decided: number;
  /** Paid amounts by currency, minor units. */
  paidAmount: Record<string, number>;
}

/** Figures for the orders created in [from, to), by UTC day of creation and provider. */
export async function dailyFigures(db: Db, range: { from: number; to: number }): Promise<DailyProviderFigures[]> {
  // (t - t % d) / d: integer on SQLite, a whole DECIMAL on MariaDB; FLOOR and DIV are not shared.
  const day = '(created_at - created_at % 86400000) / 86400000';
  const rows = (await db('orders')
    .where('created_at', '>=', range.from)
    .andWhere('created_at', '<', range.to)
    .select(db.raw(`${day} as day_no`), 'provider', 'currency', 'status')
    .count({ n: '*' })
    .sum({ amount: 'amount_minor' })
    .groupByRaw(`${day}, provider, currency, status`)) as { day_no: unknown; provider: string | null; currency: string; status: OrderStatus; n: unknown; amount: unknown }[];
  const byKey = new Map<string, DailyProviderFigures>();
  for (const r of rows) {
    const dayMs = toNumber(r.day_no) * DAY_MS;
    const key = `${dayMs}|${r.provider ?? ''}`;
    let f = byKey.get(key);
    if (!f) byKey.set(key, (f = { day: dayMs, provider: r.provider ?? null, created: 0, paid: 0, decided: 0, paidAmount: {} }));
    const n = toNumber(r.n);
    f.created += n;
    if (DECIDED_STATUSES.includes(r.status)) f.decided += n;
    if (PAID_STATUSES.includes(r.status)) {
      f.paid += n;
      f.paidAmount[r.currency] = (f.paidAmount[r.currency] ?? 0) + toNumber(r.amount);
    }
  }
  return [...byKey.values()].sort((a, b) => a.day - b.day || (a.provider ?? '').localeCompare(b.provider ?? ''));
}
