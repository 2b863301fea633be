import Router from '@koa/router';
import type Koa from 'koa';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { createPaymentInput } from '../../core/api-schemas.ts';
import { createPayment } from '../../core/checkout.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { ValidationError } from '../../core/errors.ts';
import { checkoutPath } from '../../core/hosted-checkout.ts';
import { randomUpperAlnum } from '../../core/ids.ts';
import { fromWholeUnits } from '../../core/money.ts';
import { listMerchants } from '../../core/merchants.ts';
import type { MountedSimulator } from '../../core/registry.ts';
import { parseWith } from '../../core/validation.ts';
import { readRawBody } from '../middleware/raw-body.ts';
import { renderHomePage, type HomeForm } from '../views/home-page.ts';
import { pickLocale, t, type Locale } from '../views/i18n.ts';
import { pageHeaders } from '../views/page.ts';
import type { BuyerLinks } from './checkout.ts';

/**
 * GET / and, in the demo only, POST /: a test payment for the demo shop, sent on to its hosted
 * checkout. "The demo" is a server whose providers run on their simulators (PAYGATE_SIMULATORS,
 * which never runs beside a configured account), so no form here can move money.
 *
 * The form is protected against cross-site posts twice: the browser holds a random value in a
 * SameSite=Strict, HttpOnly cookie, and the form carries an HMAC of that value (keyed with the
 * link secret); a post needs both, and a cross-site page can neither send the cookie nor read the
 * token. A post whose Origin header names another origin is refused as well.
 */

const COOKIE = 'paygate_home';
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
const FORM_LIMIT = 4 * 1024;

const demoForm = z.object({
  amount: z.string().trim().regex(/^\d{1,7}$/).transform(Number).pipe(z.int().min(1).max(1_000_000)),
  subject: z.string().trim().min(1).max(128),
});

export interface HomeDeps extends CoreDeps {
  simulators?: readonly MountedSimulator[];
  /** Whether /admin is served. */
  admin?: unknown;
}

function localeOf(ctx: Koa.Context): Locale {
  return pickLocale(typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined, ctx.get('accept-language'));
}

function tokenFor(secret: string, cookie: string): string {
  return createHmac('sha256', secret).update(`home-form\n${cookie}`).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function homeRoutes(deps: HomeDeps, links: BuyerLinks): Router {
  const router = new Router();
  const demo = (deps.simulators?.length ?? 0) > 0;
  const ownOrigin = (ctx: Koa.Context) => `${ctx.protocol}://${ctx.host}`;
  const checkoutBase = (ctx: Koa.Context) => links.publicUrl ?? ownOrigin(ctx);

  /** The browser's form cookie, made now when it has none. */
  const formCookie = (ctx: Koa.Context): string => {
    const held = ctx.cookies.get(COOKIE);
    if (held && COOKIE_VALUE.test(held)) return held;
    const made = randomBytes(32).toString('base64url');
    ctx.cookies.set(COOKIE, made, { httpOnly: true, sameSite: 'strict', path: '/', secure: ctx.secure, overwrite: true });
    return made;
  };

  const page = (ctx: Koa.Context, status: number, options: { form?: Partial<HomeForm>; notice?: Parameters<typeof renderHomePage>[0]['notice'] } = {}) => {
    const locale = localeOf(ctx);
    const form: HomeForm | null = demo
      ? { token: tokenFor(links.secret, formCookie(ctx)), amount: '799', subject: t(locale, 'home_subjectDefault'), ...options.form }
      : null;
    ctx.status = status;
    // The form's answer is a redirect to the checkout at the public URL: that origin may be posted to.
    ctx.set(pageHeaders({ formAction: links.publicUrl ? new URL(links.publicUrl).origin : undefined }));
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderHomePage({ locale, admin: Boolean(deps.admin), demo: form, notice: options.notice }).toString();
  };

  router.get('/', (ctx) => page(ctx, 200));

  router.post('/', async (ctx) => {
    if (!demo) {
      ctx.req.resume();
      return page(ctx, 403, { notice: 'home_notDemo' });
    }
    const fields = new URLSearchParams(await readRawBody(ctx, FORM_LIMIT));
    const values = { amount: fields.get('amount') ?? '', subject: fields.get('subject') ?? '' };
    const origin = ctx.get('origin');
    const cookie = ctx.cookies.get(COOKIE);
    const token = fields.get('token') ?? '';
    // Our pages send no referrer, so a browser posting this form says `Origin: null`: only a named origin is compared.
    if ((origin && origin !== 'null' && origin !== ownOrigin(ctx)) || !cookie || !COOKIE_VALUE.test(cookie) || !sameText(token, tokenFor(links.secret, cookie))) {
      return page(ctx, 403, { form: { ...values, error: { field: 'form', key: 'home_formExpired' } } });
    }
    const parsed = demoForm.safeParse(values);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0] === 'subject' ? 'subject' : 'amount';
      return page(ctx, 400, { form: { ...values, error: { field, key: field === 'subject' ? 'home_subjectInvalid' : 'home_amountInvalid' } } });
    }
    // The demo shop is the first merchant: `npm start` creates it on an empty database.
    const [merchant] = await listMerchants(deps.db);
    if (!merchant) return page(ctx, 409, { form: values, notice: 'home_noMerchant' });
    const { amount, subject } = parsed.data;
    // The form takes whole NT$, as a person writes them; the API takes minor units (NT$799 is 79900).
    const unitAmount = fromWholeUnits(amount, 'TWD');
    let input;
    try {
      input = parseWith(createPaymentInput, {
        merchantOrderId: `DEMO-${Date.now().toString(36).toUpperCase()}-${randomUpperAlnum(6)}`,
        currency: 'TWD',
        amount: unitAmount,
        items: [{ sku: 'DEMO-1', name: subject, unitAmount, quantity: 1 }],
        subject,
        returnUrl: `${checkoutBase(ctx)}/?lang=${localeOf(ctx)}`,
        metadata: { source: 'home page test payment' },
      });
    } catch (err) {
      // The words themselves were refused (control characters and the like): the subject is at fault.
      if (err instanceof ValidationError) return page(ctx, 400, { form: { ...values, error: { field: 'subject', key: 'home_subjectInvalid' } } });
      throw err;
    }
    const order = await createPayment(deps, merchant.id, input);
    deps.logger.info({ paymentId: order.id, merchantId: merchant.id }, 'test payment made from the home page');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${checkoutBase(ctx)}${checkoutPath(links.secret, order)}`);
  });

  return router;
}
