/**
 * The Alipay simulator on its own, over real HTTP, driven by the real alipay-sdk (docs/protocols/alipay.md#simulator): the SDK
 * signs the hand-offs and the API calls, checks the response signatures (validateSign) and the notify / return
 * signatures (checkNotifySignV2). Nothing here uses the adapter, so the simulator is checked independently of it.
 */
import test, { type ExecutionContext } from 'ava';
import { AlipayRequestError, AlipaySdk } from 'alipay-sdk';
import { createVerify } from 'node:crypto';
import http from 'node:http';
import type { AlipayConfig } from '../../../providers/alipay/config.ts';
import { createAlipaySimulator, type AlipaySimulator, type AlipaySimulatorSettings } from '../../../providers/alipay/simulator/index.ts';
import { captureLogger, listen, mountSimulator, readAll, startMerchantServer, type MerchantRequest } from '../../helpers/sim-server.ts';

type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Servers

/** A request with its parameters: the query string of a GET, else the form body. */
const withParams = (r: MerchantRequest) => ({ ...r, params: Object.fromEntries(new URLSearchParams(r.method === 'GET' ? r.search : r.body)) });

/** Plays the merchant: records what reaches notify_url / return_url and answers notifies as `reply` says. */
async function startMerchant() {
  const server = await startMerchantServer((request) => ({
    status: 200,
    contentType: 'text/plain',
    body: request.path === '/notify' ? merchant.reply(merchant.notifies().length) : 'ok',
  }));
  const merchant = {
    received: server.received,
    notifies: () => server.received.filter((r) => r.path === '/notify').map(withParams),
    reply: (_n: number): string => 'success',
    base: server.base,
    close: server.close,
  };
  return merchant;
}

type Merchant = Awaited<ReturnType<typeof startMerchant>>;

interface Ctx {
  sim: AlipaySimulator;
  simBase: string;
  config: AlipayConfig;
  sdk: AlipaySdk;
  merchant: Merchant;
  logs: string[];
}

const sdkFor = (config: AlipayConfig, gateway = config.gateway) =>
  new AlipaySdk({ appId: config.appId, privateKey: config.privateKey, keyType: config.keyType, alipayPublicKey: config.alipayPublicKey, gateway });

async function withSim(t: ExecutionContext, settings: AlipaySimulatorSettings, fn: (ctx: Ctx) => Promise<void>, timeScale = 0.00001): Promise<void> {
  const logs: string[] = [];
  // The gateway mounts the handler under /sim/alipay and strips the prefix.
  const mounted = await mountSimulator('/sim/alipay', (baseUrl) => createAlipaySimulator({ baseUrl, logger: captureLogger(logs), timeScale }, settings));
  const merchant = await startMerchant();
  const { sim, simBase } = mounted;
  try {
    const config = sim.accountConfig('default');
    await fn({ sim, simBase, config, sdk: sdkFor(config), merchant, logs });
    await sim.settle();
  } finally {
    await sim.close();
    await mounted.close();
    await merchant.close();
  }
  t.pass();
}

// ---------------------------------------------------------------------------------------------
// Helpers

let seq = 0;
const orderNo = () => `T${Date.now().toString(36)}_${(++seq).toString().padStart(4, '0')}`;
const beijing = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
const BEIJING_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => T, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (ok(value) || Date.now() > deadline) return value;
    await sleep(5);
  }
}

function biz(no: string, extra: Json = {}): Json {
  return { out_trade_no: no, total_amount: '88.88', subject: '西湖龙井 250g', product_code: 'FAST_INSTANT_TRADE_PAY', ...extra };
}

function handoffUrl(ctx: Ctx, bizContent: Json, extra: Json = {}, method = 'alipay.trade.page.pay'): string {
  return ctx.sdk.pageExecute(method, 'GET', { notifyUrl: `${ctx.merchant.base}/notify`, returnUrl: `${ctx.merchant.base}/return`, bizContent, ...extra });
}

