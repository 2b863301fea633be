/**
 * Provider HTTP: server-to-server calls on node:http / node:https through keep-alive agents, with
 * a deadline for the whole exchange and a cap on the answer's size. `fetch` (undici) builds a
 * Request, Headers, an AbortSignal and a web stream per call; for a small JSON or form POST that
 * was about half of the CPU of a SinoPac call. Here a call is one ClientRequest on a reused socket.
 *
 * Errors are what the clients map to transport faults, and never quote the body they sent:
 * - HttpTimeoutError (name 'TimeoutError', as fetch's AbortSignal.timeout) when no complete answer
 *   came within `timeoutMs`;
 * - HttpResponseTooLargeError when the answer exceeds `maxBytes`;
 * - the socket's own error (ECONNREFUSED, ECONNRESET, ENOTFOUND, TLS) otherwise.
 * Any status is an answer (no redirect is followed, as fetch's redirect: 'manual'); the caller
 * decides what a status means.
 *
 * `HttpTransport` is the injection point: the clients take one (tests hand in `fetchTransport(spy)`
 * or a transport that rewrites answers), and `httpRequest` is the default.
 */
import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Deadline for the whole exchange: connect, send, the answer's head and body. */
  timeoutMs: number;
  /** Largest answer body accepted, in bytes (after decompression); default 1 MiB. */
  maxBytes?: number;
  /**
   * The call may be sent twice (a query, a nonce): a keep-alive socket that the server had closed
   * before our request reached it is then retried once on a fresh one. Never set for a call that
   * moves money.
   */
  idempotent?: boolean;
}

export interface HttpAnswer {
  status: number;
  /** Lower-case names; a header sent twice is joined by ', ' (set-cookie excepted). */
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text (a leading BOM dropped, as fetch's text()). */
  text: string;
}

export type HttpTransport = (request: HttpRequest) => Promise<HttpAnswer>;

export class HttpTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

export class HttpResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${maxBytes} bytes`);
  }
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * Idle sockets are closed after 4 s: under the 5 s keep-alive of Node servers and most proxies, so
 * a socket is not reused just as the server closes it (undici's default is the same 4 s).
 */
const IDLE_MS = 4_000;
const agentOptions: http.AgentOptions = { keepAlive: true, timeout: IDLE_MS, maxFreeSockets: 64, scheduling: 'lifo' };
const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
/**
 * A call that changes something at the provider (an order, a refund) never rides a kept-alive
 * socket: if the server closed that socket while it sat idle, the write fails and the call cannot be
 * sent again (nobody can tell whether the provider read it). The idle timeout above makes that rare,
 * not impossible: a busy event loop can hand out a socket in the same turn as the server's close
 * arrives. Such calls are a few per payment; a fresh connection costs them one handshake.
 */
const freshAgents = { 'http:': new http.Agent({ keepAlive: false }), 'https:': new https.Agent({ keepAlive: false }) };

/** Destroys idle keep-alive sockets (tests, shutdown); the agents stay usable. */
export function closeIdleSockets(): void {
  for (const agent of Object.values(agents)) {
    for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }
}

function decode(buffer: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const opts = { maxOutputLength: maxBytes + 1 };
  let out: Buffer;
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return buffer;
    case 'gzip':
    case 'x-gzip':
      out = gunzipSync(buffer, opts);
      break;
    case 'deflate':
      out = inflateSync(buffer, opts);
      break;
    case 'br':
      out = brotliDecompressSync(buffer, opts);
      break;
    default:
      throw new Error(`unsupported content-encoding ${encoding}`);
  }
  if (out.length > maxBytes) throw new HttpResponseTooLargeError(maxBytes);
  return out;
}

function once(request: HttpRequest, url: URL): Promise<HttpAnswer & { staleSocket?: boolean }> {
  const maxBytes = request.maxBytes ?? DEFAULT_MAX_BYTES;
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  const headers: Record<string, string | number> = { accept: '*/*', 'user-agent': 'paygate', ...request.headers };
  if (body) headers['content-length'] = body.length;
  const lib = url.protocol === 'https:' ? https : http;
  const agent = (request.idempotent ? agents : freshAgents)[url.protocol as 'http:' | 'https:'];
  return new Promise((resolve, reject) => {
    let settled = false;
    let gotResponse = false;
    const req = lib.request(url, { method: request.method, headers, agent });
    const finish = (err: Error | null, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        // A reused socket that failed before any answer: the server closed it while idle.
        const code = (err as NodeJS.ErrnoException).code;
        if (req.reusedSocket && !gotResponse && (code === 'ECONNRESET' || code === 'EPIPE')) Object.assign(err, { staleSocket: true });
        reject(err);
      } else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new HttpTimeoutError(request.timeoutMs)), request.timeoutMs);
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      gotResponse = true;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        finish(new HttpResponseTooLargeError(maxBytes));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy();
          finish(new HttpResponseTooLargeError(maxBytes));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => finish(err));
      res.on('close', () => {
        if (!res.complete) finish(new Error('the connection closed before the answer was complete'));
      });
      res.on('end', () => {
        if (settled) return;
        try {
          const raw = decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), res.headers['content-encoding'], maxBytes);
          let text = raw.toString('utf8');
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
          finish(null, { status: res.statusCode ?? 0, headers: res.headers, text });
        } catch (err) {
          finish(err as Error);
        }
      });
    });
    req.end(body);
  });
}

/** One call through the shared keep-alive agents. */
export async function httpRequest(request: HttpRequest): Promise<HttpAnswer> {
  const url = new URL(request.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported URL scheme ${url.protocol}`);
  try {
    return await once(request, url);
  } catch (err) {
    if (request.idempotent && (err as { staleSocket?: boolean }).staleSocket) return once(request, url);
    throw err;
  }
}

/**
 * A transport over a fetch implementation (tests that spy on or rewrite calls). Same contract:
 * HttpTimeoutError past the deadline, HttpResponseTooLargeError past maxBytes.
 */
export function fetchTransport(fetchImpl: typeof fetch): HttpTransport {
  return async (request) => {
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') throw new HttpTimeoutError(request.timeoutMs);
      throw err;
    }
    const maxBytes = request.maxBytes ?? DEFAULT_MAX_BYTES;
    if (Buffer.byteLength(text) > maxBytes) throw new HttpResponseTooLargeError(maxBytes);
    const headers: http.IncomingHttpHeaders = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    return { status: response.status, headers, text };
  };
}
