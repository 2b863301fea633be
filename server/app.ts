import Router from '@koa/router';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { randomBytes, randomUUID } from 'node:crypto';
import { CallbackGuard } from '../core/callback-guard.ts';
import type { CoreDeps } from '../core/deps.ts';
import type { MountedSimulator } from '../core/registry.ts';
import { BackgroundTasks } from './background.ts';
import { merchantAuth, type MerchantState } from './middleware/auth.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { idempotency } from './middleware/idempotency.ts';
import { adminRoutes, type AdminOptions } from './admin/index.ts';
import { metricsRoutes, type GatewayMetrics } from './metrics.ts';
import { callbackRoutes } from './routes/callbacks.ts';
import { checkoutRoutes, type BuyerLinks } from './routes/checkout.ts';
import { docsRoutes } from './routes/docs.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { homeRoutes } from './routes/home.ts';
import { paymentRoutes } from './routes/payments.ts';
import { providerRoutes } from './routes/providers.ts';

export interface AppDeps extends CoreDeps {
  simulators?: readonly MountedSimulator[];
  background?: BackgroundTasks;
  /** Largest JSON body the merchant API accepts. */
  bodyLimitKb?: number;
  /** Trust X-Forwarded-* (only behind a proxy that sets them). */
  trustProxy?: boolean;
  /** Signs the buyer's links (hosted checkout, result pages); shared by every process. */
  linkSecret?: string;
  /** The origin buyers reach paygate at (PAYGATE_PUBLIC_URL); links fall back to the request's. */
  publicUrl?: string;
  /** Dashboard credentials; without them /admin is not served. */
  admin?: AdminOptions | null;
  /** What core counts (the same object as CoreDeps.metrics) and GET /metrics serves. */
  metrics?: GatewayMetrics;
  /** Bounds what unverifiable callback traffic may cost per client address (defaults when unset). */
  callbackGuard?: CallbackGuard;
}

/**
 * Every (method, path) the routers mounted on `app` answer, in the router's syntax
 * (`/v1/payments/:id`); HEAD, which the router adds to each GET, is left out. The OpenAPI test holds
 * the document against this list. Simulators are plain middleware under /sim, not routes.
 */
export function registeredRoutes(app: Koa): { method: string; path: string }[] {
  const routers = new Set<Router<any, any>>();
  for (const middleware of app.middleware) {
    const router = (middleware as { router?: Router<any, any> }).router;
    if (router) routers.add(router);
  }
  const routes = new Map<string, { method: string; path: string }>();
  for (const router of routers) {
    for (const layer of router.stack) {
      for (const method of layer.methods) {
        if (method !== 'HEAD') routes.set(`${method} ${String(layer.path)}`, { method, path: String(layer.path) });
      }
    }
  }
  return [...routes.values()];
}

/** Hands requests under /sim/<provider>/ to that provider's simulator, prefix stripped. */
function simulatorMount(simulators: readonly MountedSimulator[]): Koa.Middleware {
  return async (ctx, next) => {
    const sim = simulators.find((s) => ctx.path === s.basePath || ctx.path.startsWith(`${s.basePath}/`));
    if (!sim) return next();
    ctx.req.url = ctx.req.url!.slice(sim.basePath.length) || '/';
    ctx.respond = false;
    sim.instance.handler(ctx.req, ctx.res);
  };
}

/** Builds the HTTP application; never listens (server/main.ts does, tests use port 0). */
export function createApp(deps: AppDeps): Koa {
  // Behind a proxy, ctx.ip is the address the nearest proxy appended to X-Forwarded-For, never the
  // leftmost entry, which the client writes itself (the dashboard's sign-in throttle keys on it).
  const app = new Koa({ proxy: deps.trustProxy ?? false, maxIpsCount: 1 });
  const background = deps.background ?? new BackgroundTasks();
  app.context.background = background;

  app.use(async (ctx, next) => {
    const requestId = ctx.get('x-request-id').slice(0, 100) || randomUUID();
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      deps.logger.debug({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) }, 'request');
    }
  });
  app.use(errorMiddleware(deps.logger));
  app.use(simulatorMount(deps.simulators ?? []));

  const health = healthRoutes(deps.db, deps.registry.credentials);
  app.use(health.routes());
  const metrics = metricsRoutes(deps);
  app.use(metrics.routes());
  const docs = docsRoutes(deps);
  app.use(docs.routes());

  // Provider callbacks read their own raw body, so they come before any body parser.
  const links: BuyerLinks = { secret: deps.linkSecret ?? randomBytes(32).toString('base64url'), publicUrl: deps.publicUrl };
  const callbacks = callbackRoutes(deps, background, links, deps.callbackGuard ?? new CallbackGuard());
  app.use(callbacks.routes()).use(callbacks.allowedMethods());

  // The buyer's hosted pages and the operators' dashboard (each parses its own forms).
  const checkout = checkoutRoutes(deps, links);
  app.use(checkout.routes()).use(checkout.allowedMethods());
  // The home page (in the demo, its test-payment form).
  const home = homeRoutes(deps, links);
  app.use(home.routes()).use(home.allowedMethods());
  if (deps.admin) {
    const admin = adminRoutes(deps, deps.admin, links.secret);
    app.use(admin.routes()).use(admin.allowedMethods());
  }

  // The merchant API: JSON body, then the API key, then Idempotency-Key, then the route.
  const v1 = new Router<MerchantState>();
  v1.use(
    bodyParser({ enableTypes: ['json'], jsonLimit: `${deps.bodyLimitKb ?? 100}kb`, strict: true }),
    merchantAuth(deps.db),
    idempotency(deps.db, deps.logger),
  );
  const payments = paymentRoutes(deps, links);
  v1.use(payments.routes(), payments.allowedMethods());
  const events = eventRoutes(deps); v1.use(events.routes(), events.allowedMethods());
  const providers = providerRoutes(deps);
  v1.use(providers.routes(), providers.allowedMethods());
  app.use(v1.routes()).use(v1.allowedMethods());
  return app;
}
