/**
 * What the load is made of: real RSA-2048 keys for an Alipay app made at bench time, the SinoPac
 * simulator as the bank, the gateway's config file, pending orders in the shape checkout makes, and
 * signed notifies for them.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { newId, randomString } from '../../core/ids.ts';
import { newOrderNo } from '../../core/order-no.ts';
import { toTotalAmount } from '../../providers/alipay/codec.ts';
import type { AlipayConfig } from '../../providers/alipay/config.ts';
import { beijing } from '../../providers/alipay/simulator/util.ts';
import { hashId } from '../../providers/sinopac/crypto.ts';
import type { SinopacConfig } from '../../providers/sinopac/config.ts';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

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

/** What the bench needs of the SinoPac bank: its account and the round trips it timed. */
export interface Bank {
  base: string;
  config: SinopacConfig;
  hashId: string;
  /** The simulator's process (its CPU is counted apart from "others" on the machine). */
  pid: number;
  /** Forgets the round trips timed so far. */
  resetTiming(): void;
  /** Completed round trips (one per OrderCreate / OrderPayQuery) since the last reset, in ms. */
  roundTrips(): Promise<number[]>;
  close(): Promise<void>;
}

/** Messages between the bench and test/bench/bank-server.ts. */
export type BankMessage =
  | { type: 'ready'; base: string; config: SinopacConfig }
  | { type: 'reset' }
  | { type: 'get' }
  | { type: 'trips'; ms: number[] };

/**
 * The SinoPac simulator in its own process (test/bench/bank-server.ts): the bank's AES, signing and
 * HTTP must not share an event loop with the load generator, whose latencies they would inflate.
 */
export async function startBank(): Promise<Bank> {
  const child = fork(join(ROOT_DIR, 'test/bench/bank-server.ts'), [], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<Extract<BankMessage, { type: 'ready' }>>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bank process exited (${code}) before it was ready`)));
    child.on('message', (m: BankMessage) => m.type === 'ready' && resolve(m));
  });
  child.removeAllListeners('exit');
  let waiting: ((ms: number[]) => void)[] = [];
  child.on('message', (m: BankMessage) => {
    if (m.type !== 'trips') return;
    const [first, ...rest] = waiting;
    waiting = rest;
    first?.(m.ms);
  });
  return {
    base: ready.base,
    config: ready.config,
    hashId: hashId(ready.config),
    pid: child.pid!,
    resetTiming: () => void child.send({ type: 'reset' } satisfies BankMessage),
    roundTrips: () =>
      new Promise<number[]>((resolve) => {
        waiting.push(resolve);
        child.send({ type: 'get' } satisfies BankMessage);
      }),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
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
    // Not the reconcile job's to ask about: their provider is an app made up for the bench, at no
    // real gateway. Left due, ten minutes in (the job's minimum age) the worker would start asking
    // about thousands of them, and that load would be in every later row (the cluster section).
    rows.orders.push({ ...swap(order, common), next_reconcile_at: Date.now() + 24 * 3_600_000 });
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
