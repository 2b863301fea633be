import sinon from 'sinon';
import { silentLogger } from '../../core/logger.ts';
import { INLINE_GRACE_MS, PROCESSING_LEASE_MS, inlineLease, storeRaw } from '../../core/inbox.ts';
import { inboxRetryJob } from '../../core/jobs/inbox-retry.ts';
import { paymentBody, startApp, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest, openTestDb } from '../helpers/db.ts';
import { signed } from '../../providers/_template/crypto.ts';
import { SIM_MERCHANT } from '../../providers/_template/simulator.ts';
import { FakePayProvider } from '../../providers/_template/adapter.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import type { FakePaySimulator } from '../../providers/_template/simulator.ts';
import type { CallbackEnvelope, CallbackReply, CallbackRequest, CallbackVerification, ReplyKind, VerifyContext } from '../../core/payment-provider.ts';

/** FakePay as a provider whose notify the buyer's browser brings (PaymentProvider.notifyFrom). */
class BrowserFakePay extends FakePayProvider {
  readonly notifyFrom = 'browser' as const;
  /** What core handed each verification beside the request. */
  readonly contexts: (VerifyContext | undefined)[] = [];
  override inspectCallback(request: CallbackRequest): CallbackEnvelope {
    return { ...super.inspectCallback(request), orderNo: new URLSearchParams(request.rawQuery).get('order_no') };
  }
  override verifyCallback(request: CallbackRequest, context?: VerifyContext): Promise<CallbackVerification> {
    this.contexts.push(context);
    return super.verifyCallback(request);
  }
  override reply(kind: ReplyKind): CallbackReply {
    const plain = super.reply(kind);
    return kind === 'reject' ? plain : { ...plain, status: 303, headers: { location: `/after/${kind}` } };
  }
}

async function newOrder(app: TestApp, overrides: Record<string, unknown> = {}) {
  const res = await app.api('POST', '/v1/payments', paymentBody(overrides));
  if (res.status !== 201) throw new Error(res.text);
  return res.body as { id: string; orderNo: string; amount: number };
}

/** A notify exactly as FakePay would send it, signed with the simulator's secret unless told otherwise. */
function notifyBody(app: TestApp, order: { orderNo: string; amount: number }, extra: Record<string, string> = {}, secret = app.sim.secret): string {
  const fields = signed(
    {
      merchant_id: SIM_MERCHANT,
      order_no: order.orderNo,
      trade_no: `FT${order.orderNo}`,
      amount: String(order.amount),
      currency: 'TWD',
      status: 'PAID',
      paid_at: '2026-11-22T01:02:03.000Z',
      notify_id: `N-${order.orderNo}`,
      ...extra,
    },
    secret,
  );
  return new URLSearchParams(fields).toString();
}

function postNotify(app: TestApp, body: string, account = 'default') {
  return app.raw('POST', `/callbacks/fakepay/${account}/notify`, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

dbTest('the buyer pays at the simulator: notify verified, applied once, answered OK', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const result = await app.control('pay', order.orderNo);
    t.deepEqual(result.firstNotify, { status: 200, body: 'OK' });
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'paid');
    t.truthy(got.body.paidAt);
    t.is(got.body.action, undefined);
    const rows = await h.db('provider_callbacks').where({ order_id: order.id });
    t.is(rows.length, 1);
    t.is(rows[0].outcome, 'applied');
    t.truthy(Number(rows[0].verified));
    t.truthy(rows[0].processed_at);
    t.is(rows[0].kind, 'notify');
    t.is(rows[0].dedupe_key, `N${app.sim.byOrderNo(order.orderNo)!.tradeNo}PAID`);
    const transitions = await h.db('order_transitions').where({ order_id: order.id }).orderBy('id');
    t.deepEqual(transitions.map((r: any) => [r.from_status, r.to_status, r.source]), [
      ['created', 'pending', 'api'],
      ['pending', 'paid', `callback:${rows[0].id}`],
    ]);
    // The provider sends it again: answered OK, nothing moves, no new row.
    const again = await app.control('renotify', order.orderNo);
    t.deepEqual(again, { status: 200, body: 'OK' });
    t.is((await h.db('order_transitions').where({ order_id: order.id })).length, 2);
    t.is((await h.db('provider_callbacks').where({ order_id: order.id })).length, 1);
  });
});

