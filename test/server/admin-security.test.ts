/**
 * The dashboard exposed to the internet (issue 13): sign-out revokes the session in every process,
 * the sign-in throttle limits per address, per account and overall, and the session cookie is
 * `Secure` whenever the public URL is https.
 */
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { silentLogger } from '../../core/logger.ts';
import { ProviderRegistry } from '../../core/registry.ts';
import { sharedSecret } from '../../core/settings.ts';
import { createApp } from '../../server/app.ts';
import { isNearPeer, viaUntrustedProxy } from '../../server/peer-address.ts';
import { Browser, signedIn } from '../helpers/admin-browser.ts';
import { ADMIN, startApp, withApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

// ---------------------------------------------------------------------------------------------
// Sign-out

dbTest('a cookie copied before sign-out stops working at once, in every server process', async (t, h) => {
  const first = await startApp(h);
  const second = await startApp(h); // another process on the same database
  try {
    const b = await signedIn(first);
    const copy = new Browser(first.url);
    copy.jar.set('paygate_admin', b.jar.get('paygate_admin')!);
    const copyElsewhere = new Browser(second.url);
    copyElsewhere.jar.set('paygate_admin', b.jar.get('paygate_admin')!);
    t.is((await copy.get('/admin/orders')).status, 200, 'the copy works while signed in');
    t.is((await copyElsewhere.get('/admin/orders')).status, 200, 'on the other process too');

    const out = await b.post('/admin/logout', { _csrf: await b.csrf() });
    t.is(out.status, 303);

    const again = await copy.get('/admin/orders');
    t.is(again.status, 303);
    t.is(again.location, `/admin/login?next=${encodeURIComponent('/admin/orders')}`);
    t.is((await copyElsewhere.get('/admin/orders')).status, 303, 'the other process refuses it too');
    t.is((await copy.post('/admin/logout', { _csrf: 'anything' })).status, 303, 'a revoked session cannot even reach a form');
    t.true(Number((await h.db('admin_revoked_sessions').count({ n: '*' }).first())!.n) > 0);

    // Signing in again gives a new session that works.
    const back = await signedIn(first);
    t.is((await back.get('/admin/orders')).status, 200);
  } finally {
    await first.close();
    await second.close();
  }
});

dbTest('sign-out prunes revocations of sessions that have expired on their own', async (t, h) => {
  await withApp(t, h, async (app) => {
    const now = Date.now();
    await h.db('admin_revoked_sessions').insert([
      { sid_hash: `expired-${now}`.padEnd(64, '0'), expires_at: now - 1, revoked_at: now - 60_000 },
      { sid_hash: `live-${now}`.padEnd(64, '0'), expires_at: now + 3_600_000, revoked_at: now - 60_000 },
    ]);
    const b = await signedIn(app);
    await b.post('/admin/logout', { _csrf: await b.csrf() });
    const left = (await h.db('admin_revoked_sessions').select('sid_hash')).map((r) => r.sid_hash as string);
    t.false(left.includes(`expired-${now}`.padEnd(64, '0')));
    t.true(left.includes(`live-${now}`.padEnd(64, '0')));
  });
});

// ---------------------------------------------------------------------------------------------
// Sign-in throttle

/** A sign-in as the client behind the proxy at `address` (the entry the trusted proxy appends). */
function loginFrom(url: string, address: string, username: string, password: string) {
  return fetch(`${url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
    body: new URLSearchParams({ username, password }).toString(),
  });
}

dbTest('rotating addresses behind a trusted proxy buys no tries: the account backs off, for seconds only', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      let n = 0;
      const next = () => `198.51.100.${++n}`;
      // 40 quick guesses, each from a new address: only the first three reach the password.
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await loginFrom(app.url, next(), ADMIN.username, `guess-${i}`)).status);
      t.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
      t.true(statuses.slice(3).every((s) => s === 429), statuses.join(','));

      const refused = await loginFrom(app.url, next(), ADMIN.username, ADMIN.password);
      t.is(refused.status, 429, 'the right password waits too, or the backoff would be an oracle');
      t.regex(await refused.text(), /Too many failed sign-ins for this account\. Try again in 1 second\./);
      t.is(refused.headers.get('retry-after'), '1');

      // Each further failure doubles the wait: 1 s, 2 s, 4 s...
      clock += 1_000;
      t.is((await loginFrom(app.url, next(), ADMIN.username, 'guess-a')).status, 401);
      clock += 1_000;
      t.is((await loginFrom(app.url, next(), ADMIN.username, 'guess-b')).status, 429, 'waits 2 s now');
      clock += 1_000;
      t.is((await loginFrom(app.url, next(), ADMIN.username, 'guess-b')).status, 401);
      for (let i = 0; i < 10; i++) {
        clock += 60_000;
        t.is((await loginFrom(app.url, next(), ADMIN.username, `guess-c${i}`)).status, 401);
      }
      // ...but never more than a minute: the real admin is not locked out for the window.
      const blocked = await loginFrom(app.url, next(), ADMIN.username, ADMIN.password);
      t.is(blocked.status, 429);
      t.is(blocked.headers.get('retry-after'), '60');
      clock += 60_000;
      t.is((await loginFrom(app.url, next(), ADMIN.username, ADMIN.password)).status, 303);
      t.is((await loginFrom(app.url, next(), ADMIN.username, 'after-success')).status, 401, 'a success starts the count again');
      t.is((await loginFrom(app.url, next(), ADMIN.username, ADMIN.password)).status, 303);
    },
    { trustProxy: true, now: () => new Date(clock) },
  );
});

dbTest('the per-account backoff concerns that account only', async (t, h) => {
  const clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      for (let i = 0; i < 4; i++) await loginFrom(app.url, `203.0.113.${i + 1}`, 'someone-else', `guess-${i}`);
      t.is((await loginFrom(app.url, '203.0.113.50', 'someone-else', 'guess')).status, 429);
      t.is((await loginFrom(app.url, '203.0.113.51', ADMIN.username, ADMIN.password)).status, 303);
    },
    { trustProxy: true, now: () => new Date(clock) },
  );
});

dbTest('a global ceiling: 100 failures within 15 minutes, from any addresses and names, and every sign-in waits', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      // Each address and each name fails once only: neither per-address nor per-account limits bite.
      for (let i = 0; i < 100; i++) {
        const res = await loginFrom(app.url, `10.1.${Math.floor(i / 250)}.${i % 250}`, `name-${i}`, 'guess');
        t.is(res.status, 401);
        clock += 1_000;
      }
      const res = await loginFrom(app.url, '10.2.0.1', ADMIN.username, ADMIN.password);
      t.is(res.status, 429);
      t.regex(await res.text(), /Too many failed sign-ins on this dashboard/);
      // The window slides: once the oldest failures are 15 minutes old, sign-ins go through again.
      clock += 15 * 60_000 - 100 * 1_000 + 1;
      t.is((await loginFrom(app.url, '10.2.0.1', ADMIN.username, ADMIN.password)).status, 303);
    },
    { trustProxy: true, now: () => new Date(clock) },
  );
});

dbTest('per address: five failures, whatever the names tried, and that address waits out the window', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      for (let i = 0; i < 5; i++) t.is((await loginFrom(app.url, '192.0.2.9', `name-${i}`, 'guess')).status, 401);
      const blocked = await loginFrom(app.url, '192.0.2.9', ADMIN.username, ADMIN.password);
      t.is(blocked.status, 429);
      t.regex(await blocked.text(), /from your address\. Try again in 15 minutes/);
      clock += 14 * 60_000;
      t.is((await loginFrom(app.url, '192.0.2.9', ADMIN.username, ADMIN.password)).status, 429);
      t.is((await loginFrom(app.url, '192.0.2.10', ADMIN.username, ADMIN.password)).status, 303, 'other addresses are not concerned');
      clock += 60_000;
      t.is((await loginFrom(app.url, '192.0.2.9', ADMIN.username, ADMIN.password)).status, 303);
    },
    { trustProxy: true, now: () => new Date(clock) },
  );
});

dbTest('behind a proxy paygate does not trust, a stranger\'s five wrong tries do not lock the real admin out for the window', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      // Every client arrives from the proxy's address (here 127.0.0.1), which adds X-Forwarded-For.
      for (let i = 0; i < 5; i++) {
        t.is((await loginFrom(app.url, `203.0.113.${i + 1}`, ADMIN.username, `guess-${i}`)).status, 401);
        clock += 10_000;
      }
      t.is((await loginFrom(app.url, '203.0.113.66', ADMIN.username, 'guess-5')).status, 401);
      const stranger = await loginFrom(app.url, '203.0.113.67', ADMIN.username, 'guess-6');
      t.is(stranger.status, 429, 'the account backs off');
      t.regex(await stranger.text(), /for this account\. Try again in \d+ seconds?\./);
      clock += 60_000;
      t.is((await loginFrom(app.url, '198.51.100.7', ADMIN.username, ADMIN.password)).status, 303, 'a minute later, not fifteen');
    },
    { trustProxy: false, now: () => new Date(clock) },
  );
});

// ---------------------------------------------------------------------------------------------
// The Secure flag

/** The app with a given PAYGATE_PUBLIC_URL, on plain http (as behind a TLS proxy paygate does not trust). */
async function withPublicUrl(h: TestDbHandle, publicUrl: string, fn: (url: string) => Promise<void>): Promise<void> {
  const app = createApp({
    db: h.db,
    registry: new ProviderRegistry([]),
    logger: silentLogger,
    now: () => new Date(),
    linkSecret: await sharedSecret(h.db, 'link_secret'),
    publicUrl,
    admin: ADMIN,
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

dbTest('the session cookie is Secure when PAYGATE_PUBLIC_URL is https, even over a connection that is not', async (t, h) => {
  await withPublicUrl(h, 'https://pay.example', async (url) => {
    const b = new Browser(url);
    const res = await b.post('/admin/login', { ...ADMIN });
    t.is(res.status, 303);
    const cookie = res.setCookies.find((c) => c.startsWith('paygate_admin='));
    t.regex(cookie ?? '', /;\s*secure(;|$)/i);
    // Sign-out's clearing cookie too (a browser lets only a Secure cookie replace a Secure one).
    const out = await b.post('/admin/logout', { _csrf: await b.csrf() });
    t.true(out.setCookies.some((c) => c.startsWith('paygate_admin=;') && /;\s*secure(;|$)/i.test(c)), out.setCookies.join(' | '));
  });
  await withPublicUrl(h, 'http://localhost:3000', async (url) => {
    const res = await new Browser(url).post('/admin/login', { ...ADMIN });
    t.is(res.status, 303);
    t.notRegex(res.setCookies.find((c) => c.startsWith('paygate_admin=')) ?? 'missing', /;\s*secure/i, 'plain http stays usable for the demo');
  });
});

// ---------------------------------------------------------------------------------------------
// "Through a proxy" is the socket peer AND the header; a browser that signed in before is known

test('through a proxy means a forwarding header AND a loopback or private peer: a header alone proves nothing', (t) => {
  const request = (socketAddress: string | undefined, headers: Record<string, string>, trustProxy = false) => ({
    trustProxy,
    socketAddress,
    header: (name: string) => headers[name] ?? '',
  });
  const xff = { 'x-forwarded-for': '203.0.113.7' };
  for (const peer of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.10', '100.64.0.9', 'fd00::2', '::ffff:10.0.0.7']) {
    t.true(viaUntrustedProxy(request(peer, xff)), peer);
    t.true(viaUntrustedProxy(request(peer, { forwarded: 'for=203.0.113.7' })), `${peer} Forwarded`);
    t.false(viaUntrustedProxy(request(peer, {})), `${peer} without a header`);
  }
  for (const peer of ['203.0.113.9', '198.51.100.1', '::ffff:8.8.8.8', '2001:db8::1', '172.32.0.1', '11.0.0.1', undefined]) {
    t.false(viaUntrustedProxy(request(peer, xff)), `${peer}: a client from the internet adding the header is still counted by address`);
  }
  t.false(viaUntrustedProxy(request('127.0.0.1', xff, true)), 'a trusted proxy gives ctx.ip the client itself');
  t.false(isNearPeer('not-an-address'));
});

/** This machine's first IPv4 address that is neither loopback nor private: a peer that is no proxy of ours. */
const publicLocal = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && !i.internal && i.family === 'IPv4' && !isNearPeer(i.address))?.address;

const PUBLIC_PEER_TITLE = 'trust off: a client connecting from a public address that adds X-Forwarded-For is still counted by address';
if (!publicLocal) test.skip(`${PUBLIC_PEER_TITLE} (skipped: this machine has no public IPv4 address to connect from)`, () => {});
else dbTest(
  PUBLIC_PEER_TITLE,
  async (t, h) => {
    let clock = Date.now();
    const app = createApp({
      db: h.db,
      registry: new ProviderRegistry([]),
      logger: silentLogger,
      now: () => new Date(clock),
      linkSecret: await sharedSecret(h.db, 'link_secret'),
      trustProxy: false,
      admin: ADMIN,
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, publicLocal!, resolve));
    const url = `http://${publicLocal}:${(server.address() as AddressInfo).port}`;
    try {
      // A new made-up X-Forwarded-For and a new name each time: only the per-address count can stop it.
      for (let i = 0; i < 5; i++) t.is((await loginFrom(url, `203.0.113.${i + 1}`, `name-${i}`, 'guess')).status, 401);
      const blocked = await loginFrom(url, '203.0.113.99', ADMIN.username, ADMIN.password);
      t.is(blocked.status, 429);
      t.regex(await blocked.text(), /from your address/);
      clock += 15 * 60_000;
      t.is((await loginFrom(url, '203.0.113.99', ADMIN.username, ADMIN.password)).status, 303);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  },
);

/** Signs in through the trusted proxy as `address`, keeping the browser's cookies. */
async function signInAs(b: Browser, address: string, password = ADMIN.password, username = ADMIN.username) {
  b.headers['x-forwarded-for'] = address;
  return b.post('/admin/login', { username, password });
}

dbTest('a browser that signed in before gets past the account backoff and the global ceiling someone else tripped; a stranger with the right password waits', async (t, h) => {
  const clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      const admin = new Browser(app.url);
      const first = await signInAs(admin, '198.51.100.10');
      t.is(first.status, 303);
      const device = first.setCookies.find((c) => c.startsWith('paygate_admin_device='));
      t.truthy(device, first.setCookies.join(' | '));
      t.regex(device!, /;\s*httponly/i);
      t.regex(device!, /;\s*samesite=strict/i);
      t.regex(device!, /;\s*path=\/admin(;|$)/i);
      await admin.post('/admin/logout', { _csrf: await admin.csrf() });
      t.true(admin.jar.has('paygate_admin_device'), 'signing out keeps the device known');

      // Someone guesses from new addresses: the account backs off...
      for (let i = 0; i < 5; i++) await loginFrom(app.url, `203.0.113.${i + 1}`, ADMIN.username, `guess-${i}`);
      const stranger = await loginFrom(app.url, '203.0.113.50', ADMIN.username, ADMIN.password);
      t.is(stranger.status, 429, 'an unknown browser with the right password waits');
      t.regex(await stranger.text(), /for this account/);
      t.is((await signInAs(admin, '198.51.100.11')).status, 303, 'the known device is let through');
      await admin.post('/admin/logout', { _csrf: await admin.csrf() });

      // ...and a flood trips the global ceiling: the known device still gets in.
      for (let i = 0; i < 100; i++) await loginFrom(app.url, `10.3.${Math.floor(i / 250)}.${i % 250}`, `name-${i}`, 'guess');
      t.is((await loginFrom(app.url, '203.0.113.51', ADMIN.username, ADMIN.password)).status, 429);
      t.is((await signInAs(admin, '198.51.100.12')).status, 303, 'past the global ceiling too');

      // A made-up or altered device cookie is nobody's.
      const forger = new Browser(app.url);
      forger.jar.set('paygate_admin_device', admin.jar.get('paygate_admin_device')!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
      t.is((await signInAs(forger, '203.0.113.52')).status, 429);
      const other = new Browser(app.url);
      other.jar.set('paygate_admin_device', 'eyJ1c2VyIjoiYWRtaW4iLCJpZCI6IngiLCJleHAiOjk5OTk5OTk5OTk5OTl9.bm90LWEtbWFj');
      t.is((await signInAs(other, '203.0.113.53')).status, 429);
    },
    { trustProxy: true, now: () => new Date(clock) },
  );
});

dbTest('a known device is held to a limit of its own: five wrong passwords, whatever its addresses, and it waits the window', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      const device = new Browser(app.url);
      t.is((await signInAs(device, '198.51.100.20')).status, 303);
      // The device cookie (stolen, say) from a new address each time: the device's own count stops it.
      for (let i = 0; i < 5; i++) {
        t.is((await signInAs(device, `198.51.100.${30 + i}`, `guess-${i}`)).status, 401);
        clock += 61_000; // past any account backoff: only the device's count is left
      }
      const refused = await signInAs(device, '198.51.100.40');
      t.is(refused.status, 429);
      t.regex(refused.text, /from this browser/);
      clock += 15 * 60_000;
      t.is((await signInAs(device, '198.51.100.41')).status, 303);
    },
    { trustProxy: true, now: () => new Date(clock) },
  );
});
