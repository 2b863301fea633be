/**
 * 1,000 forged or tampered ECPay notices (CI: fewer) — the SimulatePaid flag changed after signing,
 * another merchant's MerchantID under this merchant's MAC, a validly signed notice from a second
 * account naming the first account's order, orders that do not exist — change no order, are all kept
 * for audit, and none is answered `1|OK` (ECPay then re-sends, as it should). A wrong MAC, an amount
 * changed after signing, malformed notices and replays at another account are the conformance
 * suite's, for every provider (test/contract/conformance.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../core/logger.ts';
import { withCheckMac } from '../../providers/ecpay/crypto.ts';
import { ecpayModule } from '../../providers/ecpay/index.ts';
import { createEcpaySimulator } from '../../providers/ecpay/simulator/index.ts';
import { startApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { figure, pool, size } from './size.ts';

const FORGERIES = size(200, 1_000);

dbTest(`ECPay: ${FORGERIES} forged or tampered notices: no state change, every one kept, none acknowledged`, async (t, h) => {
  t.timeout(10 * 60_000);
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sim = createEcpaySimulator({ baseUrl: base, logger: silentLogger, timeScale: 0.001 });
  server.on('request', sim.handler);
  const shop1 = sim.accountConfig('default');
  const shop2 = sim.accountConfig('shop2');
  const app = await startApp(h, { modules: [ecpayModule()], providers: { ecpay: { default: shop1, shop2 } } });
  try {
    const orders: { id: string; orderNo: string; amount: number }[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await app.api('POST', '/v1/payments', {
        merchantOrderId: `EF${i}-${Date.now()}`,
        currency: 'TWD',
        amount: 100000 + i * 100,
        items: [{ sku: 'A', name: 'Tea', unitAmount: 100000 + i * 100, quantity: 1 }],
        provider: 'ecpay',
        method: 'card',
      });
      t.is(res.status, 201, res.text);
      orders.push(res.body);
    }
    const ids = orders.map((o) => o.id);
    const before = await h.db('orders').whereIn('id', ids).orderBy('id');
    const kinds = ['SimulatePaid flipped after signing', 'another MerchantID', "another account's order", 'unknown order'] as const;
    const stamp = String(Date.now()).slice(-8);
    const answers = await pool(FORGERIES, 32, async (i) => {
      const kind = kinds[i % kinds.length]!;
      const order = orders[i % orders.length]!;
      const fields: Record<string, string> = {
        CustomField1: '', CustomField2: '', CustomField3: '', CustomField4: '',
        MerchantID: shop1.MerchantID,
        MerchantTradeNo: kind === 'unknown order' ? `2611220000${String(i).padStart(10, '0')}` : order.orderNo,
        PaymentDate: '2026/01/01 12:00:00',
        PaymentType: 'Credit_CreditCard',
        PaymentTypeChargeFee: '20',
        RtnCode: '1',
        RtnMsg: '交易成功',
        SimulatePaid: '1',
        StoreID: '',
        TradeAmt: String(order.amount / 100),
        TradeDate: '2026/01/01 11:59:00',
        // A TradeNo per forgery: each is its own inbox row, none the duplicate of another.
        TradeNo: `${stamp}${String(i).padStart(8, '0')}`,
      };
      let body: Record<string, string>;
      let account = 'default';
      if (kind === 'SimulatePaid flipped after signing') body = { ...withCheckMac(fields, shop1), SimulatePaid: '0' };
      else if (kind === 'another MerchantID') body = withCheckMac({ ...fields, SimulatePaid: '0', MerchantID: shop2.MerchantID }, shop1);
      else if (kind === "another account's order") {
        account = 'shop2';
        body = withCheckMac({ ...fields, SimulatePaid: '0', MerchantID: shop2.MerchantID }, shop2);
      } else body = withCheckMac({ ...fields, SimulatePaid: '0' }, shop1);
      const res = await app.raw('POST', `/callbacks/ecpay/${account}/notify`, { body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      return { kind, status: res.status, text: res.text };
    });
    const after = await h.db('orders').whereIn('id', ids).orderBy('id');
    const kept = await h.db('provider_callbacks').where('provider', 'ecpay').andWhere('dedupe_key', 'like', `${stamp}%`);
    const transitions = await h.db('order_transitions').whereIn('order_id', ids).whereNot({ from_status: 'created' });
    const events = await h.db('events').whereIn('order_id', ids).whereNot({ type: 'payment.pending' });
    const acknowledged = answers.filter((a) => a.text === '1|OK').length;
    const outcomes: Record<string, number> = {};
    for (const r of kept as any[]) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    figure(`ecpay forgeries [${h.kind}]`, { forged: FORGERIES, acknowledged, stateChanges: transitions.length, events: events.length, kept: kept.length, ...outcomes });
    t.deepEqual(after, before, 'no order changed in any way');
    t.is(transitions.length, 0);
    t.is(events.length, 0);
    t.is(acknowledged, 0, 'none answered 1|OK');
    t.is(kept.length, FORGERIES, 'every one kept for audit');
    t.true(kept.every((r: any) => r.processed_at !== null && r.outcome !== 'applied' && r.outcome !== 'duplicate'));
    t.deepEqual(Object.keys(outcomes).sort(), ['account_mismatch', 'rejected', 'unknown_order']);
  } finally {
    await app.close();
    await sim.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
