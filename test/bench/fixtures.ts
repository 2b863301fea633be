/**
 * What the load is made of: real RSA-2048 keys for an Alipay app made at bench time, the SinoPac
 * simulator as the bank, the gateway's config file, pending orders in the shape checkout makes, and
 * signed notifies for them.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { newId, randomString } from '../../core/ids.ts';
import { silentLogger } from '../../core/logger.ts';
import { newOrderNo } from '../../core/order-no.ts';
import { toTotalAmount } from '../../providers/alipay/codec.ts';
import type { AlipayConfig } from '../../providers/alipay/config.ts';
import { beijing } from '../../providers/alipay/simulator/util.ts';
import { hashId } from '../../providers/sinopac/crypto.ts';
import { createSinopacSimulator, type SinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import type { SinopacConfig } from '../../providers/sinopac/config.ts';

export const APP_ID = '2021000000000777';
export const SELLER_ID = '2088000000000777';
export const ORDER_AMOUNT = 8888; // ¥88.88

export interface AlipayKeys {
  /** The app's own key (the gateway signs page pay requests with it). */
  appPrivatePem: string;
  /** "Alipay's" key pair: the bench signs notifies, the gateway verifies them. */
  alipayPrivatePem: string;
  alipayPublicPem: string;
}

export function alipayKeys(): AlipayKeys {
  const pem = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
  const app = pem();
  const alipay = pem();
  return {
    appPrivatePem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trim(),
    alipayPrivatePem: alipay.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trim(),
    alipayPublicPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString().trim(),
  };
}

export function alipayAccount(keys: AlipayKeys): AlipayConfig {
  return {
    appId: APP_ID,
    privateKey: keys.appPrivatePem,
    keyType: 'PKCS8',
    alipayPublicKey: keys.alipayPublicPem,
    // Page pay is a signed redirect URL: nothing is sent here while the bench runs.
    gateway: 'http://127.0.0.1:9/gateway.do',
    sellerId: SELLER_ID,
    currencies: ['CNY'],
  };
}

/** Per-request time spent inside the SinoPac simulator, keyed by nonce: Nonce request in → Order answer out. */
export interface SimTiming {
  /** Completed round trips (one per OrderCreate / OrderPayQuery). */
  roundTripsMs: number[];
  reset(): void;
}

export interface Bank {
  sim: SinopacSimulator;
  base: string;
  config: SinopacConfig;
  hashId: string;
  timing: SimTiming;
  close(): Promise<void>;
}

/**
 * The SinoPac simulator on its own HTTP server in this process. Each call the gateway makes is a
 * Nonce request then an Order request carrying that nonce; the time from the first arriving to the
 * second being answered is the provider round trip as the bank sees it.
 */
