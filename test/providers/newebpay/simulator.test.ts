/**
 * The NewebPay simulator on its own, over real HTTP: the notify retry schedule (scaled by timeScale)
 * against a merchant that fails, QueryTradeInfo's checks and its lock after too many unknown orders,
 * and that no key reaches a page, an answer or a log line.
 */
import test from 'ava';
import { silentLogger } from '../../../core/logger.ts';
import { NewebpayProvider } from '../../../providers/newebpay/adapter.ts';
import { newebpayConfig } from '../../../providers/newebpay/config.ts';
import { checkValue, decryptText } from '../../../providers/newebpay/crypto.ts';
import { createNewebpaySimulator, NOTIFY_RETRY_GAPS_MIN_UNVERIFIED, type NewebpaySimulator } from '../../../providers/newebpay/simulator/index.ts';
import { captureLogger, mountSimulator, startMerchantServer } from '../../helpers/sim-server.ts';
import type { OrderSnapshot } from '../../../core/payment-provider.ts';

function order(orderNo: string, method: 'card' | 'atm' = 'card'): OrderSnapshot {
  const now = new Date();
  const snapshot = { id: orderNo, orderNo, subject: 'tea', currency: 'TWD', amount: 120000, method, items: [], providerTradeNo: null, status: 'pending' as const, attempt: 1, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000), returnUrl: null };
  return snapshot as OrderSnapshot;
}

async function setup(t: import('ava').ExecutionContext, merchantStatus: () => number, options: { timeScale?: number; queryMissLimit?: number; lines?: string[] } = {}) {
  const merchant = await startMerchantServer(() => ({ status: merchantStatus(), contentType: 'text/plain', body: 'whatever' }));
  const logger = options.lines ? captureLogger(options.lines) : silentLogger;
  const mounted = await mountSimulator('/sim/newebpay', (base) => createNewebpaySimulator({ baseUrl: base, logger, timeScale: options.timeScale ?? 1 }, { queryMissLimit: options.queryMissLimit }));
  const sim: NewebpaySimulator = mounted.sim;
  const urls = { notifyUrl: `${merchant.base}/notify`, returnUrl: `${merchant.base}/return` };
  const config = newebpayConfig.parse(sim.accountConfig('default'));
  const provider = new NewebpayProvider('default', config, urls, silentLogger);
  t.teardown(async () => {
    await sim.close();
    await mounted.close();
    await merchant.close();
  });
  const open = async (o: OrderSnapshot) => {
    const created = await provider.create({ order: o, urls });
    if (created.outcome !== 'pending' || created.action.type !== 'form') throw new Error('no form');
    const res = await fetch(created.action.url, { method: 'POST', body: new URLSearchParams(created.action.fields), redirect: 'manual' });
    if (res.status !== 303) throw new Error(`MPG answered ${res.status}`);
  };
  return { sim, provider, merchant, config, open, simBase: mounted.simBase };
}

