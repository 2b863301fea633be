import type { SinopacConfig } from '../config.ts';
import type { HashKeys } from '../crypto.ts';
import type { Attempt, Bank, BankCounters, SimOrder } from './bank.ts';

/**
 * The simulator's books as plain JSON (SimulatorInstance.snapshot) and back: its shops and their
 * keys, the accounts the gateway was given, orders with their attempts (PayTokens), and the
 * counters behind TSNo and the virtual accounts, so nothing is handed out twice after a restart.
 * Nonces are not kept (they live a minute), nor the delivery log.
 */

/** Orders kept in a snapshot: the newest ones (the counters still cover the older ones). */
export const MAX_SAVED_ORDERS = 10_000;

type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };
type SavedOrder = Omit<Json<SimOrder>, 'attempts'> & { attempts: Json<Attempt>[] };

export interface SinopacBooks {
  version: 1;
  shopCounter: number;
  accounts: [string, Omit<SinopacConfig, 'baseUrl'>][];
  shops: { shopNo: string; keys: HashKeys; keyId: string }[];
  orders: SavedOrder[];
  counters: BankCounters;
}

export function saveBooks(bank: Bank, accounts: ReadonlyMap<string, SinopacConfig>, shopCounter: number): SinopacBooks {
  return {
    version: 1,
    shopCounter,
    accounts: [...accounts].map(([account, { baseUrl: _omit, ...config }]) => [account, config]),
    shops: [...bank.shops.values()].map((s) => ({ shopNo: s.shopNo, keys: s.keys, keyId: s.keyId })),
    // JSON.stringify writes the Dates as ISO text.
    orders: bank.orders.slice(-MAX_SAVED_ORDERS) as unknown as SavedOrder[],
    counters: bank.counters(),
  };
}

/** True for books this version wrote; anything else is ignored (the simulator starts empty). */
export function readableBooks(books: unknown): books is SinopacBooks {
  const b = books as Partial<SinopacBooks> | null;
  return !!b && b.version === 1 && Array.isArray(b.accounts) && Array.isArray(b.shops) && Array.isArray(b.orders) && !!b.counters;
}

const date = (value: string): Date => new Date(value);
const maybeDate = (value: string | null): Date | null => (value === null ? null : new Date(value));

export function loadOrder(o: SavedOrder): SimOrder {
  return {
    ...o,
    createdAt: date(o.createdAt),
    deadline: date(o.deadline),
    approvedAt: maybeDate(o.approvedAt),
    paidAt: maybeDate(o.paidAt),
    refundedAt: maybeDate(o.refundedAt),
    attempts: o.attempts.map((a) => ({ ...a, at: date(a.at) })),
  };
}
