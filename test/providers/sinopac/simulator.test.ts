/**
 * The SinoPac simulator on its own, over real HTTP, driven by a minimal client written here from the spec
 * (docs/protocols/sinopac.md#client-procedure) so that the simulator is checked independently of the adapter.
 */
import test, { type ExecutionContext } from 'ava';
import { silentLogger } from '../../../core/logger.ts';
import type { SinopacConfig } from '../../../providers/sinopac/config.ts';
import { decryptMessage, encryptMessage, hashId, sign, signMatches } from '../../../providers/sinopac/crypto.ts';
import {
  createSinopacSimulator,
  type SinopacSimulator,
  type SinopacSimulatorSettings,
} from '../../../providers/sinopac/simulator/index.ts';
import { captureLogger, mountSimulator, startMerchantServer } from '../../helpers/sim-server.ts';

type Json = Record<string, any>;

const SUCCESS = 'S0000 – 處理成功';
const E_CODE = /^E\d{4} – \S/;

// ---------------------------------------------------------------------------------------------
// Servers

/** Plays the merchant: records what reaches BackendURL / ReturnURL and answers as `reply` says. */
async function startMerchant() {
  const server = await startMerchantServer((request) => {
    const answer = request.path === '/backend' ? merchant.reply(merchant.backend().length) : { status: 200, body: 'ok' };
    return { ...answer, contentType: 'application/json' };
  });
  const merchant = {
    received: server.received,
    backend: () => server.received.filter((r) => r.path === '/backend'),
    reply: (_n: number): { status: number; body: string } => ({ status: 200, body: '{"Status":"S"}' }),
    base: server.base,
    close: server.close,
  };
  return merchant;
}

type Merchant = Awaited<ReturnType<typeof startMerchant>>;

interface Ctx {
  sim: SinopacSimulator;
  simBase: string;
  shop: SinopacConfig;
  client: Client;
  merchant: Merchant;
  logs: string[];
}

async function withSim(
  t: ExecutionContext,
  settings: SinopacSimulatorSettings,
  fn: (ctx: Ctx) => Promise<void>,
  timeScale = 0.001,
): Promise<void> {
  // A capturing logger, to prove no secret is ever logged.
  const logs: string[] = [];
  // The gateway mounts the handler under /sim/sinopac/ and strips the prefix.
  const mounted = await mountSimulator('/sim/sinopac', (baseUrl) => createSinopacSimulator({ baseUrl, logger: captureLogger(logs), timeScale }, settings));
  const merchant = await startMerchant();
  const { sim, simBase } = mounted;
  try {
    const shop = sim.accountConfig('default');
    await fn({ sim, simBase, shop, client: new Client(shop), merchant, logs });
  } finally {
    await sim.close();
    await mounted.close();
    await merchant.close();
  }
  t.pass();
}

// ---------------------------------------------------------------------------------------------
// A minimal client (§6.3)

interface CallResult {
  http: number;
  contentType: string;
  text: string;
  envelope: Json | null;
  /** The decrypted response message, when the answer was an envelope. */
  R: Json | null;
  /** The response Sign matched Sign(R, response Nonce, HashID). */
  verified: boolean;
}

class Client {
  readonly hashId: string;

  constructor(
    readonly cfg: SinopacConfig,
    readonly keyId: string | null = cfg.KeyID,
  ) {
    this.hashId = hashId(cfg);
  }

