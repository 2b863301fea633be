/**
 * The simulators keep their books across a restart of the gateway on the same database
 * (core/simulator-books.ts): payments started before the restart are paid, notified, queried and
 * refunded after it, with the same accounts and keys; identifiers handed out afterwards are new.
 * Boots the app as `npm start` does (server/bootstrap.ts) with the real provider modules.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../core/config.ts';
import { reconcileJob } from '../../core/jobs/reconcile.ts';
import { createMerchant } from '../../core/merchants.ts';
import type { AlipaySimulator } from '../../providers/alipay/simulator/index.ts';
import type { EcpaySimulator } from '../../providers/ecpay/simulator/index.ts';
import type { SinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import { createApp } from '../../server/app.ts';
import { BackgroundTasks } from '../../server/background.ts';
import { appDeps, bootstrap, type Runtime } from '../../server/bootstrap.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

interface Booted {
  url: string;
  port: number;
  runtime: Runtime;
  background: BackgroundTasks;
  sim<T>(provider: string): T;
  close(): Promise<void>;
}

/** What `npm start` does, on the test's database and (when given) the port of the previous run. */
async function boot(h: TestDbHandle, port = 0): Promise<Booted> {
  let handler: http.RequestListener = (_req, res) => res.end();
  const server = http.createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${bound}`;
  const config = loadConfig({
    DATABASE_URL: h.url,
    LOG_LEVEL: 'silent',
    PAYGATE_SIMULATORS: 'on',
    PAYGATE_PUBLIC_URL: url,
    PAYGATE_WEBHOOK_ALLOW_PRIVATE: 'true',
    PAYGATE_ADMIN_PASSWORD: 'fake-admin-password-for-tests',
    PAYGATE_PROBE_INTERVAL_SECONDS: '0',
  });
  const runtime = await bootstrap(config);
  const background = new BackgroundTasks();
  const app = createApp(await appDeps(config, runtime, background));
  handler = app.callback();
  return {
    url,
    port: bound,
    runtime,
    background,
    sim: <T>(provider: string) => runtime.simulators.find((s) => s.providerId === provider)!.instance as T,
    async close() {
      await background.drain();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
    },
  };
}

/**
 * One request on a connection of its own (agent: false). The second run listens on the first run's
 * port, and fetch's pool could still hold a keep-alive socket to the first server that it has not
 * yet seen closed: a request on it fails with "other side closed".
 */
function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = async (url: string, method: string, body?: unknown, apiKey?: string) => {
  const r = await request(url, method, { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) }, body === undefined ? undefined : JSON.stringify(body));
  const text = r.text;
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body: parsed, text };
};

const CASES = {
  sinopacAtm: { provider: 'sinopac', method: 'atm', currency: 'TWD', amount: 50000 },
  sinopacCard: { provider: 'sinopac', method: 'card', currency: 'TWD', amount: 50000 },
  alipayPage: { provider: 'alipay', method: 'page', currency: 'CNY', amount: 3000 },
  ecpayCard: { provider: 'ecpay', method: 'card', currency: 'TWD', amount: 50000 },
} as const;
type CaseName = keyof typeof CASES;

/** Every identifier the simulators handed out so far. */
function identifiers(app: Booted): Set<string> {
  const out = new Set<string>();
  for (const o of app.sim<SinopacSimulator>('sinopac').orders) {
    out.add(`tsNo:${o.tsNo}`);
    if (o.atmPayNo) out.add(`atm:${o.atmPayNo}`);
    for (const a of o.attempts) out.add(`payToken:${a.payToken}`);
  }
  for (const t of app.sim<AlipaySimulator>('alipay').trades) out.add(`alipay:${t.tradeNo}`);
  for (const o of app.sim<EcpaySimulator>('ecpay').orders) out.add(`ecpay:${o.tradeNo}`);
  return out;
}

dbTest('after a restart on the same database the simulators pay, query and refund in-flight payments and hand out new identifiers', async (t, h) => {
  const merchant = await createMerchant(h.db, { name: 'Restart shop' });
  const create = (app: Booted, c: CaseName) =>
    json(
      `${app.url}/v1/payments`,
      'POST',
      {
        merchantOrderId: `RS-${c}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`,
        items: [{ sku: 'A', name: 'Tea', unitAmount: CASES[c].amount, quantity: 1 }],
        returnUrl: 'https://shop.example/orders/1',
        ...CASES[c],
      },
      merchant.apiKey,
    );
  const statusOf = async (app: Booted, id: string) => (await json(`${app.url}/v1/payments/${id}`, 'GET', undefined, merchant.apiKey)).body.status as string;

  // --- First run: start one payment per simulator (and pay one of each kind, for identifiers). ---
  const first = await boot(h);
  const inFlight = {} as Record<CaseName, { id: string; orderNo: string }>;
  let before: Set<string>;
  const port = first.port;
  try {
    for (const c of Object.keys(CASES) as CaseName[]) {
      const created = await create(first, c);
      t.is(created.status, 201, `${c}: ${created.text}`);
      inFlight[c] = created.body;
      // A paid one of each kind too, so every kind of identifier exists before the restart.
      const paid = await create(first, c);
      t.is((await json(`${first.url}/sim/${CASES[c].provider}/_control/pay`, 'POST', { orderNo: paid.body.orderNo })).status, 200, c);
    }
    await first.background.drain();
    before = identifiers(first);
    t.true([...before].some((id) => id.startsWith('atm:')) && [...before].some((id) => id.startsWith('alipay:')) && [...before].some((id) => id.startsWith('ecpay:')));
  } finally {
    await first.close();
  }
  const saved = (await h.db('simulator_books').select('provider')).map((r: { provider: string }) => r.provider).sort();
  t.deepEqual(saved, ['alipay', 'ecpay', 'linepay', 'newebpay', 'sinopac'], 'each simulator saved its books');

  // --- Second run on the same database and port. ---
  const second = await boot(h, port);
  try {
    const bank = second.sim<SinopacSimulator>('sinopac');
    // The ATM payment's BackendURL call is lost: only a query can tell the gateway it was paid.
    bank.setBackendUrlDown(true);
    const atm = await json(`${second.url}/sim/sinopac/_control/pay`, 'POST', { orderNo: inFlight.sinopacAtm.orderNo });
    t.is(atm.status, 200, `sinopac atm: ${atm.text}`);
    bank.setBackendUrlDown(false);
    await second.background.drain();
    t.is(await statusOf(second, inFlight.sinopacAtm.id), 'pending');

    for (const c of ['sinopacCard', 'alipayPage', 'ecpayCard'] as const) {
      const paid = await json(`${second.url}/sim/${CASES[c].provider}/_control/pay`, 'POST', { orderNo: inFlight[c].orderNo });
      t.is(paid.status, 200, `${c}: ${paid.text}`);
      await second.background.drain();
      t.is(await statusOf(second, inFlight[c].id), 'paid', c);
      // Paid through a notify the gateway verified with the keys it had before the restart.
      const transition = await h.db('order_transitions').where({ order_id: inFlight[c].id, to_status: 'paid' }).first();
      t.regex(String(transition.source), /^callback/, c);
    }

    // The query finds the ATM transfer in the restored books.
    const later = () => new Date(Date.now() + 11 * 60_000);
    const job = reconcileJob({ ...second.runtime.deps, now: later }, 'restart', { minAgeMs: 10 * 60_000, merchantId: merchant.merchant.id });
    for (let i = 0; i < 10 && (await statusOf(second, inFlight.sinopacAtm.id)) !== 'paid'; i++) await job.run();
    t.is(await statusOf(second, inFlight.sinopacAtm.id), 'paid');
    t.is((await h.db('order_transitions').where({ order_id: inFlight.sinopacAtm.id, to_status: 'paid' }).first()).source, 'reconcile');

    // Refunds reach trades the simulators knew before the restart.
    for (const c of ['alipayPage', 'sinopacCard'] as const) {
      const refund = await json(`${second.url}/v1/payments/${inFlight[c].id}/refunds`, 'POST', { amount: 1000 }, merchant.apiKey);
      t.true(refund.status === 200 || refund.status === 201, `${c}: ${refund.text}`);
      t.is(refund.body.status, 'succeeded', `${c}: ${refund.text}`);
    }

    // Identifiers handed out after the restart are new.
    const fresh = new Set<string>();
    for (const c of Object.keys(CASES) as CaseName[]) {
      const created = await create(second, c);
      t.is(created.status, 201, created.text);
      t.is((await json(`${second.url}/sim/${CASES[c].provider}/_control/pay`, 'POST', { orderNo: created.body.orderNo })).status, 200, c);
    }
    await second.background.drain();
    for (const id of identifiers(second)) if (!before!.has(id)) fresh.add(id);
    t.true([...fresh].some((id) => id.startsWith('atm:')), 'a new virtual account');
    t.true([...fresh].some((id) => id.startsWith('tsNo:')), 'a new TSNo');
    t.true([...fresh].some((id) => id.startsWith('alipay:')), 'a new trade_no');
    t.true([...fresh].some((id) => id.startsWith('ecpay:')), 'a new TradeNo');
    // Every order the simulators know has its own identifiers: none was handed out twice.
    const tsNos = bank.orders.map((o) => o.tsNo);
    const atmNos = bank.orders.flatMap((o) => (o.atmPayNo ? [o.atmPayNo] : []));
    t.is(new Set(tsNos).size, tsNos.length, 'no TSNo twice');
    t.is(new Set(atmNos).size, atmNos.length, 'no virtual account twice');
    const alipayNos = second.sim<AlipaySimulator>('alipay').trades.map((x) => x.tradeNo);
    t.is(new Set(alipayNos).size, alipayNos.length, 'no trade_no twice');
    const ecpayNos = second.sim<EcpaySimulator>('ecpay').orders.map((x) => x.tradeNo);
    t.is(new Set(ecpayNos).size, ecpayNos.length, 'no TradeNo twice');
    t.is(bank.orders.length, 6, 'the books hold the SinoPac orders of both runs');
  } finally {
    await second.close();
  }
});
