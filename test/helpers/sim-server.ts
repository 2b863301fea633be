/**
 * Real-HTTP plumbing for the provider simulator tests (SinoPac, Alipay): a server on a free 127.0.0.1 port, a simulator
 * mounted on one under a path prefix that is stripped before its handler sees the request (as the gateway mounts it
 * under /sim/<provider>), a tiny merchant server that records every request and answers as the test says, and a
 * logger that captures its lines. What a test drives the simulator with, and how its merchant answers, stay in the
 * test file.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../core/logger.ts';

export interface Listening {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Drops open connections and stops listening. */
  close: () => Promise<void>;
}

export async function listen(handler: http.RequestListener): Promise<Listening> {
  // Idle connections stay open for the whole test (close() drops them). With Node's default 5 s, a
  // client whose event loop was held up (RSA key generation on a loaded machine) could send its next
  // request on a socket the server was closing that very moment, and fetch fails with "other side closed".
  const server = http.createServer(handler);
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The whole request body as UTF-8. */
export function readAll(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * Starts a server and mounts the simulator `create` makes on it under `prefix` (e.g. `/sim/alipay`): the prefix is
 * stripped from each request's URL before the simulator's handler sees it. `create` gets the simulator's base URL.
 * Closing stops the server only; the caller closes the simulator.
 */
export async function mountSimulator<S extends { handler: http.RequestListener }>(
  prefix: string,
  create: (baseUrl: string) => S,
): Promise<{ sim: S; simBase: string; close: () => Promise<void> }> {
  let sim: S | undefined;
  const server = await listen((req, res) => {
    const url = req.url ?? '/';
    req.url = (url.startsWith(prefix) ? url.slice(prefix.length) : url) || '/';
    sim!.handler(req, res);
  });
  const simBase = `${server.base}${prefix}`;
  try {
    sim = create(simBase);
  } catch (err) {
    await server.close();
    throw err;
  }
  return { sim, simBase, close: server.close };
}

/** One request that reached the merchant. */
export interface MerchantRequest {
  path: string;
  method: string;
  contentType: string;
  /** The query string, `?` included ('' without one). */
  search: string;
  body: string;
  /** Date.now() when the whole body had arrived. */
  at: number;
}

export interface MerchantAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * A tiny merchant: records every request in `received` (in arrival order) and answers it with what `answer` returns
 * for it (called after the request is recorded).
 */
export async function startMerchantServer(answer: (request: MerchantRequest) => MerchantAnswer) {
  const received: MerchantRequest[] = [];
  const server = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readAll(req);
    const request: MerchantRequest = {
      path: url.pathname,
      method: req.method ?? '',
      contentType: req.headers['content-type'] ?? '',
      search: url.search,
      body,
      at: Date.now(),
    };
    received.push(request);
    const reply = answer(request);
    res.writeHead(reply.status, { 'content-type': reply.contentType });
    res.end(reply.body);
  });
  return { received, base: server.base, close: server.close };
}

/** A logger that keeps every line (`<level> <msg> <json>`), to prove what is and is not logged. */
export function captureLogger(lines: string[]): Logger {
  const log = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}
