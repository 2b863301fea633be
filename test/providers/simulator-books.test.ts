/**
 * The simulators' snapshots on their own (SimulatorInstance.snapshot / SimulatorOptions.books):
 * bounded, keys and counters carried over, unreadable books ignored. The full restart over HTTP,
 * on both databases, is test/server/simulator-restart.test.ts.
 */
import test from 'ava';
import { silentLogger } from '../../core/logger.ts';
import { createAlipaySimulator } from '../../providers/alipay/simulator/index.ts';
import { createEcpaySimulator } from '../../providers/ecpay/simulator/index.ts';
import type { SimOrder } from '../../providers/sinopac/simulator/bank.ts';
import { MAX_SAVED_ORDERS } from '../../providers/sinopac/simulator/books.ts';
import { createSinopacSimulator } from '../../providers/sinopac/simulator/index.ts';

const options = (books?: unknown) => ({ baseUrl: 'http://127.0.0.1:9/sim/x', logger: silentLogger, books });
/** What the gateway stores and reads back: JSON text. */
const throughJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function sinopacOrder(bank: ReturnType<typeof createSinopacSimulator>['bank'], shopNo: string, n: number): Omit<SimOrder, 'seq'> {
  const now = new Date();
  return {
    shopNo,
    orderNo: `BULK${n}`,
    tsNo: bank.mintTsNo(shopNo),
    amount: 100,
    payType: 'A',
    prdtName: 'Tea',
    params: {},
    returnUrl: 'https://shop.example/return',
    backendUrl: null,
    createdAt: now,
    pageToken: `tk${n}`,
    deadline: new Date(now.getTime() + 86_400_000),
    atm: { atmPayNo: bank.mintAtmPayNo(), expireDate: '20991231', webAtmUrl: 'https://x/webatm', otpUrl: 'https://x/otp', payerAcctNo: null },
    status: 'unpaid',
    approvedAt: null,
    paidAt: null,
    refunded: 0,
    refundedAt: null,
    attempts: [],
  };
}

test('SinoPac: the snapshot keeps the newest orders only, and TSNo / virtual accounts continue after every one handed out', async (t) => {
  const sim = createSinopacSimulator(options(), { atmAutoPayMs: null });
  const config = sim.accountConfig('default');
  const total = MAX_SAVED_ORDERS + 25;
  for (let i = 0; i < total; i++) sim.bank.insert(sinopacOrder(sim.bank, config.ShopNo, i));
  const books = throughJson(sim.snapshot()) as { orders: { orderNo: string }[] };
  t.is(books.orders.length, MAX_SAVED_ORDERS, 'bounded');
  t.is(books.orders[0]!.orderNo, `BULK${total - MAX_SAVED_ORDERS}`, 'the oldest go first');
  const before = new Set(sim.bank.orders.flatMap((o) => [o.tsNo, o.atm!.atmPayNo]));
  await sim.close();

  const again = createSinopacSimulator(options(books), { atmAutoPayMs: null });
  t.deepEqual(again.accountConfig('default'), config, 'same shop, same keys');
  t.is(again.bank.orders.length, MAX_SAVED_ORDERS);
  // Even the numbers of orders the snapshot dropped are not handed out again.
  t.false(before.has(again.bank.mintTsNo(config.ShopNo)));
  t.false(before.has(again.bank.mintAtmPayNo()));
  await again.close();
});

test('Alipay and ECPay: the same app / merchant and keys after a restore', async (t) => {
  const alipay = createAlipaySimulator(options());
  const alipayConfig = alipay.accountConfig('default');
  const alipayAgain = createAlipaySimulator(options(throughJson(alipay.snapshot())));
  t.deepEqual(alipayAgain.accountConfig('default'), alipayConfig);
  // The restored "Alipay" key still signs as the adapter expects: same signature for the same text.
  const params = { app_id: alipayConfig.appId, out_trade_no: 'X1', trade_status: 'TRADE_SUCCESS' };
  t.deepEqual(alipayAgain.signParams(params), alipay.signParams(params));

  const ecpay = createEcpaySimulator(options());
  const ecpayConfig = ecpay.accountConfig('default');
  const ecpayAgain = createEcpaySimulator(options(throughJson(ecpay.snapshot())));
  t.deepEqual(ecpayAgain.accountConfig('default'), ecpayConfig);
  await Promise.all([alipay.close(), alipayAgain.close(), ecpay.close(), ecpayAgain.close()]);
});

test('books a simulator cannot read are ignored: it starts empty with new keys', async (t) => {
  for (const books of [null, 'garbage', { version: 99 }, { version: 1, accounts: 'no' }]) {
    const sim = createSinopacSimulator(options(books), { atmAutoPayMs: null });
    t.is(sim.bank.orders.length, 0);
    t.truthy(sim.accountConfig('default').A1);
    await sim.close();
  }
  const alipay = createAlipaySimulator(options({ version: 1 }));
  t.is(alipay.trades.length, 0);
  await alipay.close();
});

test('books that look right but break the restore (a half-written snapshot) do not stop the gateway: that simulator starts empty, the others keep theirs', async (t) => {
  const { buildRegistry } = await import('../../core/registry.ts');
  const { providerModules } = await import('../../providers/index.ts');
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)), child: () => logger } as unknown as typeof silentLogger;
  // Passes the shape check (version, arrays, counters) but its order has no fields at all.
  const broken = { version: 1, shopCounter: 1, accounts: [], shops: [], orders: [{}], counters: {} };
  const alipay = createAlipaySimulator(options());
  const appId = (alipay.accountConfig('default') as { appId: string }).appId;
  const alipayBooks = throughJson(alipay.snapshot());
  await alipay.close();
  const { simulators } = await buildRegistry({
    modules: providerModules,
    config: {},
    publicUrl: 'http://127.0.0.1:9',
    logger,
    simulateUnconfigured: true,
    simulatorBooks: new Map<string, unknown>([['sinopac', broken], ['alipay', alipayBooks]]),
  });
  try {
    t.deepEqual(simulators.map((s) => s.providerId).sort(), providerModules.map((m) => m.id).sort(), 'every simulator is mounted');
    t.true(warnings.some((w) => /could not be restored/.test(w)), warnings.join('\n'));
    const restored = simulators.find((s) => s.providerId === 'alipay')!.instance;
    t.is((restored.accountConfig('default') as { appId: string }).appId, appId, 'Alipay kept its app from its books');
  } finally {
    for (const s of simulators) await s.instance.close();
  }
});
