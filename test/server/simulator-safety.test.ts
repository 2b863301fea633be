/**
 * Money is never decided by a simulator in a gateway that takes real money (issue 13, item 1):
 * simulators and real accounts do not run in one process, and what a simulator took is marked
 * `simulated` in the API, in events and on the order row.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../core/logger.ts';
import { buildRegistry } from '../../core/registry.ts';
import { ConfigError } from '../../core/errors.ts';
import { providerModules } from '../../providers/index.ts';
import { paymentBody, startApp, withApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import { createFakePaySimulator } from '../../providers/_template/simulator.ts';
import { freePort, waitExit } from '../helpers/mariadb.ts';
import { listen } from '../helpers/sim-server.ts';

/** A clearly fake ECPay account (the shape a real one has); nothing is ever sent to it. */
const FAKE_ECPAY = { MerchantID: '3002607', HashKey: 'FakeHashKey00001', HashIV: 'FakeHashIV000001', baseUrl: 'http://127.0.0.1:9' };

test('PAYGATE_SIMULATORS=on beside a real ECPay account: the gateway refuses to start and says why and what to do', async (t) => {
  t.timeout(60_000);
  const dir = await mkdtemp(join(tmpdir(), 'paygate-simsafety-'));
  try {
    const config = join(dir, 'paygate.json');
    await writeFile(config, JSON.stringify({ providers: { ecpay: { default: FAKE_ECPAY } } }));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'x.sqlite')}`,
      PAYGATE_CONFIG: config,
      PAYGATE_SIMULATORS: 'on',
      PAYGATE_ADMIN_PASSWORD: 'fake-admin-password-for-tests',
      LOG_LEVEL: 'warn',
    };
    const proc = spawn(process.execPath, ['--import=tsx', 'server/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    t.true(await waitExit(proc, 50_000), 'the gateway exits by itself');
    t.is(proc.exitCode, 1);
    t.regex(stderr, /simulators cannot run beside real accounts \(configured: ecpay\)/i);
    t.regex(stderr, /PAYGATE_SIMULATORS=on/);
    t.notRegex(stderr + stdout, /FakeHashKey00001|FakeHashIV000001/, 'no key in the message');
    const listening = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1_000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
    t.false(listening, 'nothing listens: no /sim/ control API beside the real account');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('buildRegistry refuses simulators beside a configured account, whatever called it', async (t) => {
  const err = await t.throwsAsync(
    async () =>
      await buildRegistry({
        modules: providerModules,
        config: { ecpay: { default: FAKE_ECPAY } },
        publicUrl: 'https://pay.example',
        logger: silentLogger,
        simulateUnconfigured: true,
      }),
    { instanceOf: ConfigError },
  );
  t.regex(err.message, /configured: ecpay/);
  // Without simulators the other providers are simply not offered, and no /sim/ is mounted.
  const { registry, simulators } = await buildRegistry({
    modules: providerModules,
    config: { ecpay: { default: FAKE_ECPAY } },
    publicUrl: 'https://pay.example',
    logger: silentLogger,
    simulateUnconfigured: false,
  });
  t.is(simulators.length, 0);
  t.deepEqual([...new Set(registry.list().map((a) => a.provider))], ['ecpay']);
  t.false(registry.simulated);
});

dbTest('a payment taken by a simulator is marked simulated in the API, its events and its row', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    t.is(created.status, 201, created.text);
    t.true(created.body.simulated);
    await app.control('pay', created.body.orderNo);
    const fetched = await app.api('GET', `/v1/payments/${created.body.id}`);
    t.is(fetched.body.status, 'paid');
    t.true(fetched.body.simulated);
    const events = await app.api('GET', '/v1/events');
    const paid = events.body.data.find((e: any) => e.type === 'payment.paid' && e.data.payment.id === created.body.id);
    t.truthy(paid, events.text);
    t.true(paid.data.payment.simulated, 'the webhook body says so too');
    const page = await app.raw('GET', `${new URL(fetched.body.checkoutUrl).pathname}${new URL(fetched.body.checkoutUrl).search}&lang=en`);
    t.is(page.status, 200, page.text);
    t.regex(page.text, /data-testid="simulated">Simulated payment: a test on a provider simulator\. No money moved\./, 'the buyer is told');
    const row = await h.db('orders').where({ id: created.body.id }).first();
    t.true(Boolean(Number(row.simulated)));
    // A hosted checkout (no provider yet) on a simulator installation is marked from the start.
    const hosted = await app.api('POST', '/v1/payments', paymentBody({ provider: undefined, method: undefined }));
    t.is(hosted.status, 201, hosted.text);
    t.true(hosted.body.simulated);
  });
});

dbTest('a payment through a configured account is not marked simulated', async (t, h) => {
  const server = await listen((req, res) => sim.handler(req, res));
  const sim = createFakePaySimulator({ baseUrl: server.base, logger: silentLogger, timeScale: 0.001 });
  const app = await startApp(h, { modules: [fakePayModule()], providers: { fakepay: { default: sim.accountConfig() } } });
  try {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    t.is(created.status, 201, created.text);
    t.false(created.body.simulated);
    const control = await app.raw('POST', '/sim/fakepay/_control/pay', { body: JSON.stringify({ orderNo: created.body.orderNo }), headers: { 'content-type': 'application/json' } });
    t.is(control.status, 404, 'no simulator is mounted beside a configured account');
  } finally {
    await app.close();
    await sim.close();
    await server.close();
  }
});
