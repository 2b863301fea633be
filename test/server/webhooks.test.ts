/**
 * Merchant webhooks end to end: events written by real transitions, delivered by the job to a small
 * HTTP server started here, signed, retried on a fake clock, replayable, listed per merchant.
 *
 * The delivery job claims every due event in the database, and tests in one file share it, so the
 * tests here take turns (one lock per database) and park their leftovers as 'skipped' at the end.
 */
import type { ExecutionContext } from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CoreDeps } from '../../core/deps.ts';
import type { EventRow } from '../../core/events.ts';
import { webhookDeliveryJob } from '../../core/jobs/webhook-delivery.ts';
import type { Logger } from '../../core/logger.ts';
import { verifyWebhook } from '../../core/webhook-signature.ts';
import { claimDueEvents, WEBHOOK_LEASE_MS, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_SCHEDULE_MS } from '../../core/webhooks.ts';
import { paymentBody, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface HookServer {
  url: string;
  requests: Received[];
  /** What to answer; 200 unless changed. */
  status: number;
  /** Extra headers on the answer (a Location for redirects). */
  headers: Record<string, string>;
  delayMs: number;
  /** Most requests for one event in flight at the same time. */
  maxOverlap: number;
  forEvent(id: string): Received[];
  close(): Promise<void>;
}

async function startHookServer(): Promise<HookServer> {
  const inFlight = new Map<string, number>();
  const hook: HookServer = {
    url: '',
    requests: [],
    status: 200,
    headers: {},
    delayMs: 0,
    maxOverlap: 0,
    forEvent: (id) => hook.requests.filter((r) => r.headers['paygate-event-id'] === id),
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['paygate-event-id']);
      const overlap = (inFlight.get(id) ?? 0) + 1;
      inFlight.set(id, overlap);
      hook.maxOverlap = Math.max(hook.maxOverlap, overlap);
      hook.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      setTimeout(() => {
        inFlight.set(id, inFlight.get(id)! - 1);
        res.writeHead(hook.status, { 'content-type': 'text/plain', ...hook.headers });
        res.end('ok');
      }, hook.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/paygate?shop=1`;
  hook.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return hook;
}

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` with an app and a hook server, one test at a time per database. */
async function withWebhooks(t: ExecutionContext, h: TestDbHandle, fn: (app: TestApp, hook: HookServer) => Promise<void>): Promise<void> {
  const before = locks.get(h.kind) ?? Promise.resolve();
  const mine = before.then(async () => {
    const hook = await startHookServer();
    try {
      await withApp(t, h, async (app) => {
        try {
          await setWebhookUrl(h, app.merchant.id, hook.url);
          await fn(app, hook);
        } finally {
          await h
            .db('events')
            .whereIn('merchant_id', [app.merchant.id, app.other.id])
            .andWhere('delivery_status', 'pending')
            .update({ delivery_status: 'skipped', lease_owner: null, lease_until: null });
        }
      });
    } finally {
      await hook.close();
    }
  });
  locks.set(h.kind, mine.catch(() => {}));
  await mine;
}

function setWebhookUrl(h: TestDbHandle, merchantId: string, url: string | null): Promise<number> {
  return h.db('merchants').where({ id: merchantId }).update({ webhook_url: url });
}

async function secretOf(h: TestDbHandle, merchantId: string): Promise<string> {
  const row = await h.db('merchants').where({ id: merchantId }).first('webhook_secret');
  return row.webhook_secret as string;
}

async function eventsOf(h: TestDbHandle, merchantId: string): Promise<EventRow[]> {
  return (await h.db('events').where({ merchant_id: merchantId }).orderBy('id')) as EventRow[];
}

async function attemptsOf(h: TestDbHandle, eventId: number | string): Promise<any[]> {
  return h.db('webhook_attempts').where({ event_id: eventId }).orderBy('id');
}

/** Creates a payment through the API and, unless told otherwise, lets the simulator's buyer pay it. */
async function createPayment(t: ExecutionContext, app: TestApp, pay = true): Promise<{ id: string; orderNo: string }> {
  const created = await app.api('POST', '/v1/payments', paymentBody());
  t.is(created.status, 201, created.text);
  if (pay) {
    await app.control('pay', created.body.orderNo);
    t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
  }
  return { id: created.body.id, orderNo: created.body.orderNo };
}

/** A job on a clock the test moves. */
function clockedJob(app: TestApp, owner: string, clock: { now: Date }, options: Parameters<typeof webhookDeliveryJob>[2] = {}) {
  const deps: CoreDeps = { ...app.deps, now: () => clock.now };
  return webhookDeliveryJob(deps, owner, options);
}

/** Runs the job until it finds nothing due. */
async function drain(job: { run(): Promise<number> }): Promise<number> {
  let total = 0;
  for (let n = await job.run(); n > 0; n = await job.run()) total += n;
  return total;
}

function recordingLogger(lines: string[]): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (obj: object, msg?: string) => lines.push(JSON.stringify({ level, ...bindings, ...obj, msg }));
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return make({});
}

// ---------------------------------------------------------------------------------------------
// Delivery

dbTest('payment.pending and payment.paid are delivered signed, with the stored body', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    const payment = await createPayment(t, app);
    const clock = { now: new Date() };
    const handled = await clockedJob(app, 'w1', clock).run();
    t.true(handled >= 2);

    const events = await eventsOf(h, app.merchant.id);
    t.deepEqual(events.map((e) => e.type), ['payment.pending', 'payment.paid']);
    const secret = await secretOf(h, app.merchant.id);
    t.regex(secret, /^whsec_/);
    for (const event of events) {
      const received = hook.forEvent(event.public_id);
      t.is(received.length, 1, event.type);
      const req = received[0]!;
      t.is(req.method, 'POST');
      t.is(req.url, '/hooks/paygate?shop=1');
      t.is(req.headers['content-type'], 'application/json');
      t.is(req.headers['user-agent'], 'paygate-webhooks/1');
      t.is(req.headers['paygate-event-type'], event.type);
      t.is(req.body, event.payload_json);
      const signature = req.headers['paygate-signature'] as string;
      t.regex(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
      t.deepEqual(verifyWebhook(req.body, signature, secret, { now: clock.now }), { ok: true, timestamp: Math.floor(clock.now.getTime() / 1000) });
      t.false(verifyWebhook(req.body, signature, await secretOf(h, app.other.id), { now: clock.now }).ok);

      const payload = JSON.parse(req.body);
      t.is(payload.id, event.public_id);
      t.is(payload.type, event.type);
      t.is(payload.data.payment.id, payment.id);

      t.is(event.delivery_status, 'delivered');
      t.is(Number(event.attempts), 1);
      t.is(Number(event.delivered_at), clock.now.getTime());
      t.is(event.lease_owner, null);
      t.is(event.lease_until, null);
      const attempts = await attemptsOf(h, event.id);
      t.is(attempts.length, 1);
      t.is(Number(attempts[0].response_status), 200);
      t.is(attempts[0].error, null);
      t.is(attempts[0].url, hook.url);
      t.is(Number(attempts[0].attempted_at), clock.now.getTime());
      t.true(Number(attempts[0].duration_ms) >= 0);
    }
    t.is(JSON.parse(hook.forEvent(events[1]!.public_id)[0]!.body).data.payment.status, 'paid');

    // Nothing more to do: delivered events are not sent again.
    await clockedJob(app, 'w1', { now: new Date(clock.now.getTime() + 86_400_000) }).run();
    t.is(hook.requests.length, 2);
    const view = await app.api('GET', `/v1/events/${events[1]!.public_id}`);
    t.is(view.status, 200);
    t.deepEqual(view.body.delivery, { status: 'delivered', attempts: 1, deliveredAt: clock.now.toISOString(), nextAttemptAt: null });
  });
});

