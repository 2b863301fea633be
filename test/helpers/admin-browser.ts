/**
 * A small browser for the dashboard tests: a cookie jar, forms posted as a browser does, redirects
 * not followed.
 */
import { ADMIN, type TestApp } from './app.ts';

export interface Page {
  status: number;
  text: string;
  headers: Headers;
  location: string | null;
  setCookies: string[];
}

export class Browser {
  readonly jar = new Map<string, string>();
  constructor(
    private readonly base: string,
    /** Sent with every request (e.g. X-Forwarded-For). */
    readonly headers: Record<string, string> = {},
  ) {}

  private cookieHeader(): Record<string, string> {
    return this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  private async send(method: string, path: string, body?: Record<string, string>): Promise<Page> {
    const response = await fetch(this.base + path, {
      method,
      redirect: 'manual',
      headers: { ...this.headers, ...this.cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: body ? new URLSearchParams(body).toString() : undefined,
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: response.status, text: await response.text(), headers: response.headers, location: response.headers.get('location'), setCookies };
  }

  get(path: string): Promise<Page> {
    return this.send('GET', path);
  }

  post(path: string, fields: Record<string, string>): Promise<Page> {
    return this.send('POST', path, fields);
  }

  /** Follows a 303 as a browser does (GET), so the flash cookie is read. */
  async follow(page: Page): Promise<Page> {
    if (page.status !== 303 || !page.location) throw new Error(`expected a 303, got ${page.status}: ${page.text.slice(0, 300)}`);
    return this.get(new URL(page.location, this.base).pathname + new URL(page.location, this.base).search);
  }

  /** The CSRF token of a page's forms. */
  async csrf(path = '/admin'): Promise<string> {
    const page = await this.get(path);
    const match = /name="_csrf" value="([^"]+)"/.exec(page.text);
    if (!match) throw new Error(`no CSRF token on ${path} (${page.status})`);
    return match[1]!;
  }
}

export async function signedIn(app: Pick<TestApp, 'url'>): Promise<Browser> {
  const b = new Browser(app.url);
  const res = await b.post('/admin/login', { username: ADMIN.username, password: ADMIN.password, next: '/admin' });
  if (res.status !== 303) throw new Error(`login failed: ${res.status} ${res.text.slice(0, 200)}`);
  return b;
}
