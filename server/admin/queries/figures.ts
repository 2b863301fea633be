import { toNumber, type Db } from '../../../core/db.ts';
import type { OrderStatus } from '../../../core/state-machine.ts';

/**
 * Daily figures per provider for the dashboard's charts. The days are the dashboard zone's
 * (server/admin/time-zone.ts), given as epoch-ms boundaries and bucketed in SQL by comparing
 * created_at with them: plain integer comparisons both engines share. Display-free.
 */

/** Money moved: paid, including orders refunded later. */
export const PAID_STATUSES: readonly OrderStatus[] = ['paid', 'partially_refunded', 'refunded'];
/** Orders that reached an outcome: paid (however refunded since), failed, cancelled or expired. */
export const DECIDED_STATUSES: readonly OrderStatus[] = [...PAID_STATUSES, 'failed', 'cancelled', 'expired'];

export interface DailyProviderFigures {
  /** The day's first instant in epoch ms (one of the boundaries asked for). */
  day: number;
  /** Null for orders whose buyer has not chosen a provider yet. */
  provider: string | null;
  /** Orders created that day. */
  created: number;
  /** Of those, how many are paid now (including refunded since). */
  paid: number;
  /** Of those, how many reached an outcome (paid, failed, cancelled, expired). */
  decided: number;
  /**
   * Amounts of the paid orders (PAID_STATUSES: paid, including refunded since) by currency, minor
   * units. A bigint: a sum of many orders can pass 2^53, where a number stops being exact.
   */
  paidAmount: Record<string, bigint>;
}

/**
 * Sums are split at 2^32 so neither engine can overflow and neither is inexact. SQLite's SUM of
 * integers fails with "integer overflow" past 2^63 (issue 13: 1,000 orders near 2^53 broke GET
 * /admin) and its total() is a float; MariaDB's SUM of BIGINT is an exact DECIMAL but a JS number
 * is not past 2^53. Each row's amount (a non-negative BIGINT < 2^63) is cut into high = a div 2^32
 * (< 2^31) and low = a mod 2^32 (< 2^32): each partial sum stays below 2^63 for 2^31 rows a group,
 * comes back as text (CAST AS CHAR: exact on both), and is put together here with BigInt.
 */
const SPLIT = 4_294_967_296; // 2^32
// (a - a % d) / d: integer on SQLite, a whole DECIMAL on MariaDB; FLOOR and DIV are not shared.
const HIGH = `(amount_minor - amount_minor % ${SPLIT}) / ${SPLIT}`;
const LOW = `amount_minor % ${SPLIT}`;

/** A whole number as a driver hands back a SUM: number, bigint, or text (MariaDB DECIMAL: "12.0000"). */
export function exactInteger(value: unknown): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  const match = typeof value === 'string' ? /^(-?\d+)(?:\.0*)?$/.exec(value.trim()) : null;
  if (match) return BigInt(match[1]!);
  throw new Error(`not an exact whole number: ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`);
}

/**
 * Figures for the orders created between boundaries[0] and the last boundary, by day and provider:
 * day i is [boundaries[i], boundaries[i + 1]). Boundaries are epoch ms, ascending; days may differ
 * in length (daylight-saving changes).
 */
export async function dailyFigures(db: Db, boundaries: readonly number[]): Promise<DailyProviderFigures[]> {
  if (boundaries.length < 2) return [];
  for (let i = 1; i < boundaries.length; i++) if (!Number.isSafeInteger(boundaries[i]) || boundaries[i]! <= boundaries[i - 1]!) throw new Error('day boundaries must be ascending integers');
  // The index of the day an order falls on: the first boundary past its creation, less one.
  const inner = boundaries.slice(1, -1);
  const day = inner.length ? `CASE ${inner.map((_, i) => `WHEN created_at < ? THEN ${i}`).join(' ')} ELSE ${inner.length} END` : '0';
  // Only paid money is summed ("Paid amount" on the page); other statuses' amounts are never added.
  const paid = `status IN (${PAID_STATUSES.map(() => '?').join(', ')})`;
  const rows = (await db('orders')
    .where('created_at', '>=', boundaries[0]!)
    .andWhere('created_at', '<', boundaries[boundaries.length - 1]!)
    .select(
      db.raw(`${day} as day_no`, inner),
      'provider',
      'currency',
      'status',
      db.raw(`CAST(SUM(CASE WHEN ${paid} THEN ${HIGH} ELSE 0 END) AS CHAR) as paid_high`, [...PAID_STATUSES]),
      db.raw(`CAST(SUM(CASE WHEN ${paid} THEN ${LOW} ELSE 0 END) AS CHAR) as paid_low`, [...PAID_STATUSES]),
    )
    .count({ n: '*' })
    .groupByRaw('day_no, provider, currency, status')) as { day_no: unknown; provider: string | null; currency: string; status: OrderStatus; n: unknown; paid_high: unknown; paid_low: unknown }[];
  const byKey = new Map<string, DailyProviderFigures>();
  for (const r of rows) {
    const dayMs = boundaries[toNumber(r.day_no)]!;
    const key = `${dayMs}|${r.provider ?? ''}`;
    let f = byKey.get(key);
    if (!f) byKey.set(key, (f = { day: dayMs, provider: r.provider ?? null, created: 0, paid: 0, decided: 0, paidAmount: {} }));
    const n = toNumber(r.n);
    f.created += n;
    if (DECIDED_STATUSES.includes(r.status)) f.decided += n;
    if (PAID_STATUSES.includes(r.status)) {
      f.paid += n;
      const amount = exactInteger(r.paid_high) * BigInt(SPLIT) + exactInteger(r.paid_low);
      f.paidAmount[r.currency] = (f.paidAmount[r.currency] ?? 0n) + amount;
    }
  }
  return [...byKey.values()].sort((a, b) => a.day - b.day || (a.provider ?? '').localeCompare(b.provider ?? ''));
}
