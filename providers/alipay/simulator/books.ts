import { loadApp, saveApp, type SavedApp } from './apps.ts';
import type { SimApp, SimRefund, SimTrade } from './trades.ts';

/**
 * The simulator's books as plain JSON (SimulatorInstance.snapshot) and back: its apps with both
 * key pairs (private keys as PEM; the public halves follow from them), trades with their refunds,
 * and the hand-offs the gateway told of. Pending notify retries and the delivery log are not kept.
 */

/** Trades (and expected hand-offs) kept in a snapshot: the newest ones. */
export const MAX_SAVED_TRADES = 10_000;

type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };
type SavedTrade = Omit<Json<SimTrade>, 'app' | 'refunds'> & { appId: string; refunds: Json<SimRefund>[] };

export interface AlipayBooks {
  version: 1;
  apps: SavedApp[];
  trades: SavedTrade[];
  seq: number;
  expected: [string, Record<string, string>][];
}

export function saveBooks(apps: Iterable<SimApp>, trades: readonly SimTrade[], seq: number, expected: ReadonlyMap<string, Record<string, string>>): AlipayBooks {
  return {
    version: 1,
    apps: [...apps].map(saveApp),
    // JSON.stringify writes the Dates as ISO text.
    trades: trades.slice(-MAX_SAVED_TRADES).map(({ app, ...trade }) => ({ ...trade, appId: app.appId }) as unknown as SavedTrade),
    seq,
    expected: [...expected].slice(-MAX_SAVED_TRADES),
  };
}

/** True for books this version wrote; anything else is ignored (the simulator starts empty). */
export function readableBooks(books: unknown): books is AlipayBooks {
  const b = books as Partial<AlipayBooks> | null;
  return !!b && b.version === 1 && Array.isArray(b.apps) && Array.isArray(b.trades) && Array.isArray(b.expected);
}

const maybeDate = (value: string | null): Date | null => (value === null ? null : new Date(value));

export function loadBooks(books: AlipayBooks, baseUrl: string): { apps: SimApp[]; trades: SimTrade[] } {
  const apps = books.apps.map((a) => loadApp(a, baseUrl));
  const byId = new Map(apps.map((a) => [a.appId, a]));
  const trades: SimTrade[] = [];
  for (const { appId, ...t } of books.trades) {
    const app = byId.get(appId);
    if (!app) continue;
    trades.push({
      ...t,
      app,
      expiresAt: new Date(t.expiresAt),
      handedOffAt: new Date(t.handedOffAt),
      createdAt: maybeDate(t.createdAt),
      paidAt: maybeDate(t.paidAt),
      closedAt: maybeDate(t.closedAt),
      refunds: t.refunds.map((r) => ({ ...r, at: new Date(r.at) })),
    });
  }
  return { apps, trades };
}
