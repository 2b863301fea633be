import test from 'ava';
import Koa from 'koa';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ValidationError } from '../../core/errors.ts';
import { errorMiddleware } from '../../server/middleware/errors.ts';
import { createLogger } from '../../server/logger.ts';

async function serve(app: Koa, fn: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

test('an unexpected error is a 500 with an error id that is also in the log line, and nothing internal', async (t) => {
  const { lines, logger } = capture();
  const app = new Koa();
  app.use(errorMiddleware(logger));
  app.use(() => {
    throw new TypeError('secret internal detail: cannot read HashKey of undefined at /srv/paygate/core/x.ts:12');
  });
  await serve(app, async (url) => {
    const res = await fetch(`${url}/anything`);
    t.is(res.status, 500);
    const body = (await res.json()) as { error: { code: string; message: string; errorId: string } };
    t.is(body.error.code, 'internal_error');
    t.regex(body.error.errorId, /^[0-9a-f-]{36}$/);
    t.false(JSON.stringify(body).includes('secret internal detail'));
    t.false(JSON.stringify(body).includes('/srv/'));
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.errorId === body.error.errorId);
    t.truthy(logged, 'the error id is in the log');
    t.is(logged.level, 50);
  });
});

test('a GatewayError maps to its status with its code and field details', async (t) => {
  const { logger } = capture();
  const app = new Koa();
  app.use(errorMiddleware(logger));
  app.use(() => {
    throw ValidationError.field('items.0.quantity', 'must be at least 1');
  });
  await serve(app, async (url) => {
    const res = await fetch(url);
    t.is(res.status, 400);
    t.deepEqual(await res.json(), {
      error: { code: 'invalid_request', message: 'items.0.quantity: must be at least 1', details: [{ path: 'items.0.quantity', message: 'must be at least 1' }] },
    });
  });
});
