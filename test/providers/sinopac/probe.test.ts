/**
 * SinoPac credentials probe (issue 13 item 6): a wrong B2 or KeyID used to look like a bank outage
 * forever. The bank's simulator runs apart from the app, as the real bank does.
 */
import test from 'ava';
import { silentLogger } from '../../../core/logger.ts';
import { probeAccounts } from '../../../core/provider-health.ts';
import { sinopacModule } from '../../../providers/sinopac/index.ts';
import { createSinopacSimulator } from '../../../providers/sinopac/simulator/index.ts';
import { paymentBody, startApp } from '../../helpers/app.ts';
import { dbTest } from '../../helpers/db.ts';
import { probeScenarios } from '../../helpers/probe-scenarios.ts';
import { mountSimulator } from '../../helpers/sim-server.ts';

/** Another 16-hex-digit value than the one given. */
const other = (hex: unknown) => (String(hex).startsWith('0') ? '1' : '0') + String(hex).slice(1);

probeScenarios({
  id: 'sinopac',
  module: () => sinopacModule(),
  simulator: (baseUrl) => createSinopacSimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null }),
  wrong: [
    { name: 'wrong B2', change: (c) => ({ ...c, B2: other(c.B2) }) },
    { name: 'wrong A1', change: (c) => ({ ...c, A1: other(c.A1) }) },
    { name: 'wrong KeyID', change: (c) => ({ ...c, KeyID: '00000000-0000-4000-8000-000000000000' }) },
    { name: 'wrong ShopNo', change: (c) => ({ ...c, ShopNo: 'NOSUCH_001' }) },
  ],
  unreachable: (c) => ({ ...c, baseUrl: 'http://127.0.0.1:9/funBIZ/QPay.WebAPI/api/', timeoutMs: 2_000 }),
  body: { provider: 'sinopac', method: 'atm' },
  createCallsProvider: true,
  secrets: (c) => [String(c.A1), String(c.A2), String(c.B1), String(c.B2), String(c.KeyID)],
});

test('sinopac: the bank refusing with HTTP 401 (its WAF page) is rejected too', async (t) => {
  const mounted = await mountSimulator('/sim/sinopac', (baseUrl) =>
    createSinopacSimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null, rejection: 'http' }),
  );
  try {
    const config = mounted.sim.accountConfig('default');
    const provider = sinopacModule().createProvider('default', { ...config, KeyID: 'not-the-key-id' }, {
      logger: silentLogger,
      callbackUrls: { notifyUrl: 'http://127.0.0.1:9/n', returnUrl: 'http://127.0.0.1:9/r' },
    });
    const result = await provider.probe!();
    t.is(result.status, 'rejected');
    t.regex('reason' in result ? result.reason : '', /401/);
  } finally {
    await mounted.close();
    await mounted.sim.close();
  }
});

dbTest('sinopac: before any probe, a create the bank refuses for its keys answers provider_misconfigured and marks the account', async (t, h) => {
  const mounted = await mountSimulator('/sim/sinopac', (baseUrl) => createSinopacSimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null }));
  const config = mounted.sim.accountConfig('default');
  const app = await startApp(h, { modules: [sinopacModule()], providers: { sinopac: { default: { ...config, B2: other(config.B2) } } } });
  try {
    const first = await app.api('POST', '/v1/payments', paymentBody({ provider: 'sinopac', method: 'atm' }));
    t.is(first.status, 503, first.text);
    t.is(first.body.error.code, 'provider_misconfigured');
    t.like(app.deps.registry.health('sinopac', 'default'), { state: 'rejected', source: 'call' });
    const ready = await app.raw('GET', '/readyz');
    t.is(ready.status, 503);
    t.regex(ready.text, /sinopac\/default/);
    // Marked: the next create is answered without asking the bank.
    const calls = mounted.sim.orders.length;
    const second = await app.api('POST', '/v1/payments', paymentBody({ provider: 'sinopac', method: 'atm' }));
    t.is(second.body.error.code, 'provider_misconfigured');
    t.is(mounted.sim.orders.length, calls);
    // Unreachable probes keep it rejected; the keys were never shown to work.
    await mounted.close();
    const [health] = await probeAccounts(app.deps.registry);
    t.like(health, { state: 'rejected' });
  } finally {
    await app.close();
    await mounted.close();
    await mounted.sim.close();
  }
});
