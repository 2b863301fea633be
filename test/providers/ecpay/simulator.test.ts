/**
 * The ECPay simulator on its own, over real HTTP (docs/protocols/ecpay.md#simulator): requests are signed
 * here with the CheckMacValue routine (pinned by the §4.5 vectors in crypto.test.ts), never through
 * the adapter, so the simulator is checked independently of it.
 */
import test, { type ExecutionContext } from 'ava';
import { parseRaw } from '../../../providers/ecpay/codec.ts';
import type { EcpayConfig } from '../../../providers/ecpay/config.ts';
import { checkMacMatches, withCheckMac, type MacKeys } from '../../../providers/ecpay/crypto.ts';
import { createEcpaySimulator, type EcpaySimulator, type EcpaySimulatorSettings } from '../../../providers/ecpay/simulator/index.ts';
import { EXTRA_FIELDS } from '../../../providers/ecpay/simulator/messages.ts';
import { taipeiDatePlusDays, taipeiDateTime } from '../../../providers/ecpay/time.ts';
import { captureLogger, mountSimulator, startMerchantServer, type MerchantRequest } from '../../helpers/sim-server.ts';

interface Ctx {
  sim: EcpaySimulator;
  simBase: string;
  config: EcpayConfig;
  merchant: { base: string; notices: () => Record<string, string>[]; received: MerchantRequest[] };
  logs: string[];
}

/** The merchant answers notices with `reply(n)` for its n-th notice (0-based). */
async function withSim(t: ExecutionContext, fn: (ctx: Ctx) => Promise<void>, options: { settings?: EcpaySimulatorSettings; reply?: (n: number) => string } = {}): Promise<void> {
  const logs: string[] = [];
  const mounted = await mountSimulator('/sim/ecpay', (baseUrl) => createEcpaySimulator({ baseUrl, logger: captureLogger(logs), timeScale: 0.0002 }, options.settings));
  let count = 0;
  const server = await startMerchantServer((request) => ({
    status: 200,
    contentType: 'text/plain',
    body: request.path === '/notify' ? (options.reply ?? (() => '1|OK'))(count++) : 'ok',
  }));
  const notices = () => server.received.filter((r) => r.path === '/notify').map((r) => Object.fromEntries(new URLSearchParams(r.body)));
  try {
    const config = mounted.sim.accountConfig('default');
    await fn({ sim: mounted.sim, simBase: mounted.simBase, config, merchant: { base: server.base, notices, received: server.received }, logs });
    await mounted.sim.settle();
    // The keys never reach a log line.
    t.false(logs.some((l) => l.includes(config.HashKey) || l.includes(config.HashIV)), 'no key in the simulator log');
  } finally {
    await mounted.sim.close();
    await mounted.close();
    await server.close();
  }
}

let seq = 0;
const tradeNo = () => `T${Date.now().toString(36).toUpperCase()}${(++seq).toString().padStart(4, '0')}`.slice(0, 20);

function checkoutForm(ctx: Ctx, overrides: Record<string, string> = {}, keys: { HashKey: string; HashIV: string } = ctx.config): Record<string, string> {
  const fields: Record<string, string> = {
    MerchantID: ctx.config.MerchantID,
    MerchantTradeNo: tradeNo(),
    MerchantTradeDate: taipeiDateTime(new Date()),
    PaymentType: 'aio',
    TotalAmount: '1200',
    TradeDesc: 'Tea shop',
    ItemName: '凍頂烏龍茶 300g x2#<script>alert(1)</script>',
    ReturnURL: `${ctx.merchant.base}/notify`,
    ChoosePayment: 'Credit',
    EncryptType: '1',
    NeedExtraPaidInfo: 'Y',
    OrderResultURL: `${ctx.merchant.base}/return`,
    ...overrides,
  };
  return withCheckMac(fields, keys);
}

const post = (url: string, fields: Record<string, string>, redirect: RequestRedirect = 'manual') =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), redirect });

