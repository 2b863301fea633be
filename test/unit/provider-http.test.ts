/**
 * providers/kit/http.ts: provider calls on node:http through a keep-alive agent, with the error
 * behaviour the clients map to transport faults (a deadline, a size cap, socket errors) and the
 * same answers fetch gave (any status, no redirect followed, UTF-8 text without a BOM).
 */
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { closeIdleSockets, fetchTransport, httpRequest, HttpResponseTooLargeError, HttpTimeoutError } from '../../providers/kit/http.ts';

async function serve(handler: http.RequestListener): Promise<{ base: string; connections: () => number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: async () => {
      closeIdleSockets();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const readBody = (req: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => resolve(body));
  });

test('a POST and its answer; calls that change nothing reuse one kept-alive connection', async (t) => {
  const srv = await serve(async (req, res) => {
    const body = await readBody(req);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'], key: req.headers['x-keyid'], length: req.headers['content-length'], body }));
  });
  try {
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ n: i, s: '永豐 ✓' });
      const answer = await httpRequest({ method: 'POST', url: `${srv.base}/api/OrderPayQuery`, headers: { 'content-type': 'application/json', 'X-KeyID': 'k' }, body, timeoutMs: 2_000, idempotent: true });
      t.is(answer.status, 200);
      t.deepEqual(JSON.parse(answer.text), { method: 'POST', type: 'application/json', key: 'k', length: String(Buffer.byteLength(body)), body });
    }
    t.is(srv.connections(), 1, 'five calls, one connection');
  } finally {
    await srv.close();
  }
});

test('any status is an answer, redirects are not followed, gzip is read, a BOM is dropped', async (t) => {
  const srv = await serve((req, res) => {
    if (req.url === '/redirect') return res.writeHead(302, { location: '/elsewhere' }).end('moved');
    if (req.url === '/busy') return res.writeHead(403).end('Forbidden');
    if (req.url === '/gzip') return res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('\uFEFFRtnCode=1&RtnMsg=成功'));
    res.end('\uFEFF{"a":1}');
  });
  try {
    t.like(await httpRequest({ method: 'GET', url: `${srv.base}/redirect`, timeoutMs: 2_000 }), { status: 302, text: 'moved' });
    t.like(await httpRequest({ method: 'POST', url: `${srv.base}/busy`, body: 'x=1', timeoutMs: 2_000 }), { status: 403, text: 'Forbidden' });
    t.is((await httpRequest({ method: 'GET', url: `${srv.base}/gzip`, timeoutMs: 2_000 })).text, 'RtnCode=1&RtnMsg=成功');
    t.is((await httpRequest({ method: 'GET', url: `${srv.base}/`, timeoutMs: 2_000 })).text, '{"a":1}');
  } finally {
    await srv.close();
  }
});

test('no answer within the deadline is a TimeoutError; a refused connection is the socket\'s error', async (t) => {
  const srv = await serve((req, res) => {
    // Answers the head at once and the body never: the deadline covers the whole exchange.
    if (req.url === '/half') return res.writeHead(200, { 'content-length': '10' }).write('12345');
  });
  try {
    const started = Date.now();
    const silent = await t.throwsAsync(httpRequest({ method: 'POST', url: `${srv.base}/silent`, body: '{}', timeoutMs: 150 }), { instanceOf: HttpTimeoutError });
    t.is(silent.name, 'TimeoutError');
    t.is(silent.message, 'no answer within 150 ms');
    t.true(Date.now() - started < 2_000);
    await t.throwsAsync(httpRequest({ method: 'GET', url: `${srv.base}/half`, timeoutMs: 150 }), { instanceOf: HttpTimeoutError });
  } finally {
    await srv.close();
  }
  const refused = await t.throwsAsync(httpRequest({ method: 'POST', url: 'http://127.0.0.1:1/api/Nonce', body: '{}', timeoutMs: 2_000 }));
  t.is((refused as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  await t.throwsAsync(httpRequest({ method: 'GET', url: 'ftp://127.0.0.1/x', timeoutMs: 100 }), { message: /unsupported URL scheme/ });
});

test('an answer past maxBytes is refused, declared or streamed', async (t) => {
  const big = 'x'.repeat(100_000);
  const srv = await serve((req, res) => {
    if (req.url === '/declared') return res.end(big);
    res.write(big.slice(0, 50_000));
    setTimeout(() => res.end(big.slice(50_000)), 20);
  });
  try {
    await t.throwsAsync(httpRequest({ method: 'GET', url: `${srv.base}/declared`, timeoutMs: 2_000, maxBytes: 10_000 }), { instanceOf: HttpResponseTooLargeError });
    await t.throwsAsync(httpRequest({ method: 'GET', url: `${srv.base}/chunked`, timeoutMs: 2_000, maxBytes: 60_000 }), { instanceOf: HttpResponseTooLargeError, message: 'the answer is larger than 60000 bytes' });
    t.is((await httpRequest({ method: 'GET', url: `${srv.base}/chunked`, timeoutMs: 2_000, maxBytes: 100_000 })).text.length, 100_000);
  } finally {
    await srv.close();
  }
});

test('a kept-alive socket the server dropped is retried once for an idempotent call; a call that changes something never rides one', async (t) => {
  // The server drops a connection when a second request arrives on it, as one that closed it idle.
  const seen = new WeakMap<object, number>();
  let connections = 0;
  const srv = await serve((req, res) => {
    const n = (seen.get(req.socket) ?? 0) + 1;
    if (n === 1) connections++;
    seen.set(req.socket, n);
    if (n > 1) return req.socket.destroy();
    res.end('ok');
  });
  try {
    t.is((await httpRequest({ method: 'POST', url: `${srv.base}/a`, body: '1', timeoutMs: 2_000, idempotent: true })).text, 'ok');
    t.is((await httpRequest({ method: 'POST', url: `${srv.base}/a`, body: '2', timeoutMs: 2_000, idempotent: true })).text, 'ok', 'retried on a fresh socket');
    t.is(connections, 2, 'the second went out on the kept socket first, then again on a new one');
    // A kept socket is free again now; a call that may move money takes a connection of its own.
    t.is((await httpRequest({ method: 'POST', url: `${srv.base}/a`, body: '3', timeoutMs: 2_000 })).text, 'ok');
    t.is((await httpRequest({ method: 'POST', url: `${srv.base}/a`, body: '4', timeoutMs: 2_000 })).text, 'ok');
    t.is(connections, 4, 'each on a fresh connection, never a kept-alive one');
  } finally {
    await srv.close();
  }
});

test('fetchTransport keeps the contract for injected fetches', async (t) => {
  const transport = fetchTransport(async () => new Response('x'.repeat(20), { status: 403 }));
  t.like(await transport({ method: 'POST', url: 'http://bank.invalid/', body: '', timeoutMs: 100 }), { status: 403, text: 'x'.repeat(20) });
  await t.throwsAsync(transport({ method: 'POST', url: 'http://bank.invalid/', body: '', timeoutMs: 100, maxBytes: 10 }), { instanceOf: HttpResponseTooLargeError });
  const slow = fetchTransport((_url, init) => new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason))));
  await t.throwsAsync(slow({ method: 'GET', url: 'http://bank.invalid/', timeoutMs: 50 }), { instanceOf: HttpTimeoutError });
});
