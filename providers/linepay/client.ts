/**
 * LINE Pay's transport (docs/protocols/linepay.md#endpoints): each call signed (crypto.ts), sent
 * through the kit's HTTP client with the API's own read timeout, and its answer read without
 * rounding its transaction ids (json.ts). A transport failure, a 5xx or an answer that cannot be read
 * is a ProviderUnavailableError: the caller cannot know what happened and asks again later.
 */
import { z } from 'zod';
import { ProviderUnavailableError } from '../../core/errors.ts';
import { httpRequest, parseProviderResponse, type HttpAnswer, type HttpTransport } from '../kit/index.ts';
import type { LinepaySettings } from './config.ts';
import { authHeaders } from './crypto.ts';
import { parseLinePayJson, stringifyLinePayJson } from './json.ts';

/** Every answer: a 4-character returnCode ("0000" is success), a message, and usually `info`. */
const answerSchema = z.looseObject({
  returnCode: z.string().regex(/^\d{4}$/, 'a four-digit returnCode'),
  returnMessage: z.string().optional(),
  info: z.unknown().optional(),
});
export type LinePayAnswer = z.output<typeof answerSchema>;

export type LinePayApi = 'request' | 'confirm' | 'capture' | 'void' | 'refund' | 'details' | 'check';

export interface LinePayCall {
  api: LinePayApi;
  method: 'GET' | 'POST';
  /** `/v3/...`, ids in decimal. */
  path: string;
  /** POST: the object sent as JSON (serialised once: those exact bytes are signed and sent). */
  body?: unknown;
  /** GET: the query string as sent, without `?`. */
  query?: string;
  timeoutMs: number;
}

export class LinePayClient {
  constructor(
    private readonly settings: LinepaySettings,
    private readonly transport: HttpTransport = httpRequest,
  ) {}

  async call(call: LinePayCall): Promise<LinePayAnswer> {
    const text = call.method === 'POST' ? stringifyLinePayJson(call.body ?? {}) : (call.query ?? '');
    const url = `${this.settings.baseUrl.replace(/\/$/, '')}${call.path}${call.method === 'GET' && text ? `?${text}` : ''}`;
    let response: HttpAnswer;
    try {
      response = await this.transport({
        method: call.method,
        url,
        headers: { 'content-type': 'application/json', ...authHeaders(this.settings.channelId, this.settings.channelSecret, call.path, text) },
        body: call.method === 'POST' ? text : undefined,
        timeoutMs: call.timeoutMs,
        // Reads may go out twice on a stale kept-alive socket; a call that moves money never does.
        idempotent: call.method === 'GET',
        maxBytes: 256 * 1024,
      });
    } catch (err) {
      throw new ProviderUnavailableError(`linepay ${call.api}: ${(err as Error).name === 'TimeoutError' ? `no answer within ${call.timeoutMs} ms` : (err as Error).message}`, err);
    }
    if (response.status === 401 || response.status === 403) {
      throw new ProviderUnavailableError(`linepay ${call.api}: HTTP ${response.status}`, undefined, { credentialsRejected: true });
    }
    if (response.status < 200 || response.status > 299) throw new ProviderUnavailableError(`linepay ${call.api}: HTTP ${response.status}`);
    let parsed: unknown;
    try {
      parsed = parseLinePayJson(response.text);
    } catch (err) {
      throw new ProviderUnavailableError(`linepay ${call.api}: the answer is not readable JSON (${err instanceof SyntaxError ? 'syntax' : (err as Error).message})`);
    }
    return parseProviderResponse(answerSchema, parsed, { provider: 'linepay', operation: call.api });
  }
}
