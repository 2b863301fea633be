import { HttpError } from '../../simulator-kit/http.ts';
import { hashId, type HashKeys } from '../crypto.ts';
import { mintNonce, randomDigits, randomHex, taipeiStamp } from './util.ts';

/** One simulated shop (商店). `keys`, `keyId` and `hashId` are secrets: never in a response or a log line. */
export interface Shop {
  shopNo: string;
  keys: HashKeys;
  keyId: string;
  hashId: string;
}

/** One payment attempt; each has its own PayToken, exchanged through OrderPayQuery (§7.2). */
export interface Attempt {
  payToken: string;
  status: 'S' | 'F';
  description: string;
  at: Date;
  source: 'page' | 'control' | 'auto';
  leftCCNo?: string;
  rightCCNo?: string;
}

/**
 * ATM: unpaid → paid. Card: unpaid → authorised → captured (AutoBilling Y goes straight to captured),
 * authorised → voided. A failed card attempt leaves the order unpaid, so it can be paid again.
 */
export type OrderStatus = 'unpaid' | 'paid' | 'authorised' | 'captured' | 'voided';

export interface SimOrder {
  seq: number;
  shopNo: string;
  orderNo: string;
  tsNo: string;
  amount: number;
  payType: 'A' | 'C';
  prdtName: string;
  memo?: string;
  params: { Param1?: string; Param2?: string; Param3?: string };
  returnUrl: string;
  backendUrl: string | null;
  createdAt: Date;
  /** The TK of the hosted pages (§1: `?TD={TSNo}&TK={uuid}`). */
  pageToken: string;
  /** ATM: end of ExpireDate in Taipei; card: creation + ExpMinutes. Unpaid after it = overdue. */
  deadline: Date;
  atm?: { atmPayNo: string; expireDate: string; webAtmUrl: string; otpUrl: string; payerAcctNo: string | null };
  card?: { autoBilling: 'Y' | 'N'; expMinutes: number; cardPayUrl: string; authCode: string | null };
  status: OrderStatus;
  approvedAt: Date | null;
  paidAt: Date | null;
  refunded: number;
  refundedAt: Date | null;
  attempts: Attempt[];
}

/** What keeps the bank's identifiers unique across restarts: the next ones continue after these. */
export interface BankCounters {
  seq: number;
  atm: number;
  /** Last TSNo sequence per ShopNo prefix. */
  tsNo: Record<string, number>;
}

/** A control-API request that cannot be done (unknown order, wrong state): answered with its HTTP status. */
export class ControlError extends HttpError {}

export type NonceCheck = 'ok' | 'unknown' | 'expired' | 'other-shop';

/** §9.2 PayStatus. 1C250 (S8: overdue/expired) is also used for a voided authorisation: closed, never paid (UNVERIFIED). */
export function payStatus(order: SimOrder, now: Date): string {
  if (order.payType === 'A') return order.status === 'paid' ? '1A400' : '1A200';
  switch (order.status) {
    case 'captured':
      return '1C400';
    case 'authorised':
      return '1C300';
    case 'voided':
      return '1C250';
    default:
      return isOverdue(order, now) ? '1C250' : '1C200';
  }
}

export function isOverdue(order: SimOrder, now: Date): boolean {
  return order.status === 'unpaid' && now.getTime() > order.deadline.getTime();
}

/** §7.3 PayFlag: Y = transferred / captured, O = overdue, N = everything else. */
export function payFlag(order: SimOrder, now: Date): 'Y' | 'N' | 'O' {
  if (order.status === 'paid' || order.status === 'captured') return 'Y';
  return isOverdue(order, now) ? 'O' : 'N';
}

/** The bank's memory: shops, outstanding nonces, orders and their PayTokens. */
export class Bank {
  readonly shops = new Map<string, Shop>();
  readonly orders: SimOrder[] = [];
  private readonly byKey = new Map<string, SimOrder>();
  private readonly byTsNo = new Map<string, SimOrder>();
  private readonly byToken = new Map<string, { order: SimOrder; attempt: Attempt }>();
  private readonly nonces = new Map<string, { shopNo: string; expiresAt: number }>();
  private readonly tsCounters = new Map<string, number>();
  private readonly atmPayNos = new Set<string>();
  private atmCounter = 174_600;
  private seq = 0;

  constructor(private readonly nonceTtlMs: number) {}

  addShop(shopNo: string, keys: HashKeys, keyId: string): Shop {
    if (this.shops.has(shopNo)) throw new Error(`shop ${shopNo} exists`);
    const shop: Shop = { shopNo, keys: { ...keys }, keyId, hashId: hashId(keys) };
    this.shops.set(shopNo, shop);
    return shop;
  }

  /** §3.3 / §6.4: single use, bound to the shop, short-lived (all UNVERIFIED, configurable TTL). */
  issueNonce(shopNo: string): string {
    const now = Date.now();
    if (this.nonces.size > 256) {
      for (const [value, entry] of this.nonces) if (entry.expiresAt < now) this.nonces.delete(value);
    }
    const nonce = mintNonce(now);
    this.nonces.set(nonce, { shopNo, expiresAt: now + this.nonceTtlMs });
    return nonce;
  }

