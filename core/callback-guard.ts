import { isIP } from 'node:net';

/**
 * What unverifiable traffic on the callback endpoints may cost, per client address (issue 13).
 *
 * Every address has a bucket of `burst` tokens that refills at `refillPerMinute`. A request that
 * fails a cheap pre-check (unknown endpoint, oversized or unreadable body) or verification takes a
 * token; an address with no token left is answered 429 before anything is read or stored. A
 * request that verifies (the sender holds the provider's key: it is the provider) makes its
 * address trusted for `trustedForMs`: trusted addresses are never throttled, so a provider's flash
 * sale of verified notifies never meets the limit, even if a few of its requests fail.
 *
 * Genuine traffic is never charged, so it never pays for the check beyond one map lookup.
 * The buckets live in this process's memory (bounded by `maxAddresses`, oldest forgotten first):
 * with N processes behind a port an address gets N buckets, still a bound.
 */
export interface CallbackGuardOptions {
  /** Failures an address may make at once before it is throttled. */
  burst: number;
  /** Failures an address earns back per minute. */
  refillPerMinute: number;
  /** How long a verified request keeps its address exempt. */
  trustedForMs: number;
  /** Addresses remembered at most (each ~100 bytes). */
  maxAddresses: number;
}

export const DEFAULT_CALLBACK_GUARD: CallbackGuardOptions = {
  burst: 20,
  refillPerMinute: 20,
  trustedForMs: 24 * 60 * 60_000,
  maxAddresses: 50_000,
};

interface Bucket {
  tokens: number;
  updatedAt: number;
  trustedUntil: number;
}

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

export class CallbackGuard {
  private readonly buckets = new Map<string, Bucket>();
  readonly options: CallbackGuardOptions;

  constructor(options: Partial<CallbackGuardOptions> = {}) {
    this.options = { ...DEFAULT_CALLBACK_GUARD, ...options };
  }

  private bucket(address: string, now: number, create: boolean): Bucket | undefined {
    const key = addressKey(address);
    let bucket = this.buckets.get(key);
    if (bucket) {
      // Refill for the time since the last touch.
      const earned = ((now - bucket.updatedAt) / 60_000) * this.options.refillPerMinute;
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + earned);
      bucket.updatedAt = now;
      // Most recently touched last: Map keeps insertion order, so the first key is the oldest.
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
      return bucket;
    }
    if (!create) return undefined;
    bucket = { tokens: this.options.burst, updatedAt: now, trustedUntil: 0 };
    this.buckets.set(key, bucket);
    while (this.buckets.size > this.options.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }

  /** Whether a request from `address` may be read and stored now. */
  allow(address: string, now = Date.now()): boolean {
    const bucket = this.bucket(address, now, false);
    if (!bucket) return true;
    return bucket.trustedUntil > now || bucket.tokens >= 1;
  }

  /** A request from `address` failed a pre-check or verification. */
  charge(address: string, now = Date.now()): void {
    const bucket = this.bucket(address, now, true)!;
    if (bucket.trustedUntil > now) return;
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  /** A request from `address` verified: its sender holds the provider's key. */
  trust(address: string, now = Date.now()): void {
    const bucket = this.bucket(address, now, true)!;
    bucket.trustedUntil = now + this.options.trustedForMs;
    bucket.tokens = this.options.burst;
  }

  /** Seconds until `address` may send again (for Retry-After). */
  retryAfterSeconds(address: string, now = Date.now()): number {
    const bucket = this.bucket(address, now, false);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - bucket.tokens) / this.options.refillPerMinute) * 60));
  }

  get size(): number {
    return this.buckets.size;
  }
}