test('notify retries: 3 more on the schedule × timeScale after a non-200, then given up; a 200 body is never read', async (t) => {
  const { sim, merchant, open } = await setup(t, () => 500, { timeScale: 0.0002 });
  await open(order('PGRETRY1'));
  const answer = await sim.pay('PGRETRY1');
  t.false(answer.firstDelivery!.ok);
  // 1, 5, 15 minutes × 0.0002 = 12 ms, 60 ms, 180 ms.
  t.deepEqual(NOTIFY_RETRY_GAPS_MIN_UNVERIFIED, [1, 5, 15]);
  const deadline = Date.now() + 5_000;
  while (sim.notifier.givenUp.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await sim.settle();
  t.deepEqual(sim.deliveries.map((d) => [d.kind, d.status, d.ok]), [
    ['notify', 500, false],
    ['resend', 500, false],
    ['resend', 500, false],
    ['resend', 500, false],
  ]);
  t.is(sim.notifier.givenUp.length, 1);
  // Every attempt carried the same bytes.
  t.is(new Set(merchant.received.map((r) => r.body)).size, 1);
  // Each retry waits at least its gap after the attempt before it was answered (timers never fire early; 2 ms of rounding).
  const gaps = merchant.received.slice(1).map((r, i) => r.at - merchant.received[i]!.at);
  t.deepEqual(gaps.map((g, i) => g >= [12, 60, 180][i]! - 2), [true, true, true], `gaps ${gaps.join(', ')} ms`);
});

test('notify retries stop at the first HTTP 200, whatever its body', async (t) => {
  let calls = 0;
  const { sim, open } = await setup(t, () => (++calls < 3 ? 503 : 200), { timeScale: 0.0002 });
  await open(order('PGRETRY2'));
  await sim.pay('PGRETRY2');
  const deadline = Date.now() + 5_000;
  while (!sim.deliveries.some((d) => d.ok) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  await sim.settle();
  t.deepEqual(sim.deliveries.map((d) => [d.status, d.ok]), [
    [503, false],
    [503, false],
    [200, true],
  ]);
  t.is(sim.notifier.givenUp.length, 0);
});

test('QueryTradeInfo: a wrong CheckValue is TRA10054, a stale TimeStamp TRA40014; too many unknown orders lock it (TRA10071) for this shop only', async (t) => {
  const { sim, provider, config, open, simBase } = await setup(t, () => 200, { queryMissLimit: 3 });
  await open(order('PGQUERY1'));
  const post = (fields: Record<string, string>) => fetch(`${simBase}/API/QueryTradeInfo`, { method: 'POST', body: new URLSearchParams(fields) }).then((r) => r.json() as Promise<{ Status: string }>);
  const base = { MerchantID: config.MerchantID, Version: '1.3', RespondType: 'JSON', MerchantOrderNo: 'PGQUERY1', Amt: '1200', TimeStamp: String(Math.floor(Date.now() / 1000)) };
  t.is((await post({ ...base, CheckValue: checkValue(base, config) })).Status, 'SUCCESS');
  t.is((await post({ ...base, CheckValue: checkValue(base, { ...config, HashKey: 'x'.repeat(32) }) })).Status, 'TRA10054');
  const stale = { ...base, TimeStamp: String(Math.floor(Date.now() / 1000) - 121) };
  t.is((await post({ ...stale, CheckValue: checkValue(stale, config) })).Status, 'TRA40014');
  for (let i = 0; i < 3; i++) t.false((await provider.query({ order: order(`PGNONE${i}`) })).found);
  // The fourth miss within the hour locks the query for 4 hours: even a known order is refused now.
  t.false((await provider.query({ order: order('PGNONE9') })).found);
  await t.throwsAsync(() => provider.query({ order: order('PGQUERY1') }), { message: /TRA10071/ });
  const other = new NewebpayProvider('other', newebpayConfig.parse(sim.accountConfig('other')), { notifyUrl: 'http://127.0.0.1:9/n', returnUrl: 'http://127.0.0.1:9/r' }, silentLogger);
  t.false((await other.query({ order: order('PGQUERY1') })).found, 'another shop is not locked (and does not see the first shop\'s trade)');
});

test('no HashKey or HashIV in the pages, the answers, the control API or the log lines', async (t) => {
  const lines: string[] = [];
  const { sim, config, open, simBase } = await setup(t, () => 200, { lines });
  await open(order('PGKEYS1'));
  const trade = sim.book.byOrderNo('PGKEYS1')!;
  const texts = [
    await (await fetch(sim.payUrl(trade))).text(),
    await (await fetch(`${simBase}/`)).text(),
    JSON.stringify(await sim.pay('PGKEYS1')),
    await (await fetch(`${simBase}/_control/notifications`)).text(),
    await (await fetch(sim.nextUrl(trade, 'return')!)).text(),
    ...lines,
  ];
  for (const text of texts) {
    t.false(text.includes(config.HashKey), text.slice(0, 80));
    t.false(text.includes(config.HashIV), text.slice(0, 80));
  }
  // The hand-off page carries the message encrypted, as NewebPay's does.
  const next = await (await fetch(sim.nextUrl(trade, 'return')!)).text();
  const tradeInfo = /name="TradeInfo" value="([0-9a-f]+)"/.exec(next)![1]!;
  t.regex(decryptText(tradeInfo, config)!, /"MerchantOrderNo":"PGKEYS1"/);
});

test('books: after a restart from its snapshot the simulator has the same shop and keys, and its trades answer queries and take payments', async (t) => {
  const { sim, provider, open } = await setup(t, () => 200);
  await open(order('PGBOOKS1', 'atm'));
  await sim.issue('PGBOOKS1');
  await open(order('PGBOOKS2'));
  await sim.pay('PGBOOKS2');
  const books = JSON.parse(JSON.stringify(sim.snapshot()));
  const again = createNewebpaySimulator({ baseUrl: 'http://127.0.0.1:9/sim/newebpay', logger: silentLogger, books });
  t.teardown(() => again.close());
  t.deepEqual(again.accountConfig('default'), { ...sim.accountConfig('default'), baseUrl: 'http://127.0.0.1:9/sim/newebpay' });
  const atm = again.book.byOrderNo('PGBOOKS1')!;
  t.deepEqual(atm.payCode, sim.book.byOrderNo('PGBOOKS1')!.payCode);
  t.deepEqual(atm.expireAt, sim.book.byOrderNo('PGBOOKS1')!.expireAt);
  t.is(again.book.byOrderNo('PGBOOKS2')!.tradeStatus, '1');
  t.like(again.book.byOrderNo('PGBOOKS2')!.card, { closeStatus: '0', backBalance: 1200 });
  // A number once posted stays spent after the restart (MPG03008).
  t.true(again.book.spent(atm.merchant.merchantId, 'PGBOOKS1'));
  // Books it cannot read: an empty start, with new keys.
  const empty = createNewebpaySimulator({ baseUrl: 'http://127.0.0.1:9/sim/newebpay', logger: silentLogger, books: { version: 99 } });
  t.is(empty.book.trades.length, 0);
  t.not(empty.accountConfig('default').HashKey, sim.accountConfig('default').HashKey);
  await empty.close();
  t.true((await provider.query({ order: order('PGBOOKS2') })).found);
});
