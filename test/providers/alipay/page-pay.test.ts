/**
 * The page / WAP hand-off signed on the sign pool (providers/alipay/page-pay.ts) is alipay-sdk's
 * `pageExecute`, byte for byte, for the same params and timestamp; the simulator's gateway accepts
 * it; and the adapter's create never signs on the event loop.
 */
import test from 'ava';
import { AlipaySdk } from 'alipay-sdk';
import { createPrivateKey, createVerify } from 'node:crypto';
import sinon from 'sinon';
import { silentLogger } from '../../../core/logger.ts';
import type { OrderSnapshot } from '../../../core/payment-provider.ts';
import { AlipayProvider } from '../../../providers/alipay/adapter.ts';
import { alipayConfig } from '../../../providers/alipay/config.ts';
import { handoffUrl, sdkTimestamp, signPagePay, type PagePayConfig } from '../../../providers/alipay/page-pay.ts';
import { createAlipaySimulator } from '../../../providers/alipay/simulator/index.ts';
import * as signPoolModule from '../../../providers/kit/sign-pool.ts';
import { SignPool } from '../../../providers/kit/sign-pool.ts';
import { mountSimulator } from '../../helpers/sim-server.ts';

const FIXED = new Date('2026-03-04T05:06:07.000Z');

/** The SDK's POST form as fields, read the way the SDK wrote it (only `"` is escaped). */
function sdkForm(html: string): { url: string; fields: Record<string, string> } {
  const url = /<form action="([^"]+)"/.exec(html)![1]!;
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)" \/>/g)) fields[m[1]!] = m[2]!.replace(/&quot;/g, '"');
  return { url, fields };
}

/** The SDK's output at FIXED (its timestamp is new Date() in local time). */
function atFixed<T>(fn: () => T): T {
  const clock = sinon.useFakeTimers({ now: FIXED, toFake: ['Date'] });
  try {
    return fn();
  } finally {
    clock.restore();
  }
}

async function withSim(fn: (sim: ReturnType<typeof createAlipaySimulator>, simBase: string) => Promise<void>) {
  const mounted = await mountSimulator('/sim/alipay', (baseUrl) => createAlipaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }));
  try {
    await fn(mounted.sim, mounted.simBase);
  } finally {
    await mounted.sim.close();
    await mounted.close();
  }
}

const tricky = {
  out_trade_no: 'T2603040506070001ABCD',
  total_amount: '1234.56',
  subject: '西湖龙井 "特级" & <250g> 100% + 1 a=b',
  product_code: 'FAST_INSTANT_TRADE_PAY',
  time_expire: '2026-03-05 13:06:07',
};

test('signPagePay gives what sdk.pageExecute gives: the GET URL and the POST form, for tricky values and gateways', async (t) => {
  await withSim(async (sim) => {
    const config = sim.accountConfig('default');
    const pool = new SignPool({ size: 2 });
    try {
      for (const gateway of [config.gateway, 'https://openapi.alipay.com/gateway.do', 'https://openapi-sandbox.dl.alipaydev.com/gateway.do?charset=utf-8&x=1']) {
        const sdk = new AlipaySdk({ appId: config.appId, privateKey: config.privateKey, keyType: config.keyType, alipayPublicKey: config.alipayPublicKey, signType: 'RSA2', gateway });
        const own: PagePayConfig = { appId: config.appId, charset: 'utf-8', version: '1.0', signType: 'RSA2', gateway, privateKey: createPrivateKey(sdk.config.privateKey) };
        for (const [method, bizContent] of [
          ['alipay.trade.page.pay', tricky],
          ['alipay.trade.wap.pay', { ...tricky, product_code: 'QUICK_WAP_WAY', quit_url: 'https://shop.example/orders/9?lang=zh-CN&x=%20y' }],
        ] as const) {
          const params = { notifyUrl: 'https://pay.example/callbacks/alipay/default/notify', returnUrl: 'https://pay.example/callbacks/alipay/default/return?o=1&lang=zh-TW', bizContent };
          const getUrl = atFixed(() => sdk.pageExecute(method, 'GET', params));
          const form = sdkForm(atFixed(() => sdk.pageExecute(method, 'POST', params)));
          const signed = await signPagePay(pool, own, sdk.version, method, params, sdkTimestamp(FIXED));
          t.is(handoffUrl(signed), getUrl, `${method} GET via ${gateway}`);
          t.is(signed.url, form.url, `${method} POST action via ${gateway}`);
          t.deepEqual(signed.body, form.fields, `${method} POST fields via ${gateway}`);
          t.deepEqual(Object.keys(signed.body), Object.keys(form.fields));
        }
      }
    } finally {
      await pool.close();
    }
  });
});

