import { createHmac, timingSafeEqual } from 'node:crypto';
import { describeAmount, providerMaximum, providerTakes } from './amount-limits.ts';
import { startAtProvider, type ResolvedChoice } from './checkout.ts';
import { bindChoice } from './order-writer.ts';
import type { CoreDeps } from './deps.ts';
import { ConflictError, NotFoundError, ProviderMisconfiguredError, ValidationError } from './errors.ts';
import { findOrder, loadItems, type Order } from './orders.ts';

/**
 * The buyer's side of a hosted checkout. The buyer is identified by a signed, expiring link, never
 * by a session or cookie: a link forwarded to another device, or opened after the browser lost its
 * session, still finds the order.
 */

/** How long after the order's own deadline its link still shows the result. */
export const LINK_GRACE_MS = 7 * 24 * 60 * 60_000;

function mac(secret: string, orderId: string, expiresAtSec: number): string {
  return createHmac('sha256', secret).update(`checkout\n${orderId}\n${expiresAtSec}`).digest('base64url');
}

/** `/checkout/<id>?e=<unix seconds>&s=<HMAC>`: relative, the server puts its public origin in front. */
export function checkoutPath(secret: string, order: Pick<Order, 'id' | 'expiresAt'>): string {
  const e = Math.floor((order.expiresAt.getTime() + LINK_GRACE_MS) / 1000);
  return `/checkout/${encodeURIComponent(order.id)}?e=${e}&s=${mac(secret, order.id, e)}`;
}

export type LinkCheck = 'valid' | 'expired' | 'invalid';

export function checkLink(secret: string, orderId: string, e: unknown, s: unknown, now: Date): LinkCheck {
  if (typeof e !== 'string' || typeof s !== 'string' || !/^\d{1,12}$/.test(e) || s.length > 100) return 'invalid';
  const expected = Buffer.from(mac(secret, orderId, Number(e)));
  const given = Buffer.from(s);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return Number(e) * 1000 < now.getTime() ? 'expired' : 'valid';
}

/** The order's choices its account could still take, rejected credentials or not. */
function configuredChoices(deps: CoreDeps, order: Order): ResolvedChoice[] {
  const list = order.choices ?? [];
  return list.filter((c) => {
    const provider = deps.registry.find(c.provider, c.account);
    return (
      provider !== undefined &&
      provider.methods.includes(c.method) &&
      provider.currencies.includes(order.currency) &&
      providerTakes(provider, order.currency, c.method, order.amount)
    );
  });
}

const isRejected = (deps: CoreDeps, c: ResolvedChoice): boolean => deps.registry.credentials.get(c.provider, c.account).state === 'rejected';

/**
 * What the buyer may still pick from: the order's list, less what is no longer configured or no
 * longer takes the amount (a provider maximum lowered since the order was made; core/amount-limits.ts),
 * and less any account whose credentials its provider refuses (core/provider-health.ts): a buyer is
 * never sent to an account that cannot take the payment. The order keeps its whole list, so an
 * account is offered again once a probe accepts its keys.
 */
export function availableChoices(deps: CoreDeps, order: Order): ResolvedChoice[] {
  return configuredChoices(deps, order).filter((c) => !isRejected(deps, c));
}

/**
 * The buyer picked a way to pay. The choice is written first (once: a second tab that also chose
 * finds the order taken and gets its state), then the provider is asked. A provider fault puts the
 * order back to waiting for a choice, so the buyer can try again or pick another.
 */
export async function chooseProvider(deps: CoreDeps, orderId: string, choice: ResolvedChoice, options: { returnLang?: string } = {}): Promise<Order> {
  const order = await findOrder(deps.db, orderId);
  if (!order) throw new NotFoundError('Payment');
  if (order.provider !== null || order.status !== 'created') return order; // chosen already
  if (order.expiresAt.getTime() <= deps.now().getTime()) throw new ConflictError('expired', 'This payment has expired');
  const same = (c: ResolvedChoice) => c.provider === choice.provider && c.account === choice.account && c.method === choice.method;
  // One of the order's ways to pay, but its account's keys are refused (a page shown before the
  // verdict, or a hand-made post): the existing "choose another way" answer, nothing asked.
  if (configuredChoices(deps, order).some((c) => same(c) && isRejected(deps, c))) throw new ProviderMisconfiguredError(choice.provider, choice.account);
  const allowed = availableChoices(deps, order).some(same);
  if (!allowed) {
    const named = deps.registry.find(choice.provider, choice.account);
    const max = named ? providerMaximum(named, order.currency, choice.method) : undefined;
    if (named && max !== undefined && !providerTakes(named, order.currency, choice.method, order.amount)) {
      throw ValidationError.field('choice', `${choice.provider} ${choice.method} payments take at most ${describeAmount(max, order.currency)}`, 'amount_too_large');
    }
    throw ValidationError.field('choice', 'is not one of the ways to pay this order', 'invalid_choice');
  }
  const provider = deps.registry.find(choice.provider, choice.account)!;
  const taken = await bindChoice(deps.db, order, { provider: provider.id, account: provider.account, method: choice.method }, deps.now());
  const current = (await findOrder(deps.db, orderId))!;
  if (!taken) return current;
  return startAtProvider(deps, current, provider, await loadItems(deps.db, orderId), { withdrawOnFault: false, returnLang: options.returnLang });
}