/** The browser follows the hand-off; a good one is a 302 to the cashier. */
async function handOff(ctx: Ctx, bizContent: Json, extra: Json = {}, method = 'alipay.trade.page.pay') {
  const res = await fetch(handoffUrl(ctx, bizContent, extra, method), { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') ?? '', html: await res.text() };
}

async function opened(t: ExecutionContext, ctx: Ctx, bizContent: Json, extra: Json = {}, method = 'alipay.trade.page.pay'): Promise<string> {
  const res = await handOff(ctx, bizContent, extra, method);
  t.is(res.status, 302, res.html);
  t.true(res.location.startsWith(`${ctx.simBase}/cashier/`), res.location);
  return res.location;
}

const exec = (ctx: Ctx, method: string, bizContent: Json, sdk = ctx.sdk) => sdk.exec(method, { bizContent }, { validateSign: true }) as Promise<Json>;

/** Drops '' values before checkNotifySignV2, as the spec tells the adapter to (§1.9). */
const verifies = (sdk: AlipaySdk, params: Record<string, string>) => sdk.checkNotifySignV2(Object.fromEntries(Object.entries(params).filter(([, v]) => v !== '')));

const subCode = (html: string) => /<dd id="sub-code">([^<]*)<\/dd>/.exec(html)?.[1];

async function cashierSubmit(url: string, fields: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  return { status: res.status, location: res.headers.get('location') ?? '', html: await res.text() };
}

// ---------------------------------------------------------------------------------------------
// Accounts and keys

test('accountConfig: fresh RSA2 keys per account, sandbox-shaped ids, the gateway URL, no key in any log', async (t) => {
  await withSim(t, {}, async ({ sim, simBase, config, logs }) => {
    t.regex(config.appId, /^9021000\d{9}$/);
    t.regex(config.sellerId!, /^2088\d{12}$/);
    t.is(config.keyType, 'PKCS8');
    t.is(config.signType, 'RSA2');
    t.is(config.gateway, `${simBase}/gateway.do`);
    t.true(config.privateKey.startsWith('-----BEGIN PRIVATE KEY-----'));
    t.true(config.alipayPublicKey.startsWith('-----BEGIN PUBLIC KEY-----'));
    t.deepEqual(sim.accountConfig('default'), config, 'created once');
    const other = sim.accountConfig('shop-2');
    t.not(other.appId, config.appId);
    t.not(other.privateKey, config.privateKey);
    t.not(other.alipayPublicKey, config.alipayPublicKey);
    const joined = logs.join('\n');
    for (const pem of [config.privateKey, config.alipayPublicKey]) t.false(joined.includes(pem.split('\n')[1]!));
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-off and cashier

test('page pay GET hand-off → cashier → pay: notify and return both verify with the SDK', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    const passback = encodeURIComponent('cart=7&note=茶 100%');
    const cashier = await opened(t, ctx, biz(no, { passback_params: passback }));
    const page = await fetch(cashier);
    const html = await page.text();
    t.is(page.status, 200);
    t.regex(page.headers.get('content-type') ?? '', /text\/html/);
    for (const part of ['西湖龙井 250g', '¥88.88', no, '确认付款', 'name="action" value="cancel"', '<label']) t.true(html.includes(part), part);

    const paid = await cashierSubmit(cashier, { buyer: '13800138000', password: '111111', action: 'pay' });
    t.is(paid.status, 302);
    const back = new URL(paid.location);
    t.is(back.origin + back.pathname, `${ctx.merchant.base}/return`);
    const ret = Object.fromEntries(back.searchParams);
    t.true(verifies(ctx.sdk, ret), 'return verifies with checkNotifySignV2');
    t.like(ret, { method: 'alipay.trade.page.pay.return', out_trade_no: no, total_amount: '88.88', app_id: ctx.config.appId, auth_app_id: ctx.config.appId, seller_id: ctx.config.sellerId, charset: 'utf-8', version: '1.0', sign_type: 'RSA2' });
    t.regex(ret.trade_no!, /^\d{28}$/);
    t.regex(ret.timestamp!, BEIJING_TIME);
    t.false('trade_status' in ret);

    const [notify] = await until(() => ctx.merchant.notifies(), (n) => n.length >= 1);
    const n = notify!.params;
    t.regex(notify!.contentType, /^application\/x-www-form-urlencoded; ?charset=utf-8$/i);
    t.true(verifies(ctx.sdk, n), 'notify verifies with checkNotifySignV2');
    t.like(n, {
      notify_type: 'trade_status_sync',
      app_id: ctx.config.appId,
      auth_app_id: ctx.config.appId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: ret.trade_no,
      out_trade_no: no,
      buyer_logon_id: '138****8000',
      seller_id: ctx.config.sellerId,
      trade_status: 'TRADE_SUCCESS',
      total_amount: '88.88',
      receipt_amount: '88.88',
      invoice_amount: '88.88',
      buyer_pay_amount: '88.88',
      point_amount: '0.00',
      subject: '西湖龙井 250g',
      fund_bill_list: '[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]',
      passback_params: passback,
    });
    t.regex(n.buyer_id!, /^2088\d{12}$/);
    t.truthy(n.notify_id);
    for (const f of ['notify_time', 'gmt_create', 'gmt_payment']) t.regex(n[f]!, BEIJING_TIME, f);
    t.true(Math.abs(Date.parse(`${n.gmt_payment!.replace(' ', 'T')}+08:00`) - Date.now()) < 60_000, 'Beijing time, whatever the TZ');
    t.false(Object.values(n).includes(''), 'no empty values');
    t.false('refund_fee' in n);

    const q = await exec(ctx, 'alipay.trade.query', { out_trade_no: no });
    t.like(q, { code: '10000', msg: 'Success', tradeStatus: 'TRADE_SUCCESS', totalAmount: '88.88', tradeNo: ret.trade_no, buyerUserId: n.buyer_id, buyerLogonId: '138****8000' });
    t.regex(q.sendPayDate, BEIJING_TIME);
    t.truthy(q.traceId, 'trace_id header');
    const byTradeNo = await exec(ctx, 'alipay.trade.query', { trade_no: ret.trade_no, query_options: ['fund_bill_list'] });
    t.deepEqual(byTradeNo.fundBillList, [{ fundChannel: 'ALIPAYACCOUNT', amount: '88.88', realAmount: '88.88' }]);

    // The same cashier again: already paid.
    t.true((await (await fetch(cashier)).text()).includes('已支付'));
  });
});

test('page pay POST form hand-off (the SDK default) reaches the cashier', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    const html = ctx.sdk.pageExecute('alipay.trade.page.pay', 'POST', { notifyUrl: `${ctx.merchant.base}/notify`, returnUrl: `${ctx.merchant.base}/return`, bizContent: biz(no) });
    const action = /<form action="([^"]+)"/.exec(html)![1]!;
    const fields: Record<string, string> = {};
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)" \/>/g)) fields[m[1]!] = m[2]!.replace(/&quot;/g, '"');
    t.truthy(fields.biz_content);
    const res = await fetch(action, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    t.is(res.status, 302, await res.text());
    t.true(res.headers.get('location')!.startsWith(`${ctx.simBase}/cashier/`));
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: no }), { code: '10000', tradeStatus: 'WAIT_BUYER_PAY' });
  });
});

