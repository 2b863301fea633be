/**
 * 1,000 forged or tampered notifies (CI: fewer) — bad signatures, amounts changed after signing,
 * notifies for another account's order, notifies for orders that do not exist — change no order
 * and are all kept for audit. The volume run of what the conformance suite asks of every provider
 * once per kind (test/contract/conformance.ts: forged signature, amount changed, another account).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../core/logger.ts';
import { startApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { signed } from '../../providers/_template/crypto.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import { SIM_MERCHANT, createFakePaySimulator } from '../../providers/_template/simulator.ts';
import { figure, pool, size } from './size.ts';

const FORGERIES = size(200, 1_000);

dbTest(`${FORGERIES} forged or tampered notifies: no state change, every one kept`, async (t, h) => {
  t.timeout(10 * 60_000);
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sim = createFakePaySimulator({ baseUrl: base, logger: silentLogger, timeScale: 0.001 });
  server.on('request', sim.handler);
  const account = sim.accountConfig();
  // Two accounts of one provider: a notify that verifies for shop2 must not move default's orders.
  const app = await startApp(h, {
    modules: [fakePayModule()],
    providers: { fakepay: { default: account, shop2: { ...account, merchantId: 'FAKE-MERCHANT-02' } } },
  });
  try {
    const orders: { id: string; orderNo: string; amount: number }[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await app.api('POST', '/v1/payments', {
        merchantOrderId: `F${i}-${Date.now()}`,
        currency: 'TWD',
        amount: 10000 + i,
        items: [{ sku: 'A', name: 'Tea', unitAmount: 10000 + i, quantity: 1 }],
        provider: 'fakepay',
        method: 'card',
      });
      orders.push(res.body);
    }
    const before = await h.db('orders').whereIn('id', orders.map((o) => o.id)).orderBy('id');
    const kinds = ['bad signature', 'amount changed after signing', "another account's order", 'unknown order'] as const;
    const answers = await pool(FORGERIES, 32, async (i) => {
      const kind = kinds[i % kinds.length]!;
      const order = orders[i % orders.length]!;
      const fields = {
        merchant_id: SIM_MERCHANT,
        order_no: kind === 'unknown order' ? `2611220000${String(i).padStart(10, '0')}` : order.orderNo,
        trade_no: `FORGED${i}`,
        amount: String(order.amount),
        currency: 'TWD',
        status: 'PAID',
        notify_id: `forged-${h.kind}-${i}`,
      };
      let body: string;
      let accountId = 'default';
      if (kind === 'bad signature') body = new URLSearchParams(signed(fields, 'not-the-providers-secret-000')).toString();
      else if (kind === 'amount changed after signing') body = new URLSearchParams({ ...signed(fields, sim.secret), amount: '1' }).toString();
      else if (kind === "another account's order") {
        accountId = 'shop2';
        body = new URLSearchParams(signed({ ...fields, merchant_id: 'FAKE-MERCHANT-02' }, sim.secret)).toString();
      } else body = new URLSearchParams(signed(fields, sim.secret)).toString();
      const res = await app.raw('POST', `/callbacks/fakepay/${accountId}/notify`, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      return { kind, status: res.status, text: res.text };
    });
    const after = await h.db('orders').whereIn('id', orders.map((o) => o.id)).orderBy('id');
    const kept = await h.db('provider_callbacks').where('dedupe_key', 'like', `forged-${h.kind}-%`);
    const transitions = await h.db('order_transitions').whereIn('order_id', orders.map((o) => o.id)).whereNot({ from_status: 'created' });
    const events = await h.db('events').whereIn('order_id', orders.map((o) => o.id)).whereNot({ type: 'payment.pending' });
    const accepted = answers.filter((a) => a.text === 'OK').length;
    figure(`forgeries [${h.kind}]`, { forged: FORGERIES, accepted, stateChanges: transitions.length, events: events.length, kept: kept.length });
    t.deepEqual(after, before, 'no order changed in any way');
    t.is(transitions.length, 0);
    t.is(events.length, 0);
    t.is(accepted, 0, 'none acknowledged as accepted');
    t.is(kept.length, FORGERIES, 'every one kept for audit');
    t.true(kept.every((r: any) => r.processed_at !== null && r.outcome !== 'applied' && r.outcome !== 'duplicate'));
  } finally {
    await app.close();
    await sim.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
