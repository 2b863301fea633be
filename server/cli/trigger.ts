import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../../core/config.ts';
import { simulatorControlPath } from '../../core/payment-provider.ts';
import { str, UsageError, type FlagValues, type Flags } from './args.ts';

/**
 * `paygate trigger <event>`: makes a real event happen on a running gateway, the way a buyer and a
 * bank would, so a real signed webhook goes out (watch it with `paygate listen`). It is an HTTP
 * client of the gateway and nothing more: it creates a payment through the merchant API (the demo
 * merchant's key) on a simulated provider account (GET /v1/providers says which there are: `npm
 * start` mounts a simulator for every provider without a real account) and drives that simulator
 * through its control API. A gateway without simulators refuses, so this cannot move real money.
 * It names no provider: by default the first simulated account with a method that can reach the
 * event (a refundable one for payment.refunded), `card` when it has one.
 */

export const TRIGGER_EVENTS = ['payment.paid', 'payment.failed', 'payment.refunded', 'payment.cancelled'] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

export const triggerFlags: Flags = {
  event: { type: 'string' },
  gateway: { type: 'string' },
  'api-key': { type: 'string' },
  provider: { type: 'string' },
  method: { type: 'string' },
};

export const TRIGGER_USAGE = `  trigger <${TRIGGER_EVENTS.join('|')}> [--gateway <url>] [--api-key <key>] [--provider <id>] [--method <m>]
                                  create a payment on a running gateway (default PAYGATE_PUBLIC_URL) and
                                  drive it to that outcome on a provider's simulator (default: the first
                                  simulated account that can, card where offered), so the merchant's
                                  webhook fires; the key comes from --api-key, PAYGATE_API_KEY or
                                  PAYGATE_DEMO_API_KEY
`;

const AMOUNT = 1000; // 10.00 in a two-decimal currency (NT$10, ¥10)
const WAIT_MS = 20_000;

interface Payment {
  id: string;
  orderNo: string;
  status: string;
  amount: number;
  currency: string;
  action?: { type: string; url?: string; method?: string; fields?: Record<string, string> } | null;
}

interface ProviderAccount {
  provider: string;
  account: string;
  methods: string[];
  currencies: string[];
  simulated: boolean;
  refundMethods: string[];
}

class TriggerError extends Error {}

/** The account and method to drive: simulated only, able to reach the event, as the flags narrow it. */
export function chooseTriggerTarget(
  accounts: readonly ProviderAccount[],
  event: TriggerEvent,
  wanted: { provider?: string; method?: string },
): { provider: string; account: string; method: string; currency: string } {
  const simulated = accounts.filter((a) => a.simulated && (wanted.provider === undefined || a.provider === wanted.provider));
  if (simulated.length === 0) {
    const what = wanted.provider === undefined ? 'no provider runs on its simulator' : `${wanted.provider} does not run on its simulator`;
    throw new TriggerError(`${what} on this gateway: trigger works only against simulators (npm start without real accounts)`);
  }
  for (const a of simulated) {
    const usable = a.methods.filter((m) => (wanted.method === undefined || m === wanted.method) && (event !== 'payment.refunded' || a.refundMethods.includes(m)));
    const method = usable.includes('card') ? 'card' : usable[0];
    if (method !== undefined && a.currencies[0] !== undefined) return { provider: a.provider, account: a.account, method, currency: a.currencies[0] };
  }
  throw new TriggerError(
    `no simulated account offers ${wanted.method === undefined ? 'a method' : `method ${wanted.method}`}${event === 'payment.refunded' ? ' it can refund' : ''}` +
      `${wanted.provider === undefined ? '' : ` on ${wanted.provider}`}`,
  );
}

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
  const control = async (provider: string, action: 'pay' | 'decline', orderNo: string) => {
    const response = await fetch(gateway + simulatorControlPath(provider, action), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderNo }),
      signal: AbortSignal.timeout(15_000),
    }).catch((err: Error) => {
      throw new TriggerError(`cannot reach the simulator: ${err.message}`);
    });
    const text = await response.text();
    if (response.status === 404) throw new TriggerError(`no ${provider} simulator at ${gateway}/sim/${provider}: trigger works only against a gateway whose ${provider} runs on its simulator (npm start without a ${provider} account)`);
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
    const listed = await api('GET', '/v1/providers');
    if (listed.status !== 200) throw new TriggerError(`could not list the gateway's providers: ${errorText(listed.status, listed.text)}`);
    const target = chooseTriggerTarget((listed.json as { data: ProviderAccount[] }).data, event as TriggerEvent, { provider: str(values, 'provider'), method: str(values, 'method') });
    const created = await api('POST', '/v1/payments', {
      merchantOrderId: `trigger-${Date.now()}-${randomBytes(3).toString('hex')}`,
      currency: target.currency,
      amount: AMOUNT,
      items: [{ sku: 'TRIGGER', name: `paygate trigger ${event}`, unitAmount: AMOUNT, quantity: 1 }],
      provider: target.provider,
      account: target.account,
      method: target.method,
      metadata: { trigger: event },
    });
    if (created.status !== 201) throw new TriggerError(`could not create the payment: ${errorText(created.status, created.text)}`);
    const payment = created.json as Payment;
    console.log(`created payment ${payment.id} (order ${payment.orderNo}) on ${target.provider} ${target.method}: ${payment.status}`);

    const outcome = TARGET[event as TriggerEvent];
    if (event === 'payment.cancelled') {
      const cancelled = await api('POST', `/v1/payments/${payment.id}/cancel`, { reason: 'paygate trigger' });
      if (cancelled.status !== 200) throw new TriggerError(`could not cancel: ${errorText(cancelled.status, cancelled.text)}`);
    } else {
      await control(target.provider, event === 'payment.failed' ? 'decline' : 'pay', payment.orderNo);
    }
    const reached = await waitFor(payment.id, event === 'payment.refunded' ? 'paid' : outcome);
    if (event === 'payment.refunded') {
      console.log(`payment ${payment.id}: paid; refunding all of it`);
      const refund = await api('POST', `/v1/payments/${payment.id}/refunds`, { amount: reached.amount, reason: 'paygate trigger' });
      if (refund.status !== 201 && refund.status !== 202) throw new TriggerError(`could not refund: ${errorText(refund.status, refund.text)}`);
      await waitFor(payment.id, outcome);
    }
    console.log(`payment ${payment.id}: ${outcome}; ${event} is on its way to the merchant's webhook URL`);
    return 0;
  } catch (err) {
    if (err instanceof TriggerError) {
      console.error(`paygate trigger: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
