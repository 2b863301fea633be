export interface LoginThrottleOptions {
  /** Per client address: failures within `windowMs` of the first one before that address is refused for the rest of it. */
  maxFailures: number;
  windowMs: number;
  /** Bound on the addresses and account names remembered (memory under a flood of them). */
  maxEntries: number;
  /** Per account (the user name tried): failures in a row that cost nothing... */
  accountFreeFailures: number;
  /** ...then each further try waits this long after the last failure, doubled per failure... */
  accountBaseDelayMs: number;
  /** ...up to this; an account's count is forgotten `windowMs` after its last failure. */
  accountMaxDelayMs: number;
  /** Every failure counts here: this many within the last `windowMs` and every sign-in waits. */
  globalMaxFailures: number;
}

export const DEFAULT_THROTTLE: LoginThrottleOptions = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  maxEntries: 10_000,
  accountFreeFailures: 3,
  accountBaseDelayMs: 1_000,
  accountMaxDelayMs: 60_000,
  globalMaxFailures: 100,
};

/** Why a sign-in is refused before its password is even looked at, and for how long. */
export interface Refusal {
  scope: 'address' | 'device' | 'account' | 'global';
  waitMs: number;
}

/**
 * Failed dashboard sign-ins, counted three ways in this process's memory:
 * - per client address (ctx.ip): `maxFailures` in `windowMs` and that address waits out the
 *   window. With PAYGATE_TRUST_PROXY a client that rotates addresses is a new client each time, so
 *   this alone is not enough. Behind a proxy paygate does not trust, the address is the proxy's,
 *   shared by every client: such a try has no address (null) and is not counted by address, or one
 *   stranger's five wrong tries would lock the real admin out for the whole window;
 * - per account: after `accountFreeFailures` failures in a row, each further try waits a short,
 *   doubling delay (1 s, 2 s, 4 s... capped at a minute). Rotating addresses then buys no speed,
 *   while the real admin, locked out by someone else's wrong tries, waits seconds, not the window;
 * - globally: `globalMaxFailures` failures within `windowMs` (sliding), whatever the address or
 *   account, and every sign-in waits until the oldest leaves the window: a ceiling on guessing
 *   across all accounts and addresses at once.
 * A known device (a browser that signed in successfully before and shows its signed cookie:
 * server/admin/routes/auth.ts) skips the per-account backoff and the global ceiling, which anyone
 * can trip on purpose: one wrong guess a minute would otherwise keep the real admin out for good.
 * It is held to the per-address limit and to a limit of its own (`maxFailures` per `windowMs`, by
 * device id), so a stolen device cookie is worth a handful of guesses, not a bypass.
 * A refused try is not a failure (it never reached the password). Each server process counts on
 * its own, so N processes behind one port allow up to N times as many tries; a restart forgets.
 */
export class LoginThrottle {
  private readonly addresses = new Map<string, { count: number; first: number }>();
  private readonly devices = new Map<string, { count: number; first: number }>();
  private readonly accounts = new Map<string, { count: number; last: number }>();
  /** Times of recent failures, oldest first; at most globalMaxFailures long. */
  private readonly recent: number[] = [];
  private readonly options: LoginThrottleOptions;

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    this.options = { ...DEFAULT_THROTTLE, ...options };
  }

  /**
   * Why `ip` (null: unknown, see above) may not try `user` now, or null when it may. `device` is the
   * id of a known device (null: none), checked against its own count instead of the account's and
   * the global one.
   */
  check(ip: string | null, user: string, now: number, device: string | null = null): Refusal | null {
    const o = this.options;
    while (this.recent.length > 0 && this.recent[0]! + o.windowMs <= now) this.recent.shift();
    if (device === null && this.recent.length >= o.globalMaxFailures) return { scope: 'global', waitMs: this.recent[0]! + o.windowMs - now };

    for (const [scope, map, key] of [
      ['address', this.addresses, ip],
      ['device', this.devices, device],
    ] as const) {
      const entry = key === null ? undefined : map.get(key);
      if (key === null || !entry) continue;
      const left = entry.first + o.windowMs - now;
      if (left <= 0) map.delete(key);
      else if (entry.count >= o.maxFailures) return { scope, waitMs: left };
    }
    if (device !== null) return null;

    const account = this.accounts.get(user);
    if (account) {
      if (account.last + o.windowMs <= now) this.accounts.delete(user);
      else {
        const left = account.last + this.accountDelay(account.count) - now;
        if (left > 0) return { scope: 'account', waitMs: left };
      }
    }
    return null;
  }

  fail(ip: string | null, user: string, now: number, device: string | null = null): void {
    const o = this.options;
    this.recent.push(now);
    if (this.recent.length > o.globalMaxFailures) this.recent.shift();

    for (const [map, key] of [
      [this.addresses, ip],
      [this.devices, device],
    ] as const) {
      if (key === null) continue;
      const entry = map.get(key);
      if (entry && entry.first + o.windowMs > now) entry.count++;
      else {
        map.delete(key);
        map.set(key, { count: 1, first: now });
      }
    }

    const account = this.accounts.get(user);
    const count = account && account.last + o.windowMs > now ? account.count + 1 : 1;
    // Re-inserted so the map's order stays oldest-failure first for prune().
    this.accounts.delete(user);
    this.accounts.set(user, { count, last: now });
    this.prune(now);
  }

  succeed(ip: string | null, user: string, device: string | null = null): void {
    if (ip !== null) this.addresses.delete(ip);
    if (device !== null) this.devices.delete(device);
    this.accounts.delete(user);
  }

  /** How long after its last failure an account with `count` failures in a row waits. */
  private accountDelay(count: number): number {
    const o = this.options;
    if (count < o.accountFreeFailures) return 0;
    return Math.min(o.accountMaxDelayMs, o.accountBaseDelayMs * 2 ** Math.min(count - o.accountFreeFailures, 30));
  }

  /** Keeps memory bounded under a flood of addresses or names: expired entries first, then the oldest. */
  private prune(now: number): void {
    const { windowMs, maxEntries } = this.options;
    for (const [map, start] of [
      [this.addresses, (e: { first: number }) => e.first],
      [this.devices, (e: { first: number }) => e.first],
      [this.accounts, (e: { last: number }) => e.last],
    ] as [Map<string, any>, (e: any) => number][]) {
      if (map.size <= maxEntries) continue;
      for (const [key, entry] of map) if (start(entry) + windowMs <= now) map.delete(key);
      for (const key of map.keys()) {
        if (map.size <= maxEntries) break;
        map.delete(key);
      }
    }
  }
}