/** FakePay as a provider whose verification may call it (verifiesOffline unset): durable first, two commits. */
function verifiesOnline(t: { teardown(fn: () => void): void }, provider: FakePayProvider): void {
  const own = provider as unknown as { verifiesOffline?: boolean };
  own.verifiesOffline = false;
  t.teardown(() => (own.verifiesOffline = true));
}

dbTest('the raw row is stored before verification runs (a provider whose verification may call it)', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
    verifiesOnline(t, provider);
    const original = provider.verifyCallback.bind(provider);
    let rowsSeenByVerify = -1;
    const stub = sinon.stub(provider, 'verifyCallback').callsFake(async (request) => {
      rowsSeenByVerify = (await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` })).length;
      return original(request);
    });
    try {
      const res = await postNotify(app, notifyBody(app, order));
      t.is(res.text, 'OK');
      t.is(stub.callCount, 1);
      t.is(rowsSeenByVerify, 1);
    } finally {
      stub.restore();
    }
  });
});

dbTest('a fresh notify is inserted already leased to its request and processed once, with no separate claim (verification may call the provider)', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
    verifiesOnline(t, provider);
    const original = provider.verifyCallback.bind(provider);
    let seen: { lease_owner: string | null; lease_until: unknown; received_at: unknown } | undefined;
    const stub = sinon.stub(provider, 'verifyCallback').callsFake(async (request) => {
      seen = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` }).first();
      return original(request);
    });
    // The updates of provider_callbacks naming the lease (the insert that leased the row is the
    // driver's prepared statement, core/statements.ts; `seen` shows its lease): a later claim's, the finish.
    const statements: { sql: string; bindings: unknown[] }[] = [];
    const listen = (q: { sql: string; bindings?: unknown[] }) => {
      if (/provider_callbacks/.test(q.sql)) statements.push({ sql: q.sql, bindings: q.bindings ?? [] });
    };
    h.db.on('query', listen);
    try {
      const res = await postNotify(app, notifyBody(app, order));
      t.is(res.text, 'OK');
    } finally {
      h.db.off('query', listen);
      stub.restore();
    }
    t.is(stub.callCount, 1);
    const lease = seen?.lease_owner ?? '';
    t.regex(lease, /^inline:/, 'leased while it is verified');
    t.is(Number(seen?.lease_until), Number(seen?.received_at) + PROCESSING_LEASE_MS);
    const mine = statements.filter((s) => s.bindings.includes(lease));
    t.is(mine.length, 1, mine.map((s) => s.sql).join('\n'));
    t.regex(mine[0]!.sql, /^update .* set .*processed_at/i, 'the lease came with the insert, and is used once more, by the finish: no claim');
    const row = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` }).first();
    t.is(row.outcome, 'applied');
    t.is(row.lease_owner, null);
    t.is(row.lease_until, null);
    const transitions = await h.db('order_transitions').where({ order_id: order.id, to_status: 'paid' });
    t.is(transitions.length, 1);
  });
});

dbTest('one commit per applied notify: verified first, then the raw row is written finished, in the transaction that moves the order', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
    t.true(provider.verifiesOffline);
    const original = provider.verifyCallback.bind(provider);
    let rowsSeenByVerify = -1;
    const stub = sinon.stub(provider, 'verifyCallback').callsFake(async (request) => {
      rowsSeenByVerify = (await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` })).length;
      return original(request);
    });
    try {
      const res = await postNotify(app, notifyBody(app, order));
      t.is(res.text, 'OK');
    } finally {
      stub.restore();
    }
    t.is(stub.callCount, 1, 'verified once');
    t.is(rowsSeenByVerify, 0, 'nothing stored before verification');
    const row = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` }).first();
    t.is(row.outcome, 'applied');
    t.truthy(Number(row.verified));
    t.truthy(row.processed_at);
    t.is(row.order_id, order.id);
    t.is(row.lease_owner, null);
    const transitions = await h.db('order_transitions').where({ order_id: order.id, to_status: 'paid' });
    t.deepEqual(transitions.map((r: { source: string }) => r.source), [`callback:${row.id}`]);
    t.is((await h.db('events').where({ order_id: order.id, type: 'payment.paid' })).length, 1);
  });
});

dbTest('one commit: a notify that fails verification is stored alone, finished as rejected, and changes nothing', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const res = await postNotify(app, notifyBody(app, order, {}, 'not-the-secret'));
    t.is(res.text, 'BAD SIGN');
    const rows = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` });
    t.is(rows.length, 1);
    t.is(rows[0].outcome, 'rejected');
    t.falsy(Number(rows[0].verified));
    t.truthy(rows[0].processed_at);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'pending');
    // The real notify under the same key afterwards: stored as its own row and applied.
    const real = await postNotify(app, notifyBody(app, order));
    t.is(real.text, 'OK');
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
    const outcomes = (await h.db('provider_callbacks').where({ order_id: order.id }).orWhere({ dedupe_key: `N-${order.orderNo}` }).orderBy('id')).map((r: { outcome: string }) => r.outcome);
    t.deepEqual(outcomes, ['rejected', 'applied']);
  });
});

