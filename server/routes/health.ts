import Router from '@koa/router';
import type { Db } from '../../core/db.ts';

export function healthRoutes(db: Db): Router {
  const router = new Router();
  // Process up: no dependency is consulted.
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  // Ready to take traffic: the database answers within two seconds.
  router.get('/readyz', async (ctx) => {
    try {
      await Promise.race([
        db.raw('select 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
      ]);
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: { code: 'storage_unavailable', message: 'The database is not reachable', details: [] } };
    }
  });
  return router;
}
