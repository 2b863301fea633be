/**
 * Failed dashboard logins per client address, in this process's memory: after `maxFailures` within
 * `windowMs` of the first one, that address is refused (even with the right password) until the
 * window has passed. Each server process counts on its own, so N processes behind one port allow
 * up to N × maxFailures guesses per window; a restart forgets. Good enough for one operator account
 * with a strong password; a shared store would be needed for a strict limit.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; first: number }>();

  constructor(
    private readonly options: { maxFailures: number; windowMs: number; maxEntries: number } = {
      maxFailures: 5,
      windowMs: 15 * 60_000,
      maxEntries: 10_000,
    },
  ) {}

  /** Milliseconds until `ip` may try again; 0 when it may now. */
  blockedFor(ip: string, now: number): number {
    const entry = this.failures.get(ip);
    if (!entry) return 0;
    const left = entry.first + this.options.windowMs - now;
    if (left <= 0) {
      this.failures.delete(ip);
      return 0;
    }
    return entry.count >= this.options.maxFailures ? left : 0;
  }

  fail(ip: string, now: number): void {
    const entry = this.failures.get(ip);
    if (entry && entry.first + this.options.windowMs > now) {
      entry.count++;
      return;
    }
    this.failures.delete(ip);
    this.failures.set(ip, { count: 1, first: now });
    this.prune(now);
  }

  succeed(ip: string): void {
    this.failures.delete(ip);
  }

  /** Keeps memory bounded under a flood of addresses: expired entries first, then the oldest. */
  private prune(now: number): void {
    if (this.failures.size <= this.options.maxEntries) return;
    for (const [ip, entry] of this.failures) {
      if (entry.first + this.options.windowMs <= now) this.failures.delete(ip);
    }
    for (const ip of this.failures.keys()) {
      if (this.failures.size <= this.options.maxEntries) break;
      this.failures.delete(ip);
    }
  }
}
