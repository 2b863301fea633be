/**
 * Credentials health in core and server (issue 13 item 6) with the test-only FakePay provider: the
 * verdicts and their log lines, the periodic probe job, a call whose answer proves the keys refused,
 * the hosted checkout's choice, the dashboard banner and the setting.
 */
import test from 'ava';
import { loadConfig } from '../../core/config.ts';
import { ProviderMisconfiguredError, ProviderUnavailableError } from '../../core/errors.ts';
import { JobRunner } from '../../core/jobs/runner.ts';
import { silentLogger } from '../../core/logger.ts';
import type { PaymentProvider, ProbeResult, ProviderModule } from '../../core/payment-provider.ts';
import { CONFIRM_COOLDOWN_MS, CredentialsHealth, probeAccounts, providerProbeJob, watchCredentials } from '../../core/provider-health.ts';
import { buildRegistry } from '../../core/registry.ts';
import { chooseProvider } from '../../core/hosted-checkout.ts';
import { findOrder } from '../../core/orders.ts';
import { signedIn } from '../helpers/admin-browser.ts';
import { paymentBody, startApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import { createFakePaySimulator } from '../../providers/_template/simulator.ts';
import { captureLogger, mountSimulator } from '../helpers/sim-server.ts';

async function fakepayBank() {
  return mountSimulator('/sim/fakepay', (baseUrl) => createFakePaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, 'applied'));
}

test('verdicts: rejected is logged once as an error, an unreachable probe keeps it, an ok probe clears it; each reaches the metric', (t) => {
  const lines: string[] = [];
  const seen: string[] = [];
  const health = new CredentialsHealth(
    { callback() {}, transition() {}, providerCall() {}, credentials: (p, a, s) => void seen.push(`${p}/${a}=${s}`) },
    captureLogger(lines),
  );
  t.like(health.get('x', 'a'), { state: 'unknown', checkedAt: null });
  t.notThrows(() => health.assertUsable('x', 'a'));

  health.record('x', 'a', { status: 'rejected', reason: 'E0002 – X-KeyID 驗證失敗' }, 'probe');
  health.record('x', 'a', { status: 'rejected', reason: 'E0002 – X-KeyID 驗證失敗' }, 'probe');
  t.is(lines.filter((l) => l.startsWith('error provider account credentials rejected')).length, 1, 'one error line per change');
  t.regex(lines.find((l) => l.startsWith('error'))!, /"provider":"x","account":"a".*E0002/);
  t.throws(() => health.assertUsable('x', 'a'), { instanceOf: ProviderMisconfiguredError });

  const kept = health.record('x', 'a', { status: 'unreachable', reason: 'connect ECONNREFUSED' }, 'probe');
  t.like(kept, { state: 'rejected', reason: 'E0002 – X-KeyID 驗證失敗' });
  t.deepEqual(health.rejected().map((h) => `${h.provider}/${h.account}`), ['x/a']);

  const cleared = health.record('x', 'a', { status: 'ok' }, 'probe');
  t.like(cleared, { state: 'ok', reason: null });
  t.true(lines.some((l) => l.startsWith('info provider account credentials accepted again')));
  t.notThrows(() => health.assertUsable('x', 'a'));
  t.deepEqual(health.rejected(), []);

  health.record('x', 'a', { status: 'unreachable', reason: 'HTTP 503' }, 'probe');
  t.like(health.get('x', 'a'), { state: 'unreachable' });
  t.notThrows(() => health.assertUsable('x', 'a'), 'an outage is not a misconfiguration');
  t.deepEqual(seen, ['x/a=rejected', 'x/a=rejected', 'x/a=rejected', 'x/a=ok', 'x/a=unreachable']);
});

test('a provider that cannot probe stays unknown; a probe that throws or hangs is unreachable, never rejected', async (t) => {
  const bank = await fakepayBank();
  try {
    const plain = fakePayModule();
    // The same module with its probe taken away, another that throws, another that never answers.
    const variant = (id: string, probe: PaymentProvider['probe'] | undefined): ProviderModule<any> => ({
      ...plain,
      id,
      createProvider: (account, config, context) => {
        const p = plain.createProvider(account, config, context);
        return Object.assign(Object.create(Object.getPrototypeOf(p)), p, { id, probe });
      },
    });
    const config = bank.sim.accountConfig();
    const { registry } = await buildRegistry({
      modules: [variant('noprobe', undefined), variant('throws', async () => Promise.reject(new Error('boom'))), variant('hangs', () => new Promise(() => {}))],
      config: { noprobe: { default: config }, throws: { default: config }, hangs: { default: config } },
      publicUrl: 'http://127.0.0.1:9',
      logger: silentLogger,
      simulateUnconfigured: false,
    });
    const results = await probeAccounts(registry, 200);
    t.deepEqual(results.map((h) => [h.provider, h.state]).sort(), [['hangs', 'unreachable'], ['throws', 'unreachable']]);
    t.like(registry.health('noprobe', 'default'), { state: 'unknown' });
  } finally {
    await bank.close();
    await bank.sim.close();
  }
});

