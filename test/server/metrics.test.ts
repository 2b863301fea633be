import test from 'ava';
import sinon from 'sinon';
import { openDb } from '../../core/db.ts';
import { ProviderUnavailableError } from '../../core/errors.ts';
import { JobRunner } from '../../core/jobs/runner.ts';
import { silentLogger } from '../../core/logger.ts';
import { GatewayMetrics } from '../../server/metrics.ts';
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
