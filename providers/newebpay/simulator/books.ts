import type { SimMerchant, SimTrade } from './store.ts';

/**
 * The simulator's books as plain JSON (SimulatorInstance.snapshot) and back: its shops and their
 * keys, the accounts the gateway was given, the trades (cards, codes), and the MPG forms the gateway
 * told of. Notify retries in progress, the delivery log and the query-miss counters are not kept.
 */

/** Trades (and expected forms) kept in a snapshot: the newest ones. */
export const MAX_SAVED_TRADES = 10_000;

type SavedTrade = Omit<SimTrade, 'merchant' | 'createdAt' | 'payTime' | 'expireAt'> & {
  merchantId: string;
  createdAt: string;
  payTime: string | null;
  expireAt: string | null;
};

export interface NewebpayBooks {
  version: 1;
  merchants: SimMerchant[];
  accounts: [string, string][];
  trades: SavedTrade[];
  expected: [string, Record<string, string>][];
}

export function saveBooks(
  merchants: Iterable<SimMerchant>,
  accounts: ReadonlyMap<string, SimMerchant>,
  trades: readonly SimTrade[],
  expected: ReadonlyMap<string, Record<string, string>>,
): NewebpayBooks {
  return {
    version: 1,
    merchants: [...merchants].map((m) => ({ ...m })),
    accounts: [...accounts].map(([account, m]) => [account, m.merchantId]),
    trades: trades.slice(-MAX_SAVED_TRADES).map(({ merchant, createdAt, payTime, expireAt, ...t }) => ({
      ...structuredClone(t),
      merchantId: merchant.merchantId,
      createdAt: createdAt.toISOString(),
      payTime: payTime?.toISOString() ?? null,
      expireAt: expireAt?.toISOString() ?? null,
    })),
    expected: [...expected].slice(-MAX_SAVED_TRADES),
  };
}

/** True for books this version wrote; anything else is ignored (the simulator starts empty). */
export function readableBooks(books: unknown): books is NewebpayBooks {
  const b = books as Partial<NewebpayBooks> | null;
  return !!b && b.version === 1 && Array.isArray(b.merchants) && Array.isArray(b.accounts) && Array.isArray(b.trades) && Array.isArray(b.expected);
}

/** The trades of saved books, tied to `merchants` (by id); a trade of an unknown shop is dropped. */
export function loadTrades(books: NewebpayBooks, merchants: ReadonlyMap<string, SimMerchant>): SimTrade[] {
  const trades: SimTrade[] = [];
  for (const { merchantId, createdAt, payTime, expireAt, ...t } of books.trades) {
    const merchant = merchants.get(merchantId);
    if (!merchant) continue;
    trades.push({ ...t, merchant, createdAt: new Date(createdAt), payTime: payTime === null ? null : new Date(payTime), expireAt: expireAt === null ? null : new Date(expireAt) });
  }
  return trades;
}