dbTest('one commit: when the transaction fails, nothing of it stays, and the callback is stored first and applied once', async (t, h) => {
  let failures = 1;
  await withApp(
    t,
    h,
    async (app) => {
      const order = await newOrder(app);
      const res = await postNotify(app, notifyBody(app, order));
      t.is(res.text, 'OK');
      t.is(failures, 0, 'the hook failed the first transaction');
      const rows = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` });
      t.is(rows.length, 1, 'one row: the failed transaction left none');
      t.is(rows[0].outcome, 'applied');
      t.is((await h.db('order_transitions').where({ order_id: order.id, to_status: 'paid' })).length, 1);
      t.is((await h.db('events').where({ order_id: order.id, type: 'payment.paid' })).length, 1);
    },
    {
      hooks: [
        async (_trx, event) => {
          if (event.to === 'paid' && failures > 0) {
            failures -= 1;
            throw new Error('injected: the transaction fails once');
          }
        },
      ],
    },
  );
});

dbTest('one commit: the same notify twice at once is applied once and both are answered OK', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const body = notifyBody(app, order);
    const answers = await Promise.all([postNotify(app, body), postNotify(app, body), postNotify(app, body)]);
    t.deepEqual(answers.map((r) => r.text), ['OK', 'OK', 'OK']);
    t.is((await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` })).length, 1);
    t.is((await h.db('order_transitions').where({ order_id: order.id, to_status: 'paid' })).length, 1);
    t.is((await h.db('events').where({ order_id: order.id, type: 'payment.paid' })).length, 1);
  });
});

dbTest(
  'a row whose request died after storing it (leased, never finished) is taken by the inbox-retry job once the lease runs out',
  async (t, h) => {
    await withApp(t, h, async (app) => {
      const order = await newOrder(app);
      const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
      const clock = { now: new Date() };
      const deps = { ...app.deps, now: () => clock.now };
      // What receiveNotify leaves behind when its process dies between the insert and the finish.
      const body = notifyBody(app, order);
      const request = { kind: 'notify' as const, httpMethod: 'POST', contentType: 'application/x-www-form-urlencoded', rawBody: body, rawQuery: '', headers: {} };
      const stored = await storeRaw(deps, provider, request, provider.inspectCallback(request), { lease: inlineLease() });
      t.true(stored.fresh);
      const leasedUntil = clock.now.getTime() + PROCESSING_LEASE_MS;
      t.is(Number((await h.db('provider_callbacks').where({ id: stored.row.id }).first()).lease_until), leasedUntil);

      const verify = sinon.spy(provider, 'verifyCallback');
      try {
        const job = inboxRetryJob(deps, 'test-worker');
        // Past the inline grace but inside the lease: the dead request still holds the row.
        clock.now = new Date(clock.now.getTime() + INLINE_GRACE_MS + 1_000);
        await job.run();
        t.is(verify.callCount, 0);
        t.is((await h.db('provider_callbacks').where({ id: stored.row.id }).first()).processed_at, null);
        // The lease has run out: the worker takes the row and applies it, once.
        clock.now = new Date(leasedUntil + 1);
        await job.run();
        t.is(verify.callCount, 1);
        const done = await h.db('provider_callbacks').where({ id: stored.row.id }).first();
        t.is(done.outcome, 'applied');
        t.is(done.lease_owner, null);
        t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
        await job.run();
        t.is(verify.callCount, 1);
      } finally {
        verify.restore();
      }
    });
  },
  // The job takes whatever is due in the shared database: with the clock past every lease it would
  // also take rows other tests are processing, so this runs alone.
  { serial: true },
);