async function checkout(ctx: Ctx, overrides: Record<string, string> = {}): Promise<{ status: number; location: string | null; html: string; no: string }> {
  const form = checkoutForm(ctx, overrides);
  const res = await post(`${ctx.simBase}/Cashier/AioCheckOut/V5`, form);
  return { status: res.status, location: res.headers.get('location'), html: await res.text(), no: form.MerchantTradeNo! };
}

const errorCode = (html: string) => /data-testid="ecpay-error-code">([^<]*)</.exec(html)?.[1];

async function control(ctx: Ctx, action: string, input: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${ctx.simBase}/_control/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  return { status: res.status, body: await res.json() };
}

async function query(ctx: Ctx, no: string, timeStamp = Math.floor(Date.now() / 1000)): Promise<string> {
  const res = await post(`${ctx.simBase}/Cashier/QueryTradeInfo/V5`, withCheckMac({ MerchantID: ctx.config.MerchantID, MerchantTradeNo: no, TimeStamp: String(timeStamp) }, ctx.config));
  return res.text();
}

async function until<T>(probe: () => T, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sortedIgnoringCase = (names: string[]) => names.every((n, i) => i === 0 || names[i - 1]!.toLowerCase() <= n.toLowerCase());

test('AioCheckOut refuses what ECPay refuses, with its error page codes', async (t) => {
  await withSim(t, async (ctx) => {
    const url = `${ctx.simBase}/Cashier/AioCheckOut/V5`;
    const unknown = await post(url, checkoutForm(ctx, { MerchantID: '1234567' }));
    t.is(errorCode(await unknown.text()), '10200141');
    const badMac = await post(url, { ...checkoutForm(ctx), TotalAmount: '1' });
    t.is(errorCode(await badMac.text()), '10200073', 'an amount changed after signing');
    const wrongKeys = await post(url, checkoutForm(ctx, {}, { HashKey: ctx.config.HashIV, HashIV: ctx.config.HashKey }));
    t.is(errorCode(await wrongKeys.text()), '10200073', 'HashKey and HashIV swapped');
    t.is(errorCode((await checkout(ctx, { MerchantTradeNo: 'ORDER_1' })).html), '10200052');
    t.is(errorCode((await checkout(ctx, { TotalAmount: '12.5' })).html), '10200903');
    t.is(errorCode((await checkout(ctx, { ChoosePayment: 'ATM', TotalAmount: '50000' })).html), '10200903', 'ATM takes at most NT$49,999');
    t.is(errorCode((await checkout(ctx, { ChoosePayment: 'CVS' })).html), '10300023');
    const ok = await checkout(ctx);
    t.is(ok.status, 303);
    t.regex(ok.location!, new RegExp(`^${ctx.simBase}/pay/[0-9a-z]{24}$`));
    const again = await post(url, checkoutForm(ctx, { MerchantTradeNo: ok.no }));
    t.is(errorCode(await again.text()), '10300028', 'a MerchantTradeNo is spent once posted');
    t.is((await fetch(url)).status, 405);
    // §14 self-test: ECPay's own worked example (V1, public stage merchant 3002607) passes the MAC check;
    // ChoosePayment=ALL is what this simulator does not offer.
    const v1 = {
      ChoosePayment: 'ALL', EncryptType: '1', ItemName: 'Apple iphone 15', MerchantID: '3002607', MerchantTradeDate: '2023/03/12 15:30:23',
      MerchantTradeNo: 'ecpay20230312153023', PaymentType: 'aio', ReturnURL: 'https://www.ecpay.com.tw/receive.php', TotalAmount: '30000', TradeDesc: '促銷方案',
      CheckMacValue: '6C51C9E6888DE861FD62FB1DD17029FC742634498FD813DC43D4243B5685B840',
    };
    t.is(errorCode(await (await post(url, v1)).text()), '10300023');
  });
});

test('the card pay page: escaped order data, labelled inputs, named buttons with test ids', async (t) => {
  await withSim(t, async (ctx) => {
    const { location } = await checkout(ctx);
    const html = await (await fetch(location!)).text();
    t.true(html.includes('<html lang="zh-Hant">'));
    t.true(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    t.false(html.includes('<script>alert(1)'));
    for (const [value, label, testId] of [
      ['pay', '確認付款 Pay', 'ecpay-pay'],
      ['decline', '模擬交易失敗 Decline', 'ecpay-decline'],
      ['simulate', '模擬付款 SimulatePaid', 'ecpay-simulate-paid'],
      ['abandon', '放棄付款 Abandon', 'ecpay-abandon'],
    ]) {
      t.true(html.includes(`value="${value}" data-testid="${testId}"`), testId);
      t.regex(html, new RegExp(`data-testid="${testId}"[^>]*>${label}</button>`));
    }
    for (const id of ['card-number', 'card-expiry', 'card-cvc']) t.true(html.includes(`<label for="${id}">`) && html.includes(`id="${id}"`), id);
  });
});

test('notices are re-sent until 1|OK: at most 5 deliveries, re-sends say paid, each signed, sorted with CheckMacValue last', async (t) => {
  await withSim(
    t,
    async (ctx) => {
      const { no } = await checkout(ctx);
      const paid = await control(ctx, 'pay', { orderNo: no });
      t.is(paid.status, 200);
      t.like(paid.body, { orderNo: no, tradeStatus: '1', firstDelivery: { status: 200, body: 'OK', ok: false } });
      const notices = await until(ctx.merchant.notices, (n) => n.length >= 5);
      await new Promise((r) => setTimeout(r, 300));
      t.is(ctx.merchant.notices().length, 5, '1 delivery + 4 re-sends, then ECPay gives up');
      t.deepEqual(notices.map((n) => n.RtnMsg), ['交易成功', 'paid', 'paid', 'paid', 'paid']);
      for (const notice of notices) {
        t.true(checkMacMatches(notice, ctx.config));
        const names = Object.keys(notice);
        t.is(names.at(-1), 'CheckMacValue');
        t.true(sortedIgnoringCase(names.slice(0, -1)));
        t.is(names.length, 16 + EXTRA_FIELDS.length + 1, 'NeedExtraPaidInfo=Y: 46 fields and the MAC');
      }
      t.like(notices[0], { RtnCode: '1', SimulatePaid: '0', TradeAmt: '1200', PaymentType: 'Credit_CreditCard', card4no: '2222', card6no: '431195', MerchantTradeNo: no });
      t.regex(notices[0]!.gwsr!, /^\d+$/);
      t.deepEqual(
        ctx.sim.deliveries.map((d) => d.kind),
        ['notify', 'resend', 'resend', 'resend', 'resend'],
      );
    },
    // Not quite: only exactly `1|OK` acknowledges (§5.1).
    { reply: () => 'OK' },
  );
});

test('the first 1|OK stops the re-sends; with ackMatch exact, "1|OK\\n" is not one, with trim it is', async (t) => {
  await withSim(
    t,
    async (ctx) => {
      const { no } = await checkout(ctx);
      await control(ctx, 'pay', { orderNo: no });
      await until(ctx.merchant.notices, (n) => n.length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      t.is(ctx.merchant.notices().length, 3);
      t.deepEqual(ctx.sim.deliveries.map((d) => d.ok), [false, false, true]);
    },
    { reply: (n) => (n < 2 ? '1|OK\n' : '1|OK') },
  );
  await withSim(
    t,
    async (ctx) => {
      const { no } = await checkout(ctx);
      const paid = await control(ctx, 'pay', { orderNo: no });
      t.true(paid.body.firstDelivery.ok);
      t.is(ctx.merchant.notices().length, 1);
    },
    { reply: () => ' 1|OK\r\n', settings: { ackMatch: 'trim' } },
  );
});

test('QueryTradeInfo: raw values, MAC last, TimeStamp window, unknown orders 10200047, a bad MAC answered unsigned', async (t) => {
  await withSim(t, async (ctx) => {
    const { no } = await checkout(ctx, { ItemName: 'C++ 教本 x1' });
    const unpaid = parseRaw(await query(ctx, no))!;
    t.true(checkMacMatches(unpaid, ctx.config));
    t.like(unpaid, { TradeStatus: '0', TradeAmt: '1200', ItemName: 'C++ 教本 x1', MerchantTradeNo: no });
    await control(ctx, 'pay', { orderNo: no });
    const body = await query(ctx, no);
    t.true(body.includes('ItemName=C++ 教本 x1&'), 'raw, not percent-encoded');
    const paid = parseRaw(body)!;
    t.true(checkMacMatches(paid, ctx.config));
    t.is(Object.keys(paid).at(-1), 'CheckMacValue');
    t.like(paid, { TradeStatus: '1', PaymentType: 'Credit_CreditCard' });
    t.truthy(paid.gwsr, 'NeedExtraPaidInfo fields come back in queries');

    const unknown = parseRaw(await query(ctx, 'NOSUCHORDER1'))!;
    t.is(unknown.TradeStatus, '10200047');
    t.true(checkMacMatches(unknown, ctx.config));
    const stale = parseRaw(await query(ctx, no, Math.floor(Date.now() / 1000) - 181))!;
    t.false('CheckMacValue' in stale);
    t.not(stale.TradeStatus, '1');
    const forged = await post(`${ctx.simBase}/Cashier/QueryTradeInfo/V5`, withCheckMac({ MerchantID: ctx.config.MerchantID, MerchantTradeNo: no, TimeStamp: String(Math.floor(Date.now() / 1000)) }, { HashKey: 'x', HashIV: 'y' }));
    const answer = parseRaw(await forged.text())!;
    t.false('CheckMacValue' in answer);
    t.is(answer.TradeStatus, '10200073');
  });
});

test('DoAction follows the §10.1 state table; QueryTrade/V2 needs the check code', async (t) => {
  await withSim(t, async (ctx) => {
    const { no } = await checkout(ctx);
    const { body: paid } = await control(ctx, 'pay', { orderNo: no });
    const act = async (Action: string, TotalAmount: number, keys: MacKeys = ctx.config) =>
      parseRaw(await (await post(`${ctx.simBase}/CreditDetail/DoAction`, withCheckMac({ MerchantID: ctx.config.MerchantID, MerchantTradeNo: no, TradeNo: paid.tradeNo, Action, TotalAmount: String(TotalAmount) }, keys))).text())!;
    const cardTrade = async (code = ctx.config.creditCheckCode!) => {
      const gwsr = ctx.sim.orders[0]!.card!.gwsr;
      const res = await post(`${ctx.simBase}/CreditDetail/QueryTrade/V2`, withCheckMac({ MerchantID: ctx.config.MerchantID, CreditRefundId: gwsr, CreditAmount: '1200', CreditCheckCode: code }, ctx.config));
      return res.json() as Promise<any>;
    };
    t.like(await cardTrade(), { RtnMsg: '', RtnValue: { status: '已授權', amount: 1200, clsamt: 0 } });
    t.is((await cardTrade('00000000')).RtnValue, null);

    t.is((await act('R', 100)).RtnCode, '10200913', 'nothing closed yet to refund');
    t.is((await act('N', 100)).RtnCode, '10200914', 'N releases the whole authorisation');
    t.is((await act('C', 1300)).RtnCode, '10200914', 'more than authorised');
    t.is((await act('C', 1200, { HashKey: 'x', HashIV: 'y' })).RtnCode, '10200073');
    t.like(await act('C', 1200), { RtnCode: '1', RtnMsg: '', MerchantTradeNo: no, TradeNo: paid.tradeNo });
    t.is((await act('R', 1200)).RtnCode, '10200914', 'while closing, R is for part of it');
    t.is((await act('R', 200)).RtnCode, '1');
    t.like(await cardTrade(), { RtnValue: { status: '要關帳', clsamt: 1000 } });
    t.is((await act('E', 1000)).RtnCode, '1');
    t.is((await act('N', 1200)).RtnCode, '1');
    t.like(await cardTrade(), { RtnValue: { status: '已取消' } });
    t.is((await act('C', 1200)).RtnCode, '10200913');
  });
});

test('ATM: the account notice to PaymentInfoURL, then the transfer to ReturnURL; an expired account takes nothing', async (t) => {
  let now = new Date();
  await withSim(
    t,
    async (ctx) => {
      const { no } = await checkout(ctx, { ChoosePayment: 'ATM', ExpireDate: '2', PaymentInfoURL: `${ctx.merchant.base}/notify`, ClientRedirectURL: `${ctx.merchant.base}/return`, OrderResultURL: '' });
      const issued = await control(ctx, 'issue', { orderNo: no, bank: 'LAND' });
      t.is(issued.status, 200);
      const [info] = ctx.merchant.notices();
      t.true(checkMacMatches(info!, ctx.config));
      t.like(info, { RtnCode: '2', RtnMsg: 'Get VirtualAccount Succeeded', BankCode: '005', PaymentType: 'ATM_LAND', ExpireDate: taipeiDatePlusDays(now, 2), TradeAmt: '1200' });
      t.regex(info!.vAccount!, /^\d{16}$/);
      t.is((await control(ctx, 'issue', { orderNo: no })).status, 409, 'one account per order');
      // §7 QueryPaymentInfo: the same numbers, signed, while the order is unpaid.
      const asked = async () =>
        parseRaw(await (await post(`${ctx.simBase}/Cashier/QueryPaymentInfo`, withCheckMac({ MerchantID: ctx.config.MerchantID, MerchantTradeNo: no, TimeStamp: String(Math.floor(now.getTime() / 1000)) }, ctx.config))).text())!;
      const paymentInfo = await asked();
      t.true(checkMacMatches(paymentInfo, ctx.config));
      t.like(paymentInfo, { RtnCode: '2', BankCode: '005', vAccount: info!.vAccount, ExpireDate: info!.ExpireDate });

      now = new Date(now.getTime() + 3 * 86_400_000);
      t.is((await control(ctx, 'pay', { orderNo: no })).status, 409, 'the account ran out');
      now = new Date();
      const paid = await control(ctx, 'pay', { orderNo: no });
      t.is(paid.status, 200);
      t.like(ctx.merchant.notices()[1], { RtnCode: '1', SimulatePaid: '0', PaymentType: 'ATM_LAND' });
      t.is((await asked()).RtnCode, '10200047', 'QueryPaymentInfo does not answer for a paid order');
      const page = await (await fetch(ctx.sim.orders[0]!.payUrl)).text();
      t.true(page.includes('轉帳已入帳 Transfer received'));
    },
    { settings: { now: () => now } },
  );
});

test('SimulatePaid: the full 46-field notice with SimulatePaid=1; queries stay unpaid unless configured otherwise', async (t) => {
  for (const marks of [false, true]) {
    await withSim(
      t,
      async (ctx) => {
        const { no } = await checkout(ctx, { NeedExtraPaidInfo: 'N' });
        const sent = await control(ctx, 'simulate-paid', { orderNo: no });
        t.is(sent.status, 200);
        const [notice] = ctx.merchant.notices();
        t.like(notice, { RtnCode: '1', RtnMsg: '付款成功', SimulatePaid: '1' });
        t.is(Object.keys(notice!).length, 47);
        t.true(checkMacMatches(notice!, ctx.config));
        t.is(parseRaw(await query(ctx, no))!.TradeStatus, marks ? '1' : '0');
        t.is(ctx.sim.orders[0]!.tradeStatus, '0', 'no money moved');
      },
      { settings: { simulatePaidMarksPaid: marks } },
    );
  }
});

test('the control API: decline, abandon, renotify, autoclose, the order and delivery views, and its errors', async (t) => {
  await withSim(t, async (ctx) => {
    const a = await checkout(ctx);
    const declined = await control(ctx, 'decline', { orderNo: a.no });
    t.like(declined.body, { tradeStatus: '10200095', firstDelivery: { body: '1|OK' } });
    t.like(ctx.merchant.notices()[0], { RtnCode: '10100058' });
    t.is((await control(ctx, 'pay', { orderNo: a.no })).status, 409, 'a declined order stays declined');
    const b = await checkout(ctx);
    t.like((await control(ctx, 'abandon', { orderNo: b.no })).body, { tradeStatus: '10200095', firstDelivery: null });
    t.is(parseRaw(await query(ctx, b.no))!.TradeStatus, '10200095');
    const c = await checkout(ctx);
    t.is((await control(ctx, 'renotify', { orderNo: c.no })).status, 409, 'nothing sent yet');
    await control(ctx, 'pay', { orderNo: c.no });
    t.like((await control(ctx, 'renotify', { orderNo: c.no })).body, { firstDelivery: { body: '1|OK' } });
    t.is(ctx.merchant.notices().at(-1)!.RtnMsg, 'paid');
    t.deepEqual((await control(ctx, 'autoclose', {})).body, { closed: 1 });

    const orders = (await (await fetch(`${ctx.simBase}/_control/orders?orderNo=${c.no}`)).json()) as any;
    t.like(orders.orders[0], { merchantTradeNo: c.no, tradeStatus: '1', card: { state: '已關帳', closedAmount: 1200 } });
    t.false(JSON.stringify(orders).includes(ctx.config.HashKey), 'views hold no key');
    const deliveries = (await (await fetch(`${ctx.simBase}/_control/notifications?orderNo=${c.no}`)).json()) as any;
    t.deepEqual(deliveries.deliveries.map((d: any) => d.kind), ['notify', 'renotify']);

    t.is((await control(ctx, 'pay', { orderNo: 'NOPE' })).status, 404);
    t.is((await control(ctx, 'pay', {})).status, 400);
    t.is((await control(ctx, 'nope', { orderNo: a.no })).status, 404);
    t.is((await fetch(`${ctx.simBase}/_control/pay`)).status, 405);
    const badJson = await fetch(`${ctx.simBase}/_control/pay`, { method: 'POST', body: '[1]', headers: { 'content-type': 'application/json' } });
    t.is(badJson.status, 400);
  });
});

test('the ATM pages: choose a bank, then the account with mark-paid, SimulatePaid and back-to-shop buttons', async (t) => {
  await withSim(t, async (ctx) => {
    const { location } = await checkout(ctx, { ChoosePayment: 'ATM', PaymentInfoURL: `${ctx.merchant.base}/notify`, ClientRedirectURL: `${ctx.merchant.base}/redirect`, OrderResultURL: '' });
    const choose = await (await fetch(location!)).text();
    t.true(choose.includes('<label for="bank">'));
    t.regex(choose, /data-testid="ecpay-issue-account"[^>]*>取得繳費帳號 Get account number<\/button>/);
    const pressed = await post(location!, { action: 'issue', bank: 'PANHSIN' });
    t.is(pressed.status, 303, 'a press redirects back to the page, so a reload never presses twice');
    t.is(pressed.headers.get('location'), `${location}?done=issued`);
    const issued = await (await fetch(pressed.headers.get('location')!)).text();
    const order = ctx.sim.orders[0]!;
    t.true(issued.includes(order.atm!.vAccount));
    t.regex(issued, /data-testid="ecpay-atm-paid"[^>]*>模擬轉帳入帳 Mark transfer paid<\/button>/);
    t.regex(issued, /data-testid="ecpay-simulate-paid"[^>]*>模擬付款 SimulatePaid<\/button>/);
    t.regex(issued, /data-testid="ecpay-return-to-shop"[^>]*>返回商店 Back to the shop<\/button>/);
    t.true(issued.includes(`action="${ctx.merchant.base}/redirect"`));
    const simulated = await (await post(location!, { action: 'simulate' }, 'follow')).text();
    t.true(simulated.includes('SimulatePaid=1'));
    const done = await (await post(location!, { action: 'pay' }, 'follow')).text();
    t.true(done.includes('Transfer received'));
    t.true(done.includes(`action="${ctx.merchant.base}/redirect"`), 'and the way back to the shop');
    t.is((await post(location!, { action: 'pay' })).status, 409, 'paid once');
    t.deepEqual(ctx.merchant.notices().map((n) => `${n.RtnCode}/${n.SimulatePaid ?? '-'}`), ['2/-', '1/1', '1/0']);
  });
});