test('hand-off checks: amounts, lengths, product code, time_expire; a paid, closed or changed number is refused', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const bad: [string, Json][] = [
      ['3 decimals', { total_amount: '88.888' }],
      ['zero', { total_amount: '0.00' }],
      ['too big', { total_amount: '100000000.01' }],
      ['float artefact', { total_amount: 0.1 + 0.2 }],
      ['long subject', { subject: 'x'.repeat(257) }],
      ['product code', { product_code: 'QUICK_WAP_WAY' }],
      ['time_expire format', { time_expire: '2030-01-01T00:00:00' }],
      ['time_expire past', { time_expire: beijing(new Date(Date.now() - 60_000)) }],
    ];
    for (const [name, change] of bad) {
      const res = await handOff(ctx, { ...biz(orderNo()), ...change });
      t.is(res.status, 200, name);
      t.is(subCode(res.html), 'ACQ.INVALID_PARAMETER', name);
    }
    t.is(subCode((await handOff(ctx, biz('bad-no'))).html), 'ACQ.INVALID_PARAMETER', 'out_trade_no charset');
    t.is(subCode((await handOff(ctx, biz('x'.repeat(65)))).html), 'ACQ.INVALID_PARAMETER', 'out_trade_no length');

    const no = orderNo();
    const first = await opened(t, ctx, biz(no, { time_expire: beijing(new Date(Date.now() + 3_600_000)) }));
    t.is(await opened(t, ctx, biz(no, { time_expire: beijing(new Date(Date.now() + 3_600_000)) })), first, 'same content, same cashier');
    t.is(subCode((await handOff(ctx, biz(no, { total_amount: '88.89' }))).html), 'ACQ.CONTEXT_INCONSISTENT');
    t.is(subCode((await handOff(ctx, biz(no, { subject: 'other' }))).html), 'ACQ.CONTEXT_INCONSISTENT');
    await ctx.sim.pay(no);
    t.is(subCode((await handOff(ctx, biz(no))).html), 'ACQ.TRADE_HAS_SUCCESS');

    const closed = orderNo();
    await opened(t, ctx, biz(closed));
    t.is((await exec(ctx, 'alipay.trade.close', { out_trade_no: closed })).code, '10000');
    t.is(subCode((await handOff(ctx, biz(closed))).html), 'ACQ.TRADE_HAS_CLOSE');
  });
});

test('cashier cancel closes the trade (TRADE_CLOSED notify) and offers the way back, without payment parameters', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    const cashier = await opened(t, ctx, { ...biz(no), product_code: 'QUICK_WAP_WAY', quit_url: `${ctx.merchant.base}/quit` }, {}, 'alipay.trade.wap.pay');
    const res = await cashierSubmit(cashier, { action: 'cancel' });
    t.is(res.status, 200);
    t.true(res.html.includes('支付已取消'));
    t.true(res.html.includes(`href="${ctx.merchant.base}/quit"`));
    const [notify] = await until(() => ctx.merchant.notifies(), (n) => n.length >= 1);
    t.like(notify!.params, { trade_status: 'TRADE_CLOSED', out_trade_no: no });
    t.regex(notify!.params.gmt_close!, BEIJING_TIME);
    t.false('gmt_payment' in notify!.params);
    t.false('buyer_id' in notify!.params);
    t.true(verifies(ctx.sdk, notify!.params));
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: no }), { tradeStatus: 'TRADE_CLOSED' });
    t.true((await (await fetch(cashier)).text()).includes('交易已关闭'));
    t.false(ctx.merchant.received.some((r) => r.path === '/return'));
  });
});

// ---------------------------------------------------------------------------------------------
// Gateway rules

