/**
 * The operators' dashboard over HTTP: login, session and CSRF, filters, the order timeline, each
 * action through its confirmation, and the charts. Tests share each database, so every test
 * creates its own merchant's orders and filters by them.
 */
import type { ExecutionContext } from 'ava';
import http from 'node:http';
import sinon from 'sinon';
import { ProviderUnavailableError } from '../../core/errors.ts';
import type { AddressInfo } from 'node:net';
import { refundOrderAsAdmin } from '../../core/admin-queries.ts';
import { createMerchant } from '../../core/merchants.ts';
import { refundNoFor } from '../../core/refunds.ts';
import { AdminAuth } from '../../server/admin/session.ts';
import { addDays, dateIn } from '../../server/admin/time-zone.ts';
import { ADMIN, paymentBody, startApp, withApp, type StartOptions, type TestApp } from '../helpers/app.ts';
import { Browser, signedIn, type Page } from '../helpers/admin-browser.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

async function createOrder(app: TestApp, overrides: Record<string, unknown> = {}, as?: { apiKey: string }) {
  const res = await app.api('POST', '/v1/payments', paymentBody(overrides), {}, as);
  if (res.status !== 201) throw new Error(res.text);
  return res.body as { id: string; orderNo: string };
}

async function paidOrder(app: TestApp, amount = 10000) {
  const order = await createOrder(app, { amount, items: [{ sku: 'TEA', name: 'Tea', unitAmount: amount, quantity: 1 }] });
  await app.control('pay', order.orderNo);
  return order;
}

/** The sealed review a refund's confirmation carries. */
function tokenOf(html: string): string {
  const match = /name="token" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no review token on the page');
  return match[1]!;
}

const statusOf = async (h: TestDbHandle, id: string) => (await h.db('orders').where({ id }).first()).status as string;

function withAdminApp(t: ExecutionContext, h: TestDbHandle, fn: (app: TestApp, b: Browser) => Promise<void>, options?: StartOptions) {
  return withApp(t, h, async (app) => fn(app, await signedIn(app)), options);
}

// ---------------------------------------------------------------------------------------------
// Login, session, headers

dbTest('pages need a login; a wrong password is a 401 without a cookie; the session cookie is locked down', async (t, h) => {
  await withApp(t, h, async (app) => {
    const b = new Browser(app.url);
    const away = await b.get('/admin/orders?status=paid');
    t.is(away.status, 303);
    t.is(away.location, `/admin/login?next=${encodeURIComponent('/admin/orders?status=paid')}`);
    t.is((await b.get('/admin/no/such/page')).status, 303, 'unknown pages are behind the login too');

    const login = await b.get('/admin/login');
    t.is(login.status, 200);
    t.regex(login.text, /<label for="password">Password<\/label>/);
    const csp = login.headers.get('content-security-policy')!;
    t.regex(csp, /default-src 'none'/);
    t.regex(csp, /frame-ancestors 'none'/);
    t.notRegex(csp, /unsafe-inline|script-src/);
    t.is(login.headers.get('x-frame-options'), 'DENY');
    t.is(login.headers.get('cache-control'), 'no-store');
    t.is(login.headers.get('x-content-type-options'), 'nosniff');
    t.notRegex(login.text, /<script/i);

    const wrong = await b.post('/admin/login', { username: ADMIN.username, password: 'not-the-password', next: '/admin/orders' });
    t.is(wrong.status, 401);
    t.deepEqual(wrong.setCookies, []);
    t.regex(wrong.text, /Wrong username or password/);
    t.is((await b.post('/admin/login', { username: 'root', password: ADMIN.password })).status, 401, 'the user name counts too');

    const right = await b.post('/admin/login', { username: ADMIN.username, password: ADMIN.password, next: '/admin/orders?status=paid' });
    t.is(right.status, 303);
    t.is(right.location, '/admin/orders?status=paid');
    const cookie = right.setCookies.find((c) => c.startsWith('paygate_admin='))!;
    t.truthy(cookie);
    t.regex(cookie, /;\s*httponly/i);
    t.regex(cookie, /;\s*samesite=strict/i);
    t.regex(cookie, /;\s*path=\/admin(;|$)/i);
    const expires = Date.parse(/;\s*expires=([^;]+)/i.exec(cookie)![1]!);
    t.true(Math.abs(expires - (Date.now() + 8 * 60 * 60_000)) < 60_000, 'expires in 8 hours');
    t.is((await b.get('/admin/orders')).status, 200);

    // An open redirect is not on offer.
    const b2 = new Browser(app.url);
    t.is((await b2.post('/admin/login', { ...ADMIN, next: 'https://evil.example/' })).location, '/admin');
    t.is((await b2.post('/admin/login', { ...ADMIN, next: '//evil.example/admin' })).location, '/admin');

    // A tampered cookie is no session.
    const forged = new Browser(app.url);
    const [payload, mac] = b.jar.get('paygate_admin')!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    forged.jar.set('paygate_admin', `${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 1e9 })).toString('base64url')}.${mac}`);
    t.is((await forged.get('/admin/orders')).status, 303);

    // Log-out needs the CSRF token, then drops the cookie.
    t.is((await b.post('/admin/logout', {})).status, 403);
    t.is((await b.get('/admin/orders')).status, 200, 'still signed in');
    const out = await b.post('/admin/logout', { _csrf: await b.csrf() });
    t.is(out.status, 303);
    t.is(out.location, '/admin/login');
    t.is((await b.get('/admin/orders')).status, 303);
  });
});