  /** Checks a request nonce and burns it: whatever happens next, it cannot be presented again. */
  takeNonce(nonce: string, shopNo: string): NonceCheck {
    const entry = this.nonces.get(nonce);
    if (!entry) return 'unknown';
    if (entry.shopNo !== shopNo) return 'other-shop';
    this.nonces.delete(nonce);
    return entry.expiresAt < Date.now() ? 'expired' : 'ok';
  }

  order(shopNo: string, orderNo: string): SimOrder | undefined {
    return this.byKey.get(`${shopNo}\u0000${orderNo}`);
  }

  orderByTsNo(tsNo: string): SimOrder | undefined {
    return this.byTsNo.get(tsNo);
  }

  /** Finds an order by number alone (control API); ambiguous across shops unless shopNo is given. */
  findOrder(orderNo: string, shopNo?: string): SimOrder {
    if (shopNo) {
      const order = this.order(shopNo, orderNo);
      if (!order) throw new ControlError(404, `no order ${orderNo} in shop ${shopNo}`);
      return order;
    }
    const found = this.orders.filter((o) => o.orderNo === orderNo);
    if (found.length === 0) throw new ControlError(404, `no order ${orderNo}`);
    if (found.length > 1) throw new ControlError(409, `order ${orderNo} exists in several shops; give shopNo`);
    return found[0]!;
  }

  attemptByToken(shopNo: string, payToken: string): { order: SimOrder; attempt: Attempt } | undefined {
    const hit = this.byToken.get(payToken);
    return hit && hit.order.shopNo === shopNo ? hit : undefined;
  }

  /** TSNo = first 6 characters of ShopNo + an 8-digit sequence (§7.1, LIKELY). */
  mintTsNo(shopNo: string): string {
    const prefix = shopNo.slice(0, 6);
    let no: string;
    do {
      const next = (this.tsCounters.get(prefix) ?? 0) + 1;
      this.tsCounters.set(prefix, next);
      no = `${prefix}${String(next).padStart(8, '0')}`;
    } while (this.byTsNo.has(no));
    return no;
  }

  /** Sandbox virtual accounts look like 99922530174617 (§11); one never handed out twice while the books know it. */
  mintAtmPayNo(): string {
    let no: string;
    do {
      this.atmCounter = (this.atmCounter + 1) % 1_000_000;
      no = `99922530${String(this.atmCounter).padStart(6, '0')}`;
    } while (this.atmPayNos.has(no));
    return no;
  }

  insert(order: Omit<SimOrder, 'seq'>): SimOrder {
    return this.index({ ...order, seq: ++this.seq });
  }

  /** The counters that keep identifiers from being handed out again (simulator/books.ts). */
  counters(): BankCounters {
    return { seq: this.seq, atm: this.atmCounter, tsNo: Object.fromEntries(this.tsCounters) };
  }

  /** Puts back orders and counters from saved books; counters only ever move forward. */
  restore(orders: readonly SimOrder[], counters: BankCounters): void {
    for (const order of orders) this.index(order);
    this.seq = Math.max(this.seq, counters.seq, ...orders.map((o) => o.seq));
    this.atmCounter = counters.atm;
    for (const [prefix, n] of Object.entries(counters.tsNo)) this.tsCounters.set(prefix, Math.max(n, this.tsCounters.get(prefix) ?? 0));
  }

  private index(full: SimOrder): SimOrder {
    this.orders.push(full);
    this.byKey.set(`${full.shopNo}\u0000${full.orderNo}`, full);
    this.byTsNo.set(full.tsNo, full);
    if (full.atm) this.atmPayNos.add(full.atm.atmPayNo);
    for (const attempt of full.attempts) this.byToken.set(attempt.payToken, { order: full, attempt });
    return full;
  }

  /**
   * The buyer pays (outcome S) or fails (F). ATM: the transfer is booked. Card: authorised, and captured
   * at once when AutoBilling is Y. Throws ControlError(409) when the order cannot take a payment now.
   */
  book(order: SimOrder, outcome: 'S' | 'F', source: Attempt['source'], cardNo?: string): Attempt {
    const now = new Date();
    if (order.status !== 'unpaid') throw new ControlError(409, `order ${order.orderNo} is ${order.status}`);
    if (isOverdue(order, now)) throw new ControlError(409, `order ${order.orderNo} is overdue (deadline ${taipeiStamp(order.deadline)})`);
    const attempt: Attempt = {
      payToken: randomHex(32),
      status: outcome,
      description: outcome === 'S' ? '' : order.payType === 'C' ? 'E0501 – 授權失敗' : 'E0502 – 轉帳失敗',
      at: now,
      source,
    };
    if (order.payType === 'C') {
      const digits = cardNo ?? '4111111111111111';
      attempt.leftCCNo = digits.slice(0, 6);
      attempt.rightCCNo = digits.slice(-4);
    }
    if (outcome === 'S') {
      if (order.payType === 'A') {
        order.status = 'paid';
        order.paidAt = now;
        order.atm!.payerAcctNo = `0170010${randomDigits(7)}`;
      } else {
        order.approvedAt = now;
        order.card!.authCode = randomDigits(6);
        if (order.card!.autoBilling === 'Y') {
          order.status = 'captured';
          order.paidAt = now;
        } else {
          order.status = 'authorised';
        }
      }
    }
    order.attempts.push(attempt);
    this.byToken.set(attempt.payToken, { order, attempt });
    return attempt;
  }
}
