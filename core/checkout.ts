import { assertProviderTakes, assertWithinCurrencyMaximum, describeAmount, providerTakes } from './amount-limits.ts';
import type { CheckoutChoice, CreatePaymentInput } from './api-schemas.ts';
import { errorSummary, isUniqueViolation, retryingTransaction } from './db.ts';
import type { CoreDeps } from './deps.ts';
import { ConflictError, GatewayError, isCredentialsRejection, ProviderMisconfiguredError, ProviderUnavailableError, ValidationError } from './errors.ts';
import { newId } from './ids.ts';
import { isKnownCurrency, multiplyMinor, sumMinor } from './money.ts';
import { newOrderNo } from './order-no.ts';
import { findOrder, loadItems, toSnapshot, type Order } from './orders.ts';
import type { CallbackUrls, CreatePaymentResult, OrderItemSnapshot, PaymentProvider } from './payment-provider.ts';
import { applyNews, countAttempt, insertOrder, unbindChoice, withdrawOrder } from './order-writer.ts';

export const DEFAULT_EXPIRES_IN_MINUTES = 1440;

/** The provider's subject limits are its own business; ours is 128 characters. */
function defaultSubject(items: readonly OrderItemSnapshot[]): string {
  const first = items[0]!.name;
  const subject = items.length === 1 ? first : `${first} +${items.length - 1}`;
  return subject.slice(0, 128);
}

/**
 * Creates an order for a merchant (docs/architecture.md#creating-a-payment): checks the total against the items, picks the
 * provider account and method, writes the order and its items, asks the provider, and records what
 * it answered as a transition. Returns the order with its next action.
 */
export async function createPayment(deps: CoreDeps, merchantId: string, input: CreatePaymentInput): Promise<Order> {
  if (!isKnownCurrency(input.currency)) {
    throw ValidationError.field('currency', `${input.currency} is not a currency paygate accepts`, 'unsupported_currency');
  }
  // Before the items: a line beyond 2^53 is refused by multiplyMinor on its own field.
  assertWithinCurrencyMaximum(input.amount, input.currency, 'amount');
  const items: OrderItemSnapshot[] = input.items.map((item, i) => ({
    sku: item.sku,
    name: item.name,
    unitAmount: item.unitAmount,
    quantity: item.quantity,
    amount: multiplyMinor(item.unitAmount, item.quantity, `items.${i}.unitAmount`),
  }));
  const total = sumMinor(items.map((i) => i.amount), 'items');
  if (total !== input.amount) {
    throw ValidationError.field('amount', `is ${input.amount} but the items add up to ${total}`, 'amount_mismatch');
  }

  // A direct payment names its provider; a hosted checkout leaves the choice to the buyer.
  const provider = input.provider !== undefined ? resolveChoice(deps, { provider: input.provider, account: input.account, method: input.method! }, input.currency, '') : null;
  if (provider) assertProviderTakes(provider, input.currency, input.method!, input.amount, 'amount');
  const choices = input.provider === undefined ? checkoutChoices(deps, input.currency, input.choices, input.amount) : null;

  const now = deps.now();
  const id = newId('pay');
  const expiresAt = new Date(now.getTime() + (input.expiresInMinutes ?? DEFAULT_EXPIRES_IN_MINUTES) * 60_000);
  const subject = input.subject ?? defaultSubject(items);
  let orderNo = '';
  for (let attempt = 0; ; attempt++) {
    orderNo = (deps.newOrderNo ?? newOrderNo)(now);
    try {
      await retryingTransaction(deps.db, async (trx) => {
        await insertOrder(
          trx,
          {
          id,
          merchant_id: merchantId,
          merchant_order_id: input.merchantOrderId,
          order_no: orderNo,
          subject,
          currency: input.currency,
          amount_minor: input.amount,
          status: 'created',
          provider: provider?.id ?? null,
          provider_account: provider?.account ?? null,
          provider_method: provider ? input.method! : null,
          choices_json: choices ? JSON.stringify(choices) : null,
          provider_trade_no: null,
          action_json: null,
          return_url: input.returnUrl ?? null,
          paid_at: null,
          expires_at: expiresAt.getTime(),
          attention: false,
          attention_reason: null,
          // Simulators and real accounts never run in one gateway (buildRegistry), so the whole
          // registry tells, even before a hosted checkout's buyer has chosen.
          simulated: deps.registry.simulated,
          metadata_json: input.metadata && Object.keys(input.metadata).length > 0 ? JSON.stringify(input.metadata) : null,
          version: 0,
          created_at: now.getTime(),
          updated_at: now.getTime(),
          },
          items.map((item, i) => ({
            order_id: id,
            line_no: i + 1,
            sku: item.sku,
            name: item.name,
            unit_price_minor: item.unitAmount,
            quantity: item.quantity,
            amount_minor: item.amount,
          })),
        );
      }, { operation: 'create_order', metrics: deps.metrics });
      break;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const clash = await deps.db('orders').where({ merchant_id: merchantId, merchant_order_id: input.merchantOrderId }).first('id');
      if (clash) {
        throw new ConflictError('duplicate_merchant_order_id', `merchantOrderId ${input.merchantOrderId} already has a payment`, [
          { path: 'merchantOrderId', message: `already used by payment ${clash.id}` },
        ]);
      }
      if (attempt >= 4) throw err; // five order-number collisions in a row is not chance
    }
  }

  const created = (await findOrder(deps.db, id))!;
  if (!provider) return created; // waits on the hosted checkout
  return startAtProvider(deps, created, provider, items, { withdrawOnFault: true, returnLang: input.locale });
}