test('the adapter hands over the SDK\'s URL and form, signed on the pool, and the simulator\'s gateway accepts both', async (t) => {
  await withSim(async (sim, simBase) => {
    const input = sim.accountConfig('default');
    const settings = alipayConfig.parse(input);
    const urls = { notifyUrl: 'https://pay.example/callbacks/alipay/default/notify', returnUrl: 'https://pay.example/callbacks/alipay/default/return' };
    const provider = new AlipayProvider('default', settings, urls, silentLogger);
    const sdk = new AlipaySdk({ appId: input.appId, privateKey: input.privateKey, keyType: input.keyType, alipayPublicKey: input.alipayPublicKey, signType: 'RSA2', gateway: input.gateway });
    // The event loop never signs: every signature goes to the pool.
    const pool = signPoolModule.signPool();
    const poolSign = sinon.spy(pool, 'sign');
    const loopSign = sinon.spy((provider as unknown as { sdk: AlipaySdk }).sdk, 'pageExecute');
    try {
      let n = 0;
      for (const method of ['page', 'wap'] as const) {
        const order = {
          id: `o${n}`,
          orderNo: `T${Date.now().toString(36).toUpperCase()}${method.toUpperCase()}${++n}`,
          merchantId: 'm',
          amount: 8888,
          currency: 'CNY',
          method,
          subject: '西湖龙井 250g',
          returnUrl: 'https://shop.example/orders/9',
          expiresAt: new Date(Date.now() + 3_600_000),
        } as unknown as OrderSnapshot;
        const created = await provider.create({ order, urls: { ...urls, returnUrl: `${urls.returnUrl}?o=${order.orderNo}` } } as never);
        t.is(created.outcome, 'pending');
        const action = (created as { action: { type: string; url: string; fields?: Record<string, string> } }).action;
        // The same params through the SDK at the same second give the same bytes.
        const sent = action.type === 'redirect' ? Object.fromEntries(new URL(action.url).searchParams) : { ...Object.fromEntries(new URL(action.url).searchParams), ...action.fields };
        const params = { notifyUrl: sent.notify_url!, returnUrl: sent.return_url!, bizContent: JSON.parse(sent.biz_content!) };
        const at = new Date(sent.timestamp!.replace(' ', 'T'));
        const clock = sinon.useFakeTimers({ now: at, toFake: ['Date'] });
        let expected: string;
        try {
          expected = sdk.pageExecute(sent.method!, action.type === 'redirect' ? 'GET' : 'POST', params);
        } finally {
          clock.restore();
        }
        if (action.type === 'redirect') {
          t.is(action.url, expected);
        } else {
          const form = sdkForm(expected);
          t.is(action.url, form.url);
          t.deepEqual(action.fields, form.fields);
        }
        // RSA2 over the sorted params, checked with the app's public key.
        const { sign, ...rest } = sent;
        const text = Object.keys(rest).sort().map((k) => `${k}=${rest[k]}`).join('&');
        t.true(createVerify('RSA-SHA256').update(text, 'utf8').verify(createPrivateKey(sdk.config.privateKey), sign!, 'base64'));
        // The simulator's gateway checks the signature and opens its cashier.
        const local = action.url.replace(/^https?:\/\/[^/]+\/sim\/alipay/, simBase);
        const res =
          action.type === 'form'
            ? await fetch(local, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(action.fields).toString() })
            : await fetch(local, { redirect: 'manual' });
        t.is(res.status, 302, await res.text());
        t.true(res.headers.get('location')!.startsWith(`${simBase}/cashier/`));
      }
      t.is(poolSign.callCount, 2, 'both hand-offs were signed on the pool');
      t.is(loopSign.callCount, 0, 'the adapter\'s SDK never signed a hand-off');
      t.true(pool.threads >= 1);
    } finally {
      poolSign.restore();
      loopSign.restore();
      await signPoolModule.closeSignPool();
    }
  });
});
