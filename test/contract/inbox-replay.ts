/**
 * What the conformance suite's refusal cases (test/contract/conformance.ts) need around the gateway:
 * a second account of a provider, posting a stored notify again, and everything a callback could
 * change about an order.
 */
import type { CallbackRow } from '../../core/inbox.ts';
import { silentLogger } from '../../core/logger.ts';
import type { CallbackRequest, PaymentProvider } from '../../core/payment-provider.ts';
import { callbackUrls } from '../../core/registry.ts';
import type { TestApp } from '../helpers/app.ts';
import type { TestDbHandle } from '../helpers/db.ts';
import type { RawCallback } from './tamper.ts';

/** The account the replay case adds beside `default`, on the same simulator with its own keys. */
export const SECOND_ACCOUNT = 'second';

/**
 * Adds a second account of the target's provider, on its mounted simulator with keys of its own (the
 * simulator's accountConfig makes one per account id), as configuration would add it.
 */
export function addSecondAccount(app: TestApp, providerId: string): PaymentProvider {
  const mounted = app.simulators.find((s) => s.providerId === providerId);
  const module = app.deps.registry.modules.find((m) => m.id === providerId);
  if (!mounted || !module) throw new Error(`${providerId} has no simulator mounted`);
  const urls = callbackUrls(app.url, providerId, SECOND_ACCOUNT);
  const provider = module.createProvider(SECOND_ACCOUNT, module.configSchema.parse(mounted.instance.accountConfig(SECOND_ACCOUNT)), { logger: silentLogger, callbackUrls: urls });
  app.deps.registry.add(module, provider, { isDefault: false, simulated: true, urls });
  return provider;
}

export function asRequest(raw: RawCallback): CallbackRequest {
  return { kind: 'notify', httpMethod: raw.httpMethod, contentType: raw.contentType, rawBody: raw.rawBody, rawQuery: raw.rawQuery, headers: {} };
}

export async function post(app: TestApp, providerId: string, account: string, raw: RawCallback) {
  const res = await app.raw(raw.httpMethod, `/callbacks/${providerId}/${account}/notify${raw.rawQuery ? `?${raw.rawQuery}` : ''}`, {
    body: raw.httpMethod === 'GET' ? undefined : raw.rawBody,
    headers: raw.contentType ? { 'content-type': raw.contentType } : {},
  });
  await app.background.drain();
  return res;
}

/** Everything a callback could change about one order. */
export async function footprint(h: TestDbHandle, orderId: string) {
  const count = async (table: string) => Number((await h.db(table).where({ order_id: orderId }).count({ n: '*' }).first())!.n);
  return {
    order: await h.db('orders').where({ id: orderId }).first(),
    transitions: await count('order_transitions'),
    events: await count('events'),
    refunds: await count('refunds'),
  };
}

/** The inbox rows holding exactly these bytes (other tests of the file run at the same time). */
export async function rowsOf(h: TestDbHandle, providerId: string, account: string, raw: RawCallback): Promise<CallbackRow[]> {
  return (await h.db('provider_callbacks').where({ provider: providerId, account, kind: 'notify', raw_body: raw.rawBody, raw_query: raw.rawQuery }).orderBy('id')) as CallbackRow[];
}
