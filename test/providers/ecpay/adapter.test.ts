/**
 * The adapter on its own against the simulator over HTTP: what it makes of ECPay's answers when
 * they are wrong (tampered, unsigned, throttled, out of its clock window), its callback reading, its
 * refusals, and that HashKey / HashIV never reach a log line or an error.
 */
import test, { type ExecutionContext } from 'ava';
import { ConfigError, ValidationError } from '../../../core/errors.ts';
import type { CallbackRequest, OrderSnapshot } from '../../../core/payment-provider.ts';
import { EcpayProvider } from '../../../providers/ecpay/adapter.ts';
import { EcpayFault } from '../../../providers/ecpay/client.ts';
import { ecpayConfig, type EcpayConfig } from '../../../providers/ecpay/config.ts';
import { withCheckMac } from '../../../providers/ecpay/crypto.ts';
import { createEcpaySimulator, type EcpaySimulator, type EcpaySimulatorSettings } from '../../../providers/ecpay/simulator/index.ts';
import { captureLogger, mountSimulator, startMerchantServer } from '../../helpers/sim-server.ts';

interface Ctx {
  sim: EcpaySimulator;
  config: EcpayConfig;
  provider: (overrides?: Partial<EcpayConfig>, options?: ConstructorParameters<typeof EcpayProvider>[4]) => EcpayProvider;
  urls: { notifyUrl: string; returnUrl: string };
  logs: string[];
}

async function withAdapter(t: ExecutionContext, fn: (ctx: Ctx) => Promise<void>, settings: EcpaySimulatorSettings = {}): Promise<void> {
  const logs: string[] = [];
  const mounted = await mountSimulator('/sim/ecpay', (baseUrl) => createEcpaySimulator({ baseUrl, logger: captureLogger(logs), timeScale: 0.0002 }, settings));
  const merchant = await startMerchantServer(() => ({ status: 200, contentType: 'text/plain', body: '1|OK' }));
  const urls = { notifyUrl: `${merchant.base}/notify`, returnUrl: `${merchant.base}/return` };
  try {
    const config = mounted.sim.accountConfig('default');
    const provider: Ctx['provider'] = (overrides = {}, options = {}) => new EcpayProvider('default', ecpayConfig.parse({ ...config, ...overrides }), urls, captureLogger(logs), options);
    await fn({ sim: mounted.sim, config, provider, urls, logs });
    await mounted.sim.settle();
    t.false(logs.some((l) => l.includes(config.HashKey) || l.includes(config.HashIV) || l.includes(config.creditCheckCode!)), 'no secret in any log line');
  } finally {
    await mounted.sim.close();
    await mounted.close();
    await merchant.close();
  }
}

let seq = 0;
function snapshot(method: 'card' | 'atm', overrides: Partial<OrderSnapshot> = {}): OrderSnapshot {
  const orderNo = `26010100000${String(Date.now() % 1e5).padStart(5, '0')}${(++seq).toString().padStart(4, '0')}`.slice(0, 20);
  return {
    id: `pay_${orderNo}`,
    orderNo,
    subject: 'Tea',
    currency: 'TWD',
    amount: 120000,
    method,
    items: [{ sku: 'TEA', name: 'Tea', unitAmount: 120000, quantity: 1, amount: 120000 }],
    providerTradeNo: null,
    status: 'pending',
    attempt: 1,
    createdAt: new Date(),
    expiresAt: new Date(Date.now() + 86_400_000),
    returnUrl: null,
    ...overrides,
  };
}

/** The buyer's browser brings the form to AioCheckOut. */
async function handOver(provider: EcpayProvider, order: OrderSnapshot, urls: Ctx['urls']): Promise<void> {
  const created = await provider.create({ order, urls });
  if (created.outcome !== 'pending' || created.action.type !== 'form') throw new Error('no form');
  const res = await fetch(created.action.url, { method: 'POST', body: new URLSearchParams(created.action.fields), redirect: 'manual' });
  await res.arrayBuffer();
  if (res.status !== 303) throw new Error(`AioCheckOut answered ${res.status}`);
}

const notice = (fields: Record<string, string>, overrides: Partial<CallbackRequest> = {}): CallbackRequest => ({
  kind: 'notify',
  httpMethod: 'POST',
  contentType: 'application/x-www-form-urlencoded',
  rawBody: new URLSearchParams(fields).toString(),
  rawQuery: '',
  headers: {},
  ...overrides,
});

/** A fetch that lets the simulator answer, then hands back `rewrite` of its answer. */
const rewriting = (rewrite: (body: string) => string): typeof fetch => async (input, init) => {
  const res = await fetch(input, init);
  return new Response(rewrite(await res.text()), { status: res.status, headers: res.headers });
};