dbTest('a failing endpoint is retried only when due, every attempt is logged, then the event fails', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    hook.status = 500;
    await createPayment(t, app, false);
    const [event] = await eventsOf(h, app.merchant.id);
    t.is(event!.type, 'payment.pending');
    const secret = await secretOf(h, app.merchant.id);

    const logs: string[] = [];
    const clock = { now: new Date() };
    const start = clock.now.getTime();
    const job = webhookDeliveryJob({ ...app.deps, logger: recordingLogger(logs), now: () => clock.now }, 'w1');

    const sentAt: number[] = [];
    for (let attempt = 1; attempt <= WEBHOOK_MAX_ATTEMPTS; attempt++) {
      const before = (await eventsOf(h, app.merchant.id))[0]!;
      if (attempt > 1) {
        // One millisecond early: not due, nothing is sent.
        clock.now = new Date(Number(before.next_attempt_at) - 1);
        await job.run();
        t.is(hook.forEvent(event!.public_id).length, attempt - 1, `attempt ${attempt} not before it is due`);
        clock.now = new Date(Number(before.next_attempt_at));
      }
      await job.run();
      sentAt.push(clock.now.getTime());
      const received = hook.forEvent(event!.public_id);
      t.is(received.length, attempt);
      const last = received[attempt - 1]!;
      t.is(last.body, event!.payload_json);
      t.true(verifyWebhook(last.body, last.headers['paygate-signature'] as string, secret, { now: clock.now }).ok);

      const after = (await eventsOf(h, app.merchant.id))[0]!;
      t.is(Number(after.attempts), attempt);
      t.is(after.lease_owner, null);
      if (attempt < WEBHOOK_MAX_ATTEMPTS) {
        t.is(after.delivery_status, 'pending');
        t.is(Number(after.next_attempt_at), clock.now.getTime() + WEBHOOK_RETRY_SCHEDULE_MS[attempt - 1]!);
      } else {
        t.is(after.delivery_status, 'failed');
        t.is(after.delivered_at, null);
      }
    }

    // Spent: no more attempts, however late.
    clock.now = new Date(clock.now.getTime() + 7 * 86_400_000);
    await job.run();
    t.is(hook.forEvent(event!.public_id).length, WEBHOOK_MAX_ATTEMPTS);

    const attempts = await attemptsOf(h, event!.id);
    t.is(attempts.length, WEBHOOK_MAX_ATTEMPTS);
    t.deepEqual(attempts.map((a) => Number(a.response_status)), Array(WEBHOOK_MAX_ATTEMPTS).fill(500));
    t.deepEqual(attempts.map((a) => Number(a.attempted_at)), sentAt);
    // About a day from the first attempt to the last.
    const spanHours = (sentAt[sentAt.length - 1]! - start) / 3_600_000;
    t.true(spanHours > 20 && spanHours < 26, `${spanHours} h`);

    const view = await app.api('GET', `/v1/events/${event!.public_id}`);
    t.deepEqual(view.body.delivery, { status: 'failed', attempts: WEBHOOK_MAX_ATTEMPTS, deliveredAt: null, nextAttemptAt: null });

    // Logged as an error in the end, and neither the secret nor the body ever reaches the logs.
    t.true(logs.some((l) => JSON.parse(l).level === 'error'));
    t.false(logs.some((l) => l.includes(secret) || l.includes(event!.payload_json) || l.includes('"payment"')));

    // Replay after the failure: pending, due now, a fresh schedule; the fixed endpoint gets it.
    hook.status = 204;
    const replay = await app.api('POST', `/v1/events/${event!.public_id}/replay`);
    t.is(replay.status, 202, replay.text);
    t.is(replay.body.id, event!.public_id);
    t.is(replay.body.delivery.status, 'pending');
    t.is(replay.body.delivery.attempts, 0);
    t.truthy(replay.body.delivery.nextAttemptAt);
    clock.now = new Date();
    await job.run();
    t.is(hook.forEvent(event!.public_id).length, WEBHOOK_MAX_ATTEMPTS + 1);
    const done = (await eventsOf(h, app.merchant.id))[0]!;
    t.is(done.delivery_status, 'delivered');
    t.is((await attemptsOf(h, event!.id)).length, WEBHOOK_MAX_ATTEMPTS + 1);
  });
});

