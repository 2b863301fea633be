import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../../core/logger.ts';
import { SinopacClient, SinopacFault, SinopacStatusError } from '../../../providers/sinopac/client.ts';
import { sinopacConfig } from '../../../providers/sinopac/config.ts';
import { createSinopacSimulator } from '../../../providers/sinopac/simulator/index.ts';

async function listen(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * The bank simulator on a real port, and a proxy in front of it that can rewrite the bank's
 * answers to Order calls (to prove the client checks what comes back).
 */
async function withBank(
  fn: (ctx: { config: ReturnType<typeof sinopacConfig.parse>; rewrite: (f: ((body: any) => any) | null) => void }) => Promise<void>,
): Promise<void> {
  let rewriteOrder: ((body: any) => any) | null = null;
  let bankHandler: http.RequestListener = () => undefined;
  const bankServer = await listen((req, res) => bankHandler(req, res));
  const bank = createSinopacSimulator({ baseUrl: bankServer.url, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null });
  bankHandler = bank.handler;
  const proxy = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const upstream = await fetch(`${bankServer.url}${req.url}`, {
        method: req.method,
        headers: { 'content-type': 'application/json', 'x-keyid': String(req.headers['x-keyid'] ?? '') },
        body: Buffer.concat(chunks),
      });
      let text = await upstream.text();
      if (rewriteOrder && req.url?.endsWith('/Order')) text = JSON.stringify(rewriteOrder(JSON.parse(text)));
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  try {
    // Generous: these tests are about the answers, not the clock (a loaded machine took 500 ms once).
    const config = sinopacConfig.parse({ ...bank.accountConfig('default'), timeoutMs: 10_000 });
    await fn({ config: { ...config, baseUrl: config.baseUrl.replace(bankServer.url, proxy.url) }, rewrite: (f) => (rewriteOrder = f) });
  } finally {
    await bank.close();
    await proxy.close();
    await bankServer.close();
  }
}

const createAtm = (orderNo: string) => ({
  ShopNo: '',
  OrderNo: orderNo,
  Amount: 50000,
  CurrencyID: 'TWD',
  PrdtName: 'Tea',
  ReturnURL: 'http://127.0.0.1:9/r',
  BackendURL: 'http://127.0.0.1:9/n',
  PayType: 'A',
  ATMParam: { ExpireDate: '20991231' },
});

test('a verified answer comes back decrypted; Status F is a typed business answer', async (t) => {
  await withBank(async ({ config }) => {
    const client = new SinopacClient(config);
    const ok = await client.call('OrderCreate', { ...createAtm('C1'), ShopNo: config.ShopNo });
    t.is(ok.Status, 'S');
    t.is(ok.Description, 'S0000 – 處理成功');
    const duplicate = await t.throwsAsync(client.call('OrderCreate', { ...createAtm('C1'), ShopNo: config.ShopNo }), { instanceOf: SinopacStatusError });
    t.regex(duplicate.code, /^E\d{4}$/);
  });
});

test('transport failures and timeouts are typed faults that never show a key', async (t) => {
  await withBank(async ({ config }) => {
    const refused = new SinopacClient({ ...config, baseUrl: 'http://127.0.0.1:1/api/' });
    const e1 = await t.throwsAsync(refused.call('OrderQuery', { ShopNo: config.ShopNo, OrderNo: 'X' }), { instanceOf: SinopacFault });
    t.is(e1.kind, 'transport');
    t.is(e1.code, 'provider_unavailable');
    t.true(e1.retryable);

    const silent = http.createServer(() => undefined); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const slow = new SinopacClient({ ...config, timeoutMs: 200, baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api/` });
      const e2 = await t.throwsAsync(slow.call('OrderQuery', { ShopNo: config.ShopNo, OrderNo: 'X' }), { instanceOf: SinopacFault });
      t.is(e2.kind, 'transport');
      t.regex(e2.message, /no answer within 200 ms/);
      for (const secret of [config.A1, config.A2, config.B1, config.B2, config.KeyID]) t.false(e2.message.includes(secret));
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });
});

test('a gateway rejection (wrong keys, so a bad request Sign) is a fault of kind rejected', async (t) => {
  await withBank(async ({ config }) => {
    const wrongKeys = new SinopacClient({ ...config, A1: '0123456789ABCDEF' });
    const err = await t.throwsAsync(wrongKeys.call('OrderQuery', { ShopNo: config.ShopNo, OrderNo: 'X' }), { instanceOf: SinopacFault });
    t.is(err.kind, 'rejected');
    const wrongKeyId = new SinopacClient({ ...config, KeyID: 'not-the-key-id' });
    // Refused at the Nonce step: its own kind, not counted as refused credentials (client.ts).
    const nonce = await t.throwsAsync(wrongKeyId.call('OrderQuery', { ShopNo: config.ShopNo, OrderNo: 'X' }), { instanceOf: SinopacFault });
    t.is(nonce.kind, 'nonce_refused');
    t.false(nonce.credentialsRejected);
    t.true(err.credentialsRejected);
  });
});

test('an answer whose Sign does not match is refused', async (t) => {
  await withBank(async ({ config, rewrite }) => {
    rewrite((body) => ({ ...body, Sign: body.Sign.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A')) }));
    const client = new SinopacClient(config);
    const err = await t.throwsAsync(client.call('OrderQuery', { ShopNo: config.ShopNo, OrderNo: 'X' }), { instanceOf: SinopacFault });
    t.is(err.kind, 'bad_sign');
    rewrite((body) => ({ ...body, Message: body.Message.slice(0, -32) }));
    t.is((await t.throwsAsync(client.call('OrderQuery', { ShopNo: config.ShopNo, OrderNo: 'X' }), { instanceOf: SinopacFault })).kind, 'protocol');
  });
});