test('an empty top-level parameter breaks the signature (the gateway drops it, the SDK signed it) — §8 pitfall 4', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    const res = await handOff(ctx, biz(no), { appAuthToken: '' });
    t.is(subCode(res.html), 'isv.invalid-signature');
    const q = (await ctx.sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: no }, appAuthToken: '' }, { validateSign: true })) as Json;
    t.like(q, { code: '40002', msg: 'Invalid Arguments', subCode: 'isv.invalid-signature' });
    t.true(q.subMsg.includes('网关生成的验签字符串'));
    t.is((await handOff(ctx, biz(no))).status, 302, 'the same hand-off without it is fine');
  });
});

test('gateway errors: unknown app, bad signature, unknown method, missing or malformed common params', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const stranger = sdkFor({ ...ctx.config, appId: '9021000999999999' });
    t.like(await stranger.exec('alipay.trade.query', { bizContent: { out_trade_no: 'X1' } }), { code: '40002', subCode: 'isv.invalid-app-id' });
    const other = sdkFor({ ...ctx.sim.accountConfig('other'), appId: ctx.config.appId, alipayPublicKey: ctx.config.alipayPublicKey });
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: 'X1' }, other), { code: '40002', subCode: 'isv.invalid-signature' }, 'signed with another app key');
    t.like(await ctx.sdk.exec('alipay.trade.nonsense', { bizContent: {} }), { code: '40002', subCode: 'isv.invalid-method' });

    const get = async (query: Record<string, string>) => {
      const res = await fetch(`${ctx.config.gateway}?${new URLSearchParams(query)}`, { method: 'POST' });
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
    };
    const base = { method: 'alipay.trade.query', app_id: ctx.config.appId, charset: 'utf-8', version: '1.0', sign_type: 'RSA2', timestamp: beijing(new Date()) };
    t.like((await get({ ...base })).body.alipay_trade_query_response, { code: '40001', sub_code: 'isv.missing-signature' });
    t.like((await get({ ...base, sign: 'abc', sign_type: 'RSA' })).body.alipay_trade_query_response, { sub_code: 'isv.invalid-signature-type' });
    t.like((await get({ ...base, sign: 'abc', timestamp: '2024/01/01' })).body.alipay_trade_query_response, { sub_code: 'isv.invalid-timestamp' });
    t.like((await get({ ...base, sign: 'abc', charset: 'GBK' })).body.alipay_trade_query_response, { sub_code: 'isv.invalid-charset' });
    t.like((await get({ ...base, sign: 'abc' })).body.alipay_trade_query_response, { code: '40002', sub_code: 'isv.invalid-signature' });
    const noMethod = await get({ app_id: ctx.config.appId });
    t.is(noMethod.status, 200);
    t.like(noMethod.body.error_response, { code: '40001', sub_code: 'isv.missing-method' });
    const junk = await fetch(ctx.config.gateway, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '%%%&&&=' });
    t.is(junk.status, 200, 'garbage is an error reply, not a crash');
    t.is((await fetch(`${ctx.simBase}/cashier/${'0'.repeat(24)}`)).status, 404);
    t.is((await fetch(ctx.config.gateway, { method: 'DELETE' })).status, 405);
  });
});