dbTest('a forged or tampered notify changes nothing and is kept for audit', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const before = await h.db('orders').where({ id: order.id }).first();

    const forged = await postNotify(app, notifyBody(app, order, { notify_id: 'forged-1' }, 'not-the-secret-at-all-0000'));
    t.is(forged.status, 400);
    t.is(forged.text, 'BAD SIGN');

    // A genuine body with the amount changed after signing.
    const tampered = notifyBody(app, order, { notify_id: 'tampered-1' }).replace(`amount=${order.amount}`, 'amount=1');
    const res = await postNotify(app, tampered);
    t.is(res.text, 'BAD SIGN');

    const after = await h.db('orders').where({ id: order.id }).first();
    t.deepEqual(after, before);
    const kept = await h.db('provider_callbacks').whereIn('dedupe_key', ['forged-1', 'tampered-1']).orderBy('id');
    t.is(kept.length, 2);
    for (const row of kept) {
      t.is(Number(row.verified), 0);
      t.is(row.outcome, 'rejected');
      t.is(row.error, 'bad signature');
      t.true(row.raw_body.includes(`order_no=${order.orderNo}`));
    }
    t.is((await h.db('order_transitions').where({ order_id: order.id })).length, 1);
  });
});

dbTest('a forged body under a real notify_id is kept apart and cannot block the real one', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const forged = await postNotify(app, notifyBody(app, order, {}, 'not-the-secret-at-all-0000'));
    t.is(forged.text, 'BAD SIGN');
    const real = await postNotify(app, notifyBody(app, order));
    t.is(real.text, 'OK');
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
    const rows = await h.db('provider_callbacks').where('dedupe_key', 'like', `N-${order.orderNo}%`).orderBy('id');
    t.deepEqual(rows.map((r: any) => r.outcome), ['rejected', 'applied']);
  });
});

dbTest(
  'the database refuses the UPDATE that finishes a refused row once (a deadlock victim on MariaDB, busy on SQLite): it runs again, the row is finished, the provider hears "refused"',
  async (t, h) => {
    await withApp(t, h, async (app) => {
      const order = await newOrder(app);
      t.is((await postNotify(app, notifyBody(app, order))).text, 'OK');
      // A forged body under the real notify_id is stored first, leased to its request, then
      // verified and finished by one UPDATE (core/inbox.ts finishRow): that UPDATE fails once with
      // the error each engine gives a statement that lost a lock (knex hands it the driver's error).
      const refusal = h.kind === 'mysql'
        ? Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213, sqlState: '40001' })
        : Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      const client = Object.getPrototypeOf(h.db.client) as { query(conn: unknown, obj: { sql: string }): Promise<unknown> };
      const original = client.query;
      let refused = 0;
      const query = sinon.stub(client, 'query').callsFake(function (this: { config: unknown }, conn, obj) {
        const finishing = this.config === h.db.client.config && /^update `provider_callbacks` set `verified` = \?, `processed_at`/.test(obj.sql);
        if (finishing && refused++ === 0) return Promise.reject(refusal);
        return original.call(this, conn, obj);
      });
      const retried = sinon.spy(app.metrics, 'dbRetry');
      try {
        const forged = await postNotify(app, notifyBody(app, order, {}, 'not-the-secret-at-all-0000'));
        t.is(forged.text, 'BAD SIGN');
      } finally {
        query.restore();
      }
      t.is(refused, 2, 'refused once, then run again');
      t.deepEqual(retried.args.map((a) => a.slice(0, 2)), [['finish_callback', h.kind === 'mysql' ? 'deadlock' : 'busy']]);
      const rows = await h.db('provider_callbacks').where('dedupe_key', 'like', `N-${order.orderNo}%`).orderBy('id');
      t.deepEqual(rows.map((r: any) => [r.outcome, r.processed_at !== null, r.lease_owner, r.attempts]), [['applied', true, null, 0], ['rejected', true, null, 0]]);
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
    });
  },
  // The stub sits on the driver client's prototype, shared by every database of the file: alone.
  { serial: true },
);