test('query: paid, pending, not found (signed or not); a tampered or unsigned answer is a fault, never facts', async (t) => {
  await withAdapter(t, async (ctx) => {
    const provider = ctx.provider();
    const order = snapshot('card');
    t.deepEqual(await provider.query({ order }), { found: false }, 'never handed over: ECPay has no such order');
    await handOver(provider, order, ctx.urls);
    t.like(await provider.query({ order }), { found: true, facts: { outcome: 'pending', amount: 120000 } });
    await ctx.sim.pay(order.orderNo);
    const paid = await provider.query({ order });
    t.like(paid, { found: true, facts: { outcome: 'paid', amount: 120000, currency: 'TWD', orderNo: order.orderNo } });
    t.truthy(paid.found && paid.facts.paidAt);

    const tampered = ctx.provider({}, { fetchImpl: rewriting((b) => b.replace('TradeAmt=1200', 'TradeAmt=12')) });
    const fault = await t.throwsAsync(tampered.query({ order }), { instanceOf: EcpayFault });
    t.is(fault.kind, 'bad_mac');
    const unsigned = ctx.provider({}, { fetchImpl: rewriting((b) => b.replace(/&CheckMacValue=[0-9A-F]+$/, '')) });
    t.is((await t.throwsAsync(unsigned.query({ order }), { instanceOf: EcpayFault })).kind, 'protocol');
    // §8.2 UNVERIFIED: an unsigned "no such order" is accepted; it moves nothing.
    const unsignedNotFound = ctx.provider({}, { fetchImpl: rewriting(() => 'TradeStatus=10200047&MerchantTradeNo=') });
    t.deepEqual(await unsignedNotFound.query({ order }), { found: false });
  });
  await withAdapter(
    t,
    async (ctx) => {
      t.deepEqual(await ctx.provider().query({ order: snapshot('card') }), { found: false });
    },
    { signNotFound: false },
  );
});

test('query faults: wrong keys, a clock out of the 3-minute window, HTTP 403 throttling, an unreachable host', async (t) => {
  await withAdapter(t, async (ctx) => {
    const order = snapshot('card');
    const wrongKeys = ctx.provider({ HashKey: 'WRONGWRONGWRONG1' });
    // ECPay's unsigned "CheckMacValue Error." proves the keys refused (issue 13 item 6), not a protocol fault.
    const refused = await t.throwsAsync(wrongKeys.query({ order }), { instanceOf: EcpayFault });
    t.is(refused.kind, 'rejected');
    t.true(refused.credentialsRejected);
    const skewed = ctx.provider({}, { now: () => new Date(Date.now() - 10 * 60_000) });
    t.is((await t.throwsAsync(skewed.query({ order }), { instanceOf: EcpayFault })).kind, 'protocol');
    const throttled = ctx.provider({}, { fetchImpl: async () => new Response('Forbidden', { status: 403 }) });
    const err = await t.throwsAsync(throttled.query({ order }), { instanceOf: EcpayFault });
    t.is(err.kind, 'throttled');
    t.true(err.retryable);
    const gone = ctx.provider({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 500 });
    t.is((await t.throwsAsync(gone.query({ order }), { instanceOf: EcpayFault })).kind, 'transport');
    t.false(err.message.includes(ctx.config.HashKey));
  });
});