test('response wire format: JSON content type, trace_id, sign after the response member over its exact bytes', async (t) => {
  await withSim(t, {}, async (ctx) => {
    let raw = '';
    let headers: http.IncomingHttpHeaders = {};
    // A transparent proxy that keeps the raw reply, to check it without the SDK.
    const proxy = await listen(async (req, res) => {
      const body = await readAll(req);
      const upstream = await fetch(`${ctx.simBase}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: body || undefined });
      raw = await upstream.text();
      headers = Object.fromEntries(upstream.headers);
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '', trace_id: upstream.headers.get('trace_id') ?? '' });
      res.end(raw);
    });
    try {
      const sdk = sdkFor(ctx.config, `${proxy.base}/gateway.do`);
      await exec(ctx, 'alipay.trade.query', { out_trade_no: 'NOPE_1' }, sdk);
      t.is(headers['content-type'], 'application/json;charset=utf-8');
      t.regex(String(headers.trace_id), /^[0-9a-f]{30}$/);
      const m = /^\{"alipay_trade_query_response":(\{.*\}),"sign":"([A-Za-z0-9+/=]{344})"\}$/.exec(raw);
      t.truthy(m, raw);
      t.true(createVerify('RSA-SHA256').update(m![1]!, 'utf8').verify(ctx.config.alipayPublicKey, m![2]!, 'base64'));
      t.like(JSON.parse(m![1]!), { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST', out_trade_no: 'NOPE_1', buyer_pay_amount: '0.00', receipt_amount: '0.00' });
    } finally {
      await proxy.close();
    }
  });
});

test('a tampered response signature makes exec({ validateSign: true }) throw', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const proxy = await listen(async (req, res) => {
      const body = await readAll(req);
      const upstream = await fetch(`${ctx.simBase}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: body || undefined });
      const text = (await upstream.text()).replace(/"sign":"(.)/, (_all, c: string) => `"sign":"${c === 'A' ? 'B' : 'A'}`);
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
      res.end(text);
    });
    try {
      const sdk = sdkFor(ctx.config, `${proxy.base}/gateway.do`);
      const err = await t.throwsAsync(exec(ctx, 'alipay.trade.query', { out_trade_no: 'NOPE_2' }, sdk));
      t.true(err instanceof AlipayRequestError);
      t.regex(err!.message, /验签失败/);
      t.like(await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: 'NOPE_2' } }), { subCode: 'ACQ.TRADE_NOT_EXIST' }, 'unchecked, it passes');
    } finally {
      await proxy.close();
    }
  });
});

test('outage: gateway.do answers 503 and the SDK throws AlipayRequestError; the control API still works', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    await opened(t, ctx, biz(no));
    const down = await fetch(`${ctx.simBase}/_control/outage`, { method: 'POST', body: JSON.stringify({ down: true }) });
    t.deepEqual(await down.json(), { outage: true });
    const err = await t.throwsAsync(exec(ctx, 'alipay.trade.query', { out_trade_no: no }));
    t.true(err instanceof AlipayRequestError);
    t.regex(err!.message, /503/);
    t.is((await fetch(handoffUrl(ctx, biz(orderNo())), { redirect: 'manual' })).status, 503);
    t.is((await ctx.sim.pay(no)).tradeStatus, 'TRADE_SUCCESS');
    ctx.sim.setOutage(false);
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: no }), { tradeStatus: 'TRADE_SUCCESS' });
  });
});

// ---------------------------------------------------------------------------------------------
// Trade APIs

test('query: before the hand-off is opened → TRADE_NOT_EXIST (returned, not thrown); then WAIT_BUYER_PAY; then paid', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    const before = await exec(ctx, 'alipay.trade.query', { out_trade_no: no });
    t.like(before, { code: '40004', msg: 'Business Failed', subCode: 'ACQ.TRADE_NOT_EXIST', outTradeNo: no, buyerPayAmount: '0.00' });
    t.like(await exec(ctx, 'alipay.trade.close', { out_trade_no: no }), { code: '40004', subCode: 'ACQ.TRADE_NOT_EXIST' });
    t.like(await exec(ctx, 'alipay.trade.query', {}), { code: '40004', subCode: 'ACQ.INVALID_PARAMETER' });
    await opened(t, ctx, biz(no));
    const open = await exec(ctx, 'alipay.trade.query', { out_trade_no: no });
    t.like(open, { code: '10000', tradeStatus: 'WAIT_BUYER_PAY', totalAmount: '88.88', buyerPayAmount: '0.00' });
    t.false('sendPayDate' in open);
    const paid = await ctx.sim.pay(no);
    t.like(await exec(ctx, 'alipay.trade.query', { trade_no: paid.tradeNo }), { code: '10000', tradeStatus: 'TRADE_SUCCESS', outTradeNo: no });
  });
});

test("tradeCreatedOn 'pay' (WAP): the trade exists only once paid; the return names the wap method", async (t) => {
  await withSim(t, { tradeCreatedOn: 'pay' }, async (ctx) => {
    const no = orderNo();
    const cashier = await opened(t, ctx, { ...biz(no), product_code: 'QUICK_WAP_WAY' }, {}, 'alipay.trade.wap.pay');
    t.is((await fetch(cashier)).status, 200);
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: no }), { subCode: 'ACQ.TRADE_NOT_EXIST' });
    t.like(await exec(ctx, 'alipay.trade.close', { out_trade_no: no }), { subCode: 'ACQ.TRADE_NOT_EXIST' });
    t.true((await cashierSubmit(cashier, { action: 'cancel' })).html.includes('支付已取消'));
    t.is(ctx.sim.trades.find((tr) => tr.outTradeNo === no)!.created, false, 'a cancel at a WAP cashier creates nothing');
    const paid = await cashierSubmit(cashier, { buyer: 'tea.lover@126.com', password: '111111', action: 'pay' });
    const ret = Object.fromEntries(new URL(paid.location).searchParams);
    t.is(ret.method, 'alipay.trade.wap.pay.return');
    t.true(verifies(ctx.sdk, ret));
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: no }), { tradeStatus: 'TRADE_SUCCESS', buyerLogonId: 'tea***@126.com' });
  });
});

test('refunds: partial, idempotent repeat (fund_change N), discordant repeat, too much, full → TRADE_CLOSED notify', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    await opened(t, ctx, biz(no, { total_amount: '100.00' }));
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '1.00' }), { subCode: 'ACQ.TRADE_STATUS_ERROR' }, 'unpaid');
    await ctx.sim.pay(no);

    const r1 = await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '30.00', out_request_no: 'RF1', refund_reason: '少了一盒' });
    t.like(r1, { code: '10000', fundChange: 'Y', refundFee: '30.00', outTradeNo: no });
    t.regex(r1.gmtRefundPay, BEIJING_TIME);
    const again = await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '30.00', out_request_no: 'RF1' });
    t.like(again, { code: '10000', fundChange: 'N', refundFee: '30.00' });
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '31.00', out_request_no: 'RF1' }), { code: '40004', subCode: 'ACQ.DISCORDANT_REPEAT_REQUEST' });
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '30.00' }), { subCode: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', refundFee: '0.00' });
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '70.01', out_request_no: 'RF2' }), { subCode: 'ACQ.REASON_TRADE_REFUND_FEE_ERR' });
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '1.005', out_request_no: 'RF2' }), { subCode: 'ACQ.INVALID_PARAMETER' });
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: 'NOPE_3', refund_amount: '1.00' }), { subCode: 'ACQ.TRADE_NOT_EXIST' });
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '20.00', out_request_no: 'RF2' }), { code: '10000', fundChange: 'Y', refundFee: '50.00' });

    const rq = await exec(ctx, 'alipay.trade.fastpay.refund.query', { out_trade_no: no, out_request_no: 'RF1', query_options: ['gmt_refund_pay'] });
    t.like(rq, { code: '10000', refundStatus: 'REFUND_SUCCESS', refundAmount: '30.00', totalAmount: '100.00', outRequestNo: 'RF1', refundReason: '少了一盒' });
    t.regex(rq.gmtRefundPay, BEIJING_TIME);
    const unknown = await exec(ctx, 'alipay.trade.fastpay.refund.query', { out_trade_no: no, out_request_no: 'RF9' });
    t.is(unknown.code, '10000');
    t.false('refundStatus' in unknown, 'absent = not received');

    const full = await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '50.00', out_request_no: 'RF3' });
    t.like(full, { code: '10000', fundChange: 'Y', refundFee: '100.00' });
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: no }), { tradeStatus: 'TRADE_CLOSED' });
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '50.00', out_request_no: 'RF3' }), { code: '10000', fundChange: 'N', refundFee: '100.00' }, 'still idempotent once closed');
    t.like(await exec(ctx, 'alipay.trade.refund', { out_trade_no: no, refund_amount: '1.00', out_request_no: 'RF4' }), { subCode: 'ACQ.TRADE_STATUS_ERROR' });

    const notifies = await until(() => ctx.merchant.notifies(), (n) => n.length >= 4);
    t.deepEqual(
      notifies.map((n) => [n.params.trade_status, n.params.out_biz_no, n.params.refund_fee]),
      [
        ['TRADE_SUCCESS', undefined, undefined],
        ['TRADE_SUCCESS', 'RF1', '30.00'],
        ['TRADE_SUCCESS', 'RF2', '50.00'],
        ['TRADE_CLOSED', 'RF3', '100.00'],
      ],
    );
    const last = notifies[3]!.params;
    t.regex(last.gmt_close!, BEIJING_TIME);
    t.regex(last.gmt_refund!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    t.is(new Set(notifies.map((n) => n.params.notify_id)).size, 4, 'a new notify_id per event');
    for (const n of notifies) t.true(verifies(ctx.sdk, n.params));
  });
});

test('close: an unpaid trade closes with a TRADE_CLOSED notify; a paid one is TRADE_STATUS_ERROR', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    await opened(t, ctx, biz(no));
    const closed = await exec(ctx, 'alipay.trade.close', { out_trade_no: no });
    t.like(closed, { code: '10000', outTradeNo: no });
    t.regex(closed.tradeNo, /^\d{28}$/);
    t.like(await exec(ctx, 'alipay.trade.close', { out_trade_no: no }), { subCode: 'ACQ.TRADE_STATUS_ERROR' });
    const [n] = await until(() => ctx.merchant.notifies(), (x) => x.length >= 1);
    t.like(n!.params, { trade_status: 'TRADE_CLOSED', out_trade_no: no });
    await t.throwsAsync(ctx.sim.pay(no), { message: /TRADE_CLOSED/ });

    const paid = orderNo();
    await opened(t, ctx, biz(paid));
    await ctx.sim.pay(paid);
    t.like(await exec(ctx, 'alipay.trade.close', { out_trade_no: paid }), { code: '40004', subCode: 'ACQ.TRADE_STATUS_ERROR' });
  });
});

test('notifyOn.closed false: closes and full refunds send nothing; payments still notify', async (t) => {
  await withSim(t, { notifyOn: { closed: false } }, async (ctx) => {
    const a = orderNo();
    await opened(t, ctx, biz(a));
    await exec(ctx, 'alipay.trade.close', { out_trade_no: a });
    const b = orderNo();
    await opened(t, ctx, biz(b));
    await ctx.sim.pay(b);
    await exec(ctx, 'alipay.trade.refund', { out_trade_no: b, refund_amount: '88.88' });
    await ctx.sim.settle();
    t.deepEqual(ctx.merchant.notifies().map((n) => [n.params.out_trade_no, n.params.trade_status]), [[b, 'TRADE_SUCCESS']]);
  });
});

// Serial: time_expire has 1 s resolution, so the hand-off must not wait behind other tests' key generation.
test.serial('time_expire passes: the opened trade closes by itself and notifies TRADE_CLOSED', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    // Far enough ahead that a loaded machine still opens the trade before it (time_expire counts
    // whole seconds); then it closes on its own.
    const cashier = await opened(t, ctx, biz(no, { time_expire: beijing(new Date(Date.now() + 6_000)) }));
    const [n] = await until(() => ctx.merchant.notifies(), (x) => x.length >= 1, 30_000);
    t.like(n?.params, { trade_status: 'TRADE_CLOSED', out_trade_no: no });
    t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: no }), { tradeStatus: 'TRADE_CLOSED' });
    t.true((await (await fetch(cashier)).text()).includes('交易已关闭'));
  });
});

// ---------------------------------------------------------------------------------------------
// Notifications

// Serial: the gaps are measured, so no other test's key generation may block the event loop meanwhile.
test.serial('notify retries: "fail" is retried on the scaled schedule, 8 attempts at most, same notify_id', async (t) => {
  await withSim(t, {}, async (ctx) => {
    ctx.merchant.reply = () => 'fail';
    const no = orderNo();
    await opened(t, ctx, biz(no));
    const paid = await ctx.sim.pay(no);
    t.deepEqual(paid.firstNotify, { status: 200, body: 'fail' });
    // 4m,10m,10m,1h,2h,6h,15h × 0.00001 ≈ 0.9 s in all.
    const all = await until(() => ctx.merchant.notifies(), (n) => n.length >= 8, 10_000);
    await sleep(300);
    t.is(ctx.merchant.notifies().length, 8, 'no ninth attempt');
    t.is(new Set(all.map((n) => n.params.notify_id)).size, 1);
    t.is(all[0]!.params.notify_id, paid.notifyId!);
    const gaps = all.slice(1).map((n, i) => n.at - all[i]!.at);
    const schedule = [4, 10, 10, 60, 120, 360, 900].map((m) => m * 60_000 * 0.00001);
    gaps.forEach((gap, i) => t.true(gap >= schedule[i]! - 2, `gap ${i + 1}: ${gap} ms, scheduled ${schedule[i]} ms`));
    t.true(gaps[6]! < 540 + 400, `last gap ${gaps[6]} ms ≈ 15h × scale`);
    for (const n of all) t.true(verifies(ctx.sdk, n.params));
    const log = ctx.sim.deliveries.filter((d) => d.outTradeNo === no);
    t.deepEqual(log.map((d) => d.attempt), [1, 2, 3, 4, 5, 6, 7, 8]);
    t.deepEqual([...new Set(log.map((d) => d.kind))], ['notify', 'retry']);
    t.false(log.some((d) => d.ok));
  });
});

test('notify retries stop at "success" (trimmed), and renotify sends the same notify_id again', async (t) => {
  await withSim(t, {}, async (ctx) => {
    ctx.merchant.reply = (n) => (n < 3 ? 'failure' : ' success\n');
    const no = orderNo();
    await opened(t, ctx, biz(no));
    const paid = await ctx.sim.pay(no);
    t.deepEqual(paid.firstNotify, { status: 200, body: 'failure' });
    await until(() => ctx.merchant.notifies(), (n) => n.length >= 3);
    await sleep(400);
    t.is(ctx.merchant.notifies().length, 3);
    t.deepEqual(ctx.sim.deliveries.map((d) => d.ok), [false, false, true]);

    const res = await fetch(`${ctx.simBase}/_control/renotify`, { method: 'POST', body: JSON.stringify({ orderNo: no }) });
    t.like(await res.json(), { ok: true, notifyId: paid.notifyId, outTradeNo: no });
    t.is(ctx.merchant.notifies().at(-1)!.params.notify_id, paid.notifyId!);
    t.is(ctx.sim.deliveries.at(-1)!.kind, 'renotify');
  });
});

test('control pay with notifyDelayMs: the return comes first, the notify after', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    await opened(t, ctx, biz(no));
    const paid = await ctx.sim.pay(no, { notifyDelayMs: 150 });
    t.is(paid.firstNotify.status, 0);
    t.is(ctx.merchant.notifies().length, 0);
    await fetch(paid.returnUrl);
    const [n] = await until(() => ctx.merchant.notifies(), (x) => x.length >= 1);
    t.is(n!.params.notify_id, paid.notifyId!);
    t.true(ctx.merchant.received.findIndex((r) => r.path === '/return') < ctx.merchant.received.findIndex((r) => r.path === '/notify'));
  });
});

test('forgery helpers: signParams signs anything validly, notifyParams gives the real notify to tamper with', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const no = orderNo();
    await opened(t, ctx, biz(no));
    const hypothetical = ctx.sim.notifyParams(no, { status: 'TRADE_SUCCESS' });
    t.true(verifies(ctx.sdk, hypothetical));
    t.like(hypothetical, { trade_status: 'TRADE_SUCCESS', total_amount: '88.88', out_trade_no: no });
    t.is(ctx.merchant.notifies().length, 0, 'nothing sent');
    await ctx.sim.pay(no);
    const real = ctx.sim.notifyParams(no);
    t.is(real.notify_id, ctx.merchant.notifies()[0]!.params.notify_id);
    t.true(verifies(ctx.sdk, real));
    t.false(verifies(ctx.sdk, { ...real, total_amount: '0.01' }), 'tampered amount');
    const { sign: _s, sign_type: _st, ...unsigned } = real;
    const forged = ctx.sim.signParams({ ...unsigned, app_id: '9021000999999999', total_amount: '0.01' });
    t.true(verifies(ctx.sdk, forged), 'validly signed, wrong app and amount: the adapter must check those itself');
    t.is(forged.sign_type, 'RSA2');
    t.false(verifies(sdkFor(ctx.sim.accountConfig('other')), real), "another app's Alipay key does not verify it");
  });
});

// ---------------------------------------------------------------------------------------------
// Control API over HTTP

test('control API: pay, decline, trades, notifications; bad input is a 4xx', async (t) => {
  await withSim(t, {}, async (ctx) => {
    const post = async (action: string, body: unknown) => {
      const res = await fetch(`${ctx.simBase}/_control/${action}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const no = orderNo();
    await opened(t, ctx, biz(no));
    const paid = await post('pay', { orderNo: no });
    t.is(paid.status, 200);
    t.like(paid.body, { outTradeNo: no, tradeStatus: 'TRADE_SUCCESS', firstNotify: { status: 200, body: 'success' } });
    t.regex(paid.body.tradeNo, /^\d{28}$/);
    t.true(verifies(ctx.sdk, Object.fromEntries(new URL(paid.body.returnUrl).searchParams)));
    t.is(ctx.merchant.received.filter((r) => r.path === '/return').length, 0, 'the control API does not follow the return');

    const other = orderNo();
    await opened(t, ctx, biz(other));
    const declined = await post('decline', { orderNo: other });
    t.like(declined.body, { tradeStatus: 'TRADE_CLOSED', firstNotify: { status: 200, body: 'success' } });

    const trades = (await (await fetch(`${ctx.simBase}/_control/trades?orderNo=${no}`)).json()) as Json;
    t.is(trades.trades.length, 1);
    t.like(trades.trades[0], { outTradeNo: no, status: 'TRADE_SUCCESS', totalAmount: '88.88', totalMinor: 8888, created: true });
    const notes = (await (await fetch(`${ctx.simBase}/_control/notifications`)).json()) as Json;
    t.deepEqual(notes.deliveries.map((d: Json) => d.tradeStatus), ['TRADE_SUCCESS', 'TRADE_CLOSED']);

    t.is((await post('pay', { orderNo: no })).status, 409, 'already paid');
    t.is((await post('pay', { orderNo: 'NEVER_SEEN' })).status, 404);
    t.is((await post('pay', {})).status, 400);
    t.is((await post('pay', '{nope')).status, 400);
    t.is((await post('outage', { down: 'yes' })).status, 400);
    t.is((await post('launch', {})).status, 404);
    t.is((await fetch(`${ctx.simBase}/_control/pay`)).status, 405);
    t.is((await fetch(`${ctx.simBase}/`)).status, 200);
  });
});

// ---------------------------------------------------------------------------------------------
// Time zones (serial: they change process.env.TZ, which the SDK's timestamp follows)

test.serial("the SDK's request timestamp follows the process TZ; with no tolerance the gateway accepts it", async (t) => {
  const saved = process.env.TZ;
  try {
    await withSim(t, {}, async (ctx) => {
      process.env.TZ = 'UTC';
      const url = new URL(handoffUrl(ctx, biz(orderNo())));
      const utcWall = new Date().toISOString().slice(0, 16).replace('T', ' ');
      t.is(url.searchParams.get('timestamp')!.slice(0, 16), utcWall, 'local (UTC) wall time, 8 h behind Beijing');
      t.is((await fetch(url, { redirect: 'manual' })).status, 302);
      t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: 'NOPE_4' }), { subCode: 'ACQ.TRADE_NOT_EXIST' });
    });
    await withSim(t, { timestampToleranceMs: 10 * 60_000 }, async (ctx) => {
      process.env.TZ = 'UTC';
      t.is(subCode((await handOff(ctx, biz(orderNo()))).html), 'isv.invalid-timestamp');
      t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: 'NOPE_5' }), { code: '40002', subCode: 'isv.invalid-timestamp' });
      process.env.TZ = 'Asia/Shanghai';
      t.is((await handOff(ctx, biz(orderNo()))).status, 302);
      t.like(await exec(ctx, 'alipay.trade.query', { out_trade_no: 'NOPE_6' }), { subCode: 'ACQ.TRADE_NOT_EXIST' });
    });
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});
