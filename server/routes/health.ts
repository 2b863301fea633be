import Router from '@koa/router';
import type { Db } from '../../core/db.ts';
import type { CredentialsHealth } from '../../core/provider-health.ts';

/**
 * With `credentials`, an account whose provider refuses its keys makes /readyz answer 503 naming it
 * (`provider/account`, already public in its callback URLs). /readyz is public (load balancers call
 * it without credentials), so the provider's reason goes only to the error log line and the
 * dashboard banner (core/provider-health.ts).
 */
export function healthRoutes(db: Db, credentials?: Pick<CredentialsHealth, 'rejected'>): Router {
  const router = new Router();
  // Process up: no dependency is consulted.
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  // Ready to take traffic: the database answers within two seconds, and no provider account is
  // known to have its credentials refused (an unreachable provider is an outage, not a reason).
  router.get('/readyz', async (ctx) => {
    try {
      await Promise.race([
        db.raw('select 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
      ]);
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: { code: 'storage_unavailable', message: 'The database is not reachable', details: [] } };
      return;
    }
    const rejected = credentials?.rejected() ?? [];
    if (rejected.length > 0) {
      const n = rejected.length;
      const names = rejected.map((h) => `${h.provider}/${h.account}`);
      ctx.status = 503;
      ctx.body = {
        status: 'unavailable',
        rejectedAccounts: n,
        error: {
          code: 'provider_misconfigured',
          message: `Provider credentials rejected: ${names.join(', ')}; the log and the dashboard say why`,
          details: rejected.map((h) => ({ path: `providers.${h.provider}.${h.account}`, message: 'credentials rejected' })),
        },
      };
      return;
    }
    ctx.body = { status: 'ready' };
  });
  return router;
}
