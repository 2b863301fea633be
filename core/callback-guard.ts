import { isIP } from 'node:net';

/**
 * What unverifiable traffic on the callback endpoints may cost (issue 13, items 2 and 5).
 *
 * A request from an address that is not trusted takes a token at admission, before anything is read
 * or stored, from two buckets: its address's (`burst`, earned back at `refillPerMinute`) and one
 * that all addresses share (`globalBurst`, `globalRefillPerMinute`), so many addresses (a botnet, the
 * 65,536 /64s of one IPv6 /48) cannot each bring a fresh budget. The token comes back when the
 * request proves to be the provider's news (a fresh notify that verified; a browser return that
 * verified and was not seen before); anything else keeps it spent: an unknown endpoint, an
 * oversized or unreadable body, a failed verification, a replay, and a fault while verifying (the
 * provider unreachable: a forger must not get free retries on our account). With either bucket
 * empty the request is answered 429. An address also has at most `burst` requests or stored rows
 * awaiting verification at a time: a provider that is down leaves rows retrying for hours.
 *
 * A fresh notify that verified (its sender holds the provider's key: it is the provider) makes its
 * address trusted for `trustedForMs`. A trusted address is never charged nor throttled, by either
 * bucket, and pays one map lookup for it, so a provider's flash sale of verified notifies never
 * meets the limit. A return never grants trust: anyone holding a signed return URL can replay it.
 *
 * A `shared` request is one whose address means nothing (behind a proxy paygate does not trust,
 * every request has the proxy's address): no address bucket, never trusted, the global budget only.
 *
 * The buckets live in this process's memory (bounded by `maxAddresses`, oldest forgotten first):
 * with N processes behind a port an address gets N buckets, still a bound.
 */
export interface CallbackGuardOptions {
  /** Requests an address may have unproven at once (taken, not yet given back) before it is throttled. */
  burst: number;
  /** Tokens an address earns back per minute. */
  refillPerMinute: number;
  /** The same for all untrusted senders together. */
  globalBurst: number;
  globalRefillPerMinute: number;
  /** How long a fresh verified notify keeps its address exempt. */
  trustedForMs: number;
  /** Addresses remembered at most, throttled and trusted each (each ~100 bytes). */
  maxAddresses: number;
}

export const DEFAULT_CALLBACK_GUARD: CallbackGuardOptions = {
  burst: 20,
  refillPerMinute: 20,
  globalBurst: 600,
  globalRefillPerMinute: 600,
  trustedForMs: 24 * 60 * 60_000,
  maxAddresses: 50_000,
};

interface Budget {
  tokens: number;
  updatedAt: number;
}

interface Bucket extends Budget {
  /** Admitted requests not settled yet, and rows they left awaiting verification. */
  open: Set<Ticket>;
}

/** One admitted request's claim on the budgets: settled once, by `proved`, `spent` or `unfinished`. */
export class Ticket {
  /** The inbox row this request left awaiting verification (a fault), counted until it is finished. */
  rowId: number | null = null;
  open: boolean;
  /**
   * @param key the address's key; null when the address means nothing (shared) or nothing is owed.
   * @param charged whether tokens were taken (false: a trusted address, whose proof may renew its trust).
   */
  constructor(
    readonly key: string | null,
    readonly bucket: Bucket | null,
    readonly charged: boolean,
  ) {
    this.open = charged;
  }

  /** Whether the request's verdict matters: tokens to give back, or a trust to renew. */
  get wantsVerdict(): boolean {
    return this.open || (this.key !== null && !this.charged);
  }
}

/** A trusted address with most of its trust ahead: nothing taken, nothing to learn. */
const TRUSTED = new Ticket(null, null, false);

export type Admission =
  | { ticket: Ticket; refused?: undefined; waiting?: undefined }
  | {
      ticket?: undefined;
      refused: 'address' | 'unfinished' | 'global';
      retryAfterSeconds: number;
      /** For `unfinished`: the tickets holding rows; those whose rows are finished can be settled. */
      waiting: Ticket[];
    };

