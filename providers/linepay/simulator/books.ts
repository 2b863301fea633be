/**
 * The LINE Pay simulator's books (docs/protocols/linepay.md#the-simulator): merchants (channels), their
 * transactions and refunds, and the transaction id generator. State moves only through the API,
 * the payment page and the control API; expiry is applied lazily on every access.
 */
import { randomBytes, randomInt } from 'node:crypto';

export type TxnStatus =
  | 'RESERVED'
  | 'APPROVED'
  | 'CANCELLED'
  | 'FAILED'
  | 'EXPIRED'
  | 'CAPTURE'
  | 'AUTHORIZATION'
  | 'VOIDED_AUTHORIZATION'
  | 'EXPIRED_AUTHORIZATION';

export interface Merchant {
  channelId: string;
  secret: string;
  enabled: boolean;
}

export interface SimRefund {
  refundTransactionId: string;
  amount: number;
  date: string;
}

export interface Txn {
  transactionId: string;
  channelId: string;
  orderId: string;
  amount: number;
  currency: string;
  productName: string;
  confirmUrl: string;
  cancelUrl: string;
  capture: boolean;
  /** The opaque id in paymentUrl.web. */
  reserveToken: string;
  status: TxnStatus;
  createdAt: number;
  expiresAt: number;
  authorizationExpireDate: number | null;
  /** What the buyer paid with (one CREDIT_CARD entry); set at Confirm. */
  payInfo: { method: string; amount: number }[];
  transactionDate: string | null;
  refunds: SimRefund[];
  /** The code a Confirm of a failed payment answers (control decline). */
  declineCode: string | null;
  /** A Confirm is being answered: a second one meanwhile is 1198. */
  inFlight: boolean;
}

/** How long a request waits for the buyer (§8: 20 minutes). */
export const APPROVAL_WINDOW_MS = 20 * 60_000;
/** How long an authorisation holds (contract-specific, unpublished: the simulator's own choice). */
export const AUTHORIZATION_HOLD_MS = 7 * 24 * 60 * 60_000;

/**
 * Transaction ids as LINE Pay's look (§10.5): the Taipei date (yyyyMMdd) and an 11-digit counter
 * started at random, 19 digits, always above 2^53 (so a client that rounds them is caught).
 */
export class TransactionIds {
  /** The last counter handed out; restored from books so ids continue after the saved ones. */
  counter = randomInt(10_000_000_000, 90_000_000_000);

  next(now: number): string {
    const taipei = new Date(now + 8 * 3_600_000);
    const day = `${taipei.getUTCFullYear()}${String(taipei.getUTCMonth() + 1).padStart(2, '0')}${String(taipei.getUTCDate()).padStart(2, '0')}`;
    this.counter = this.counter >= 99_999_999_999 ? 10_000_000_000 : this.counter + 1;
    return `${day}${String(this.counter).padStart(11, '0')}`;
  }
}

/** Clearly fake credentials, made per run: a 10-digit channel id and a 32-hex secret. */
export function fakeMerchant(n: number): Merchant {
  return { channelId: `16${String(n).padStart(2, '0')}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`, secret: randomBytes(16).toString('hex'), enabled: true };
}

/** Applies expiry as of `now`: a request past its window lapses, an authorisation past its hold too. */
export function settleExpiry(txn: Txn, now: number): void {
  if ((txn.status === 'RESERVED' || txn.status === 'APPROVED') && now > txn.expiresAt) txn.status = 'EXPIRED';
  if (txn.status === 'AUTHORIZATION' && txn.authorizationExpireDate !== null && now > txn.authorizationExpireDate) txn.status = 'EXPIRED_AUTHORIZATION';
}

export function refunded(txn: Txn): number {
  return txn.refunds.reduce((sum, r) => sum + r.amount, 0);
}

export function captured(txn: Txn): number {
  return txn.payInfo.reduce((sum, p) => sum + p.amount, 0);
}

/** What `snapshot()` keeps (SimulatorInstance.snapshot): channels and keys, the newest transactions, the id counter. */
export interface LinepayBooks {
  version: 1;
  merchants: Merchant[];
  accounts: [string, string][];
  transactions: Txn[];
  counter: number;
}

/** Transactions kept in a snapshot (the newest). */
export const BOOKS_KEPT = 10_000;

/** Whether saved books have the shape this simulator writes; anything else starts it empty. */
export function readableBooks(books: unknown): books is LinepayBooks {
  const b = books as Partial<LinepayBooks> | null;
  return (
    !!b &&
    b.version === 1 &&
    Array.isArray(b.merchants) &&
    b.merchants.every((m) => typeof m?.channelId === 'string' && typeof m.secret === 'string') &&
    Array.isArray(b.accounts) &&
    b.accounts.every((a) => Array.isArray(a) && typeof a[0] === 'string' && typeof a[1] === 'string') &&
    Array.isArray(b.transactions) &&
    typeof b.counter === 'number'
  );
}

/** A saved transaction that has every field a live one has; others are left out of the restore. */
export function wholeTxn(t: Partial<Txn>): t is Txn {
  return (
    typeof t.transactionId === 'string' &&
    /^\d{19}$/.test(t.transactionId) &&
    typeof t.channelId === 'string' &&
    typeof t.orderId === 'string' &&
    typeof t.amount === 'number' &&
    typeof t.status === 'string' &&
    typeof t.reserveToken === 'string' &&
    typeof t.confirmUrl === 'string' &&
    typeof t.cancelUrl === 'string' &&
    Array.isArray(t.payInfo) &&
    Array.isArray(t.refunds)
  );
}
