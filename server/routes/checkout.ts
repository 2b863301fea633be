import Router from '@koa/router';
import type Koa from 'koa';
import { randomBytes } from 'node:crypto';
import type { CoreDeps } from '../../core/deps.ts';
import { ConflictError, GatewayError, ValidationError } from '../../core/errors.ts';
import { canStartAgain, startAgain } from '../../core/checkout.ts';
import { availableChoices, checkLink, chooseProvider } from '../../core/hosted-checkout.ts';
import type { SafeHtml } from '../../core/html.ts';
import { findMerchantDisplay, type MerchantDisplay } from '../../core/merchants.ts';
import { findOrder, loadItems, type Order } from '../../core/orders.ts';
import { applyNews } from '../../core/order-writer.ts';
import { actionUsable } from '../../core/payments.ts';
import { readRawBody } from '../middleware/raw-body.ts';
import { renderChoosePage, renderChosenAlreadyPage, renderFormPostPage, renderInstructionsPage, renderLinkErrorPage, type ChoiceView, type PageContext } from '../views/checkout-page.ts';
import { DEFAULT_TIME_ZONE } from '../views/format.ts';
import { pickLocale, providerName, type Locale, type MessageKey } from '../views/i18n.ts';
import { pageHeaders } from '../views/page.ts';
import { payAgainUrlFor, renderResultPage } from '../views/result-page.ts';

/** How buyer links are made: the secret every process shares, and the public origin. */
export interface BuyerLinks {
  secret: string;
  publicUrl?: string;
}

const FORM_LIMIT = 4 * 1024;

function localeOf(ctx: Koa.Context): Locale {
  return pickLocale(typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined, ctx.get('accept-language'));
}

/** The page's language, the installation's zone and the order's shop: what every page is drawn with. */
async function pageContext(ctx: Koa.Context, deps: CoreDeps, order: Order): Promise<PageContext & { merchant: MerchantDisplay | null }> {
  return { locale: localeOf(ctx), timeZone: deps.timeZone ?? DEFAULT_TIME_ZONE, merchant: (await findMerchantDisplay(deps.db, order.merchantId)) ?? null };
}

/** A provider account's name in the buyer's language (the configured display name for others). */
export function providerLabel(deps: CoreDeps, locale: Locale, provider: string, account: string): string {
  const info = deps.registry.list().find((a) => a.provider === provider && a.account === account);
  return info ? providerName(locale, info) : provider;
}

function html(ctx: Koa.Context, status: number, body: SafeHtml, headers: Record<string, string> = pageHeaders()): void {
  ctx.status = status;
  ctx.set(headers);
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = body.toString();
}

/** The signed link's own URL (path and query as the buyer has it), to refresh or post back to. */
function selfUrl(ctx: Koa.Context): string {
  return ctx.originalUrl;
}

/**
 * A payment waiting at its provider whose way to pay is still usable: the buyer is carried there
 * (a redirect, or the provider's form posted by the page itself, with a button when scripts are
 * off), whether they come from the hosted checkout's choice or from the merchant's checkoutUrl.
 * Instructions (ATM) are this link's own page. Returns whether the answer was given.
 */
function carryOn(ctx: Koa.Context, deps: CoreDeps, order: Order, page: PageContext): boolean {
  const action = order.status === 'pending' && actionUsable(order, deps.now()) ? order.action : null;
  if (action?.type === 'redirect') {
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(action.url);
    return true;
  }
  if (action?.type === 'form') {
    const nonce = randomBytes(16).toString('base64');
    html(ctx, 200, renderFormPostPage({ ...page, method: action.method, url: action.url, fields: action.fields, nonce }), pageHeaders({ nonce, formAction: 'any', merchant: page.merchant }));
    ctx.set('Cache-Control', 'no-store');
    return true;
  }
  return false;
}

/**
 * What the buyer sees for an order at any moment: the choice while it waits for one, the ATM
 * instructions while they hold, otherwise the result page (paid, failed with pay-again, pending with
 * an honest "not heard yet").
 */
async function showOrder(ctx: Koa.Context, deps: CoreDeps, order: Order, error?: { status: number; key: MessageKey }): Promise<void> {
  const page = await pageContext(ctx, deps, order);
  const { locale, merchant } = page;
  const now = deps.now();
  if (order.provider === null && order.status === 'created' && order.expiresAt <= now) {
    // Past its deadline with no way to pay chosen: nothing at any provider can still land, so it
    // ends now (the same decision and event the expiry job would make), not at the job's next run.
    await applyNews(deps, { id: order.id }, { kind: 'deadline', how: 'no way to pay was chosen before the deadline' }, 'expiry');
    order = (await findOrder(deps.db, order.id)) ?? order;
  }
  if (order.provider === null && order.status === 'created' && order.expiresAt > now) {
    const choices: ChoiceView[] = availableChoices(deps, order).map((c) => ({
      value: `${c.provider}/${c.account}/${c.method}`,
      providerName: providerLabel(deps, locale, c.provider, c.account),
      method: c.method,
    }));
    const items = await loadItems(deps.db, order.id);
    html(ctx, error?.status ?? 200, renderChoosePage({ ...page, order, items, choices, formAction: selfUrl(ctx), error: error?.key }), pageHeaders({ formAction: 'any', merchant }));
    return;
  }
  // A payment the merchant started at a provider (or a choice made on another tab): on to it.
  if (!error && carryOn(ctx, deps, order, page)) return;
  if (actionUsable(order, now) && order.action?.type === 'instructions' && order.status === 'pending') {
    const nonce = randomBytes(16).toString('base64');
    html(ctx, error?.status ?? 200, renderInstructionsPage({ ...page, order, instructions: order.action, refreshUrl: selfUrl(ctx), nonce }), pageHeaders({ nonce, merchant }));
    return;
  }
  const again = canStartAgain(deps, order, now);
  html(
    ctx,
    error?.status ?? 200,
    renderResultPage({ ...page, order, verified: false, reported: null, payAgainUrl: payAgainUrlFor(order, now), payAgainPost: again ? selfUrl(ctx) : null, refreshUrl: selfUrl(ctx) }),
    // "Pay again" posts here and may be answered with a redirect to the provider: that must be allowed.
    pageHeaders(again ? { merchant, formAction: 'any' } : { merchant }),
  );
}