/** IPv6 clients are counted per /64 (one host usually owns a whole /64); IPv4-mapped as IPv4. */
export function addressKey(address: string): string {
  const bare = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (isIP(bare) !== 6) return bare;
  const [head, tail] = bare.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function refill(budget: Budget, max: number, perMinute: number, now: number): void {
  // Clocks given by callers (tests) may run behind the last touch: nothing is earned then.
  budget.tokens = Math.min(max, budget.tokens + (Math.max(0, now - budget.updatedAt) / 60_000) * perMinute);
  budget.updatedAt = now;
}

function secondsUntilToken(budget: Budget, perMinute: number): number {
  return Math.max(1, Math.ceil(((1 - budget.tokens) / perMinute) * 60));
}

export class CallbackGuard {
  private readonly buckets = new Map<string, Bucket>();
  /** Address key → trusted until (ms). Only fresh verified notifies add here, so forgers cannot fill it. */
  private readonly trusted = new Map<string, number>();
  private readonly global: Budget;
  private warnedShared = false;
  readonly options: CallbackGuardOptions;

  constructor(options: Partial<CallbackGuardOptions> = {}) {
    this.options = { ...DEFAULT_CALLBACK_GUARD, ...options };
    this.global = { tokens: this.options.globalBurst, updatedAt: Date.now() };
  }

  private bucket(key: string, now: number, create: boolean): Bucket | undefined {
    let bucket = this.buckets.get(key);
    if (bucket) {
      refill(bucket, this.options.burst, this.options.refillPerMinute, now);
      // Most recently touched last: Map keeps insertion order, so the first key is the oldest.
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
      return bucket;
    }
    if (!create) return undefined;
    bucket = { tokens: this.options.burst, updatedAt: now, open: new Set() };
    this.buckets.set(key, bucket);
    while (this.buckets.size > this.options.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }

  private isTrusted(key: string, now: number): boolean {
    const until = this.trusted.get(key);
    return until !== undefined && until > now;
  }

  /**
   * Before anything is read or stored: a ticket (tokens taken unless the address is trusted), or
   * why not. `shared`: the address means nothing (an untrusted proxy's): the global budget only.
   */
  admit(address: string, options: { shared?: boolean } = {}, now = Date.now()): Admission {
    let bucket: Bucket | null = null;
    let key: string | null = null;
    if (!options.shared) {
      key = addressKey(address);
      const until = this.trusted.get(key);
      if (until !== undefined && until > now) {
        // In the second half of its trust, a proof renews it (the ticket then carries the key).
        return { ticket: until - now > this.options.trustedForMs / 2 ? TRUSTED : new Ticket(key, null, false) };
      }
      bucket = this.bucket(key, now, true)!;
      if (bucket.tokens < 1) return { refused: 'address', retryAfterSeconds: secondsUntilToken(bucket, this.options.refillPerMinute), waiting: [] };
      if (bucket.open.size >= this.options.burst) {
        const waiting = [...bucket.open].filter((t) => t.rowId !== null);
        return { refused: 'unfinished', retryAfterSeconds: 60, waiting };
      }
    }
    refill(this.global, this.options.globalBurst, this.options.globalRefillPerMinute, now);
    if (this.global.tokens < 1) return { refused: 'global', retryAfterSeconds: secondsUntilToken(this.global, this.options.globalRefillPerMinute), waiting: [] };
    this.global.tokens -= 1;
    const ticket = new Ticket(key, bucket, true);
    if (bucket) {
      bucket.tokens -= 1;
      bucket.open.add(ticket);
    }
    return { ticket };
  }

  private close(ticket: Ticket): boolean {
    if (!ticket.open) return false;
    ticket.open = false;
    ticket.bucket?.open.delete(ticket);
    return true;
  }

  /**
   * The request proved to be the provider's news: its tokens come back, and with `trust` (a fresh
   * notify that verified, from an address that means something) its address is trusted.
   */
  proved(ticket: Ticket, options: { trust: boolean }, now = Date.now()): void {
    if (options.trust && ticket.key !== null) this.trust(ticket.key, now);
    if (!this.close(ticket)) return;
    refill(this.global, this.options.globalBurst, this.options.globalRefillPerMinute, now);
    this.global.tokens = Math.min(this.options.globalBurst, this.global.tokens + 1);
    if (ticket.bucket) {
      refill(ticket.bucket, this.options.burst, this.options.refillPerMinute, now);
      ticket.bucket.tokens = Math.min(this.options.burst, ticket.bucket.tokens + 1);
    }
  }

  /** The request proved nothing (failed, replayed, faulted, or its row is finished): its tokens stay spent. */
  spent(ticket: Ticket): void {
    this.close(ticket);
  }

  /** The request left `rowId` awaiting verification: it keeps counting against its address until finished. */
  unfinished(ticket: Ticket, rowId: number): void {
    if (ticket.open) ticket.rowId = rowId;
  }

  /** Whether a request from `address` would be admitted now by its address's bucket (tests, diagnostics). */
  allow(address: string, now = Date.now()): boolean {
    const key = addressKey(address);
    if (this.isTrusted(key, now)) return true;
    const bucket = this.bucket(key, now, false);
    return !bucket || bucket.tokens >= 1;
  }

  /** Takes one token from `address`'s bucket unless it is trusted (admit does this for requests). */
  charge(address: string, now = Date.now()): void {
    const key = addressKey(address);
    if (this.isTrusted(key, now)) return;
    const bucket = this.bucket(key, now, true)!;
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  /** Trusts `address` (an address key or address) for `trustedForMs`. */
  trust(address: string, now = Date.now()): void {
    const key = addressKey(address);
    this.trusted.delete(key);
    this.trusted.set(key, now + this.options.trustedForMs);
    while (this.trusted.size > this.options.maxAddresses) this.trusted.delete(this.trusted.keys().next().value!);
    const bucket = this.bucket(key, now, false);
    if (bucket) bucket.tokens = this.options.burst;
  }

  /** Seconds until `address`'s bucket has a token again (0: it has one). */
  retryAfterSeconds(address: string, now = Date.now()): number {
    const bucket = this.bucket(addressKey(address), now, false);
    if (!bucket || bucket.tokens >= 1) return 0;
    return secondsUntilToken(bucket, this.options.refillPerMinute);
  }

  /** True the first time only: a shared request was seen (the caller logs it once per process). */
  firstShared(): boolean {
    if (this.warnedShared) return false;
    this.warnedShared = true;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
