/**
 * SinoPac credentials probe (issue 13 item 6): a wrong B2 or KeyID used to look like a bank outage
 * forever. The bank's simulator runs apart from the app, as the real bank does.
 */
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../../core/logger.ts';
import { probeAccounts } from '../../../core/provider-health.ts';
import { sinopacModule } from '../../../providers/sinopac/index.ts';
import { sinopacConfig } from '../../../providers/sinopac/config.ts';
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
  // A wrong KeyID or ShopNo is refused at the Nonce step, which proves nothing (below).
  wrong: [
    { name: 'wrong B2', change: (c) => ({ ...c, B2: other(c.B2) }) },
    { name: 'wrong A1', change: (c) => ({ ...c, A1: other(c.A1) }) },
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
    const provider = sinopacModule().createProvider('default', sinopacConfig.parse({ ...config, KeyID: 'not-the-key-id' }), {
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
    t.is(JSON.parse(ready.text).rejectedAccounts, 1);
    t.true(ready.text.includes('sinopac/default'), 'the public answer names the account');
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

/** A server answering every request with `status`, as a WAF or rate limiter in front of the bank would. */
async function answering(status: number, body: string, fn: (baseUrl: string, hits: () => number) => Promise<void>): Promise<void> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/funBIZ/QPay.WebAPI/api/`, () => hits);
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

test('sinopac: HTTP 403 (a WAF or rate limiter answering a flood) and a refused Nonce are unreachable, never rejected; HTTP 401 stays rejected', async (t) => {
  const mounted = await mountSimulator('/sim/sinopac', (baseUrl) => createSinopacSimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null }));
  try {
    const config = mounted.sim.accountConfig('default');
    const make = (c: typeof config) =>
      sinopacModule().createProvider('default', sinopacConfig.parse(c), { logger: silentLogger, callbackUrls: { notifyUrl: 'http://127.0.0.1:9/n', returnUrl: 'http://127.0.0.1:9/r' } });

    await answering(403, '<html><title>Forbidden</title></html>', async (baseUrl) => {
      const result = await make({ ...config, baseUrl }).probe!();
      t.is(result.status, 'unreachable', JSON.stringify(result));
      t.regex('reason' in result ? result.reason : '', /403/);
    });
    await answering(401, '<html><title>Request Rejected</title></html>', async (baseUrl) => {
      t.is((await make({ ...config, baseUrl }).probe!()).status, 'rejected');
    });

    // The Nonce step carries only ShopNo and X-KeyID; the bank's refusal of it is UNVERIFIED, and a
    // throttled Nonce must not look like wrong keys. The reason keeps the bank's words.
    for (const change of [{ KeyID: '00000000-0000-4000-8000-000000000000' }, { ShopNo: 'NOSUCH_001' }]) {
      const result = await make({ ...config, ...change }).probe!();
      t.is(result.status, 'unreachable', JSON.stringify(result));
      t.regex('reason' in result ? result.reason : '', /Nonce refused: E000\d/);
      for (const secret of [config.A1, config.A2, config.B1, config.B2, config.KeyID]) t.false(JSON.stringify(result).includes(String(secret)));
    }
  } finally {
    await mounted.close();
    await mounted.sim.close();
  }
});

dbTest('sinopac: a forged notify flood the bank refuses (its calls answered 403 or 401) never marks the account; /readyz stays 200', async (t, h) => {
  // The bank behind a WAF that refuses everything from us now (as it might during a flood of the
  // OrderPayQuery calls forged notifies cause): verifyCallback faults, and the account is untouched.
  for (const status of [401, 403]) {
    await answering(status, 'Request Rejected', async (baseUrl, hits) => {
      const mounted = await mountSimulator('/sim/sinopac', (simUrl) => createSinopacSimulator({ baseUrl: simUrl, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null }));
      const config = mounted.sim.accountConfig('default');
      const app = await startApp(h, { modules: [sinopacModule()], providers: { sinopac: { default: { ...config, baseUrl } } } });
      try {
        for (let i = 0; i < 5; i++) {
          const forged = JSON.stringify({ ShopNo: config.ShopNo, PayToken: `${'ab'.repeat(31)}${String(i).padStart(2, '0')}` });
          await app.raw('POST', '/callbacks/sinopac/default/notify', { body: forged, headers: { 'content-type': 'application/json' } });
        }
        // One call the bank refuses used to be enough to mark the account (callback guards may stop later ones).
        t.true(hits() > 0, `the forged notifies made us call the bank (${hits()})`);
        t.like(app.deps.registry.health('sinopac', 'default'), { state: 'unknown' }, `HTTP ${status}`);
        t.is((await app.raw('GET', '/readyz')).status, 200);
      } finally {
        await app.close();
        await mounted.close();
        await mounted.sim.close();
      }
    });
  }
});