export async function startBank(): Promise<Bank> {
  const started = new Map<string, number>();
  const timing: SimTiming = {
    roundTripsMs: [],
    reset() {
      this.roundTripsMs = [];
    },
  };
  let sim: SinopacSimulator | undefined;
  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    const isNonce = req.url?.endsWith('/Nonce');
    const isOrder = req.url?.endsWith('/Order');
    if (isNonce) {
      // The simulator answers with one res.end(body); the nonce in it comes back in the Order envelope.
      const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
      res.end = ((...args: unknown[]) => {
        const nonce = typeof args[0] === 'string' ? /"Nonce":"([^"]+)"/.exec(args[0])?.[1] : undefined;
        if (nonce) started.set(nonce, t0);
        return end(...args);
      }) as typeof res.end;
    } else if (isOrder) {
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => {
        const nonce = /"Nonce":"([^"]+)"/.exec(Buffer.concat(body).toString())?.[1];
        const first = nonce ? started.get(nonce) : undefined;
        if (first === undefined) return;
        started.delete(nonce!);
        res.once('finish', () => timing.roundTripsMs.push(performance.now() - first));
      });
    }
    sim!.handler(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // No auto-payment and no BackendURL retries: the bench drives every request itself.
  sim = createSinopacSimulator({ baseUrl: base, logger: silentLogger }, { atmAutoPayMs: null, backendRetryMs: [] });
  const config = sim.accountConfig('default');
  return {
    sim,
    base,
    config,
    hashId: hashId(config),
    timing,
    async close() {
      await sim!.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export function writeGatewayConfig(dir: string, alipay: AlipayConfig, sinopac: SinopacConfig): string {
  const file = join(dir, 'paygate-config.json');
  writeFileSync(file, JSON.stringify({ providers: { alipay: { default: alipay }, sinopac: { default: sinopac } } }, null, 2));
  return file;
}

export interface PendingOrder {
  id: string;
  orderNo: string;
  amount: number;
}

/**
 * `n` copies of a pending order that checkout made (its order, items, transitions and events rows,
 * with fresh ids, order numbers and merchant order ids), inserted in bulk: the shape is exactly
 * checkout's, without paying for an RSA signature and two transactions per order.
 */
export async function cloneOrders(db: Knex, templateId: string, n: number, tag: string): Promise<PendingOrder[]> {
  const order = (await db('orders').where({ id: templateId }).first()) as Record<string, unknown>;
  if (!order || order.status !== 'pending') throw new Error(`template order ${templateId} is missing or not pending`);
  const children = {
    order_items: (await db('order_items').where({ order_id: templateId })) as Record<string, unknown>[],
    order_transitions: (await db('order_transitions').where({ order_id: templateId })) as Record<string, unknown>[],
    events: (await db('events').where({ order_id: templateId })) as Record<string, unknown>[],
  };
  const templateNo = String(order.order_no);
  const templateMerchantId = String(order.merchant_order_id);
  const out: PendingOrder[] = [];
  const rows: Record<keyof typeof children | 'orders', Record<string, unknown>[]> = { orders: [], order_items: [], order_transitions: [], events: [] };
  for (let i = 0; i < n; i++) {
    const id = newId('pay');
    const orderNo = newOrderNo();
    const merchantOrderId = `${tag}-${i}-${randomString(6)}`;
    const swap = (row: Record<string, unknown>, replacements: [string, string][]) => {
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) {
        let value = v;
        if (typeof value === 'string') for (const [from, to] of replacements) value = (value as string).split(from).join(to);
        copy[k] = value;
      }
      return copy;
    };
    const common: [string, string][] = [
      [templateId, id],
      [templateNo, orderNo],
      [templateMerchantId, merchantOrderId],
    ];
    rows.orders.push(swap(order, common));
    for (const table of ['order_items', 'order_transitions'] as const) {
      for (const child of children[table]) {
        const { id: _auto, ...rest } = child;
        rows[table].push(swap(rest, common));
      }
    }
    for (const event of children.events) {
      const { id: _auto, ...rest } = event;
      rows.events.push(swap(rest, [...common, [String(event.public_id), newId('evt')]]));
    }
    out.push({ id, orderNo, amount: Number(order.amount_minor) });
  }
  for (const table of ['orders', 'order_items', 'order_transitions', 'events'] as const) {
    await db.batchInsert(table, rows[table] as never, 250);
  }
  return out;
}

/** The parameters of Alipay's TRADE_SUCCESS notify for `order` (providers/alipay/simulator/messages.ts), unsigned. */
export function notifyParams(order: PendingOrder, now = new Date()): Record<string, string> {
  const total = toTotalAmount(order.amount, 'CNY');
  const stamp = beijing(now);
  return {
    notify_time: stamp,
    notify_type: 'trade_status_sync',
    notify_id: randomBytes(16).toString('hex'),
    app_id: APP_ID,
    auth_app_id: APP_ID,
    charset: 'utf-8',
    version: '1.0',
    trade_no: `2026${randomString(24, '0123456789')}`,
    out_trade_no: order.orderNo,
    buyer_id: '2088102177846880',
    buyer_logon_id: 'bu***@example.com',
    seller_id: SELLER_ID,
    seller_email: 'shop@example.com',
    trade_status: 'TRADE_SUCCESS',
    total_amount: total,
    receipt_amount: total,
    invoice_amount: total,
    buyer_pay_amount: total,
    point_amount: '0.00',
    subject: 'Oolong tea 300g',
    gmt_create: stamp,
    gmt_payment: stamp,
    fund_bill_list: JSON.stringify([{ amount: total, fundChannel: 'ALIPAYACCOUNT' }]),
  };
}

export const newApiKey = (): string => `pk_bench_${randomBytes(16).toString('hex')}`;
export const newPassword = (): string => randomBytes(18).toString('base64url');