dbTest('a notify the buyer\'s browser brings (a GET, notifyFrom "browser"): stored, verified against the order it names, applied once, and the browser sent on; a forged one is refused and kept', async (t, h) => {
  let sim: FakePaySimulator | undefined;
  let made: BrowserFakePay | undefined;
  const plain = fakePayModule({ onSimulator: (s) => (sim = s) });
  const module = { ...plain, createProvider: (account: string, config: Parameters<typeof plain.createProvider>[1]) => (made = new BrowserFakePay(account, config)) };
  const app = await startApp(h, { modules: [module] });
  try {
    const order = await newOrder(app);
    const get = (query: string) => app.raw('GET', `/callbacks/fakepay/default/notify?${query}`);
    const first = await get(notifyBody(app, order, {}, sim!.secret));
    t.is(first.status, 303, first.text);
    t.is(first.headers.get('location'), '/after/ack');
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
    // Verification was handed the order the request names, as it stood: this account's, still pending.
    const seen = made!.contexts.map((c) => c?.order && { orderNo: c.order.orderNo, status: c.order.status, amount: c.order.amount });
    t.deepEqual(seen, [{ orderNo: order.orderNo, status: 'pending', amount: order.amount }]);
    // An order number no order has: verification hears of none.
    const unknown = await get(notifyBody(app, { orderNo: '26010100000000000000', amount: order.amount }, { notify_id: 'browser-unknown' }, sim!.secret));
    t.is(unknown.status, 400, 'an unknown order is refused');
    t.deepEqual(made!.contexts.at(-1), { order: null });
    // The buyer refreshes: the same row, acknowledged, nothing moves again.
    const again = await get(notifyBody(app, order, {}, sim!.secret));
    t.is(again.headers.get('location'), '/after/ack');
    t.is((await h.db('order_transitions').where({ order_id: order.id, to_status: 'paid' })).length, 1);
    // A HEAD (a link checker, a prefetch) is never a notify, even here.
    const head = await app.raw('HEAD', `/callbacks/fakepay/default/notify?${notifyBody(app, order, { notify_id: 'browser-head' }, sim!.secret)}`);
    t.is(head.status, 405);
    t.is(head.headers.get('allow'), 'GET, POST');
    t.deepEqual(await h.db('provider_callbacks').where({ dedupe_key: 'browser-head' }), []);
    const forged = await get(notifyBody(app, order, { notify_id: 'browser-forged' }, 'not-the-secret-at-all-0000'));
    t.is(forged.status, 400);
    t.is(forged.headers.get('location'), null);
    const rows = await h.db('provider_callbacks').where('dedupe_key', 'like', `N-${order.orderNo}%`).orWhere({ dedupe_key: 'browser-forged' }).orderBy('id');
    t.deepEqual(rows.map((r: any) => [r.http_method, r.outcome]), [['GET', 'applied'], ['GET', 'rejected']]);
    // A provider whose server posts its notify gets no such context (the template's own tests run so).
  } finally {
    await app.close();
  }
});

dbTest('a provider whose notify its server posts refuses a GET or a HEAD on its notify endpoint (405, Allow: POST) and stores nothing', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const res = await app.raw('GET', `/callbacks/fakepay/default/notify?${notifyBody(app, order)}`);
    t.is(res.status, 405, res.text);
    t.is(res.headers.get('allow'), 'POST');
    // A HEAD, which the router would answer through the GET route, is refused the same way.
    const head = await app.raw('HEAD', `/callbacks/fakepay/default/notify?${notifyBody(app, order)}`);
    t.is(head.status, 405);
    t.deepEqual(await h.db('provider_callbacks').where('dedupe_key', 'like', `N-${order.orderNo}%`), []);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'pending');
  });
});

