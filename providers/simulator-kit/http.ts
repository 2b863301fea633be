/**
 * The HTTP plumbing the provider simulators (SinoPac, Alipay) have in common, and nothing protocol-specific: an error
 * that carries its HTTP status, a request body reader with a size limit, no-store JSON / HTML / raw replies (pages are
 * SafeHtml, built with core/html.ts), and a request handler that parses the request URL and turns thrown errors into JSON answers. Each
 * simulator's routes, pages, signatures and messages stay in its own folder.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SafeHtml } from '../../core/html.ts';
import type { Logger } from '../../core/logger.ts';

/** An error that becomes an HTTP answer `{ error: message }` with `status` (see createRequestHandler). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const BODY_LIMIT = 1 << 20;

/** The request body as UTF-8; HttpError 413 past 1 MiB, 400 when the request is aborted. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: HttpError) => {
      if (done) return;
      done = true;
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > BODY_LIMIT) return fail(new HttpError(413, 'request body too large'));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => fail(new HttpError(400, 'request aborted')));
    req.on('close', () => fail(new HttpError(400, 'request aborted')));
  });
}

/**
 * The body as a JSON object (an empty body counts as `{}`); undefined when it is not one. Errors of readBody
 * (HttpError 413 / 400) are thrown.
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const text = await readBody(req);
  try {
    const parsed = JSON.parse(text || '{}') as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Answers once (nothing when headers were already sent), never cached; `headers` are added to the reply's. */
export function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

export function sendHtml(res: ServerResponse, status: number, page: SafeHtml): void {
  send(res, status, 'text/html; charset=utf-8', page.toString());
}

/** The request's URL (leading slashes folded to one, so `//x` is a path, not a host), or null when it does not parse. */
export function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL((req.url ?? '/').replace(/^\/+/, '/'), 'http://sim.invalid');
  } catch {
    return null;
  }
}

/**
 * A node request listener around `route`: a URL that does not parse is answered 400; an HttpError thrown by `route`
 * is answered with its status as JSON `{ error }`; anything else is logged (`<name>: request failed`) and answered 500.
 */
export function createRequestHandler(
  route: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>,
  logger: Logger,
  name: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = requestUrl(req);
    if (!url) return sendJson(res, 400, { error: 'malformed URL' });
    route(req, res, url).catch((err: unknown) => {
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
      logger.error({ err: err instanceof Error ? err.message : String(err) }, `${name}: request failed`);
      sendJson(res, 500, { error: 'simulator error' });
    });
  };
}