  async post(name: 'Nonce' | 'Order', body: unknown): Promise<{ http: number; contentType: string; text: string; json: Json | null }> {
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (this.keyId !== null) headers['X-KeyID'] = this.keyId;
    const res = await fetch(`${this.cfg.baseUrl}${name}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let json: Json | null = null;
    try {
      json = JSON.parse(text) as Json;
    } catch {
      json = null;
    }
    return { http: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
  }

  async nonce(): Promise<string> {
    const res = await this.post('Nonce', { ShopNo: this.cfg.ShopNo });
    if (typeof res.json?.Nonce !== 'string') throw new Error(`no nonce: ${res.http} ${res.text}`);
    return res.json.Nonce;
  }

  async call(service: string, msg: Json, opts: { nonce?: string; sign?: (s: string) => string; envelopeShopNo?: string } = {}): Promise<CallResult> {
    const nonce = opts.nonce ?? (await this.nonce());
    const message = { ShopNo: this.cfg.ShopNo, ...msg };
    const signature = sign(message, nonce, this.hashId);
    const envelope = {
      Version: '1.0.0',
      ShopNo: opts.envelopeShopNo ?? this.cfg.ShopNo,
      APIService: service,
      Sign: opts.sign ? opts.sign(signature) : signature,
      Nonce: nonce,
      Message: encryptMessage(JSON.stringify(message), this.hashId, nonce),
    };
    const res = await this.post('Order', envelope);
    const out: CallResult = { http: res.http, contentType: res.contentType, text: res.text, envelope: res.json, R: null, verified: false };
    if (res.http === 200 && typeof res.json?.Message === 'string' && typeof res.json?.Nonce === 'string') {
      out.R = JSON.parse(decryptMessage(res.json.Message, this.hashId, res.json.Nonce)) as Json;
      out.verified = signMatches(sign(out.R, res.json.Nonce, this.hashId), res.json.Sign);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const taipei = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().replace(/[-T:]/g, '').slice(0, 12);
const inDays = (n: number) => taipei(new Date(Date.now() + n * 86_400_000)).slice(0, 8);
let seq = 0;
/** A unique OrderNo ending in `last` (§11: a trailing 9 is never auto-paid). */
const orderNo = (last = '1') => `T${Date.now().toString(36)}${(++seq).toString().padStart(4, '0')}${last}`;

function atmOrder(ctx: Ctx, fields: Json = {}): Json {
  return {
    OrderNo: orderNo(),
    Amount: 79900,
    CurrencyID: 'TWD',
    PayType: 'A',
    ATMParam: { ExpireDate: inDays(3) },
    PrdtName: '凍頂烏龍茶',
    ReturnURL: `${ctx.merchant.base}/return`,
    BackendURL: `${ctx.merchant.base}/backend`,
    ...fields,
  };
}

function cardOrder(ctx: Ctx, fields: Json = {}, card: Json = { AutoBilling: 'Y', ExpMinutes: 10 }): Json {
  return { ...atmOrder(ctx, fields), PayType: 'C', ATMParam: undefined, CardParam: card, ...fields };
}

async function create(t: ExecutionContext, ctx: Ctx, msg: Json): Promise<Json> {
  const res = await ctx.client.call('OrderCreate', msg);
  t.true(res.verified, res.text);
  t.is(res.R!.Status, 'S', res.R!.Description);
  return res.R!;
}

async function until<T>(probe: () => T | Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isBareRejection(t: ExecutionContext, res: { http: number; text: string }): void {
  t.is(res.http, 200, res.text);
  const body = JSON.parse(res.text) as Json;
  t.is(body.Status, 'F');
  t.regex(body.Description, E_CODE);
  t.false('Message' in body);
  t.false('Nonce' in body);
}

async function payOnCardPage(url: string, fields: Record<string, string>): Promise<{ status: number; html: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, html: await res.text() };
}

const GOOD_CARD = { CardNo: '4111 1111 1111 1111', ExpireMM: '12', ExpireYY: '39', CVV2: '123', action: 'pay' };
// The sandbox page's split fields are accepted too.
const DECLINED_CARD = { CardNo1: '4000', CardNo2: '0000', CardNo3: '0000', CardNo4: '0002', ExpireMM: '12', ExpireYY: '39', CVV2: '123', action: 'pay' };

/** The hidden fields and target of the auto-submitting ReturnURL form (§8.2). */
function returnForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form id="return" method="post" action="([^"]+)"/.exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = m[2]!;
  return { action: action.replace(/&amp;/g, '&'), fields };
}

// ---------------------------------------------------------------------------------------------
// Nonce and gateway-level checks

test('nonce: bank-shaped, single use, expires, bound to the shop', async (t) => {
  await withSim(t, { atmAutoPayMs: null, nonceTtlMs: 1_000 }, async (ctx) => {
    const nonce = await ctx.client.nonce();
    t.regex(Buffer.from(nonce, 'base64').toString('ascii'), /^\d{14}\.\d:[0-9a-f]{64}$/);
    t.is(nonce.length, 108);

    const first = await ctx.client.call('OrderCreate', atmOrder(ctx), { nonce });
    t.true(first.verified);
    t.is(first.R!.Status, 'S');
    isBareRejection(t, await ctx.client.call('OrderCreate', atmOrder(ctx), { nonce }));

    const stale = await ctx.client.nonce();
    await sleep(1_100);
    isBareRejection(t, await ctx.client.call('OrderCreate', atmOrder(ctx), { nonce: stale }));

    // A response nonce is the bank's, never valid for a request.
    isBareRejection(t, await ctx.client.call('OrderCreate', atmOrder(ctx), { nonce: first.envelope!.Nonce }));

    const other = new Client(ctx.sim.addShop());
    const foreign = await other.nonce();
    isBareRejection(t, await ctx.client.call('OrderCreate', atmOrder(ctx), { nonce: foreign }));
  });
});

test('rejections: bad Sign, unknown ShopNo, wrong or missing X-KeyID, non-JSON body', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    isBareRejection(t, await ctx.client.call('OrderCreate', atmOrder(ctx), { sign: flip }));
    isBareRejection(t, await ctx.client.call('OrderCreate', atmOrder(ctx), { sign: () => 'short' }));

    const unknownShop = new Client({ ...ctx.shop, ShopNo: 'XX9999_001' });
    isBareRejection(t, await unknownShop.post('Nonce', { ShopNo: 'XX9999_001' }));
    const wrongKey = new Client(ctx.shop, '00000000-0000-4000-8000-000000000000');
    isBareRejection(t, await wrongKey.post('Nonce', { ShopNo: ctx.shop.ShopNo }));
    const noKey = new Client(ctx.shop, null);
    isBareRejection(t, await noKey.post('Nonce', { ShopNo: ctx.shop.ShopNo }));
    // A good nonce, then the Order call with the wrong key.
    const nonce = await ctx.client.nonce();
    isBareRejection(t, await wrongKey.call('OrderCreate', atmOrder(ctx), { nonce }));

    // Envelope ShopNo of another shop with a valid nonce of ours: the nonce is not that shop's.
    const other = ctx.sim.addShop({ KeyID: ctx.shop.KeyID });
    isBareRejection(t, await ctx.client.call('OrderCreate', atmOrder(ctx), { envelopeShopNo: other.ShopNo }));

    const waf = await ctx.client.post('Order', 'ShopNo=x&Nonce=y');
    t.is(waf.http, 401);
    t.regex(waf.contentType, /text\/html/);
    t.regex(waf.text, /Request Rejected/);
    isBareRejection(t, await ctx.client.post('Order', { Version: '1.0.0', ShopNo: ctx.shop.ShopNo }));
    isBareRejection(t, await ctx.client.post('Order', { Version: 1, ShopNo: ctx.shop.ShopNo, APIService: [], Sign: {}, Nonce: null, Message: 7 }));
    const garbage = await ctx.client.call('OrderCreate', atmOrder(ctx), {});
    t.true(garbage.verified, 'the simulator still works after all that');

    const get = await fetch(`${ctx.shop.baseUrl}Nonce`);
    t.is(get.status, 405);
  });
});

test("rejection 'http': HTTP 401 Request Rejected", async (t) => {
  await withSim(t, { atmAutoPayMs: null, rejection: 'http' }, async (ctx) => {
    const res = await ctx.client.call('OrderCreate', atmOrder(ctx), { sign: (s) => s.replace(/^./, (c) => (c === '0' ? '1' : '0')) });
    t.is(res.http, 401);
    t.regex(res.text, /Request Rejected/);
    const nonce = await new Client(ctx.shop, 'nope').post('Nonce', { ShopNo: ctx.shop.ShopNo });
    t.is(nonce.http, 401);
  });
});

// ---------------------------------------------------------------------------------------------
// OrderCreate

test('OrderCreate: ATM and card answers are signed envelopes with bank-shaped fields', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const msg = atmOrder(ctx, { Param1: 'p-one' });
    const res = await ctx.client.call('OrderCreate', msg);
    t.true(res.verified);
    t.deepEqual(Object.keys(res.envelope!).sort(), ['APIService', 'Message', 'Nonce', 'ShopNo', 'Sign', 'Version']);
    t.is(res.envelope!.APIService, 'OrderCreate');
    t.is(res.envelope!.Version, '1.0.0');
    t.regex(res.envelope!.Sign, /^[0-9A-F]{64}$/);
    t.regex(res.envelope!.Message, /^[0-9A-F]+$/);
    const R = res.R!;
    t.is(R.Description, SUCCESS);
    t.is(R.OrderNo, msg.OrderNo);
    t.is(R.Amount, 79900);
    t.is(R.PayType, 'A');
    t.is(R.Param1, 'p-one');
    t.regex(R.TSNo, new RegExp(`^${ctx.shop.ShopNo.slice(0, 6)}\\d{8}$`));
    t.regex(R.ATMParam.AtmPayNo, /^99922530\d{6}$/);
    t.true(R.ATMParam.WebAtmURL.startsWith(`${ctx.simBase}/QPay.WebPaySite/Bridge/PayWebATM?TD=${R.TSNo}&TK=`));
    t.true(R.ATMParam.OtpURL.startsWith(`${ctx.simBase}/QPay.WebPaySite/Bridge/PayOTP?TD=${R.TSNo}&TK=`));
    t.regex(ctx.shop.ShopNo, /^SIM\d{3}_001$/);
    t.not(ctx.sim.accountConfig('other').ShopNo, ctx.shop.ShopNo);
    t.deepEqual(ctx.sim.accountConfig('default'), ctx.shop);
    t.is(ctx.shop.baseUrl, `${ctx.simBase}/funBIZ/QPay.WebAPI/api/`);

    const card = await ctx.client.call('OrderCreate', cardOrder(ctx));
    t.true(card.verified);
    t.is(card.R!.Status, 'S');
    t.true(card.R!.CardParam.CardPayURL.startsWith(`${ctx.simBase}/QPay.WebPaySite/Bridge/PayCard?TD=${card.R!.TSNo}&TK=`));
    t.is(card.R!.ATMParam, undefined);
    t.not(card.R!.TSNo, R.TSNo);

    const dup = await ctx.client.call('OrderCreate', atmOrder(ctx, { OrderNo: msg.OrderNo }));
    t.true(dup.verified);
    t.is(dup.R!.Status, 'F');
    t.regex(dup.R!.Description, E_CODE);
  });
});

test('OrderCreate: invalid fields are business failures (Status F in a signed envelope)', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const bad: Json[] = [
      atmOrder(ctx, { OrderNo: 'A%1' }),
      atmOrder(ctx, { OrderNo: 'x'.repeat(51) }),
      atmOrder(ctx, { Amount: -100 }),
      atmOrder(ctx, { Amount: 12.5 }),
      atmOrder(ctx, { CurrencyID: 'USD' }),
      atmOrder(ctx, { PrdtName: '茶'.repeat(21) }), // 63 UTF-8 bytes
      atmOrder(ctx, { ATMParam: {} }),
      atmOrder(ctx, { ATMParam: { ExpireDate: '20230231' } }),
      atmOrder(ctx, { ATMParam: { ExpireDate: '20200101' } }),
      atmOrder(ctx, { PayType: 'Z' }),
      atmOrder(ctx, { ReturnURL: undefined }),
      atmOrder(ctx, { BackendURL: 'ftp://x' }),
      cardOrder(ctx, {}, { AutoBilling: 'Q' }),
      cardOrder(ctx, {}, { ExpMinutes: 99 }),
    ];
    for (const msg of bad) {
      const res = await ctx.client.call('OrderCreate', msg);
      t.true(res.verified);
      t.is(res.R!.Status, 'F', JSON.stringify(msg));
      t.regex(res.R!.Description, E_CODE);
    }
    const mismatch = await ctx.client.call('OrderCreate', { ...atmOrder(ctx), ShopNo: 'NA0249_001' });
    t.is(mismatch.R!.Status, 'F');
    const unknown = await ctx.client.call('BillQuery', { BillDate: '20240101' });
    t.is(unknown.R!.Status, 'F');
    t.is(ctx.sim.orders.length, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Card page, callbacks and OrderPayQuery

test('card page: a labelled form; Pay posts back to ReturnURL, BackendURL gets the PayToken, OrderPayQuery says S', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const R = await create(t, ctx, cardOrder(ctx, { Param2: 'two' }));
    const url = R.CardParam.CardPayURL as string;
    const page = await fetch(url);
    t.is(page.status, 200);
    const html = await page.text();
    t.true(html.includes(R.OrderNo));
    t.true(html.includes('NT$799'));
    for (const id of ['CardNo', 'ExpireMM', 'ExpireYY', 'CVV2']) {
      t.regex(html, new RegExp(`<label for="${id}">[^<]+</label>`));
      t.regex(html, new RegExp(`<input id="${id}" name="${id}"`));
    }
    t.regex(html, /<button type="submit" id="send"[^>]*>Pay<\/button>/);
    t.regex(html, /<button[^>]*>Decline<\/button>/);
    t.true(html.includes(`action="${url.replace(/&/g, '&amp;')}"`));

    const paid = await payOnCardPage(url, GOOD_CARD);
    t.is(paid.status, 200);
    const form = returnForm(paid.html);
    t.is(form.action, `${ctx.merchant.base}/return`);
    t.deepEqual(Object.keys(form.fields).sort(), ['PayToken', 'ShopNo']);
    t.is(form.fields.ShopNo, ctx.shop.ShopNo);
    t.regex(form.fields.PayToken!, /^[0-9a-f]{64}$/);
    t.regex(paid.html, /document\.getElementById\('return'\)\.submit\(\)/);

    const backend = ctx.merchant.backend();
    t.is(backend.length, 1, 'the first delivery is made before the page answers');
    t.regex(backend[0]!.contentType, /^application\/json/);
    t.deepEqual(JSON.parse(backend[0]!.body), { ShopNo: ctx.shop.ShopNo, PayToken: form.fields.PayToken });

    const q = await ctx.client.call('OrderPayQuery', { PayToken: form.fields.PayToken });
    t.true(q.verified);
    t.is(q.R!.Status, 'S');
    t.is(q.R!.Description, SUCCESS);
    t.is(q.R!.PayToken, form.fields.PayToken);
    t.regex(q.R!.Date, /^\d{12}$/);
    const r = q.R!.TSResultContent;
    t.like(r, { APType: 'PayOut', TSNo: R.TSNo, OrderNo: R.OrderNo, ShopNo: ctx.shop.ShopNo, PayType: 'C', Amount: '79900', Status: 'S' });
    t.is(typeof r.Amount, 'string');
    t.regex(r.PayDate, /^\d{12}$/);
    t.is(r.Param2, 'two');
    t.is(r.LeftCCNo, '411111');
    t.is(r.RightCCNo, '1111');

    t.is((await fetch(url)).status, 409, 'a paid order has no form any more');
    const unknown = await ctx.client.call('OrderPayQuery', { PayToken: 'f'.repeat(64) });
    t.is(unknown.R!.Status, 'F');
    t.regex(unknown.R!.Description, E_CODE);
    const invalidCard = await payOnCardPage(url.replace(/TK=[^&]+/, 'TK=nope'), GOOD_CARD);
    t.is(invalidCard.status, 404);
  });
});

test('card page: a declined card gives Status F; the same CardPayURL can be paid again', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const R = await create(t, ctx, cardOrder(ctx));
    const url = R.CardParam.CardPayURL as string;

    const typo = await payOnCardPage(url, { ...GOOD_CARD, CardNo: '4111 1111 1111 1112' });
    t.is(typo.status, 400);
    t.regex(typo.html, /role="alert"/);
    t.is(ctx.sim.orders[0]!.attempts.length, 0, 'a form error is not an attempt');

    const declined = returnForm((await payOnCardPage(url, DECLINED_CARD)).html).fields.PayToken!;
    const viaButton = returnForm((await payOnCardPage(url, { action: 'decline' })).html).fields.PayToken!;
    for (const token of [declined, viaButton]) {
      const q = await ctx.client.call('OrderPayQuery', { PayToken: token });
      t.is(q.R!.Status, 'S', 'the query itself succeeded');
      t.is(q.R!.TSResultContent.Status, 'F');
      t.regex(q.R!.TSResultContent.Description, E_CODE);
    }
    t.is((await fetch(url)).status, 200, 'the page is still open after a failure');

    const paid = returnForm((await payOnCardPage(url, GOOD_CARD)).html).fields.PayToken!;
    t.not(paid, declined);
    const q = await ctx.client.call('OrderPayQuery', { PayToken: paid });
    t.is(q.R!.TSResultContent.Status, 'S');
    t.deepEqual(
      ctx.merchant.backend().map((r) => JSON.parse(r.body).PayToken),
      [declined, viaButton, paid],
    );
    const list = await ctx.client.call('OrderQuery', { OrderNo: R.OrderNo });
    t.is(list.R!.OrderList[0].PayStatus, '1C400');
  });
});

// ---------------------------------------------------------------------------------------------
// BackendURL retries

test('BackendURL: retried on non-S answers per the scaled schedule, 5 attempts at most, stops at the first S', async (t) => {
  // 10 min × 0.0001 = 60 ms between attempts.
  await withSim(
    t,
    { atmAutoPayMs: null },
    async (ctx) => {
      ctx.merchant.reply = () => ({ status: 200, body: '{"Status":"F"}' });
      const never = await create(t, ctx, atmOrder(ctx));
      const paid = await ctx.sim.pay(never.OrderNo);
      t.deepEqual(paid.firstDelivery, { status: 200, body: '{"Status":"F"}', ok: false });
      await until(() => ctx.merchant.backend().length, (n) => n >= 5);
      await sleep(300);
      const got = ctx.merchant.backend();
      t.is(got.length, 5);
      for (let i = 1; i < got.length; i++) t.true(got[i]!.at - got[i - 1]!.at >= 50, `gap ${i}: ${got[i]!.at - got[i - 1]!.at} ms`);
      t.true(got.every((r) => JSON.parse(r.body).PayToken === paid.payToken));
      t.deepEqual(
        ctx.sim.deliveries.map((d) => [d.attempt, d.kind, d.ok]),
        [
          [1, 'notify', false],
          [2, 'retry', false],
          [3, 'retry', false],
          [4, 'retry', false],
          [5, 'retry', false],
        ],
      );

      // A 500, then a 200 that is not JSON, then S: exactly three attempts.
      const answers = [
        { status: 500, body: 'oops' },
        { status: 200, body: 'OK' },
        { status: 200, body: '{"Status":"S"}' },
      ];
      let n = 0;
      ctx.merchant.reply = () => answers[Math.min(n++, 2)]!;
      const second = await create(t, ctx, atmOrder(ctx));
      await ctx.sim.pay(second.OrderNo);
      await until(() => n, (v) => v >= 3);
      await sleep(300);
      t.is(n, 3);
      t.deepEqual(
        ctx.sim.deliveries.filter((d) => d.orderNo === second.OrderNo).map((d) => [d.status, d.ok]),
        [
          [500, false],
          [200, false],
          [200, true],
        ],
      );

      // A lost network path: deliveries fail until it heals; renotify resends the last PayToken.
      ctx.sim.setBackendUrlDown(true);
      const third = await create(t, ctx, cardOrder(ctx));
      const lost = await ctx.sim.pay(third.OrderNo);
      t.is(lost.firstDelivery.status, 0);
      ctx.sim.setBackendUrlDown(false);
      const again = await ctx.sim.renotify(third.OrderNo);
      t.like(again, { payToken: lost.payToken, status: 200, ok: true });
    },
    0.0001,
  );
});

// ---------------------------------------------------------------------------------------------
// ATM: sandbox auto-payment, WebATM page

test('ATM: paid by itself after atmAutoPayMs, but never when the OrderNo ends in 9', async (t) => {
  await withSim(t, { atmAutoPayMs: 250 }, async (ctx) => {
    const auto = await create(t, ctx, atmOrder(ctx, { OrderNo: orderNo('2') }));
    const stays = await create(t, ctx, atmOrder(ctx, { OrderNo: orderNo('9') }));
    const paidOrder = await until(
      () => ctx.sim.orders.find((o) => o.orderNo === auto.OrderNo)!,
      (o) => o.status === 'paid',
    );
    t.is(paidOrder.payStatus, '1A400');
    t.is(paidOrder.attempts[0]!.source, 'auto');
    t.true(Date.parse(paidOrder.paidAt!) - Date.parse(paidOrder.createdAt) >= 240, 'not before atmAutoPayMs');
    await until(() => ctx.merchant.backend().length, (n) => n === 1);
    const token = JSON.parse(ctx.merchant.backend()[0]!.body).PayToken;
    const q = await ctx.client.call('OrderPayQuery', { PayToken: token });
    t.like(q.R!.TSResultContent, { OrderNo: auto.OrderNo, PayType: 'A', Status: 'S', Amount: '79900' });
    t.is(q.R!.TSResultContent.LeftCCNo, undefined);

    await sleep(400);
    const unpaid = ctx.sim.orders.find((o) => o.orderNo === stays.OrderNo)!;
    t.is(unpaid.status, 'unpaid');
    t.is(unpaid.payStatus, '1A200');
    t.is(ctx.merchant.backend().length, 1);

    // The buyer transfers on the WebATM page instead.
    const page = await fetch(stays.ATMParam.WebAtmURL);
    t.is(page.status, 200);
    t.true((await page.text()).includes(stays.ATMParam.AtmPayNo));
    const done = await fetch(stays.ATMParam.WebAtmURL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'action=pay',
    });
    t.regex(await done.text(), /Transfer complete/);
    t.is(ctx.sim.orders.find((o) => o.orderNo === stays.OrderNo)!.status, 'paid');
    t.is(ctx.merchant.backend().length, 2);
  });
});

// ---------------------------------------------------------------------------------------------
// OrderQuery

test('OrderQuery: a date window caps at 300 rows by TSDate; PayFlag and PayType filter; fields per §7.3', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const from = taipei(new Date(Date.now() - 60_000));
    const made: string[] = [];
    for (let i = 0; i < 305; i++) {
      const msg = i % 5 === 0 ? cardOrder(ctx, { Amount: 10000 + i * 100 }) : atmOrder(ctx, { Amount: 10000 + i * 100 });
      const res = await ctx.client.call('OrderCreate', msg);
      t.is(res.R!.Status, 'S');
      made.push(msg.OrderNo);
    }
    const to = taipei(new Date(Date.now() + 60_000));
    const window = await ctx.client.call('OrderQuery', { OrderDateTimeS: from, OrderDateTimeE: to });
    t.true(window.verified);
    t.is(window.R!.Status, 'S');
    t.is(window.R!.Description, SUCCESS);
    t.regex(window.R!.Date, /^\d{12}$/);
    const list = window.R!.OrderList as Json[];
    t.is(list.length, 300);
    t.deepEqual(
      list.map((o) => o.OrderNo),
      made.slice(0, 300),
    );
    t.true(list.every((o, i) => i === 0 || o.TSDate >= list[i - 1]!.TSDate));

    const atm = list.find((o) => o.PayType === 'A')!;
    t.like(atm, { PayStatus: '1A200', PayDate: '', RefundFlag: 'N', RefundAmount: 0, PrdtName: '凍頂烏龍茶' });
    t.is(typeof atm.Amount, 'number');
    t.is(atm.ExpireDate, `${inDays(3)}2359`);
    t.regex(atm.TSDate, /^\d{12}$/);
    t.regex(atm.ATMParam.AtmPayNo, /^99922530\d{6}$/);
    const card = list.find((o) => o.PayType === 'C')!;
    t.is(card.PayStatus, '1C200');
    t.regex(card.ExpireDate, /^\d{12}$/);

    // Pay two ATM orders, decline a card.
    await ctx.sim.pay(made[1]!);
    await ctx.sim.pay(made[2]!);
    await ctx.sim.decline(made[0]!);
    const paid = await ctx.client.call('OrderQuery', { PayFlag: 'Y' });
    t.deepEqual(
      (paid.R!.OrderList as Json[]).map((o) => o.OrderNo),
      [made[1], made[2]],
    );
    const row = (paid.R!.OrderList as Json[])[0]!;
    t.is(row.PayStatus, '1A400');
    t.regex(row.PayDate, /^\d{12}$/);
    t.is(row.ATMParam.BankNo, '807');
    t.regex(row.ATMParam.AcctNo, /^\d{14}$/);
    const unpaidCards = await ctx.client.call('OrderQuery', { PayFlag: 'N', PayType: 'C' });
    t.is(unpaidCards.R!.OrderList.length, 61, 'the declined card order is still not paid');
    const byPayDate = await ctx.client.call('OrderQuery', { PayDateTimeS: from, PayDateTimeE: to });
    t.is(byPayDate.R!.OrderList.length, 2);
    const one = await ctx.client.call('OrderQuery', { OrderNo: made[304] });
    t.is(one.R!.OrderList.length, 1);

    const none = await ctx.client.call('OrderQuery', {});
    t.is(none.R!.Status, 'F');
    t.regex(none.R!.Description, E_CODE);
    const half = await ctx.client.call('OrderQuery', { OrderDateTimeS: from });
    t.is(half.R!.Status, 'F');
  });
});

// ---------------------------------------------------------------------------------------------
// OrderMaintain

test('OrderMaintain: partial refund, then the rest, then over-refund is F; capture and void; ATM is F', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const R = await create(t, ctx, cardOrder(ctx));
    const early = await ctx.client.call('OrderMaintain', { OrderNo: R.OrderNo, Command: 'R' });
    t.is(early.R!.Status, 'F', 'nothing to refund before payment');
    await ctx.sim.pay(R.OrderNo);

    const part = await ctx.client.call('OrderMaintain', { OrderNo: R.OrderNo, Command: 'R', Amount: 30000, Remark: 'damaged' });
    t.true(part.verified);
    t.like(part.R, { OrderNo: R.OrderNo, TSNo: R.TSNo, Command: 'R', Amount: 30000, Status: 'S', Description: SUCCESS });
    const after = (await ctx.client.call('OrderQuery', { OrderNo: R.OrderNo })).R!.OrderList[0];
    t.like(after, { RefundFlag: 'Y', RefundAmount: 30000, PayStatus: '1C400' });
    t.regex(after.RefundDate, /^\d{12}$/);

    const over = await ctx.client.call('OrderMaintain', { OrderNo: R.OrderNo, Command: 'R', Amount: 50000 });
    t.is(over.R!.Status, 'F');
    t.regex(over.R!.Description, E_CODE);
    const rest = await ctx.client.call('OrderMaintain', { OrderNo: R.OrderNo, Command: 'R' });
    t.like(rest.R, { Status: 'S', Amount: 49900 });
    const more = await ctx.client.call('OrderMaintain', { OrderNo: R.OrderNo, Command: 'R', Amount: 100 });
    t.is(more.R!.Status, 'F');
    t.is((await ctx.client.call('OrderQuery', { OrderNo: R.OrderNo })).R!.OrderList[0].RefundAmount, 79900);

    // AutoBilling N: authorised (1C300) until captured (1C400); a void of a captured order is F.
    const manual = await create(t, ctx, cardOrder(ctx, {}, { AutoBilling: 'N', ExpMinutes: 5 }));
    await ctx.sim.pay(manual.OrderNo);
    const status = async (no: string) => (await ctx.client.call('OrderQuery', { OrderNo: no })).R!.OrderList[0].PayStatus;
    t.is(await status(manual.OrderNo), '1C300');
    t.is((await ctx.client.call('OrderMaintain', { OrderNo: manual.OrderNo, Command: 'R' })).R!.Status, 'F');
    t.is((await ctx.client.call('OrderMaintain', { OrderNo: manual.OrderNo, Command: 'P' })).R!.Status, 'S');
    t.is(await status(manual.OrderNo), '1C400');
    t.is((await ctx.client.call('OrderMaintain', { OrderNo: manual.OrderNo, Command: 'C' })).R!.Status, 'F');

    const voided = await create(t, ctx, cardOrder(ctx, {}, { AutoBilling: 'N' }));
    await ctx.sim.pay(voided.OrderNo);
    t.is((await ctx.client.call('OrderMaintain', { OrderNo: voided.OrderNo, Command: 'C' })).R!.Status, 'S');
    t.not(await status(voided.OrderNo), '1C300');
    t.is((await ctx.client.call('OrderMaintain', { OrderNo: voided.OrderNo, Command: 'P' })).R!.Status, 'F');

    const atm = await create(t, ctx, atmOrder(ctx));
    await ctx.sim.pay(atm.OrderNo);
    const atmRefund = await ctx.client.call('OrderMaintain', { OrderNo: atm.OrderNo, Command: 'R' });
    t.is(atmRefund.R!.Status, 'F');
    t.is((await ctx.client.call('OrderMaintain', { OrderNo: 'nope', Command: 'R' })).R!.Status, 'F');
    t.is((await ctx.client.call('OrderMaintain', { OrderNo: R.OrderNo, Command: 'X' })).R!.Status, 'F');
  });
});

// ---------------------------------------------------------------------------------------------
// Control API, outage, secrets

test('control API over HTTP: pay, decline, renotify, outage (503), orders without secrets, 404 and 400', async (t) => {
  await withSim(t, { atmAutoPayMs: null }, async (ctx) => {
    const control = async (path: string, body?: unknown) => {
      const res = await fetch(`${ctx.simBase}/_control/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: res.status, json: (await res.json()) as Json };
    };
    const card = await create(t, ctx, cardOrder(ctx));
    const atm = await create(t, ctx, atmOrder(ctx));