dbTest('50 concurrent duplicates of one success make exactly one transition', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const body = notifyBody(app, order);
    const answers = await Promise.all(Array.from({ length: 50 }, () => postNotify(app, body)));
    t.deepEqual([...new Set(answers.map((a) => `${a.status} ${a.text}`))], ['200 OK']);
    const paid = await h.db('order_transitions').where({ order_id: order.id, to_status: 'paid' });
    t.is(paid.length, 1);
    const inbox = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` });
    t.is(inbox.length, 1);
    t.is(inbox[0].outcome, 'applied', 'the losing duplicates do not overwrite the outcome');
    const row = await h.db('orders').where({ id: order.id }).first();
    t.is(row.status, 'paid');
    t.is(Number(row.version), 2);
  });
});

dbTest('verified facts that do not match the order are recorded and flagged, never applied', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const res = await postNotify(app, notifyBody(app, order, { amount: '100', notify_id: 'short-pay' }));
    t.is(res.text, 'BAD SIGN', 'recorded, and answered as abnormal');
    const row = await h.db('provider_callbacks').where({ dedupe_key: 'short-pay' }).first();
    t.is(row.outcome, 'amount_mismatch');
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'pending');
    t.regex(got.body.attention, /Amount mismatch/);

    const unknown = await postNotify(app, notifyBody(app, { orderNo: '26112200000000000000', amount: 5 }, { notify_id: 'ghost' }));
    t.is(unknown.text, 'BAD SIGN');
    t.is((await h.db('provider_callbacks').where({ dedupe_key: 'ghost' }).first()).outcome, 'unknown_order');
    // The same notify again gets the same answer from the recorded row.
    t.is((await postNotify(app, notifyBody(app, { orderNo: '26112200000000000000', amount: 5 }, { notify_id: 'ghost' }))).text, 'BAD SIGN');
  });
});

dbTest('a payment that lands after cancel is paid with an attention flag', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    // Cancel locally only (the provider does not hear of it), then the money arrives.
    await h.db('orders').where({ id: order.id }).update({ status: 'cancelled' });
    const res = await postNotify(app, notifyBody(app, order));
    t.is(res.text, 'OK');
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'paid');
    t.regex(got.body.attention, /Paid after the order was cancelled/);
  });
});

dbTest('an out-of-order "failed" after "paid" is recorded and ignored', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    await postNotify(app, notifyBody(app, order));
    const late = await postNotify(app, notifyBody(app, order, { status: 'FAILED', notify_id: 'late-fail' }));
    t.is(late.text, 'OK');
    t.is((await h.db('provider_callbacks').where({ dedupe_key: 'late-fail' }).first()).outcome, 'ignored');
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
  });
});

dbTest('malformed notify is 400 naming the field, kept; unknown account is 404, not stored', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const body = new URLSearchParams({ order_no: order.orderNo, status: 'PAID', marker: `m-${order.orderNo}` }).toString();
    const res = await postNotify(app, body);
    t.is(res.status, 400);
    t.is(JSON.parse(res.text).error.details[0].path, 'notify_id');
    const kept = await h.db('provider_callbacks').where('raw_body', 'like', `%m-${order.orderNo}%`);
    t.is(kept.length, 1);
    t.is(kept[0].outcome, 'malformed');

    const unknownAccount = await postNotify(app, notifyBody(app, order), 'no-such-account');
    t.is(unknownAccount.status, 404);
    const unknownProvider = await app.raw('POST', '/callbacks/nopay/default/notify', { body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.is(unknownProvider.status, 404);
    t.is((await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` })).length, 0);
    t.is((await h.db('provider_callbacks').where({ provider: 'nopay' })).length, 0);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'pending');
  });
});

dbTest('database unavailable: the provider gets its non-success answer', async (t, h) => {
  const own = await openTestDb(h.kind);
  const app = await startApp(own);
  try {
    const order = await newOrder(app);
    const body = notifyBody(app, order);
    await own.db.destroy(); // the pool is gone: every query fails as if the server were down
    const res = await postNotify(app, body);
    t.is(res.status, 503);
    t.is(res.text, 'RETRY');
    const ready = await app.raw('GET', '/readyz');
    t.is(ready.status, 503);
  } finally {
    await app.close();
    await own.close().catch(() => undefined);
  }
});

dbTest('ack on store: answered at once, applied in the background', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const order = await newOrder(app);
      const res = await postNotify(app, notifyBody(app, order));
      t.is(res.text, 'OK');
      await app.background.drain();
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
    },
    { ackAfter: 'stored' },
  );
});

dbTest('ack on store with the job runner in another process: answered at once, nothing verified here, the worker applies it', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const order = await newOrder(app);
      const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
      const verify = sinon.spy(provider, 'verifyCallback');
      t.teardown(() => verify.restore());
      const res = await postNotify(app, notifyBody(app, order));
      t.is(res.text, 'OK');
      await app.background.drain();
      t.is(verify.callCount, 0, 'the token exchange is not on the event loop of the ack');
      const row = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` }).first();
      t.is(row.processed_at, null);
      t.is(row.lease_owner, null, 'not leased: the worker may take it at once');
      t.true(Number(row.next_attempt_at) <= Date.now(), 'due now');
      // The same notify again before the worker came: acknowledged, still one row, still the worker's.
      t.is((await postNotify(app, notifyBody(app, order))).text, 'OK');
      t.is(verify.callCount, 0);
      t.is((await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` })).length, 1);
      // The worker (another process in production) takes it on its next look.
      const job = inboxRetryJob(app.deps, 'test-worker');
      await job.run();
      t.is(verify.callCount, 1);
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
      const done = await h.db('provider_callbacks').where({ id: row.id }).first();
      t.is(done.outcome, 'applied');
    },
    { ackAfter: 'stored', storedCallbacks: 'worker' },
  );
}, { serial: true });

