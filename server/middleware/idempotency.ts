import type Koa from 'koa';
import type { Db } from '../../core/db.ts';
import { beginIdempotent, completeIdempotent, releaseIdempotent, requestHash } from '../../core/idempotency.ts';
import type { Logger } from '../../core/logger.ts';
import type { MerchantState } from './auth.ts';
import { errorResponse } from './errors.ts';

/**
 * `Idempotency-Key` on merchant POSTs (docs/architecture.md#idempotency). The answer of the first request, 4xx errors
 * included, is kept and replayed; a 5xx is not kept, so the same request may be tried again.
 */
export function idempotency(db: Db, logger: Logger): Koa.Middleware<MerchantState> {
  return async (ctx, next) => {
    const key = ctx.get('idempotency-key');
    if (ctx.method !== 'POST' || !key) return next();
    const merchant = ctx.state.merchant;
    const hash = requestHash(ctx.method, ctx.path, (ctx.request as { body?: unknown }).body);
    const start = await beginIdempotent(db, merchant.id, key, hash);
    if (start.kind === 'replay') {
      ctx.status = start.status;
      ctx.type = 'application/json';
      ctx.body = start.body;
      ctx.set('Idempotent-Replayed', 'true');
      return;
    }
    try {
      await next();
    } catch (err) {
      const { status, body } = errorResponse(err, logger, ctx as unknown as Koa.Context);
      ctx.status = status;
      ctx.body = body;
    }
    // Server-side faults (a bug, the database, a provider that could not be reached) are not the
    // request's answer: the key is released so the same request can be tried again.
    const storable = ctx.status < 500;
    if (storable) {
      const text = typeof ctx.body === 'string' ? ctx.body : JSON.stringify(ctx.body ?? null);
      await completeIdempotent(db, start.id, ctx.status, text);
    } else {
      await releaseIdempotent(db, start.id).catch((err) => logger.warn({ err: String(err) }, 'could not release idempotency key'));
    }
  };
}