test('callbacks: TradeNo:RtnCode is the dedupe key; MAC, MerchantID and form shape are checked', async (t) => {
  await withAdapter(t, async (ctx) => {
    const provider = ctx.provider();
    const order = snapshot('card');
    await handOver(provider, order, ctx.urls);
    await ctx.sim.pay(order.orderNo);
    const fields = ctx.sim.noticeFields(order.orderNo, 'latest');
    t.deepEqual(provider.inspectCallback(notice(fields)), { dedupeKey: `${fields.TradeNo}:1`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.like(await provider.verifyCallback(notice(fields)), { verified: true, facts: { orderNo: order.orderNo, outcome: 'paid', amount: 120000 } });

    t.like(await provider.verifyCallback(notice({ ...fields, TradeAmt: '1' })), { verified: false, reason: 'CheckMacValue does not match' });
    const { CheckMacValue: _mac, ...unsigned } = fields;
    t.like(await provider.verifyCallback(notice(unsigned)), { verified: false, reason: 'CheckMacValue is missing' });
    // Signed with this merchant's keys but naming another merchant: still not ours.
    const otherMerchant = withCheckMac({ ...fields, MerchantID: '3002607' }, ctx.config);
    t.like(await provider.verifyCallback(notice(otherMerchant)), { verified: false });
    const twice = notice(fields, { rawBody: `${new URLSearchParams(fields).toString()}&TradeAmt=1` });
    t.like(await provider.verifyCallback(twice), { verified: false });
    t.throws(() => provider.inspectCallback(twice), { instanceOf: ValidationError });
    t.throws(() => provider.inspectCallback(notice(fields, { contentType: 'application/json', rawBody: JSON.stringify(fields) })), { instanceOf: ValidationError });
    const { TradeNo: _no, ...noTradeNo } = fields;
    t.is(t.throws(() => provider.inspectCallback(notice(noTradeNo)), { instanceOf: ValidationError }).details[0]!.path, 'TradeNo');

    // A browser return of a simulated payment never even hints "paid".
    const simulated = ctx.sim.noticeFields(order.orderNo, 'simulated');
    t.like(await provider.verifyCallback(notice(simulated)), { verified: true, facts: { outcome: 'paid', simulated: true } });
    t.like(await provider.verifyCallback(notice(simulated, { kind: 'return' })), { verified: true, facts: { outcome: 'pending' } });
    t.like(await provider.verifyCallback(notice({}, { kind: 'return', httpMethod: 'GET', rawBody: '' })), { verified: false });

    t.deepEqual(provider.reply('ack'), { status: 200, contentType: 'text/plain; charset=utf-8', body: '1|OK' });
    t.not(provider.reply('retry').body, '1|OK');
    t.not(provider.reply('reject').body, '1|OK');
  });
});

test('refunds: ATM and cents refused cleanly, the 20:15-20:30 window respected, DoAction answers checked', async (t) => {
  await withAdapter(
    t,
    async (ctx) => {
      const provider = ctx.provider();
      t.deepEqual([...provider.capabilities], ['refund']);
      t.like(await provider.refund({ order: snapshot('atm'), refundNo: 'R1', amount: 100 }), { outcome: 'failed', code: 'unsupported' });
      const order = snapshot('card');
      await handOver(provider, order, ctx.urls);
      await ctx.sim.pay(order.orderNo);
      t.like(await provider.refund({ order, refundNo: 'R1', amount: 150 }), { outcome: 'failed', code: 'amount_not_representable' });
      // 20:20 Taipei is 12:20Z.
      const inWindow = ctx.provider({ autoCloseGuard: true }, { now: () => new Date('2026-03-02T12:20:00Z') });
      t.like(await inWindow.refund({ order, refundNo: 'R1', amount: 10000 }), { outcome: 'failed', code: 'ecpay_auto_close_window' });
      t.is(ctx.sim.orders[0]!.card!.actions.length, 0, 'nothing was asked of ECPay');

      // With DoAction answers signed (doActionMac), a tampered answer is a fault: the outcome is unknown.
      const tampered = ctx.provider({}, { fetchImpl: rewriting((b) => b.replace('RtnCode=1&', 'RtnCode=1&RtnMsg=x&').replace(/&RtnMsg=&/, '&')) });
      await t.throwsAsync(tampered.refund({ order, refundNo: 'R2', amount: 120000 }), { instanceOf: EcpayFault });
      // ...and rightly so: the abandon went through at ECPay; only its answer could not be trusted.
      t.is(ctx.sim.orders[0]!.card!.state, '已取消');
      t.like(await provider.refund({ order, refundNo: 'R3', amount: 100 }), { outcome: 'failed', code: 'refund_exceeds_payment' });

      const second = snapshot('card');
      await handOver(provider, second, ctx.urls);
      await ctx.sim.pay(second.orderNo);
      t.like(await provider.refund({ order: second, refundNo: 'R4', amount: 20000 }), { outcome: 'succeeded' });
      t.like(await provider.refund({ order: second, refundNo: 'R5', amount: 110000 }), { outcome: 'failed', code: 'refund_exceeds_payment' });
      t.like(ctx.sim.orders[1]!.card!, { state: '要關帳', closedAmount: 1000 });

      const noCode = ctx.provider({ creditCheckCode: undefined });
      t.deepEqual([...noCode.capabilities], [], 'no check code, no refunds');
      t.deepEqual([...ctx.provider({ methods: ['atm'] }).capabilities], []);
    },
    { doActionMac: true },
  );
});

test('create: an ATM order takes the account\'s deadline; callback URLs longer than ECPay takes fail at boot', async (t) => {
  await withAdapter(t, async (ctx) => {
    const provider = ctx.provider({ methods: ['atm'] });
    t.deepEqual(provider.methods, ['atm']);
    const atm = await provider.create({ order: snapshot('atm'), urls: ctx.urls });
    t.is(atm.outcome, 'pending');
    t.true(atm.outcome === 'pending' && atm.expiresAt instanceof Date);
    const long = { notifyUrl: `https://pay.example/${'x'.repeat(200)}/notify`, returnUrl: 'https://pay.example/r' };
    const err = t.throws(() => new EcpayProvider('default', ecpayConfig.parse(ctx.config), long, captureLogger(ctx.logs)), { instanceOf: ConfigError });
    t.is(err.details[0]!.path, 'callbackBaseUrl');
  });
});