    const declined = await control('decline', { orderNo: card.OrderNo });
    t.is(declined.status, 200);
    t.like(declined.json, { tsNo: card.TSNo, status: 'F', firstDelivery: { status: 200, body: '{"Status":"S"}', ok: true } });
    const paid = await control('pay', { orderNo: card.OrderNo });
    t.like(paid.json, { status: 'S' });
    t.regex(paid.json.payToken, /^[0-9a-f]{64}$/);
    t.is((await control('pay', { orderNo: card.OrderNo })).status, 409, 'already paid');
    const atmDeclined = await control('decline', { orderNo: atm.OrderNo });
    const q = await ctx.client.call('OrderPayQuery', { PayToken: atmDeclined.json.payToken });
    t.is(q.R!.TSResultContent.Status, 'F');
    t.is((await control('pay', { orderNo: atm.OrderNo })).json.status, 'S');

    const again = await control('renotify', { orderNo: card.OrderNo });
    t.like(again.json, { payToken: paid.json.payToken, status: 200, ok: true });
    t.is(JSON.parse(ctx.merchant.backend().at(-1)!.body).PayToken, paid.json.payToken);

    t.is((await control('pay', { orderNo: 'missing' })).status, 404);
    t.is((await control('renotify', { orderNo: 'missing' })).status, 404);
    t.is((await control('pay', {})).status, 400);
    t.is((await control('pay', '{not json')).status, 400);
    t.is((await control('nothing', {})).status, 404);
    t.is((await control('outage', { down: 'yes' })).status, 400);