dbTest('a provider fault after the ack is finished by the worker later', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const order = await newOrder(app);
      const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
      const stub = sinon.stub(provider, 'verifyCallback').rejects(new Error('bank unreachable'));
      let row: any;
      try {
        const res = await postNotify(app, notifyBody(app, order));
        t.is(res.text, 'OK'); // the token is stored: acknowledged even though the exchange failed
        await app.background.drain();
        row = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` }).first();
        t.is(row.processed_at, null);
        t.is(Number(row.attempts), 1);
        t.is(row.error, 'bank unreachable');
        t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'pending');
      } finally {
        stub.restore();
      }
      // Nothing is due yet; once the backoff has passed the worker applies it.
      const clock = { now: new Date() };
      const deps = { ...app.deps, now: () => clock.now };
      const job = inboxRetryJob(deps, 'test-worker');
      await job.run();
      t.is((await h.db('provider_callbacks').where({ id: row.id }).first()).processed_at, null);
      clock.now = new Date(Number(row.next_attempt_at) + 1);
      // The worker runs until this row is done, as it does in production: the file's other tests
      // share the database, and their rows due by then may fill a batch first (or a claim may lose
      // a deadlock to another test's writer and take nothing this run).
      let done: any;
      for (let run = 0; run < 20; run++) {
        await job.run();
        done = await h.db('provider_callbacks').where({ id: row.id }).first();
        if (done.processed_at !== null) break;
      }
      t.is(done.outcome, 'applied');
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
    },
    { ackAfter: 'stored' },
  );
});

dbTest('ack on store: the provider\'s redelivery of a row given up on processes it again', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const order = await newOrder(app);
      const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
      const body = notifyBody(app, order);
      const stub = sinon.stub(provider, 'verifyCallback').rejects(new Error('bank unreachable'));
      try {
        t.is((await postNotify(app, body)).text, 'OK');
        await app.background.drain();
      } finally {
        stub.restore();
      }
      // As after a day of failed retries: parked, nobody holds it.
      await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` }).update({ outcome: 'gave_up', next_attempt_at: 8_640_000_000_000_000, lease_owner: null, lease_until: null });
      t.is((await postNotify(app, body)).text, 'OK');
      await app.background.drain();
      const rows = await h.db('provider_callbacks').where({ dedupe_key: `N-${order.orderNo}` });
      t.is(rows.length, 1, 'the same row, not a new one');
      t.is(rows[0].outcome, 'applied');
      t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
    },
    { ackAfter: 'stored' },
  );
});

dbTest('the browser return renders the result page and changes nothing', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const query = notifyBody(app, order, { notify_id: '' });
    const page = await app.raw('GET', `/callbacks/fakepay/default/return?${query}&lang=en`);
    t.is(page.status, 200);
    t.regex(page.headers.get('content-type')!, /text\/html/);
    t.true(page.text.includes(order.orderNo));
    // The verified return says paid while the notify has not landed: shown, not stored.
    t.true(page.text.includes('Payment received'));
    t.true(page.text.includes('The provider confirmed this payment'));
    t.true(page.text.includes('href="https://shop.example/orders/A1001"'));
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'pending');
    const row = await h.db('provider_callbacks').where({ kind: 'return', order_id: order.id }).first();
    t.is(row.outcome, 'displayed');

    await app.control('pay', order.orderNo);
    const zhTW = await app.raw('GET', `/callbacks/fakepay/default/return?${query}`, { headers: { 'accept-language': 'zh-TW,zh;q=0.9' } });
    t.true(zhTW.text.includes('付款成功'));
    t.true(zhTW.text.includes('data-status="paid"'));
    const zhCN = await app.raw('GET', `/callbacks/fakepay/default/return?${query}&lang=zh-CN`);
    t.true(zhCN.text.includes('支付成功'));

    const forged = await app.raw('GET', `/callbacks/fakepay/default/return?${notifyBody(app, order, {}, 'not-the-secret-at-all-0000')}&lang=en`);
    t.is(forged.status, 200);
    t.true(forged.text.includes('We could not confirm this payment'));
    t.false(forged.text.includes(order.orderNo));
  });
});

