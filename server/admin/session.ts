import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface AdminCredentials {
  username: string;
  password: string;
}

export interface AdminSession {
  user: string;
  /** Random per login: the CSRF token is derived from it, so a token is good for one session only. */
  sid: string;
  /** Expiry, epoch ms. */
  exp: number;
}

export const SESSION_TTL_MS = 8 * 60 * 60_000;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Stateless sessions for the dashboard. The cookie is `payload.mac`, HMAC-SHA256 under a key every
 * server process derives alike from the installation's shared secret and the configured
 * credentials (so any process behind the port accepts any other's cookie, and a new password logs
 * everyone out). Nothing is kept in memory. Signing out removes the cookie from the browser and
 * records its session id as revoked in the database (server/admin/revoked-sessions.ts), so a copy
 * of the cookie stops working at once in every process; the expiry bounds everything else.
 */
export class AdminAuth {
  private readonly key: Buffer;
  private readonly userDigest: Buffer;
  private readonly passwordDigest: Buffer;

  /**
   * `secret` is random and shared by every process (the settings table): with the credentials alone
   * as the key, any CSRF token or cookie would let its holder guess the password offline.
   */
  constructor(
    private readonly credentials: AdminCredentials,
    secret: string,
  ) {
    // JSON keeps the parts apart ("ab"+"c" and "a"+"bc" give different keys).
    this.key = createHmac('sha256', secret).update(JSON.stringify(['paygate admin session key v2', credentials.username, credentials.password])).digest();
    this.userDigest = sha256(credentials.username);
    this.passwordDigest = sha256(credentials.password);
  }

  get username(): string {
    return this.credentials.username;
  }

  /** Both parts always compared, in constant time (digests make the lengths equal). */
  checkCredentials(username: string, password: string): boolean {
    const userOk = timingSafeEqual(sha256(username), this.userDigest);
    const passwordOk = timingSafeEqual(sha256(password), this.passwordDigest);
    return userOk && passwordOk;
  }

  private mac(purpose: string, payload: string): string {
    return createHmac('sha256', this.key).update(`${purpose}\0${payload}`).digest('base64url');
  }

  /** `base64url(json).mac`, readable back only with the same key and purpose. */
  seal(purpose: string, value: unknown): string {
    const payload = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    return `${payload}.${this.mac(purpose, payload)}`;
  }

  unseal(purpose: string, sealed: string | undefined): unknown {
    if (!sealed || sealed.length > 4096) return undefined;
    const dot = sealed.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = sealed.slice(0, dot);
    if (!sameBytes(Buffer.from(sealed.slice(dot + 1)), Buffer.from(this.mac(purpose, payload)))) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
  }

  newSession(now: Date): AdminSession {
    return { user: this.credentials.username, sid: randomBytes(16).toString('base64url'), exp: now.getTime() + SESSION_TTL_MS };
  }

  readSession(cookie: string | undefined, now: Date): AdminSession | null {
    const value = this.unseal('session', cookie) as Partial<AdminSession> | undefined;
    if (!value || typeof value.sid !== 'string' || typeof value.exp !== 'number' || value.user !== this.credentials.username) return null;
    if (value.exp <= now.getTime()) return null;
    return { user: value.user, sid: value.sid, exp: value.exp };
  }

  csrfToken(session: AdminSession): string {
    return this.mac('csrf', session.sid);
  }

  checkCsrf(session: AdminSession, token: unknown): boolean {
    return typeof token === 'string' && sameBytes(Buffer.from(token), Buffer.from(this.csrfToken(session)));
  }
}