dbTest('redirects are not followed and a slow endpoint times out; both are attempts that retry', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    const target = await startHookServer();
    try {
      hook.status = 302;
      hook.headers = { location: target.url };
      await createPayment(t, app, false);
      const [event] = await eventsOf(h, app.merchant.id);
      const clock = { now: new Date() };
      await clockedJob(app, 'w1', clock).run();
      t.is(target.requests.length, 0, 'the redirect was not followed');
      let attempts = await attemptsOf(h, event!.id);
      t.is(Number(attempts[0].response_status), 302);
      t.is(attempts[0].error, 'redirect not followed');
      t.is((await eventsOf(h, app.merchant.id))[0]!.delivery_status, 'pending');

      hook.status = 200;
      hook.headers = {};
      hook.delayMs = 1_000;
      clock.now = new Date(clock.now.getTime() + WEBHOOK_RETRY_SCHEDULE_MS[0]!);
      await clockedJob(app, 'w1', clock, { timeoutMs: 100 }).run();
      attempts = await attemptsOf(h, event!.id);
      t.is(attempts.length, 2);
      t.is(attempts[1].response_status, null);
      t.is(attempts[1].error, 'timed out after 100 ms');
      const after = (await eventsOf(h, app.merchant.id))[0]!;
      t.is(after.delivery_status, 'pending');
      t.is(Number(after.attempts), 2);
      t.is(Number(after.next_attempt_at), clock.now.getTime() + WEBHOOK_RETRY_SCHEDULE_MS[1]!);
    } finally {
      await target.close();
    }
  });
});