    t.is((await control('outage', { down: true })).status, 200);
    t.true(ctx.sim.outage);
    const nonce = await ctx.client.post('Nonce', { ShopNo: ctx.shop.ShopNo });
    t.is(nonce.http, 503);
    t.is((await ctx.client.post('Order', { ShopNo: ctx.shop.ShopNo })).http, 503);
    t.is((await fetch(card.CardParam.CardPayURL)).status, 409, 'pages still answer (this order is paid)');
    const orders = await control('orders');
    t.is(orders.status, 200);
    t.is(orders.json.orders.length, 2);
    t.true(orders.json.outage);
    await control('outage', { down: false });
    t.true((await ctx.client.call('OrderQuery', { OrderNo: card.OrderNo })).verified);

    const deliveries = await control(`deliveries?orderNo=${card.OrderNo}`);
    t.is(deliveries.json.deliveries.length, 3);
    t.true(deliveries.json.deliveries.every((d: Json) => d.orderNo === card.OrderNo && typeof d.attempt === 'number'));

    // No secret in any answer or log line.
    const hid = hashId(ctx.shop);
    const everything = JSON.stringify(orders.json) + JSON.stringify(deliveries.json) + ctx.logs.join('\n');
    for (const secret of [ctx.shop.A1, ctx.shop.A2, ctx.shop.B1, ctx.shop.B2, ctx.shop.KeyID, hid]) {
      t.false(everything.includes(secret), 'a secret leaked');
    }
    t.true(ctx.logs.length > 0);
    const index = await fetch(`${ctx.simBase}/`);
    t.is(index.status, 200);
    t.true((await index.text()).includes(card.OrderNo));
    t.is((await fetch(`${ctx.simBase}/nowhere`)).status, 404);
  });
});

test('accountConfig: fresh random keys per simulator, never the spec’s public ones', async (t) => {
  const a = createSinopacSimulator({ baseUrl: 'http://127.0.0.1:1/sim/sinopac', logger: silentLogger });
  const b = createSinopacSimulator({ baseUrl: 'http://127.0.0.1:1/sim/sinopac/', logger: silentLogger });
  try {
    const x = a.accountConfig('default');
    const y = b.accountConfig('default');
    for (const k of ['A1', 'A2', 'B1', 'B2'] as const) {
      t.regex(x[k], /^[0-9A-F]{16}$/);
      t.not(x[k], y[k]);
    }
    t.regex(x.KeyID, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    t.not(x.KeyID, y.KeyID);
    t.false(['86D50DEF3EB7400E', '4D9709D699CA40EE', '65960834240E44B7'].includes(x.A1));
    t.is(y.baseUrl, 'http://127.0.0.1:1/sim/sinopac/funBIZ/QPay.WebAPI/api/');
    t.not(a.accountConfig('second').ShopNo, x.ShopNo);
    await t.throwsAsync(() => a.pay('missing'), { message: /no order/ });
  } finally {
    await a.close();
    await b.close();
  }
});
