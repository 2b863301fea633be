/**
 * One rule for every provider (providers/kit/fields.ts): a callback that names a field twice is
 * malformed. It is kept for audit (`malformed`), answered 400 naming the field, and changes nothing;
 * the genuine message, sent afterwards, still lands.
 */
import sinon from 'sinon';
import { ValidationError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { CallbackRequest } from '../../core/payment-provider.ts';
import { alipayModule } from '../../providers/alipay/index.ts';
import type { AlipaySimulator } from '../../providers/alipay/simulator/index.ts';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import type { EcpaySimulator } from '../../providers/ecpay/simulator/index.ts';
import { REPEATED_FIELD } from '../../providers/kit/fields.ts';
import { SinopacProvider } from '../../providers/sinopac/adapter.ts';
import { sinopacConfig } from '../../providers/sinopac/config.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import type { SinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

const FORM = 'application/x-www-form-urlencoded';

function payment(provider: string, currency: string, amount: number, method: string) {
  return {
    merchantOrderId: `R${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
    currency,
    amount,
    items: [{ sku: 'TEA-1', name: 'Tea', unitAmount: amount, quantity: 1 }],
    provider,
    method,
  };
}

/** Posts `body` to the notify endpoint; the answer, the order afterwards and the row it left. */
async function notify(app: TestApp, h: TestDbHandle, provider: string, body: string, contentType: string, orderId: string) {
  const res = await app.raw('POST', `/callbacks/${provider}/default/notify`, { body, headers: { 'content-type': contentType } });
  await app.background.drain();
  const order = await h.db('orders').where({ id: orderId }).first();
  const row = await h.db('provider_callbacks').where({ provider, kind: 'notify', raw_body: body }).first();
  return { res, order, row };
}

dbTest('Alipay: a notify naming a field twice is malformed, changes nothing; the genuine one still pays', async (t, h) => {
  let sim: AlipaySimulator | undefined;
  const app = await startApp(h, { modules: [alipayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', payment('alipay', 'CNY', 8888, 'page'));
    t.is(created.status, 201, created.text);
    await (await fetch(created.body.action.url)).arrayBuffer();
    const before = await h.db('orders').where({ id: created.body.id }).first();
    const signed = new URLSearchParams(sim!.notifyParams(created.body.orderNo, { status: 'TRADE_SUCCESS' })).toString();

    for (const body of [`${signed}&total_amount=0.01`, `${signed}&trade_status=TRADE_SUCCESS`, `trade_status=WAIT_BUYER_PAY&${signed}`]) {
      const { res, order, row } = await notify(app, h, 'alipay', body, FORM, created.body.id);
      t.is(res.status, 400, body.slice(-40));
      t.not(res.text, 'success');
      t.is(order.status, before.status);
      t.is(Number(order.version), Number(before.version));
      t.like(row, { outcome: 'malformed' });
      t.regex(row.error, /(total_amount|trade_status): is sent more than once/);
    }
    const genuine = await notify(app, h, 'alipay', signed, FORM, created.body.id);
    t.is(genuine.res.text, 'success');
    t.is(genuine.order.status, 'paid');
  } finally {
    await app.close();
  }
});

dbTest('ECPay: a notice naming a field twice is malformed, changes nothing; the genuine one still pays', async (t, h) => {
  let sim: EcpaySimulator | undefined;
  const app = await startApp(h, { modules: [ecpayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', payment('ecpay', 'TWD', 120000, 'card'));
    t.is(created.status, 201, created.text);
    await (await fetch(created.body.action.url, { method: 'POST', body: new URLSearchParams(created.body.action.fields), redirect: 'manual' })).arrayBuffer();
    const before = await h.db('orders').where({ id: created.body.id }).first();
    const signed = new URLSearchParams(sim!.noticeFields(created.body.orderNo, 'paid')).toString();

    for (const body of [`${signed}&TradeAmt=1`, `${signed}&RtnCode=1`, `CheckMacValue=0&${signed}`]) {
      const { res, order, row } = await notify(app, h, 'ecpay', body, FORM, created.body.id);
      t.is(res.status, 400, body.slice(-40));
      t.not(res.text, '1|OK');
      t.is(order.status, before.status);
      t.is(Number(order.version), Number(before.version));
      t.like(row, { outcome: 'malformed' });
      t.regex(row.error, /(TradeAmt|RtnCode|CheckMacValue): is sent more than once/);
    }
    const genuine = await notify(app, h, 'ecpay', signed, FORM, created.body.id);
    t.is(genuine.res.text, '1|OK');
    t.is(genuine.order.status, 'paid');
  } finally {
    await app.close();
  }
});

dbTest('SinoPac: a notify or return naming PayToken or ShopNo twice is malformed and never asks the bank', async (t, h) => {
  let bank: SinopacSimulator | undefined;
  const app = await startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null }, onSimulator: (s) => (bank = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', payment('sinopac', 'TWD', 79900, 'atm'));
    t.is(created.status, 201, created.text);
    const before = await h.db('orders').where({ id: created.body.id }).first();
    const shopNo = bank!.accountConfig('default').ShopNo;
    const token = 'a'.repeat(64);
    const bodies: [string, string][] = [
      [`{"ShopNo":"${shopNo}","PayToken":"${token}","PayToken":"${'b'.repeat(64)}"}`, 'application/json'],
      [`{"ShopNo":"${shopNo}","PayToken":"${token}","ShopNo":"${shopNo}"}`, 'application/json'],
      [`ShopNo=${shopNo}&PayToken=${token}&PayToken=${token}`, FORM],
    ];
    for (const [body, type] of bodies) {
      const { res, order, row } = await notify(app, h, 'sinopac', body, type, created.body.id);
      t.is(res.status, 400, body);
      t.is(order.status, before.status);
      t.is(Number(order.version), Number(before.version));
      t.like(row, { outcome: 'malformed' });
      t.regex(row.error, /(PayToken|ShopNo): is sent more than once/);
    }

    // The adapter itself: inspect refuses (naming the field), verify says "not verified" without a bank call.
    const settings = sinopacConfig.parse(bank!.accountConfig('default'));
    const spy = sinon.spy(fetch);
    const provider = new SinopacProvider('default', settings, { notifyUrl: `${app.url}/n`, returnUrl: `${app.url}/r` }, silentLogger, spy);
    const request = (kind: 'notify' | 'return', body: string, type: string, httpMethod = 'POST'): CallbackRequest => ({
      kind,
      httpMethod,
      contentType: type,
      rawBody: httpMethod === 'GET' ? '' : body,
      rawQuery: httpMethod === 'GET' ? body : '',
      headers: {},
    });
    const cases = [...bodies.map(([b, type]) => request('notify', b, type)), request('return', `ShopNo=${shopNo}&PayToken=${token}&PayToken=x`, '', 'GET')];
    for (const r of cases) {
      const err = t.throws(() => provider.inspectCallback(r), { instanceOf: ValidationError })!;
      t.is(err.code, REPEATED_FIELD);
      t.like(await provider.verifyCallback(r), { verified: false });
    }
    t.is(spy.callCount, 0, 'nothing malformed reaches the bank');
  } finally {
    await app.close();
  }
});
