import Router from '@koa/router';
import type { Db } from '../../core/db.ts';
import type { CredentialsHealth } from '../../core/provider-health.ts';

/**
 * With `credentials`, an account whose provider refuses its keys makes /readyz answer 503. /readyz is
 * public (load balancers call it without credentials), so it says only how many accounts: which ones
 * and why go to the error log line and the dashboard banner (core/provider-health.ts).
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
      ctx.status = 503;
      ctx.body = {
        status: 'unavailable',
        rejectedAccounts: n,
        error: {
          code: 'provider_misconfigured',
          message: `${n} provider account${n === 1 ? '' : 's'} ha${n === 1 ? 's' : 've'} its credentials rejected; the log and the dashboard name ${n === 1 ? 'it' : 'them'}`,
          details: [],
        },
      };
      return;
    }
    ctx.body = { status: 'ready' };
  });
  return router;
}
