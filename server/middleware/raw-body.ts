import type Koa from 'koa';
import { GatewayError } from '../../core/errors.ts';

const tooLarge = () => new GatewayError('payload_too_large', 'The body is larger than this endpoint accepts', { httpStatus: 413 });

/**
 * Reads the body exactly as sent (providers sign their bytes, so no parser may touch them first),
 * refusing more than `limitBytes`. An oversized body is drained, not kept, so the 413 still reaches
 * the client.
 */
export function readRawBody(ctx: Koa.Context, limitBytes: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  return new Promise((resolve, reject) => {
    const req = ctx.req;
    if (declared > limitBytes) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}
