import type Koa from 'koa';
import { randomUUID } from 'node:crypto';
import { errorSummary, isConnectionError } from '../../core/db.ts';
import { GatewayError, type ErrorDetail } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

export interface ErrorBody {
  error: { code: string; message: string; details: ErrorDetail[]; errorId?: string };
}

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

/** The one map from errors to HTTP. Nothing internal leaks: a 500 says only its error id. */
export function errorResponse(err: unknown, logger: Logger, ctx: Koa.Context): { status: number; body: ErrorBody } {
  if (err instanceof GatewayError) {
    const body: ErrorBody = {
      error: { code: err.code, message: err.expose ? err.message : 'The request could not be completed', details: err.details },
    };
    if (err.httpStatus >= 500) {
      const errorId = randomUUID();
      body.error.errorId = errorId;
      logger.error({ errorId, code: err.code, err: err.message, cause: errorSummary(err.cause), method: ctx.method, path: ctx.path }, 'request failed');
    }
    return { status: err.httpStatus, body };
  }
  const http = err as HttpLikeError;
  const status = http?.status ?? http?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code =
      status === 413
        ? 'payload_too_large'
        : status === 415
          ? 'unsupported_media_type'
          : http.type === 'entity.parse.failed' || /JSON/i.test(http.message ?? '')
            ? 'invalid_json'
            : 'bad_request';
    const message =
      code === 'invalid_json'
        ? 'The body is not valid JSON'
        : code === 'payload_too_large'
          ? 'The body is larger than this endpoint accepts'
          : http.expose && http.message
            ? http.message
            : 'Bad request';
    return { status, body: { error: { code, message, details: [{ path: 'body', message }] } } };
  }
  const errorId = randomUUID();
  if (isConnectionError(err)) {
    logger.error({ errorId, err: errorSummary(err), method: ctx.method, path: ctx.path }, 'database unavailable');
    return {
      status: 503,
      body: { error: { code: 'storage_unavailable', message: 'The service is briefly unavailable; retry later', details: [], errorId } },
    };
  }
  logger.error({ errorId, err, method: ctx.method, path: ctx.path }, 'unexpected error');
  return {
    status: 500,
    body: { error: { code: 'internal_error', message: `Something went wrong on our side (error id ${errorId})`, details: [], errorId } },
  };
}

/** First in the chain (koa's advice): every error below becomes `{error:{code,message,details}}`. */
export function errorMiddleware(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: { code: 'not_found', message: `No route for ${ctx.method} ${ctx.path}`, details: [] } } satisfies ErrorBody;
      } else if ((ctx.status === 405 || ctx.status === 501) && (ctx.body === undefined || typeof ctx.body === 'string')) {
        // The router's own answers (wrong method, unknown verb) in the same JSON shape.
        const status = ctx.status;
        const allow = ctx.response.get('Allow');
        ctx.body = {
          error: {
            code: status === 405 ? 'method_not_allowed' : 'not_implemented',
            message: `${ctx.method} is not supported on ${ctx.path}${allow ? ` (allowed: ${allow})` : ''}`,
            details: [],
          },
        } satisfies ErrorBody;
        ctx.status = status;
      }
    } catch (err) {
      const { status, body } = errorResponse(err, logger, ctx);
      ctx.status = status;
      ctx.body = body;
      if (status === 401) ctx.set('WWW-Authenticate', 'Bearer');
    }
  };
}