test('the probe job runs at once when its runner starts, then waits its interval; stop ends it', async (t) => {
  const bank = await fakepayBank();
  try {
    const { registry } = await buildRegistry({
      modules: [fakePayModule()],
      config: { fakepay: { default: { ...bank.sim.accountConfig(), secret: 'not-the-secret-of-this-merchant' } } },
      publicUrl: 'http://127.0.0.1:9',
      logger: silentLogger,
      simulateUnconfigured: false,
    });
    const runner = new JobRunner([providerProbeJob(registry, 60_000)], silentLogger);
    runner.start();
    const deadline = Date.now() + 5_000;
    while (registry.health('fakepay', 'default').state === 'unknown' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    t.like(registry.health('fakepay', 'default'), { state: 'rejected', source: 'probe' });
    const [status] = runner.status();
    t.like(status, { name: 'provider-probe', runs: 1, failures: 0 });
    await runner.stop();
  } finally {
    await bank.close();
    await bank.sim.close();
  }
});

test('a query whose answer proves the secret wrong marks the account rejected (source call) and stays a retryable fault', async (t) => {
  const bank = await fakepayBank();
  try {
    const { registry } = await buildRegistry({
      modules: [fakePayModule()],
      config: { fakepay: { default: { ...bank.sim.accountConfig(), secret: 'not-the-secret-of-this-merchant' } } },
      publicUrl: 'http://127.0.0.1:9',
      logger: silentLogger,
      simulateUnconfigured: false,
    });
    const provider = registry.find('fakepay', 'default')!;
    const order = { orderNo: '26010100000000000001' } as Parameters<PaymentProvider['query']>[0]['order'];
    const err = await t.throwsAsync(provider.query({ order }), { instanceOf: ProviderUnavailableError });
    t.true(err.credentialsRejected);
    t.like(registry.health('fakepay', 'default'), { state: 'rejected', source: 'call' });
  } finally {
    await bank.close();
    await bank.sim.close();
  }
});

test('PAYGATE_PROBE_INTERVAL_SECONDS: 300 s by default, 0 turns probing off, negative is refused', (t) => {
  t.is(loadConfig({}).probeIntervalMs, 300_000);
  t.is(loadConfig({ PAYGATE_PROBE_INTERVAL_SECONDS: '0' }).probeIntervalMs, 0);
  t.is(loadConfig({ PAYGATE_PROBE_INTERVAL_SECONDS: '60' }).probeIntervalMs, 60_000);
  t.throws(() => loadConfig({ PAYGATE_PROBE_INTERVAL_SECONDS: '-1' }), { message: /PAYGATE_PROBE_INTERVAL_SECONDS/ });
});

dbTest('hosted checkout: choosing a rejected account answers provider_misconfigured and the order waits for another choice', async (t, h) => {
  const bank = await fakepayBank();
  const app = await startApp(h, { modules: [fakePayModule()], providers: { fakepay: { default: bank.sim.accountConfig() } } });
  try {
    const created = await app.api('POST', '/v1/payments', paymentBody({ provider: undefined, method: undefined }));
    t.is(created.status, 201, created.text);
    app.deps.registry.credentials.record('fakepay', 'default', { status: 'rejected', reason: 'BAD_SIGN' }, 'probe');
    await t.throwsAsync(chooseProvider(app.deps, created.body.id, { provider: 'fakepay', account: 'default', method: 'card' }), { instanceOf: ProviderMisconfiguredError });
    t.like(await findOrder(h.db, created.body.id), { status: 'created', provider: null });
    t.is(bank.sim.trades.size, 0, 'the provider was not asked');

    app.deps.registry.credentials.record('fakepay', 'default', { status: 'ok' }, 'probe');
    const chosen = await chooseProvider(app.deps, created.body.id, { provider: 'fakepay', account: 'default', method: 'card' });
    t.is(chosen.status, 'pending');
  } finally {
    await app.close();
    await bank.close();
    await bank.sim.close();
  }
});

dbTest('the dashboard overview shows a banner naming a rejected account, and none once a probe succeeds', async (t, h) => {
  const bank = await fakepayBank();
  const config = bank.sim.accountConfig();
  const app = await startApp(h, { modules: [fakePayModule()], providers: { fakepay: { shop2: { ...config, secret: 'not-the-secret-of-this-merchant' } } } });
  try {
    const b = await signedIn(app);
    t.false((await b.get('/admin')).text.includes('data-testid="alert"'));
    await probeAccounts(app.deps.registry);
    const page = await b.get('/admin');
    const banner = /<div class="flash flash-error" role="alert" data-testid="alert">([^<]*)<\/div>/.exec(page.text);
    t.truthy(banner, page.text.slice(0, 500));
    t.regex(banner![1]!, /Provider fakepay account shop2: the provider refuses its credentials/);
    t.false(page.text.includes(config.secret));
    t.false(page.text.includes('not-the-secret-of-this-merchant'));
    app.deps.registry.credentials.record('fakepay', 'shop2', { status: 'ok' }, 'probe');
    t.false((await b.get('/admin')).text.includes('data-testid="alert"'));
  } finally {
    await app.close();
    await bank.close();
    await bank.sim.close();
  }
});

// ---------------------------------------------------------------------------------------------
// A call's fault is a suspicion, confirmed by a probe at once; anonymous input never marks

/** FakePay under another face: `overrides(plain)` replaces some of its methods. */
function variantModule(overrides: (plain: PaymentProvider) => Partial<PaymentProvider>): ProviderModule<any> {
  const plain = fakePayModule();
  return {
    ...plain,
    createProvider: (account, config, context) => {
      const p = plain.createProvider(account, config, context);
      return Object.assign(Object.create(Object.getPrototypeOf(p)), p, overrides(p));
    },
  };
}

const refusedKeys = () => new ProviderUnavailableError('FakePay: HTTP 401', undefined, { credentialsRejected: true });
const anyOrder = { orderNo: '26010100000000000001' } as Parameters<PaymentProvider['query']>[0]['order'];

test('a fault that looks like refused keys triggers one probe at once; only a probe that answers rejected marks the account', async (t) => {
  const bank = await fakepayBank();
  try {
    let probes = 0;
    let verdict: ProbeResult = { status: 'ok' };
    const registryWith = async () =>
      (await buildRegistry({
        modules: [
          variantModule(() => ({
            query: () => Promise.reject(refusedKeys()),
            probe: async () => {
              probes++;
              await new Promise((r) => setTimeout(r, 50)); // long enough for every fault below to join it
              return verdict;
            },
          })),
        ],
        config: { fakepay: { default: bank.sim.accountConfig() } },
        publicUrl: 'http://127.0.0.1:9',
        logger: silentLogger,
        simulateUnconfigured: false,
      })).registry;

    // The provider accepts the keys: ten suspicious faults at once, one probe, the account stays usable.
    const trusting = await registryWith();
    const provider = trusting.find('fakepay', 'default')!;
    const faults = await Promise.allSettled(Array.from({ length: 10 }, () => provider.query({ order: anyOrder })));
    t.true(faults.every((f) => f.status === 'rejected' && f.reason instanceof ProviderUnavailableError && f.reason.credentialsRejected), 'each caller still sees its fault');
    t.is(probes, 1);
    t.like(trusting.health('fakepay', 'default'), { state: 'ok', source: 'call' });
    t.notThrows(() => trusting.credentials.assertUsable('fakepay', 'default'));
    // Right after, a further fault reuses that answer (CONFIRM_COOLDOWN_MS): no probe per fault.
    await t.throwsAsync(provider.query({ order: anyOrder }));
    t.is(probes, 1);

    // The probe refused too: now, and only now, the account is rejected.
    verdict = { status: 'rejected', reason: 'BAD_SIGN' };
    const refusing = await registryWith();
    await t.throwsAsync(refusing.find('fakepay', 'default')!.query({ order: anyOrder }));
    t.is(probes, 2);
    t.like(refusing.health('fakepay', 'default'), { state: 'rejected', source: 'call', reason: 'BAD_SIGN' });
  } finally {
    await bank.close();
    await bank.sim.close();
  }
});

test('the cooldown between confirming probes is CONFIRM_COOLDOWN_MS, then a fault probes again', async (t) => {
  let clock = 1_000_000;
  let probes = 0;
  const health = new CredentialsHealth();
  const provider = {
    id: 'x',
    account: 'a',
    query: () => Promise.reject(refusedKeys()),
    probe: async () => (probes++, { status: 'rejected' as const, reason: 'refused' }),
  } as unknown as PaymentProvider;
  const watched = watchCredentials(provider, health, { now: () => clock });
  await t.throwsAsync(watched.query({ order: anyOrder }));
  clock += CONFIRM_COOLDOWN_MS - 1;
  await t.throwsAsync(watched.query({ order: anyOrder }));
  t.is(probes, 1);
  clock += 1;
  await t.throwsAsync(watched.query({ order: anyOrder }));
  t.is(probes, 2);
  t.like(health.get('x', 'a'), { state: 'rejected', source: 'call' });
});

test('verifyCallback runs on anonymous input: its faults never probe nor mark the account, however many', async (t) => {
  const bank = await fakepayBank();
  try {
    let probes = 0;
    const { registry } = await buildRegistry({
      modules: [
        variantModule(() => ({
          verifyCallback: () => Promise.reject(refusedKeys()),
          probe: async () => (probes++, { status: 'rejected' as const, reason: 'would be marked' }),
        })),
      ],
      config: { fakepay: { default: bank.sim.accountConfig() } },
      publicUrl: 'http://127.0.0.1:9',
      logger: silentLogger,
      simulateUnconfigured: false,
    });
    const provider = registry.find('fakepay', 'default')!;
    const request = { kind: 'notify', method: 'POST', contentType: 'application/x-www-form-urlencoded', body: 'notify_id=forged', query: {}, headers: {} } as unknown as Parameters<PaymentProvider['verifyCallback']>[0];
    for (let i = 0; i < 20; i++) await t.throwsAsync(provider.verifyCallback(request));
    t.is(probes, 0);
    t.like(registry.health('fakepay', 'default'), { state: 'unknown' });
  } finally {
    await bank.close();
    await bank.sim.close();
  }
});

dbTest('a create whose fault looks like refused keys, while the probe accepts them, stays a retryable 502 and the next create goes through', async (t, h) => {
  const bank = await fakepayBank();
  let creates = 0;
  const app = await startApp(h, {
    modules: [variantModule((plain) => ({ create: (input) => (++creates === 1 ? Promise.reject(refusedKeys()) : plain.create(input)) }))],
    providers: { fakepay: { default: bank.sim.accountConfig() } },
  });
  try {
    const first = await app.api('POST', '/v1/payments', paymentBody());
    t.is(first.status, 502, first.text);
    t.is(first.body.error.code, 'provider_unavailable');
    t.like(app.deps.registry.health('fakepay', 'default'), { state: 'ok' }, 'the probe it triggered accepted the keys');
    t.is((await app.raw('GET', '/readyz')).status, 200);
    const second = await app.api('POST', '/v1/payments', paymentBody());
    t.is(second.status, 201, second.text);
  } finally {
    await app.close();
    await bank.close();
    await bank.sim.close();
  }
});

dbTest('public /readyz names the rejected account, never why (the log line and the dashboard do)', async (t, h) => {
  const bank = await fakepayBank();
  const config = bank.sim.accountConfig();
  const app = await startApp(h, { modules: [fakePayModule()], providers: { fakepay: { shop2: { ...config, secret: 'not-the-secret-of-this-merchant' }, shop3: config } } });
  try {
    const verdicts = await probeAccounts(app.deps.registry);
    t.deepEqual(verdicts.map((v) => `${v.account}=${v.state}`).sort(), ['shop2=rejected', 'shop3=ok']);
    const ready = await app.raw('GET', '/readyz');
    t.is(ready.status, 503);
    t.deepEqual(JSON.parse(ready.text), {
      status: 'unavailable',
      rejectedAccounts: 1,
      error: {
        code: 'provider_misconfigured',
        message: 'Provider credentials rejected: fakepay/shop2; the log and the dashboard say why',
        details: [{ path: 'providers.fakepay.shop2', message: 'credentials rejected' }],
      },
    });
    t.notRegex(ready.text, /shop3|BAD_SIGN|secret/i);
  } finally {
    await app.close();
    await bank.close();
    await bank.sim.close();
  }
});