dbTest('sessions: any process with the same credentials accepts them; they expire; a new password ends them', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      // Another process derives the same key from the same configuration.
      const other = new AdminAuth({ ...ADMIN }, app.linkSecret);
      const b = new Browser(app.url);
      b.jar.set('paygate_admin', other.seal('session', other.newSession(new Date(clock))));
      t.is((await b.get('/admin/orders')).status, 200);

      const changed = new AdminAuth({ ...ADMIN, password: `${ADMIN.password}-rotated` }, app.linkSecret);
      const otherInstall = new AdminAuth({ ...ADMIN }, 'another installation');
      const foreign = new Browser(app.url);
      foreign.jar.set('paygate_admin', otherInstall.seal('session', otherInstall.newSession(new Date(clock))));
      t.is((await foreign.get('/admin/orders')).status, 303, 'the same credentials on another installation are another key');
      const stale = new Browser(app.url);
      stale.jar.set('paygate_admin', changed.seal('session', changed.newSession(new Date(clock))));
      t.is((await stale.get('/admin/orders')).status, 303, 'a cookie under another password is refused');

      clock += 8 * 60 * 60_000 + 1;
      t.is((await b.get('/admin/orders')).status, 303, 'expired after 8 hours');
    },
    { now: () => new Date(clock) },
  );
});

dbTest('failed logins are throttled per address, even a right password then', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      const b = new Browser(app.url);
      for (let i = 0; i < 5; i++) {
        t.is((await b.post('/admin/login', { username: ADMIN.username, password: `guess-${i}` })).status, 401);
        clock += 10_000; // past the account's own short backoff (test/server/admin-security.test.ts)
      }
      const blocked = await b.post('/admin/login', { ...ADMIN });
      t.is(blocked.status, 429);
      t.deepEqual(blocked.setCookies, []);
      t.true(Number(blocked.headers.get('retry-after')) > 0);
      t.regex(blocked.text, /Too many failed sign-ins from your address/);
    },
    { now: () => new Date(clock) },
  );
});

