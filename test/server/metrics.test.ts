import test from 'ava';
import sinon from 'sinon';
import { openDb } from '../../core/db.ts';
import { ProviderUnavailableError } from '../../core/errors.ts';
import { JobRunner } from '../../core/jobs/runner.ts';
import { silentLogger } from '../../core/logger.ts';
import Koa from 'koa';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { errorMiddleware } from '../../server/middleware/errors.ts';
import { loadConfig } from '../../core/config.ts';
import { bootstrap } from '../../server/bootstrap.ts';
import { GatewayMetrics, isLocalUrl, isLoopback, metricsAccess, metricsRoutes, type MetricsAccess } from '../../server/metrics.ts';
import { captureLogger } from '../helpers/sim-server.ts';
import { paymentBody, startApp, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

/** One sample of the exposition text: the line of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(app: TestApp, headers: Record<string, string> = {}) {
  return app.raw('GET', '/metrics', { headers });
}

dbTest('after a payment and its notify: callbacks, transitions, provider latency, outbox lag and process metrics', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    t.is(created.status, 201, created.text);
    await app.control('pay', created.body.orderNo);
    t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
    // Its events have waited ten minutes for a delivery (no worker runs here).
    const tenMinutesAgo = Date.now() - 600_000;
    await h.db('events').where({ order_id: created.body.id }).update({ created_at: tenMinutesAgo, next_attempt_at: tenMinutesAgo });

    const res = await scrape(app);
    t.is(res.status, 200, res.text);
    t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = res.text;
    t.is(sample(text, 'paygate_callbacks_total', { provider: 'fakepay', account: 'default', outcome: 'applied' }), 1);
    t.is(sample(text, 'paygate_order_transitions_total', { from: 'created', to: 'pending' }), 1);
    t.is(sample(text, 'paygate_order_transitions_total', { from: 'pending', to: 'paid' }), 1);
    t.is(sample(text, 'paygate_provider_call_duration_seconds_count', { provider: 'fakepay', operation: 'create', result: 'ok' }), 1);
    t.true((sample(text, 'paygate_provider_call_duration_seconds_count', { provider: 'fakepay', operation: 'verifyCallback', result: 'ok' }) ?? 0) >= 1);
    t.true((sample(text, 'paygate_provider_call_duration_seconds_bucket', { operation: 'create', result: 'ok', le: '+Inf' }) ?? 0) >= 1);
    t.true((sample(text, 'paygate_outbox_pending_events') ?? 0) >= 2, 'payment.pending and payment.paid wait for delivery');
    t.true((sample(text, 'paygate_outbox_oldest_pending_age_seconds') ?? 0) >= 600);
    t.true((sample(text, 'paygate_outbox_overdue_seconds') ?? 0) >= 600);
    t.truthy(sample(text, 'process_cpu_user_seconds_total'), 'default process metrics are served too');
    t.not(sample(text, 'nodejs_heap_size_used_bytes'), undefined);

    // The same notify again: answered from the finished row, nothing moves.
    await app.control('renotify', created.body.orderNo);
    const again = (await scrape(app)).text;
    t.is(sample(again, 'paygate_callbacks_total', { outcome: 'redelivered' }), 1);
    t.is(sample(again, 'paygate_order_transitions_total', { from: 'pending', to: 'paid' }), 1);

    // Another app in the same process counts only its own work.
    const other = await startApp(h);
    try {
      t.is(sample((await scrape(other)).text, 'paygate_order_transitions_total', { from: 'created', to: 'pending' }), undefined);
    } finally {
      await other.close();
    }
  });
});

dbTest('a provider call that throws is timed as a fault', async (t, h) => {
  await withApp(t, h, async (app) => {
    const provider = app.deps.registry.find('fakepay')!;
    const stub = sinon.stub(provider, 'create').rejects(new ProviderUnavailableError('fakepay create: connection refused'));
    try {
      t.is((await app.api('POST', '/v1/payments', paymentBody())).status, 502);
    } finally {
      stub.restore();
    }
    const text = (await scrape(app)).text;
    t.is(sample(text, 'paygate_provider_call_duration_seconds_count', { operation: 'create', result: 'fault' }), 1);
    t.is(sample(text, 'paygate_provider_call_duration_seconds_count', { operation: 'create', result: 'ok' }), undefined);
  });
});

dbTest('with PAYGATE_METRICS_TOKEN set, /metrics answers only that bearer token', async (t, h) => {
  const token = 'metrics-token-for-tests-0123456789';
  await withApp(
    t,
    h,
    async (app) => {
      const none = await scrape(app);
      t.is(none.status, 401);
      t.is(none.headers.get('www-authenticate'), 'Bearer');
      t.is(JSON.parse(none.text).error.code, 'unauthorized');
      t.notRegex(none.text, /paygate_/);
      t.is((await scrape(app, { authorization: `Bearer ${token}x` })).status, 401);
      t.is((await scrape(app, { authorization: `Basic ${token}` })).status, 401);
      const ok = await scrape(app, { authorization: `Bearer ${token}` });
      t.is(ok.status, 200);
      t.regex(ok.text, /# TYPE paygate_order_transitions_total counter/);
    },
    { metricsToken: token },
  );
});

dbTest('job health: last run, last success, consecutive failures of every running job runner', async (t, h) => {
  await withApp(t, h, async (app) => {
    let broken = 0;
    const runner = new JobRunner(
      [
        { name: 'metrics-test-works', intervalMs: 60_000, run: async () => 0 },
        { name: 'metrics-test-breaks', intervalMs: 60_000, run: async () => { broken++; throw new Error('boom'); } },
      ],
      silentLogger,
    );
    const before = Date.now() / 1000;
    runner.start();
    try {
      const deadline = Date.now() + 5_000;
      while ((broken < 1 || !runner.status()[0]!.lastSuccessAt) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const text = (await scrape(app)).text;
      t.true((sample(text, 'paygate_job_last_success_timestamp_seconds', { job: 'metrics-test-works' }) ?? 0) >= Math.floor(before));
      t.true((sample(text, 'paygate_job_last_run_timestamp_seconds', { job: 'metrics-test-breaks' }) ?? 0) >= Math.floor(before));
      t.is(sample(text, 'paygate_job_last_success_timestamp_seconds', { job: 'metrics-test-breaks' }), undefined, 'never succeeded');
      t.is(sample(text, 'paygate_job_consecutive_failures', { job: 'metrics-test-breaks' }), 1);
      t.is(sample(text, 'paygate_job_consecutive_failures', { job: 'metrics-test-works' }), 0);
      t.is(sample(text, 'paygate_job_failures_total', { job: 'metrics-test-breaks' }), 1);
      t.is(sample(text, 'paygate_job_runs_total', { job: 'metrics-test-works' }), 1);
    } finally {
      await runner.stop();
    }
    t.is(sample((await scrape(app)).text, 'paygate_job_runs_total', { job: 'metrics-test-works' }), undefined, 'a stopped runner is no longer reported');
  });
}, { serial: true });

test('an unreachable database makes the outbox gauges NaN, and the scrape still answers', async (t) => {
  const db = openDb('sqlite:/nonexistent-paygate-dir/none.sqlite');
  try {
    const metrics = new GatewayMetrics({ db, logger: silentLogger, jobs: () => [] });
    metrics.transition('created', 'pending');
    const text = await metrics.render();
    t.true(Number.isNaN(sample(text, 'paygate_outbox_pending_events')));
    t.true(Number.isNaN(sample(text, 'paygate_outbox_oldest_pending_age_seconds')));
    t.is(sample(text, 'paygate_order_transitions_total', { from: 'created', to: 'pending' }), 1);
  } finally {
    await db.destroy();
  }
});

// ---------------------------------------------------------------------------------------------
// Who may read /metrics (issue 13): loopback only by default, a token from anywhere, or open on purpose.

test('the access decision: token, then PAYGATE_METRICS_PUBLIC, then (a localhost public URL only) loopback peers that no proxy forwarded', (t) => {
  const cases: [policy: { token: boolean; open: boolean; local: boolean }, request: { tokenValid: boolean; socketAddress: string | undefined; forwarded: boolean }, expected: MetricsAccess][] = [
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '127.0.0.1', forwarded: false }, 'allow'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '127.8.9.10', forwarded: false }, 'allow'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '::1', forwarded: false }, 'allow'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '::ffff:127.0.0.1', forwarded: false }, 'allow'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '127.0.0.1', forwarded: true }, 'forbidden'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '203.0.113.9', forwarded: false }, 'forbidden'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '::ffff:10.0.0.1', forwarded: false }, 'forbidden'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: '::ffff:128.0.0.1', forwarded: false }, 'forbidden'],
    [{ token: false, open: false, local: true }, { tokenValid: false, socketAddress: undefined, forwarded: false }, 'forbidden'],
    [{ token: false, open: true, local: true }, { tokenValid: false, socketAddress: '203.0.113.9', forwarded: true }, 'allow'],
    [{ token: true, open: false, local: true }, { tokenValid: true, socketAddress: '203.0.113.9', forwarded: true }, 'allow'],
    [{ token: true, open: false, local: true }, { tokenValid: false, socketAddress: '127.0.0.1', forwarded: false }, 'unauthorized'],
    [{ token: true, open: true, local: true }, { tokenValid: false, socketAddress: '203.0.113.9', forwarded: false }, 'unauthorized'],
    // A public URL that is not localhost: loopback is no proof (a same-host TLS proxy without
    // X-Forwarded-For), so only the token or PAYGATE_METRICS_PUBLIC opens it.
    [{ token: false, open: false, local: false }, { tokenValid: false, socketAddress: '127.0.0.1', forwarded: false }, 'forbidden'],
    [{ token: false, open: false, local: false }, { tokenValid: false, socketAddress: '::1', forwarded: false }, 'forbidden'],
    [{ token: false, open: true, local: false }, { tokenValid: false, socketAddress: '127.0.0.1', forwarded: false }, 'allow'],
    [{ token: true, open: false, local: false }, { tokenValid: true, socketAddress: '127.0.0.1', forwarded: false }, 'allow'],
  ];
  for (const [policy, request, expected] of cases) t.is(metricsAccess(policy, request), expected, JSON.stringify({ policy, request }));
  t.false(isLoopback('127.0.0.1.example'));
  t.false(isLoopback('::2'));
});

test('GatewayMetrics checks the bearer token itself, and PAYGATE_METRICS_PUBLIC opens it', async (t) => {
  const db = openDb('sqlite::memory:');
  try {
    const remote = { socketAddress: '203.0.113.9', forwarded: false };
    const token = 'metrics-token-for-tests-0123456789';
    t.is(new GatewayMetrics({ db, logger: silentLogger }).access({ ...remote, authorization: '' }), 'forbidden');
    t.is(new GatewayMetrics({ db, logger: silentLogger, open: true }).access({ ...remote, authorization: '' }), 'allow');
    const guarded = new GatewayMetrics({ db, logger: silentLogger, token });
    t.is(guarded.access({ ...remote, authorization: `Bearer ${token}` }), 'allow');
    t.is(guarded.access({ ...remote, authorization: `Bearer ${token}x` }), 'unauthorized');
    t.is(guarded.access({ ...remote, authorization: '' }), 'unauthorized');
  } finally {
    await db.destroy();
  }
});

dbTest('without a token, a request that came through a proxy is not local: 403, whatever PAYGATE_TRUST_PROXY says', async (t, h) => {
  for (const trustProxy of [true, false]) {
    await withApp(
      t,
      h,
      async (app) => {
        t.is((await scrape(app)).status, 200, 'a local scraper is answered');
        for (const headers of <Record<string, string>[]>[{ 'x-forwarded-for': '203.0.113.9' }, { 'x-forwarded-for': '127.0.0.1' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }]) {
          const res = await scrape(app, headers);
          t.is(res.status, 403, JSON.stringify(headers));
          t.is(JSON.parse(res.text).error.code, 'forbidden');
          t.regex(JSON.parse(res.text).error.message, /PAYGATE_METRICS_TOKEN/);
          t.notRegex(res.text, /paygate_/);
        }
      },
      { trustProxy },
    );
  }
});

dbTest('with a token, a client from elsewhere (through a proxy) reads /metrics with it and not without', async (t, h) => {
  const token = 'metrics-token-for-tests-0123456789';
  await withApp(
    t,
    h,
    async (app) => {
      const remote = { 'x-forwarded-for': '203.0.113.9' };
      t.is((await scrape(app, remote)).status, 401);
      const ok = await scrape(app, { ...remote, authorization: `Bearer ${token}` });
      t.is(ok.status, 200);
      t.regex(ok.text, /# TYPE paygate_order_transitions_total counter/);
    },
    { metricsToken: token, trustProxy: true },
  );
});

/** This machine's first address that is not loopback, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && !i.internal && i.family === 'IPv4')?.address;

(external ? test : test.skip)(
  `a client connecting from a non-loopback address is refused without a token${external ? '' : ' (skipped: this machine has no non-loopback IPv4 address)'}`,
  async (t) => {
    const db = openDb('sqlite::memory:');
    const app = new Koa();
    app.use(errorMiddleware(silentLogger));
    app.use(metricsRoutes({ metrics: new GatewayMetrics({ db, logger: silentLogger, jobs: () => [] }) }).routes());
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, external!, resolve));
    try {
      const res = await fetch(`http://${external}:${(server.address() as AddressInfo).port}/metrics`);
      t.is(res.status, 403);
      t.notRegex(await res.text(), /paygate_/);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.destroy();
    }
  },
);

/** A Koa app serving only /metrics with `metrics`, on 127.0.0.1: what a same-host TLS proxy reaches. */
async function serveMetrics(metrics: GatewayMetrics, fn: (url: string) => Promise<void>): Promise<void> {
  const app = new Koa();
  app.use(errorMiddleware(silentLogger));
  app.use(metricsRoutes({ metrics }).routes());
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

test('a public PAYGATE_PUBLIC_URL without a token: /metrics answers nobody, not even loopback (a same-host TLS proxy adds no header), and says so once at start', async (t) => {
  const db = openDb('sqlite::memory:');
  try {
    const lines: string[] = [];
    const metrics = new GatewayMetrics({ db, logger: captureLogger(lines), publicUrl: 'https://pay.example.com', jobs: () => [] });
    await serveMetrics(metrics, async (url) => {
      // What nginx `proxy_pass http://127.0.0.1:3000;` forwards for any internet client: no X-Forwarded-For.
      const res = await fetch(`${url}/metrics`);
      t.is(res.status, 403);
      const text = await res.text();
      t.regex(JSON.parse(text).error.message, /PAYGATE_METRICS_TOKEN/);
      t.notRegex(text, /paygate_/);
    });
    const warnings = lines.filter((l) => l.startsWith('warn GET /metrics answers 403 to every client'));
    t.is(warnings.length, 1, lines.join('\n'));
    t.regex(warnings[0]!, /PAYGATE_METRICS_TOKEN/);

    // The token, or PAYGATE_METRICS_PUBLIC=true, opens it; neither warns.
    const token = 'metrics-token-for-tests-0123456789';
    const quiet: string[] = [];
    for (const options of [{ token }, { open: true }, { publicUrl: 'http://localhost:3000' }, { publicUrl: 'http://127.0.0.1:3000' }]) {
      const m = new GatewayMetrics({ db, logger: captureLogger(quiet), publicUrl: 'https://pay.example.com', jobs: () => [], ...options });
      await serveMetrics(m, async (url) => {
        const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        t.is(res.status, 200, JSON.stringify(options));
      });
    }
    t.deepEqual(quiet.filter((l) => l.includes('/metrics')), []);
  } finally {
    await db.destroy();
  }
});

test('PAYGATE_PUBLIC_URL reaches the metrics policy: https://… needs the token, the demo default (localhost) answers loopback', async (t) => {
  const statuses: Record<string, string> = {};
  for (const [name, env] of Object.entries({
    public: { PAYGATE_PUBLIC_URL: 'https://pay.example.com' },
    demo: {},
    publicWithToken: { PAYGATE_PUBLIC_URL: 'https://pay.example.com', PAYGATE_METRICS_TOKEN: 'metrics-token-for-tests-0123456789' },
  })) {
    const runtime = await bootstrap(loadConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', PAYGATE_SIMULATORS: 'off', ...env }));
    try {
      statuses[name] = runtime.metrics.access({ socketAddress: '127.0.0.1', forwarded: false, authorization: 'Bearer metrics-token-for-tests-0123456789' });
    } finally {
      await runtime.close();
    }
  }
  t.deepEqual(statuses, { public: 'forbidden', demo: 'allow', publicWithToken: 'allow' });
  t.true(isLocalUrl('http://localhost:3000') && isLocalUrl('http://127.0.0.1:8080/') && isLocalUrl('http://[::1]:3000'));
  t.false(isLocalUrl('https://pay.example.com') || isLocalUrl('http://localhost.example.com') || isLocalUrl('http://10.0.0.5:3000'));
});
