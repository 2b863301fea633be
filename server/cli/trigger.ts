import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../../core/config.ts';
import { str, UsageError, type FlagValues, type Flags } from './args.ts';

/**
 * `paygate trigger <event>`: makes a real event happen on a running gateway, the way a buyer and a
 * bank would, so a real signed webhook goes out (watch it with `paygate listen`). It is an HTTP
 * client of the gateway and nothing more: it creates a payment through the merchant API (the demo
 * merchant's key) and drives SinoPac's simulator through its control API, which `npm start` mounts
 * at /sim/sinopac when SinoPac has no real account. A gateway without that simulator refuses, so
 * this cannot move real money.
 */

export const TRIGGER_EVENTS = ['payment.paid', 'payment.failed', 'payment.refunded', 'payment.cancelled'] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

export const triggerFlags: Flags = {
  event: { type: 'string' },
  gateway: { type: 'string' },
  'api-key': { type: 'string' },
};

export const TRIGGER_USAGE = `  trigger <${TRIGGER_EVENTS.join('|')}> [--gateway <url>] [--api-key <key>]
                                  create a payment on a running gateway (default PAYGATE_PUBLIC_URL) and
                                  drive it to that outcome on the SinoPac simulator, so the merchant's
                                  webhook fires; the key comes from --api-key, PAYGATE_API_KEY or
                                  PAYGATE_DEMO_API_KEY
`;

const PROVIDER = 'sinopac';
const METHOD = 'card';
const AMOUNT = 1000; // NT$10
const WAIT_MS = 20_000;

interface Payment {
  id: string;
  orderNo: string;
  status: string;
  amount: number;
  currency: string;
  action?: { type: string; url?: string; method?: string; fields?: Record<string, string> } | null;
}

class TriggerError extends Error {}

/** The status a payment must reach for each trigger. */
const TARGET: Record<TriggerEvent, string> = {
  'payment.paid': 'paid',
  'payment.failed': 'failed',
  'payment.refunded': 'refunded',
  'payment.cancelled': 'cancelled',
};

function errorText(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } | string };
    if (typeof body.error === 'string') return `HTTP ${status}: ${body.error}`;
    if (body.error) return `HTTP ${status}: ${body.error.code ?? ''} ${body.error.message ?? ''}`.trim();
  } catch {
    // not JSON
  }
  return `HTTP ${status}`;
}

/** `npm run paygate -- trigger <event>`; returns the exit code. */
export async function runTrigger(values: FlagValues, config: AppConfig, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const event = str(values, 'event');
  if (!event) throw new UsageError(`name the event: one of ${TRIGGER_EVENTS.join(', ')}`);
  if (!(TRIGGER_EVENTS as readonly string[]).includes(event)) throw new UsageError(`${JSON.stringify(event)} cannot be triggered; one of ${TRIGGER_EVENTS.join(', ')}`);
  const gatewayFlag = str(values, 'gateway');
  const gateway = (gatewayFlag ?? config.publicUrl).replace(/\/+$/, '');
  try {
    const u = new URL(gateway);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--gateway must be an http(s) URL`);
  }
  const apiKey = str(values, 'api-key') ?? env.PAYGATE_API_KEY ?? config.demoApiKey;
  if (!apiKey) throw new UsageError('--api-key is required (or set PAYGATE_API_KEY): the key `npm start` printed for the demo merchant');

  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> => {
    let response: Response;
    try {
      response = await fetch(gateway + path, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `trigger-${randomBytes(12).toString('hex')}` }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new TriggerError(`cannot reach the gateway at ${gateway} (${(err as Error).cause ? String((err as { cause: { code?: string } }).cause.code ?? '') : (err as Error).message}); is it running (npm start)?`);
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    if (response.status === 401) throw new TriggerError('the gateway refused the API key (HTTP 401)');
    return { status: response.status, text, json };
  };
  const control = async (action: 'pay' | 'decline', orderNo: string) => {
    const response = await fetch(`${gateway}/sim/${PROVIDER}/_control/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderNo }),
      signal: AbortSignal.timeout(15_000),
    }).catch((err: Error) => {
      throw new TriggerError(`cannot reach the simulator: ${err.message}`);
    });
    const text = await response.text();
    if (response.status === 404) throw new TriggerError(`no ${PROVIDER} simulator at ${gateway}/sim/${PROVIDER}: trigger works only against a gateway whose ${PROVIDER} runs on its simulator (npm start without a ${PROVIDER} account)`);
    if (!response.ok) throw new TriggerError(`the simulator refused to ${action}: ${errorText(response.status, text)}`);
  };
  const waitFor = async (id: string, status: string): Promise<Payment> => {
    const until = Date.now() + WAIT_MS;
    for (;;) {
      const got = await api('GET', `/v1/payments/${id}`);
      const payment = got.json as Payment;
      if (got.status === 200 && payment.status === status) return payment;
      if (Date.now() > until) throw new TriggerError(`payment ${id} is ${payment?.status ?? errorText(got.status, got.text)}, not ${status}, after ${WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    const created = await api('POST', '/v1/payments', {
      merchantOrderId: `trigger-${Date.now()}-${randomBytes(3).toString('hex')}`,
      currency: 'TWD',
      amount: AMOUNT,
      items: [{ sku: 'TRIGGER', name: `paygate trigger ${event}`, unitAmount: AMOUNT, quantity: 1 }],
      provider: PROVIDER,
      method: METHOD,
      metadata: { trigger: event },
    });
    if (created.status !== 201) throw new TriggerError(`could not create the payment: ${errorText(created.status, created.text)}`);
    const payment = created.json as Payment;
    console.log(`created payment ${payment.id} (order ${payment.orderNo}) on ${PROVIDER} ${METHOD}: ${payment.status}`);

    const target = TARGET[event as TriggerEvent];
    if (event === 'payment.cancelled') {
      const cancelled = await api('POST', `/v1/payments/${payment.id}/cancel`, { reason: 'paygate trigger' });
      if (cancelled.status !== 200) throw new TriggerError(`could not cancel: ${errorText(cancelled.status, cancelled.text)}`);
    } else {
      await control(event === 'payment.failed' ? 'decline' : 'pay', payment.orderNo);
    }
    const reached = await waitFor(payment.id, event === 'payment.refunded' ? 'paid' : target);
    if (event === 'payment.refunded') {
      console.log(`payment ${payment.id}: paid; refunding all of it`);
      const refund = await api('POST', `/v1/payments/${payment.id}/refunds`, { amount: reached.amount, reason: 'paygate trigger' });
      if (refund.status !== 201 && refund.status !== 202) throw new TriggerError(`could not refund: ${errorText(refund.status, refund.text)}`);
      await waitFor(payment.id, target);
    }
    console.log(`payment ${payment.id}: ${target}; ${event} is on its way to the merchant's webhook URL`);
    return 0;
  } catch (err) {
    if (err instanceof TriggerError) {
      console.error(`paygate trigger: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