dbTest('behind a proxy the throttle counts the address the proxy saw, not what the client wrote', async (t, h) => {
  let clock = Date.now();
  await withApp(
    t,
    h,
    async (app) => {
      const login = (forwardedFor: string, password: string) =>
        fetch(`${app.url}/admin/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
          body: new URLSearchParams({ username: ADMIN.username, password }).toString(),
        });
      // The client makes up a new first entry each time; the proxy appends the address it saw.
      for (let i = 0; i < 5; i++) {
        t.is((await login(`10.0.0.${i}, 203.0.113.7`, `guess-${i}`)).status, 401);
        clock += 10_000; // past the account's own short backoff (test/server/admin-security.test.ts)
      }
      t.is((await login('10.9.9.9, 203.0.113.7', ADMIN.password)).status, 429);
      clock += 10_000;
      t.is((await login('203.0.113.7, 198.51.100.1', ADMIN.password)).status, 303, 'another client of the proxy is not blocked');
    },
    { trustProxy: true, now: () => new Date(clock) },
  );
});

dbTest('without credentials configured there is no dashboard', async (t, h) => {
  await withApp(t, h, async (app) => {
    const res = await app.raw('GET', '/admin/login');
    t.is(res.status, 404);
  }, { admin: null });
});

// ---------------------------------------------------------------------------------------------
// Orders list

dbTest('the orders list filters by status, provider, merchant, date and attention, and names bad filters', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    const paid = await paidOrder(app);
    const pending = await createOrder(app);
    const flagged = await createOrder(app);
    await h.db('orders').where({ id: flagged.id }).update({ attention: true, attention_reason: 'look at me' });
    const theirs = await createOrder(app, {}, app.other);
    const m = app.merchant.id;
    const list = async (q: string) => {
      const page = await b.get(`/admin/orders?${q}`);
      t.is(page.status, 200, page.text.slice(0, 500));
      return [...page.text.matchAll(/data-order-no="([A-Z0-9]+)"/g)].map((x) => x[1]);
    };

    t.deepEqual((await list(`merchant=${m}`)).sort(), [paid.orderNo, pending.orderNo, flagged.orderNo].sort());
    t.deepEqual(await list(`merchant=${m}&status=paid`), [paid.orderNo]);
    t.deepEqual((await list(`merchant=${m}&status=pending&provider=fakepay`)).sort(), [pending.orderNo, flagged.orderNo].sort());
    t.deepEqual(await list(`merchant=${m}&provider=otherpay`), []);
    t.deepEqual(await list(`merchant=${m}&attention=1`), [flagged.orderNo]);
    t.deepEqual(await list(`merchant=${app.other.id}`), [theirs.orderNo]);
    // Dates are the dashboard's zone's (Asia/Taipei when PAYGATE_TIME_ZONE is unset).
    const today = dateIn(Date.now(), 'Asia/Taipei');
    const tomorrow = addDays(today, 1);
    t.is((await list(`merchant=${m}&from=${today}&to=${today}`)).length, 3);
    t.deepEqual(await list(`merchant=${m}&from=${tomorrow}`), []);
    // Find: exactly one order by its number, its payment id or the merchant's own id; filters still apply.
    t.deepEqual(await list(`find=${paid.orderNo}`), [paid.orderNo]);
    t.deepEqual(await list(`find=${encodeURIComponent(` ${pending.id} `)}`), [pending.orderNo]);
    const byMerchantId = (await h.db('orders').where({ id: flagged.id }).first()).merchant_order_id as string;
    t.deepEqual(await list(`find=${encodeURIComponent(byMerchantId)}`), [flagged.orderNo]);
    t.deepEqual(await list(`find=${paid.orderNo}&status=pending`), []);
    t.deepEqual(await list(`find=${paid.orderNo.slice(0, 10)}`), [], 'no partial matches');

    const page = await b.get(`/admin/orders?merchant=${m}&status=paid`);
    t.regex(page.text, /TWD 100\.00/);
    t.regex(page.text, /badge-paid/);
    t.regex(page.text, /fakepay<div class="muted small">default · card/);

    for (const [q, field] of [
      ['status=bogus', 'status'],
      ['from=2026-02-30', 'from'],
      ['from=yesterday', 'from'],
      ['from=2026-05-02&to=2026-05-01', 'to'],
      ['size=7', 'size'],
      ['after=not-a-cursor', 'after'],
      [`find=${'x'.repeat(129)}`, 'find'],
    ] as const) {
      const bad = await b.get(`/admin/orders?${q}`);
      t.is(bad.status, 400, q);
      t.regex(bad.text, new RegExp(`<strong>${field}</strong>`), q);
      if (field !== 'after') t.regex(bad.text, new RegExp(`id="f-${field}"[^>]*aria-invalid="true"`), q);
    }
  });
});

dbTest('the orders list pages newest first without gaps or repeats', async (t, h) => {
  await withAdminApp(t, h, async (_app, b) => {
    const { merchant } = await createMerchant(h.db, { name: 'Paged shop' });
    const base = Date.now() - 60_000;
    const rows = Array.from({ length: 30 }, (_, i) => ({
      id: `pay_paged${String(i).padStart(2, '0')}${merchant.id.slice(-8)}`,
      merchant_id: merchant.id,
      merchant_order_id: `P${i}`,
      order_no: `P${merchant.id.slice(-8).toUpperCase().replace(/[^A-Z0-9]/g, '0')}${String(i).padStart(4, '0')}`.slice(0, 20),
      subject: 'paged',
      currency: 'TWD',
      amount_minor: 100 + i,
      status: 'pending',
      provider: 'fakepay',
      provider_account: 'default',
      provider_method: 'card',
      expires_at: base + 86_400_000,
      // Two orders share each millisecond: the id breaks the tie.
      created_at: base + Math.floor(i / 2),
      updated_at: base,
    }));
    await h.db('orders').insert(rows);
    const expected = [...rows].sort((a, c) => c.created_at - a.created_at || (c.id < a.id ? -1 : 1)).map((r) => r.order_no);
    const read = (text: string) => [...text.matchAll(/data-order-no="([A-Z0-9]+)"/g)].map((x) => x[1]);
    const next = (text: string, rel: 'next' | 'prev') => [...text.matchAll(/href="([^"]+)" rel="(next|prev)"/g)].find((x) => x[2] === rel)?.[1]?.replace(/&amp;/g, '&');

    const first = await b.get(`/admin/orders?merchant=${merchant.id}`);
    t.regex(first.text, /30 orders match/);
    t.deepEqual(read(first.text), expected.slice(0, 25));
    t.is(next(first.text, 'prev'), undefined);
    const second = await b.get(next(first.text, 'next')!);
    t.deepEqual(read(second.text), expected.slice(25));
    t.is(next(second.text, 'next'), undefined);
    const back = await b.get(next(second.text, 'prev')!);
    t.deepEqual(read(back.text), expected.slice(0, 25));
    const big = await b.get(`/admin/orders?merchant=${merchant.id}&size=50`);
    t.deepEqual(read(big.text), expected);
  });
});

// ---------------------------------------------------------------------------------------------
// The timeline

dbTest('the timeline shows items, transitions, callbacks (escaped, card numbers masked), refunds, events and attempts', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    const order = await paidOrder(app, 10000);
    t.is((await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 2500, reason: 'chipped cup' })).status, 201);
    const now = Date.now();
    await h.db('provider_callbacks').insert({
      provider: 'fakepay', account: 'default', kind: 'notify', dedupe_key: `TEST-${order.orderNo}`, http_method: 'POST',
      content_type: 'application/x-www-form-urlencoded', raw_body: `card_no=4111 1111 1111 1111&memo=<script>alert(1)</script>&${'x'.repeat(3000)}`,
      raw_query: '', headers_json: '{}', received_at: now, verified: false, processed_at: now, outcome: 'rejected', error: 'bad signature',
      order_id: order.id, attempts: 1, next_attempt_at: now,
    });
    const event = await h.db('events').where({ order_id: order.id, type: 'payment.paid' }).first();
    await h.db('webhook_attempts').insert({ event_id: event.id, url: 'https://shop.example/hooks', attempted_at: now, duration_ms: 12, response_status: 500, error: null });

    const page = await b.get(`/admin/orders/${order.id}`);
    t.is(page.status, 200);
    t.regex(page.text, new RegExp(`data-testid="order-no">${order.orderNo}<`));
    t.regex(page.text, /<td[^>]* class="mono">TEA<\/td><td[^>]*>Tea<\/td>/);
    t.regex(page.text, /badge-created[^<]*>created<\/span><\/td><td[^>]*><span class="badge badge-pending">pending/);
    t.regex(page.text, /provider reported paid/);
    t.regex(page.text, /TWD 25\.00/);
    t.regex(page.text, /chipped cup/);
    t.regex(page.text, /payment\.paid/);
    t.regex(page.text, /HTTP 500/);
    t.regex(page.text, /bad signature/);
    t.regex(page.text, /badge-no">not verified/);
    t.regex(page.text, /badge-yes">verified/, 'the simulator\'s own notify was verified');
    t.regex(page.text, new RegExp(`TEST-${order.orderNo}`));
    t.notRegex(page.text, /4111 1111 1111 1111|4111111111111111/);
    t.regex(page.text, /\[card …1111\]/);
    t.notRegex(page.text, /<script>alert/);
    t.regex(page.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    t.regex(page.text, /truncated/);
    t.regex(page.text, /Refundable now: <span class="nowrap">TWD 75\.00/);

    t.is((await b.get('/admin/orders/pay_doesnotexist')).status, 404);
  });
});

// ---------------------------------------------------------------------------------------------
// Actions: confirmation first, CSRF always, results as flash messages

dbTest('reconcile now asks the provider and applies its answer; without the CSRF token nothing happens', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    const order = await createOrder(app);
    app.sim.byOrderNo(order.orderNo)!.status = 'PAID'; // the provider took the money; its notify never came

    const confirm = await b.get(`/admin/orders/${order.id}/reconcile`);
    t.is(confirm.status, 200);
    t.regex(confirm.text, /Ask the provider now/);
    const refused = await b.post(`/admin/orders/${order.id}/reconcile`, {});
    t.is(refused.status, 403);
    t.regex(refused.text, /CSRF/);
    t.is((await b.post(`/admin/orders/${order.id}/reconcile`, { _csrf: 'forged' })).status, 403);
    t.is(await statusOf(h, order.id), 'pending');

    const done = await b.post(`/admin/orders/${order.id}/reconcile`, { _csrf: await b.csrf() });
    t.is(done.status, 303);
    const after = await b.follow(done);
    t.regex(after.text, /data-testid="flash">Reconciled: fakepay reports paid; the order moved from pending to paid/);
    t.is(await statusOf(h, order.id), 'paid');
    t.is((await h.db('order_transitions').where({ order_id: order.id, to_status: 'paid' }).first()).source, 'reconcile');
    t.notRegex((await b.get(`/admin/orders/${order.id}`)).text, /data-testid="flash"/, 'a flash is shown once');
  });
});

dbTest('a provider fault is a clear message, and an unexpected error a flash with its id, never a 500 page', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    const order = await createOrder(app);
    const provider = app.deps.registry.find('fakepay')!;
    const csrf = await b.csrf();
    const query = sinon.stub(provider, 'query').rejects(new ProviderUnavailableError('fakepay query: timed out after 10000 ms'));
    try {
      const fault = await b.post(`/admin/orders/${order.id}/reconcile`, { _csrf: csrf });
      t.is(fault.status, 502);
      t.regex(fault.text, /data-testid="error">fakepay query: timed out after 10000 ms/);
      t.regex(fault.text, /Ask the provider now/, 'the confirmation is offered again');

      query.rejects(new TypeError('something internal'));
      const odd = await b.post(`/admin/orders/${order.id}/reconcile`, { _csrf: csrf });
      t.is(odd.status, 303);
      const shown = await b.follow(odd);
      t.is(shown.status, 200);
      t.regex(shown.text, /data-testid="flash">Something went wrong on our side; nothing more is known here \(error id [0-9a-f-]{36}, in the logs\)/);
      t.notRegex(shown.text, /something internal/);
    } finally {
      query.restore();
    }
    t.is(await statusOf(h, order.id), 'pending');
  });
});

dbTest('cancel goes through a confirmation, records the operator, and refuses what cannot be cancelled', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    const order = await createOrder(app);
    t.is((await b.get(`/admin/orders/${order.id}/cancel`)).status, 200);
    t.is((await b.post(`/admin/orders/${order.id}/cancel`, { reason: 'no token' })).status, 403);
    t.is(await statusOf(h, order.id), 'pending');

    const csrf = await b.csrf();
    const tooLong = await b.post(`/admin/orders/${order.id}/cancel`, { _csrf: csrf, reason: 'x'.repeat(401) });
    t.is(tooLong.status, 400);
    t.regex(tooLong.text, /<strong>reason<\/strong>/);
    t.is(await statusOf(h, order.id), 'pending');

    const done = await b.post(`/admin/orders/${order.id}/cancel`, { _csrf: csrf, reason: 'duplicate order' });
    t.is(done.status, 303);
    t.regex((await b.follow(done)).text, /is cancelled/);
    t.is(await statusOf(h, order.id), 'cancelled');
    t.is(app.sim.byOrderNo(order.orderNo)!.status, 'CLOSED', 'closed at the provider, as the merchant API does');
    const tr = await h.db('order_transitions').where({ order_id: order.id, to_status: 'cancelled' }).first();
    t.regex(tr.cause, /by a paygate operator \(dashboard\): duplicate order \(closed at the provider\)/);
    t.notRegex(tr.cause, new RegExp(ADMIN.username), 'the login is not told to the merchant');

    const paid = await paidOrder(app);
    const refused = await b.post(`/admin/orders/${paid.id}/cancel`, { _csrf: csrf });
    t.is(refused.status, 409);
    t.regex(refused.text, /cannot be cancelled; refund it instead/);
    t.is(await statusOf(h, paid.id), 'paid');
  });
});

dbTest('refund: the amount in major units becomes exact minor units, after a review step; bad amounts name the field', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    const order = await paidOrder(app, 10000);
    const url = `/admin/orders/${order.id}/refund`;
    const refunds = async () => h.db('refunds').where({ order_id: order.id });

    const form = await b.get(url);
    t.is(form.status, 200);
    t.regex(form.text, /<label for="f-amount">Amount \(TWD\)<\/label>/);
    t.is((await b.post(url, { step: 'confirm', amount: '30.05' })).status, 403);
    t.is((await refunds()).length, 0);

    const csrf = await b.csrf();
    const review = await b.post(url, { _csrf: csrf, step: 'review', amount: '30.05', reason: 'one cup broken' });
    t.is(review.status, 200);
    t.regex(review.text, /data-testid="review-amount"><span class="nowrap">TWD 30\.05</);
    t.is((await refunds()).length, 0, 'the review does nothing yet');
    const token = tokenOf(review.text);

    const noToken = await b.post(url, { _csrf: csrf, step: 'confirm', amount: '30.05' });
    t.is(noToken.status, 400, 'a confirmation without its review');
    t.regex(noToken.text, /<strong>confirmation<\/strong>/);
    const otherAmount = await b.post(url, { _csrf: csrf, step: 'confirm', amount: '30.06', token });
    t.is(otherAmount.status, 400, 'the reviewed amount, not another');
    t.is((await refunds()).length, 0);

    const confirmation = { _csrf: csrf, step: 'confirm', amount: '30.05', reason: 'one cup broken', token };
    const [done, again] = await Promise.all([b.post(url, confirmation), b.post(url, confirmation)]);
    t.is(done.status, 303);
    t.is(again.status, 303);
    // Both answers set the one flash cookie; read what each said from its own Set-Cookie.
    const flashOf = (page: Page) => {
      const cookie = page.setCookies.find((c) => c.startsWith('paygate_admin_flash='))!;
      return JSON.parse(Buffer.from(cookie.split('=')[1]!.split('.')[0]!, 'base64url').toString()).text as string;
    };
    const flashes = [flashOf(done), flashOf(again)].join('\n');
    t.regex(flashes, /Refunded TWD 30\.05 \(refund R\d{12}[0-9A-Z]{8}, provider refund no FR/);
    t.regex(flashes, /This confirmation was already used/, 'a double click refunds once');
    // Another server process (same credentials, own memory) finds the refund in the database.
    const other = await startApp(h);
    try {
      const elsewhere = new Browser(other.url);
      for (const [k, v] of b.jar) elsewhere.jar.set(k, v);
      t.regex(flashOf(await elsewhere.post(url, confirmation)), /This confirmation was already used \(refund R\d{12}[0-9A-Z]{8}, succeeded\)/);
    } finally {
      await other.close();
    }
    const [refund, ...more] = await refunds();
    t.is(more.length, 0);
    t.is(Number(refund.amount_minor), 3005);
    t.is(refund.status, 'succeeded');
    t.is(refund.reason, 'one cup broken');
    t.is(await statusOf(h, order.id), 'partially_refunded');
    t.is(Number((await h.db('orders').where({ id: order.id }).first()).refunded_minor), 3005);
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 3005);

    for (const [amount, status, message] of [
      ['12.345', 400, /more than 2 decimal places/],
      ['abc', 400, /is not a decimal amount/],
      ['-5', 400, /is not a decimal amount/],
      ['1e3', 400, /is not a decimal amount/],
      ['0.00', 400, /must be more than 0/],
      ['', 400, /is required/],
      ['69.96', 409, /exceeds what is left to refund \(TWD 69\.95\)/],
    ] as const) {
      const bad = await b.post(url, { _csrf: csrf, step: 'review', amount });
      t.is(bad.status, status, amount);
      t.regex(bad.text, /<strong>amount<\/strong>/, amount);
      t.regex(bad.text, message, amount);
      t.regex(bad.text, /id="f-amount"[^>]*aria-invalid="true"/, amount);
    }
    t.is((await refunds()).length, 1, 'no bad amount reached the provider');

    const rest = await b.post(url, { _csrf: csrf, step: 'review', amount: '69.95' });
    t.is((await b.post(url, { _csrf: csrf, step: 'confirm', amount: '69.95', token: tokenOf(rest.text) })).status, 303);
    t.is(await statusOf(h, order.id), 'refunded');
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 10000);
  });
});

async function startHookServer(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(String(req.headers['paygate-event-id']));
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    hits,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

dbTest('one confirmation is one refund, even when two server processes take it at once', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    const order = await paidOrder(app, 10000);
    const url = `/admin/orders/${order.id}/refund`;
    const csrf = await b.csrf();
    const token = tokenOf((await b.post(url, { _csrf: csrf, step: 'review', amount: '1.00' })).text);
    const confirmation = { _csrf: csrf, step: 'confirm', amount: '1.00', token };
    // Another process: its own memory (no in-process guard shared), the same database and credentials.
    const other = await startApp(h);
    try {
      const elsewhere = new Browser(other.url);
      for (const [k, v] of b.jar) elsewhere.jar.set(k, v);
      const answers = await Promise.all([b.post(url, confirmation), elsewhere.post(url, confirmation)]);
      t.deepEqual(answers.map((a) => a.status), [303, 303]);
    } finally {
      await other.close();
    }
    t.is((await h.db('refunds').where({ order_id: order.id })).length, 1);

    // The database guard alone (no review check before it): the same refund number is refused
    // under the order's lock, before the provider is asked.
    const no = refundNoFor('admin-review:test', new Date());
    t.regex(no, /^R\d{12}[0-9A-Z]{8}$/);
    t.is(refundNoFor('admin-review:test', new Date(Date.parse('2026-01-01'))).slice(13), no.slice(13), 'the tail depends on the key only');
    const first = await refundOrderAsAdmin(app.deps, order.id, 200, undefined, no);
    t.is(first.refundNo, no);
    const again = await t.throwsAsync(refundOrderAsAdmin(app.deps, order.id, 200, undefined, no));
    t.regex(again!.message, new RegExp(`Refund ${no} was already made by this request`));
    t.is((await h.db('refunds').where({ order_id: order.id })).length, 2);
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, (await h.db('refunds').where({ order_id: order.id, status: 'succeeded' }).sum({ s: 'amount_minor' }).first().then((r) => Number(r!.s))));
  });
});

dbTest('replaying a webhook sends it at once and records the attempt; without the CSRF token nothing is sent', async (t, h) => {
  const hook = await startHookServer();
  try {
    await withAdminApp(t, h, async (app, b) => {
      await h.db('merchants').where({ id: app.merchant.id }).update({ webhook_url: hook.url });
      const order = await paidOrder(app);
      const event = await h.db('events').where({ order_id: order.id, type: 'payment.paid' }).first();
      const url = `/admin/orders/${order.id}/events/${event.public_id}/replay`;
      const attempts = async () => (await h.db('webhook_attempts').where({ event_id: event.id })).length;

      t.regex((await b.get(`/admin/orders/${order.id}`)).text, new RegExp(`href="${url}"`));
      t.is((await b.get(url)).status, 200);
      t.is((await b.post(url, {})).status, 403);
      t.is(await attempts(), 0);
      t.deepEqual(hook.hits, []);

      const done = await b.post(url, { _csrf: await b.csrf() });
      t.is(done.status, 303);
      t.regex((await b.follow(done)).text, new RegExp(`Event ${event.public_id} delivered again: the merchant answered HTTP 200`));
      t.is(await attempts(), 1);
      t.deepEqual(hook.hits, [event.public_id]);
      const row = await h.db('events').where({ id: event.id }).first();
      t.is(row.delivery_status, 'delivered');
      t.is(row.lease_owner, null);

      t.is((await b.get(`/admin/orders/${order.id}/events/evt_nope/replay`)).status, 404);
      // Leave this merchant's other events out of anyone else's way.
      await h.db('events').where({ merchant_id: app.merchant.id, delivery_status: 'pending' }).update({ delivery_status: 'skipped' });
    });
  } finally {
    await hook.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Charts

dbTest('the overview draws volume and success-rate charts as inline SVG with a table of the figures', async (t, h) => {
  await withAdminApp(t, h, async (app, b) => {
    await paidOrder(app);
    await createOrder(app, { amount: 666, items: [{ sku: 'X', name: 'Declined', unitAmount: 666, quantity: 1 }] });
    for (const days of ['', '?days=30']) {
      const page = await b.get(`/admin${days}`);
      t.is(page.status, 200);
      t.notRegex(page.text, /<script|style="/i);
      t.regex(page.text, /<svg[^>]*role="img"[^>]*aria-labelledby="chart-volume-title chart-volume-desc"/);
      t.regex(page.text, /<svg[^>]*role="img"[^>]*aria-labelledby="chart-success-title chart-success-desc"/);
      t.regex(page.text, new RegExp(`Orders created per provider per day, last ${days ? 30 : 14} days`));
      t.regex(page.text, /<rect [^>]*fill="#0072b2"><title>fakepay, \d\d-\d\d: \d+<\/title>/);
      t.regex(page.text, /<circle [^>]*><title>fakepay, \d\d-\d\d: \d+%<\/title>/);
      t.regex(page.text, /Success rate<\/strong> = orders paid \(including those refunded later\)/);
      const today = dateIn(Date.now(), 'Asia/Taipei');
      t.regex(page.text, new RegExp(`<tr><td class="nowrap">${today}</td><td>fakepay</td><td class="num" data-label="Created">\\d+</td>`));
    }
  });
});