dbTest('an endpoint that cannot be reached is an attempt with the error recorded', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    const gone = await startHookServer();
    await gone.close();
    await setWebhookUrl(h, app.merchant.id, gone.url);
    await createPayment(t, app, false);
    const [event] = await eventsOf(h, app.merchant.id);
    await clockedJob(app, 'w1', { now: new Date() }).run();
    const attempts = await attemptsOf(h, event!.id);
    t.is(attempts.length, 1);
    t.is(attempts[0].response_status, null);
    t.regex(attempts[0].error, /ECONNREFUSED/);
    t.is((await eventsOf(h, app.merchant.id))[0]!.delivery_status, 'pending');
    t.is(hook.requests.length, 0);

    // Only http(s): fetch would also "deliver" to a data: URL.
    await setWebhookUrl(h, app.merchant.id, 'data:text/plain,ok');
    await clockedJob(app, 'w1', { now: new Date(Date.now() + WEBHOOK_RETRY_SCHEDULE_MS[0]!) }).run();
    const second = await attemptsOf(h, event!.id);
    t.is(second.length, 2);
    t.is(second[1].response_status, null);
    t.is(second[1].error, 'the webhook URL is not an http(s) URL');
    t.is((await eventsOf(h, app.merchant.id))[0]!.delivery_status, 'pending');
  });
});

dbTest('a merchant without a webhook URL has its events skipped; a replay sends them once a URL is set', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    await setWebhookUrl(h, app.merchant.id, null);
    await createPayment(t, app);
    const clock = { now: new Date() };
    await clockedJob(app, 'w1', clock).run();
    const events = await eventsOf(h, app.merchant.id);
    t.deepEqual(events.map((e) => e.delivery_status), ['skipped', 'skipped']);
    for (const e of events) {
      t.is(Number(e.attempts), 0);
      t.is(e.lease_owner, null);
      t.deepEqual(await attemptsOf(h, e.id), []);
    }
    t.is(hook.requests.length, 0);

    await setWebhookUrl(h, app.merchant.id, hook.url);
    const replay = await app.api('POST', `/v1/events/${events[1]!.public_id}/replay`, undefined, { 'idempotency-key': `r-${events[1]!.public_id}` });
    t.is(replay.status, 202, replay.text);
    t.is(replay.body.type, 'payment.paid');
    clock.now = new Date(); // the replay made it due at the app's (real) now
    await clockedJob(app, 'w1', clock).run();
    t.is(hook.forEvent(events[1]!.public_id).length, 1);
    t.is(hook.forEvent(events[0]!.public_id).length, 0);

    // A delivered event can be replayed too: the merchant gets it again.
    const again = await app.api('POST', `/v1/events/${events[1]!.public_id}/replay`);
    t.is(again.status, 202);
    t.is(again.body.delivery.deliveredAt, null);
    clock.now = new Date();
    await clockedJob(app, 'w1', clock).run();
    t.is(hook.forEvent(events[1]!.public_id).length, 2);
    t.is((await eventsOf(h, app.merchant.id))[1]!.delivery_status, 'delivered');
  });
});

// ---------------------------------------------------------------------------------------------
// Leases

dbTest('two workers running at once deliver every event exactly once', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    hook.delayMs = 20;
    for (let i = 0; i < 4; i++) await createPayment(t, app);
    const events = await eventsOf(h, app.merchant.id);
    t.is(events.length, 8);
    const clock = { now: new Date() };
    const [a, b] = await Promise.all([
      drain(clockedJob(app, 'w1', clock, { batch: 3 })),
      drain(clockedJob(app, 'w2', clock, { batch: 3 })),
    ]);
    t.is(a + b, 8);
    for (const e of events) t.is(hook.forEvent(e.public_id).length, 1, e.public_id);
    t.is(hook.requests.length, 8);
    t.is(hook.maxOverlap, 1);
    const after = await eventsOf(h, app.merchant.id);
    t.true(after.every((e) => e.delivery_status === 'delivered' && e.lease_owner === null));
    for (const e of after) t.is((await attemptsOf(h, e.id)).length, 1);
  });
});