/**
 * The accounts and methods a hosted checkout offers: the merchant's list, each checked against the
 * configuration now, or every configured account and method that takes the currency and the amount
 * (a method whose provider maximum the amount exceeds is left out; core/amount-limits.ts).
 */
export function checkoutChoices(deps: CoreDeps, currency: string, requested: readonly CheckoutChoice[] | undefined, amount: number): ResolvedChoice[] {
  if (requested) {
    const resolved = requested.map((choice, i) => {
      const provider = resolveChoice(deps, choice, currency, `choices.${i}.`);
      assertProviderTakes(provider, currency, choice.method, amount, `choices.${i}.method`);
      return { provider: provider.id, account: provider.account, method: choice.method };
    });
    const seen = new Set<string>();
    return someUsable(
      deps,
      resolved.filter((c) => {
        const key = `${c.provider}/${c.account}/${c.method}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      }),
    );
  }
  const all: ResolvedChoice[] = [];
  let tooLarge = 0;
  for (const info of deps.registry.list()) {
    if (!info.currencies.includes(currency)) continue;
    const provider = deps.registry.find(info.provider, info.account)!;
    for (const method of info.methods) {
      if (providerTakes(provider, currency, method, amount)) all.push({ provider: info.provider, account: info.account, method });
      else tooLarge++;
    }
  }
  if (all.length === 0 && tooLarge > 0) {
    throw ValidationError.field('amount', `${describeAmount(amount, currency)} is more than any configured provider takes`, 'amount_too_large');
  }
  if (all.length === 0) throw ValidationError.field('currency', `no configured provider takes ${currency}`, 'unsupported_currency');
  return someUsable(deps, all);
}

/**
 * The whole list is kept with the order (an account whose keys are refused now is offered again
 * once a probe accepts them; the buyer's page leaves it out meanwhile: core/hosted-checkout.ts), but
 * an order none of whose choices could be paid now is refused like a direct create would be.
 */
function someUsable(deps: CoreDeps, choices: ResolvedChoice[]): ResolvedChoice[] {
  const rejected = (c: ResolvedChoice) => deps.registry.credentials.get(c.provider, c.account).state === 'rejected';
  if (choices.length > 0 && choices.every(rejected)) throw new ProviderMisconfiguredError(choices[0]!.provider, choices[0]!.account);
  return choices;
}

export interface ResolvedChoice {
  provider: string;
  account: string;
  method: string;
}

function resolveChoice(deps: CoreDeps, choice: CheckoutChoice, currency: string, prefix: string): PaymentProvider {
  const provider = deps.registry.resolveForCheckout(choice.provider, choice.account);
  if (!provider.methods.includes(choice.method)) {
    throw ValidationError.field(`${prefix}method`, `${choice.provider} offers ${provider.methods.join(', ')}; not ${choice.method}`, 'unsupported_method');
  }
  if (!provider.currencies.includes(currency)) {
    throw ValidationError.field(prefix ? `${prefix}provider` : 'currency', `${choice.provider} account ${provider.account} takes ${provider.currencies.join(', ')}`, 'unsupported_currency');
  }
  return provider;
}

/**
 * The buyer's language rides on the return URL the provider is given (`?lang=`), so the page the
 * provider sends the buyer back to speaks the language they chose in. Each provider keeps the
 * query of the URL it is given (docs/buyer-pages.md); the return endpoint takes `lang` out before
 * the provider's own parameters are verified (server/routes/callbacks.ts).
 */
export function withReturnLang(urls: CallbackUrls, lang: string | undefined): CallbackUrls {
  if (!lang || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$/.test(lang)) return urls;
  const returnUrl = new URL(urls.returnUrl);
  returnUrl.searchParams.set('lang', lang);
  return { ...urls, returnUrl: returnUrl.toString() };
}

/**
 * Asks the provider to start the payment and records its answer as a transition. A fault means
 * nothing reached the buyer: a direct order is withdrawn (the merchant may retry with the same
 * request); a hosted-checkout order goes back to waiting for the buyer's choice.
 */
export async function startAtProvider(
  deps: CoreDeps,
  created: Order,
  provider: PaymentProvider,
  items: readonly OrderItemSnapshot[],
  options: { withdrawOnFault: boolean; returnLang?: string; again?: boolean },
): Promise<Order> {
  const id = created.id;
  let result: CreatePaymentResult;
  try {
    // An account whose credentials the provider refuses is not asked (core/provider-health.ts).
    deps.registry.credentials.assertUsable(provider.id, provider.account);
    const urls = withReturnLang(deps.registry.callbackUrlsFor(provider.id, provider.account), options.returnLang);
    result = await provider.create({ order: toSnapshot(created, items), urls });
  } catch (err) {
    // Paying again leaves the order failed as it was (its attempt counted: that number is never reused).
    if (options.again) {
      /* nothing to undo */
    } else if (options.withdrawOnFault) await withdrawOrder(deps.db, id);
    else await unbindChoice(deps.db, id, provider.id, deps.now());
    if (err instanceof GatewayError && err.httpStatus < 500) throw err;
    if (err instanceof ProviderMisconfiguredError) throw err;
    // The answer suggested refused keys and the probe it triggered confirmed it (the account is now
    // marked rejected): not "try again". Unconfirmed, it stays an ordinary, retryable fault.
    if (isCredentialsRejection(err) && deps.registry.credentials.get(provider.id, provider.account).state === 'rejected') {
      throw new ProviderMisconfiguredError(provider.id, provider.account, err);
    }
    deps.logger.warn({ orderNo: created.orderNo, provider: provider.id, account: provider.account, err: errorSummary(err) }, 'provider could not create the payment; order withdrawn');
    throw new ProviderUnavailableError(`${provider.id} could not create the payment; nothing was charged, try again`, err);
  }

  // The provider's answer is news like any other: the one decision takes it (a notify may have
  // moved the order already, and then the answer changes nothing).
  const done = await applyNews(
    deps,
    { id },
    result.outcome === 'failed'
      ? { kind: 'created', outcome: 'failed', action: null, providerTradeNo: null, expiresAt: null, failure: { code: result.code, message: result.message }, ...(options.again ? { attempt: created.attempt } : {}) }
      : {
          kind: 'created',
          outcome: 'pending',
          action: result.action,
          providerTradeNo: result.providerTradeNo ?? null,
          expiresAt: result.expiresAt && result.expiresAt.getTime() !== created.expiresAt.getTime() ? result.expiresAt : null,
          failure: null,
          ...(options.again ? { attempt: created.attempt } : {}),
        },
    'api',
  );
  return done.after!;
}

/**
 * Whether the buyer of this failed order can pay again through a new attempt at its provider
 * (docs/architecture.md#paying-again): the provider takes each try as a trade of its own
 * (`payAgain: 'new-attempt'`), the order is failed, unflagged and before its deadline.
 */
export function canStartAgain(deps: CoreDeps, order: Order, now: Date): boolean {
  if (order.status !== 'failed' || order.attention || order.provider === null || order.account === null) return false;
  if (order.expiresAt.getTime() <= now.getTime()) return false;
  return deps.registry.find(order.provider, order.account)?.payAgain === 'new-attempt';
}

/**
 * Pay again after a failure, at a provider that takes every try as a new trade. `from` is the
 * attempt the buyer saw fail: it is counted up once (a second click names the same one and finds
 * it counted, and gets the order as it stands), the provider
 * is asked to create attempt n+1, and its answer moves the order failed → pending with the new
 * next action. A provider fault leaves the order failed, and the buyer may try once more.
 */
export async function startAgain(deps: CoreDeps, order: Order, from: number, options: { returnLang?: string } = {}): Promise<Order> {
  const now = deps.now();
  if (from !== order.attempt || !canStartAgain(deps, order, now)) return order;
  if (!(await countAttempt(deps.db, order, now))) return (await findOrder(deps.db, order.id)) ?? order;
  const counted = (await findOrder(deps.db, order.id))!;
  if (counted.status !== 'failed') return counted;
  const provider = deps.registry.find(order.provider!, order.account!)!;
  return startAtProvider(deps, counted, provider, await loadItems(deps.db, order.id), { withdrawOnFault: false, again: true, returnLang: options.returnLang });
}
