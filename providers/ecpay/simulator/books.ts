import type { SimCard, SimMerchant, SimOrder } from './store.ts';

/**
 * The simulator's books as plain JSON (SimulatorInstance.snapshot) and back: its merchants and their
 * keys, the accounts the gateway was given, orders (cards, ATM accounts), and the AioCheckOut forms
 * the gateway told of. Pending notice re-sends and the delivery log are not kept.
 */

/** Orders (and expected forms) kept in a snapshot: the newest ones. */
export const MAX_SAVED_ORDERS = 10_000;

type SavedCard = Omit<SimCard, 'actions'> & { actions: { action: string; amount: number; at: string }[] };
type SavedOrder = Omit<SimOrder, 'merchant' | 'tradeDate' | 'paymentDate' | 'card'> & {
  merchantId: string;
  tradeDate: string;
  paymentDate: string | null;
  card: SavedCard | null;
};

export interface EcpayBooks {
  version: 1;
  merchants: SimMerchant[];
  accounts: [string, string][];
  orders: SavedOrder[];
  expected: [string, Record<string, string>][];
}

export function saveBooks(
  merchants: Iterable<SimMerchant>,
  accounts: ReadonlyMap<string, SimMerchant>,
  orders: readonly SimOrder[],
  expected: ReadonlyMap<string, Record<string, string>>,
): EcpayBooks {
  return {
    version: 1,
    merchants: [...merchants].map((m) => ({ ...m })),
    accounts: [...accounts].map(([account, m]) => [account, m.merchantId]),
    // JSON.stringify writes the Dates as ISO text.
    orders: orders.slice(-MAX_SAVED_ORDERS).map(({ merchant, ...o }) => ({ ...o, merchantId: merchant.merchantId }) as unknown as SavedOrder),
    expected: [...expected].slice(-MAX_SAVED_ORDERS),
  };
}

/** True for books this version wrote; anything else is ignored (the simulator starts empty). */
export function readableBooks(books: unknown): books is EcpayBooks {
  const b = books as Partial<EcpayBooks> | null;
  return !!b && b.version === 1 && Array.isArray(b.merchants) && Array.isArray(b.accounts) && Array.isArray(b.orders) && Array.isArray(b.expected);
}

/** The orders of saved books, tied to `merchants` (by id); an order of an unknown merchant is dropped. */
export function loadOrders(books: EcpayBooks, merchants: ReadonlyMap<string, SimMerchant>): SimOrder[] {
  const orders: SimOrder[] = [];
  for (const { merchantId, ...o } of books.orders) {
    const merchant = merchants.get(merchantId);
    if (!merchant) continue;
    orders.push({
      ...o,
      merchant,
      tradeDate: new Date(o.tradeDate),
      paymentDate: o.paymentDate === null ? null : new Date(o.paymentDate),
      card: o.card ? { ...o.card, actions: o.card.actions.map((a) => ({ ...a, at: new Date(a.at) })) } : null,
    });
  }
  return orders;
}