dbTest('a worker killed mid-delivery leaves its events to another once the lease runs out', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    await createPayment(t, app);
    const events = await eventsOf(h, app.merchant.id);
    const clock = { now: new Date() };
    // The dead worker claimed them and never came back.
    const claimed = await claimDueEvents({ ...app.deps, now: () => clock.now }, 'dead', 50, WEBHOOK_LEASE_MS);
    t.deepEqual(claimed.map((r) => r.public_id).sort(), events.map((e) => e.public_id).sort());

    const job = clockedJob(app, 'w2', clock);
    t.is(await job.run(), 0);
    clock.now = new Date(clock.now.getTime() + WEBHOOK_LEASE_MS - 1);
    t.is(await job.run(), 0, 'still leased');
    t.is(hook.requests.length, 0);

    clock.now = new Date(clock.now.getTime() + 2);
    t.is(await job.run(), 2);
    for (const e of events) t.is(hook.forEvent(e.public_id).length, 1);
    t.true((await eventsOf(h, app.merchant.id)).every((e) => e.delivery_status === 'delivered'));
  });
});

dbTest('a replay while the event is being delivered neither overlaps it nor is lost', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    hook.delayMs = 300;
    await createPayment(t, app, false);
    const [event] = await eventsOf(h, app.merchant.id);
    const clock = { now: new Date() };
    const first = clockedJob(app, 'w1', clock).run();
    for (const deadline = Date.now() + 10_000; hook.requests.length === 0; ) {
      if (Date.now() > deadline) throw new Error('the first delivery never arrived');
      await new Promise((r) => setTimeout(r, 5));
    }
    const replay = await app.api('POST', `/v1/events/${event!.public_id}/replay`);
    t.is(replay.status, 202);
    clock.now = new Date(); // due again (the replay used the app's real clock), but still leased by w1
    // Still leased by w1: another worker does not start a second delivery meanwhile.
    t.is(await clockedJob(app, 'w2', clock).run(), 0);
    await first;
    t.is(hook.maxOverlap, 1);
    const mid = (await eventsOf(h, app.merchant.id))[0]!;
    t.is(mid.delivery_status, 'pending', 'the replay stands');
    t.is(mid.lease_owner, null);
    await clockedJob(app, 'w2', clock).run();
    t.is(hook.forEvent(event!.public_id).length, 2);
    t.is((await eventsOf(h, app.merchant.id))[0]!.delivery_status, 'delivered');
  });
});

// ---------------------------------------------------------------------------------------------
// The events API