/**
 * A choice posted for a payment whose way to pay was already chosen: 409 with the earlier choice
 * named in the page's language, and this link (which carries the buyer on to that payment) as the
 * way forward. The earlier choice stands; no provider is asked anything.
 */
async function chosenAlready(ctx: Koa.Context, deps: CoreDeps, order: Order): Promise<void> {
  const page = await pageContext(ctx, deps, order);
  const body = renderChosenAlreadyPage({
    ...page,
    order,
    providerName: providerLabel(deps, page.locale, order.provider!, order.account ?? 'default'),
    method: order.method ?? '',
    continueUrl: selfUrl(ctx),
  });
  html(ctx, 409, body, pageHeaders({ merchant: page.merchant }));
}

/**
 * "Pay again" posted from a failed order's result page, at a provider that takes each try as a new
 * trade: a new attempt, and the buyer is carried on to it. The post names the attempt its page
 * showed, so a double click or a resent form starts one new attempt, not two. Where paying again
 * is not possible (any more: paid meanwhile, past its deadline), the order is shown as it stands.
 */
async function payAgain(ctx: Koa.Context, deps: CoreDeps, order: Order, from: number): Promise<void> {
  let again: Order;
  try {
    again = await startAgain(deps, order, from, { returnLang: localeOf(ctx) });
  } catch (err) {
    const current = (await findOrder(deps.db, order.id)) ?? order;
    if (err instanceof GatewayError && err.httpStatus >= 500) return showOrder(ctx, deps, current, { status: 503, key: 'providerUnavailable' });
    throw err;
  }
  if (carryOn(ctx, deps, again, await pageContext(ctx, deps, again))) return;
  ctx.status = 303;
  ctx.redirect(selfUrl(ctx));
}

/**
 * The buyer's hosted pages. The order is found by a signed, expiring link (never a cookie), so the
 * page survives a lost session, another device or a browser that blocks cookies.
 */
export function checkoutRoutes(deps: CoreDeps, links: BuyerLinks): Router {
  const router = new Router();

  const load = async (ctx: Koa.Context): Promise<Order | null> => {
    const id = ctx.params.orderId!;
    const check = checkLink(links.secret, id, ctx.query.e, ctx.query.s, deps.now());
    const order = check === 'valid' ? await findOrder(deps.db, id) : undefined;
    if (!order) {
      html(ctx, check === 'expired' ? 410 : 404, renderLinkErrorPage(localeOf(ctx), check === 'expired' ? 'expired' : 'invalid'));
      return null;
    }
    return order;
  };

  router.get('/checkout/:orderId', async (ctx) => {
    const order = await load(ctx);
    if (order) await showOrder(ctx, deps, order);
  });

  router.post('/checkout/:orderId', async (ctx) => {
    const order = await load(ctx);
    if (!order) {
      ctx.req.resume();
      return;
    }
    if (!ctx.is('application/x-www-form-urlencoded')) {
      throw new GatewayError('unsupported_media_type', 'Send the form as application/x-www-form-urlencoded', {
        httpStatus: 415,
        details: [{ path: 'Content-Type', message: 'must be application/x-www-form-urlencoded' }],
      });
    }
    const form = new URLSearchParams(await readRawBody(ctx, FORM_LIMIT));
    const againFrom = form.get('again');
    if (againFrom !== null) return payAgain(ctx, deps, order, Number(againFrom));
    const [provider, account, method, ...rest] = (form.get('choice') ?? '').split('/');
    if (!provider || !account || !method || rest.length > 0) {
      await showOrder(ctx, deps, order, { status: 400, key: 'invalidChoice' });
      return;
    }
    // A choice already stands (another tab, or this page left open): say which, and lead on to it.
    // The same choice posted again (a double click, the back button) simply carries on.
    const same = (o: Order) => o.provider === provider && o.account === account && o.method === method;
    // Sent on: a redirect, the provider's form, or back to this link for instructions and results.
    const sendOn = async (chosen: Order) => {
      if (carryOn(ctx, deps, chosen, await pageContext(ctx, deps, chosen))) return;
      ctx.status = 303;
      ctx.redirect(selfUrl(ctx));
    };
    if (order.provider !== null) return same(order) ? sendOn(order) : chosenAlready(ctx, deps, order);
    let chosen: Order;
    try {
      chosen = await chooseProvider(deps, order.id, { provider, account, method }, { returnLang: localeOf(ctx) });
    } catch (err) {
      const current = (await findOrder(deps.db, order.id)) ?? order;
      if (err instanceof ValidationError) return showOrder(ctx, deps, current, { status: 400, key: 'invalidChoice' });
      if (err instanceof ConflictError) return showOrder(ctx, deps, current, { status: 409, key: 'linkExpired' });
      if (err instanceof GatewayError && err.httpStatus >= 500) return showOrder(ctx, deps, current, { status: 503, key: 'providerUnavailable' });
      throw err;
    }
    // Another tab's choice was written between this page's load and this post.
    if (!same(chosen)) return chosenAlready(ctx, deps, chosen);
    await sendOn(chosen);
  });

  return router;
}