dbTest('a failed card payment shows the pay-again link', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    await app.control('decline', order.orderNo);
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'failed');
    const page = await app.raw('GET', `/callbacks/fakepay/default/return?${notifyBody(app, order, { status: 'FAILED', notify_id: '' })}&lang=en`);
    t.true(page.text.includes('Payment failed'));
    t.true(page.text.includes(`href="${got.body.action.url}"`));
    t.true(page.text.includes('Pay again'));
    // The buyer pays on the second try: failed → paid.
    await app.control('pay', order.orderNo);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'paid');
  });
});

dbTest('a second, different payment for a paid order is a double payment that raises attention', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    t.is((await postNotify(app, notifyBody(app, order))).text, 'OK');
    const second = await postNotify(app, notifyBody(app, order, { trade_no: 'FT-SECOND-CHARGE', notify_id: `second-${order.orderNo}` }));
    t.is(second.text, 'OK');
    const row = await h.db('provider_callbacks').where({ dedupe_key: `second-${order.orderNo}` }).first();
    t.is(row.outcome, 'double_payment');
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'paid');
    t.is(got.body.providerTradeNo, `FT${order.orderNo}`);
    t.regex(got.body.attention, /Second payment FT-SECOND-CHARGE/);
  });
});

dbTest('odd but verified facts never loop: a bad date and an oversized trade number are applied safely', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const res = await postNotify(app, notifyBody(app, order, { paid_at: 'not-a-date', trade_no: 'T'.repeat(300) }));
    t.is(res.text, 'OK');
    const row = await h.db('orders').where({ id: order.id }).first();
    t.is(row.status, 'paid');
    t.true(Number(row.paid_at) > 0, 'an unreadable payment time falls back to the time it was recorded');
    t.is(row.provider_trade_no, 'T'.repeat(128));
  });
});

dbTest('a request the adapter cannot even read is still stored, and the provider is asked to retry', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const provider = app.deps.registry.find('fakepay', 'default') as FakePayProvider;
    const stub = sinon.stub(provider, 'inspectCallback').throws(new TypeError('adapter bug'));
    try {
      const res = await postNotify(app, notifyBody(app, order, { notify_id: `bug-${order.orderNo}` }));
      t.is(res.status, 503);
      t.is(res.text, 'RETRY');
    } finally {
      stub.restore();
    }
    const kept = await h.db('provider_callbacks').where('raw_body', 'like', `%bug-${order.orderNo}%`);
    t.is(kept.length, 1);
    t.is(kept[0].outcome, 'malformed');
    const headers = JSON.parse(kept[0].headers_json);
    t.truthy(headers['remote-address'], 'the headers that matter are kept with the raw body');
    t.is(headers['content-type'], 'application/x-www-form-urlencoded');
  });
});

dbTest('instructions issued by a notify after create become the order\'s next action and deadline', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await newOrder(app);
    const deadline = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const body = notifyBody(app, order, { status: 'WAITING', atm_bank: '822', atm_account: '9100000000000001', atm_deadline: deadline, notify_id: `I-${order.orderNo}` });
    const first = await postNotify(app, body);
    t.is(first.status, 200);
    const got = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(got.body.status, 'pending');
    t.deepEqual(got.body.action, { type: 'instructions', atm: { bankCode: '822', account: '9100000000000001', amount: order.amount, deadline } });
    t.is(got.body.expiresAt, deadline);
    const row = await h.db('provider_callbacks').where({ dedupe_key: `I-${order.orderNo}` }).first();
    t.is(row.outcome, 'instructions');
    // The same notice again changes nothing.
    const again = await postNotify(app, notifyBody(app, order, { status: 'WAITING', atm_bank: '822', atm_account: '9100000000000001', atm_deadline: deadline, notify_id: `I2-${order.orderNo}` }));
    t.is(again.status, 200);
    const row2 = await h.db('provider_callbacks').where({ dedupe_key: `I2-${order.orderNo}` }).first();
    t.is(row2.outcome, 'duplicate');
    // A paid order takes no instructions.
    await postNotify(app, notifyBody(app, order));
    await postNotify(app, notifyBody(app, order, { status: 'WAITING', atm_account: '9100000000000002', atm_deadline: deadline, notify_id: `I3-${order.orderNo}` }));
    const paid = await app.api('GET', `/v1/payments/${order.id}`);
    t.is(paid.body.status, 'paid');
    t.is(paid.body.action, undefined);
  });
});