dbTest('GET /v1/events pages newest first, filters by type, and shows only the merchant own events', async (t, h) => {
  await withWebhooks(t, h, async (app) => {
    await createPayment(t, app, false);
    await createPayment(t, app, false);
    await createPayment(t, app);
    const rows = await eventsOf(h, app.merchant.id);
    t.deepEqual(rows.map((r) => r.type), ['payment.pending', 'payment.pending', 'payment.pending', 'payment.paid']);
    const newestFirst = [...rows].reverse().map((r) => r.public_id);

    const page1 = await app.api('GET', '/v1/events?limit=3');
    t.is(page1.status, 200, page1.text);
    t.deepEqual(page1.body.data.map((e: any) => e.id), newestFirst.slice(0, 3));
    t.truthy(page1.body.nextCursor);
    const page2 = await app.api('GET', `/v1/events?limit=3&cursor=${page1.body.nextCursor}`);
    t.deepEqual(page2.body.data.map((e: any) => e.id), newestFirst.slice(3));
    t.is(page2.body.nextCursor, null);

    // Each item is the webhook's payload plus its delivery state.
    const item = page1.body.data[0];
    const { delivery, ...payload } = item;
    t.deepEqual(payload, JSON.parse(rows[3]!.payload_json));
    t.is(delivery.status, 'pending');
    t.is(delivery.attempts, 0);
    t.is(delivery.deliveredAt, null);
    t.is(delivery.nextAttemptAt, new Date(Number(rows[3]!.next_attempt_at)).toISOString());

    const paid = await app.api('GET', '/v1/events?type=payment.paid');
    t.deepEqual(paid.body.data.map((e: any) => e.id), [rows[3]!.public_id]);
    const pending = await app.api('GET', '/v1/events?type=payment.pending&limit=2');
    t.deepEqual(pending.body.data.map((e: any) => e.id), newestFirst.slice(1, 3));
    const pending2 = await app.api('GET', `/v1/events?type=payment.pending&limit=2&cursor=${pending.body.nextCursor}`);
    t.deepEqual(pending2.body.data.map((e: any) => e.id), newestFirst.slice(3));
    t.is((await app.api('GET', '/v1/events?type=')).body.data.length, 4);

    const one = await app.api('GET', `/v1/events/${rows[0]!.public_id}`);
    t.is(one.status, 200);
    t.is(one.body.id, rows[0]!.public_id);
    t.is(one.body.type, 'payment.pending');

    // Bad queries are 400s naming the field.
    for (const [query, field] of [
      ['type=payment.unknown', 'type'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=x', 'limit'],
      ['cursor=nope', 'cursor'],
      ['status=paid', 'status'],
    ] as const) {
      const res = await app.api('GET', `/v1/events?${query}`);
      t.is(res.status, 400, query);
      t.is(res.body.error.details[0].path, field, query);
    }
    t.is((await app.api('GET', '/v1/events/evt_doesnotexist')).status, 404);
    t.is((await app.api('GET', '/v1/events/not-an-id')).status, 404);
    t.is((await app.api('POST', '/v1/events/evt_doesnotexist/replay')).status, 404);

    // The other merchant sees none of it.
    const theirs = await app.api('GET', '/v1/events', undefined, {}, app.other);
    t.is(theirs.status, 200);
    t.deepEqual(theirs.body.data, []);
    for (const row of rows) {
      const got = await app.api('GET', `/v1/events/${row.public_id}`, undefined, {}, app.other);
      t.is(got.status, 404);
      t.is(got.body.error.code, 'not_found');
      t.is((await app.api('POST', `/v1/events/${row.public_id}/replay`, undefined, {}, app.other)).status, 404);
    }
    const crossCursor = await app.api('GET', `/v1/events?cursor=${page1.body.nextCursor}`, undefined, {}, app.other);
    t.is(crossCursor.status, 400);
    t.deepEqual(
      (await eventsOf(h, app.merchant.id)).map((r) => [r.delivery_status, Number(r.attempts)]),
      rows.map((r) => [r.delivery_status, Number(r.attempts)]),
      'the other merchant changed nothing',
    );

    // Without a key: 401.
    t.is((await app.raw('GET', '/v1/events')).status, 401);
  });
});

dbTest('events of a merchant without a webhook URL are skipped in bulk; those of a merchant with one are still delivered', async (t, h) => {
  await withWebhooks(t, h, async (app, hook) => {
    await setWebhookUrl(h, app.other.id, null);
    // The other shop (no URL) takes a payment; its events are copied into many, as at a thousand payments a second.
    const created = await app.api('POST', '/v1/payments', paymentBody(), undefined, app.other);
    t.is(created.status, 201, created.text);
    const [template] = await eventsOf(h, app.other.id);
    const now = Date.now();
    const copies = Array.from({ length: 700 }, (_, i) => ({
      public_id: `evt_bulk${i}_${now}`,
      merchant_id: app.other.id,
      order_id: template!.order_id,
      type: template!.type,
      payload_json: template!.payload_json,
      created_at: now,
      delivery_status: 'pending',
      attempts: 0,
      next_attempt_at: now,
    }));
    for (let i = 0; i < copies.length; i += 100) await h.db('events').insert(copies.slice(i, i + 100));
    // And the shop with a URL has a paid payment to hear of.
    const paid = await createPayment(t, app);
    const clock = { now: new Date() };
    // The tests of this file take turns: the updates of events seen now are this job's.
    let updates = 0;
    const count = (q: { sql: string }) => {
      if (/^update [`"]?events[`"]?/i.test(q.sql)) updates++;
    };
    h.db.on('query', count);
    let handled: number;
    try {
      handled = await drain(clockedJob(app, 'w1', clock));
    } finally {
      h.db.off('query', count);
    }
    t.true(handled >= 500, `the job ran again after a full bulk: ${handled}`);
    // A run skips up to 500 in one statement; what its claim then takes goes one by one (at most a batch of 50).
    t.true(updates < 120, `701 events skipped mostly in bulk, not one statement each: ${updates} updates`);
    const others = await eventsOf(h, app.other.id);
    t.is(others.length, 701);
    t.deepEqual([...new Set(others.map((e) => e.delivery_status))], ['skipped']);
    t.true(others.every((e) => Number(e.attempts) === 0 && e.lease_owner === null));
    const mine = await eventsOf(h, app.merchant.id);
    t.true(mine.length >= 2);
    t.true(mine.every((e) => e.delivery_status === 'delivered'), JSON.stringify(mine.map((e) => e.delivery_status)));
    t.true(hook.requests.length >= 2);
    t.true(mine.some((e) => e.order_id === paid.id));
  });
});
