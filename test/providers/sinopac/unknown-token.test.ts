/**
 * Forged SinoPac notifies cost the bank at most one OrderPayQuery per made-up token (issue 13,
 * item 5): a token the bank said it does not know is answered from memory for a while, counted
 * apart in /metrics; a genuine token is never held back by it.
 */
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sinon from 'sinon';
import { silentLogger } from '../../../core/logger.ts';
import type { CallbackRequest } from '../../../core/payment-provider.ts';
import { SinopacProvider } from '../../../providers/sinopac/adapter.ts';
import { sinopacConfig } from '../../../providers/sinopac/config.ts';
import { sinopacModule } from '../../../providers/sinopac/index.ts';
import { createSinopacSimulator } from '../../../providers/sinopac/simulator/index.ts';
import { startApp } from '../../helpers/app.ts';
import { dbTest } from '../../helpers/db.ts';

const notify = (shopNo: string, payToken: string, pad = ''): CallbackRequest => ({
  kind: 'notify',
  httpMethod: 'POST',
  contentType: 'application/json',
  rawBody: `{"ShopNo":"${shopNo}",${pad}"PayToken":"${payToken}"}`,
  rawQuery: '',
  headers: {},
});

test('a made-up PayToken is asked about once; the next bodies carrying it cost no bank call', async (t) => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bank = createSinopacSimulator({ baseUrl: base, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null });
  server.on('request', (req, res) => bank.handler(req, res));
  try {
    const settings = sinopacConfig.parse(bank.accountConfig('default'));
    const spy = sinon.spy(fetch);
    const provider = new SinopacProvider('default', settings, { notifyUrl: `${base}/n`, returnUrl: `${base}/r` }, silentLogger, spy);
    const token = 'f'.repeat(64);
    const first = await provider.verifyCallback(notify(settings.ShopNo, token));
    t.false(first.verified);
    t.falsy(!first.verified && first.cached);
    const asked = spy.callCount;
    t.true(asked >= 1, 'the first one went to the bank');
    for (let i = 0; i < 20; i++) {
      const again = await provider.verifyCallback(notify(settings.ShopNo, token, ' '.repeat(i)));
      t.false(again.verified);
      t.true(!again.verified && again.cached === true);
    }
    t.is(spy.callCount, asked, 'twenty more bodies with the same token: no bank call');
    // Another made-up token is its own question.
    await provider.verifyCallback(notify(settings.ShopNo, 'e'.repeat(64)));
    t.true(spy.callCount > asked);
  } finally {
    await bank.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

dbTest('forged notifies with one made-up token: one bank question, the rest counted as rejected_cached; a genuine payment still lands', async (t, h) => {
  let bank: any;
  const app = await startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null }, onSimulator: (s) => (bank = s) })] });
  try {
    const shopNo = bank.accountConfig('default').ShopNo;
    const token = 'a'.repeat(64);
    for (let i = 0; i < 5; i++) {
      const res = await app.raw('POST', '/callbacks/sinopac/default/notify', { body: notify(shopNo, token, ' '.repeat(i)).rawBody, headers: { 'content-type': 'application/json' } });
      t.is(res.status, 200, 'acknowledged on store, as the bank expects');
      await app.background.drain();
    }
    const rows = await h.db('provider_callbacks').where({ provider: 'sinopac', kind: 'notify' }).andWhere('dedupe_key', 'like', `${token}%`);
    t.is(rows.length, 5, 'every forgery is kept for audit');
    t.true(rows.every((r: any) => r.outcome === 'rejected'));
    const metrics = (await app.raw('GET', '/metrics')).text;
    t.regex(metrics, /paygate_callbacks_total\{provider="sinopac",account="default",outcome="rejected_cached"\} 4/);

    const created = await app.api('POST', '/v1/payments', {
      merchantOrderId: `U${Date.now()}`,
      currency: 'TWD',
      amount: 79900,
      items: [{ sku: 'TEA-1', name: 'Tea', unitAmount: 79900, quantity: 1 }],
      provider: 'sinopac',
      method: 'atm',
    });
    t.is(created.status, 201, created.text);
    await bank.pay(created.body.orderNo);
    const deadline = Date.now() + 10_000;
    let status = '';
    while (Date.now() < deadline && status !== 'paid') {
      await app.background.drain();
      status = (await app.api('GET', `/v1/payments/${created.body.id}`)).body.status;
      if (status !== 'paid') await new Promise((r) => setTimeout(r, 25));
    }
    t.is(status, 'paid');
  } finally {
    await app.close();
  }
});
