import { ProviderUnavailableError, ValidationError } from '../../core/errors.ts';
import type { z } from 'zod';
import { parseJsonObjectStrict, REPEATED_FIELD } from '../kit/fields.ts';
import { type HttpAnswer, httpRequest, type HttpTransport } from '../kit/http.ts';
import { parseProviderResponse } from '../kit/responses.ts';
import type { SinopacSettings } from './config.ts';
import { decryptMessage, encryptMessage, hashId, sign, signMatches } from './crypto.ts';
import { splitDescription } from './codec.ts';

/**
 * Faults talking to the bank. They are ProviderUnavailableErrors to core (retry later); the `kind`
 * says which of the §6.3 checks failed. They never carry keys, HashID or the KeyID.
 */
export type SinopacFaultKind = 'transport' | 'unauthorized' | 'forbidden' | 'nonce_refused' | 'rejected' | 'bad_sign' | 'protocol';

/**
 * Which faults suggest the bank refused this shop's credentials (core then probes at once and marks
 * the account rejected only if the probe is refused too; core/provider-health.ts):
 * - `rejected`: an Order answer without Message/Nonce/Sign, the gateway-level refusal of §6.2 (a
 *   message it could not decrypt or whose Sign failed; its exact shape and codes are UNVERIFIED);
 * - `unauthorized`: HTTP 401, what the sandbox's WAF answers (§2; for a wrong X-KeyID UNVERIFIED).
 * Left out, so "unreachable" (UNVERIFIED either way):
 * - `forbidden`: HTTP 403, what a WAF or rate limiter typically answers to a flood; counting it would
 *   let anyone who makes us call the bank often take the account down;
 * - `nonce_refused`: a Nonce call answered without a Nonce. It carries only ShopNo and X-KeyID, and
 *   whether the bank refuses it for a wrong KeyID or ShopNo, or also when throttling, is UNVERIFIED;
 *   the reason (the bank's Description) is logged with the "unreachable" verdict;
 * - `bad_sign`: one answer whose Sign fails may be a quirk of that order's values (the probe still
 *   counts it, on its own made-up order).
 * An answer our keys cannot decrypt is a credentials fault too (SinopacClient.call).
 */
export const CREDENTIAL_FAULT_KINDS_UNVERIFIED: ReadonlySet<SinopacFaultKind> = new Set(['rejected', 'unauthorized']);

/** HTTP statuses that are a refusal of the call, with the fault kind each becomes. */
const REFUSAL_STATUS: ReadonlyMap<number, SinopacFaultKind> = new Map([
  [401, 'unauthorized'],
  [403, 'forbidden'],
]);

export class SinopacFault extends ProviderUnavailableError {
  constructor(
    readonly kind: SinopacFaultKind,
    readonly service: string,
    message: string,
    cause?: unknown,
    /** Overrides CREDENTIAL_FAULT_KINDS_UNVERIFIED for this fault. */
    credentialsRejected = CREDENTIAL_FAULT_KINDS_UNVERIFIED.has(kind),
  ) {
    super(`SinoPac ${service}: ${message}`, cause, { credentialsRejected });
  }
}

/** The bank processed the call and answered Status F (§9.1): a business answer, not a fault. */
export class SinopacStatusError extends Error {
  readonly code: string;
  readonly detail: string;
  constructor(
    readonly service: string,
    readonly description: string,
    readonly response: Record<string, unknown>,
  ) {
    const { code, message } = splitDescription(description);
    super(`SinoPac ${service} answered F: ${description}`);
    this.code = code;
    this.detail = message;
  }
}

type Json = Record<string, unknown>;

/** The API services that only read (docs/protocols/sinopac.md): safe to send again. */
const READ_ONLY_SERVICES: ReadonlySet<string> = new Set(['OrderPayQuery', 'OrderQuery']);

/** §6.3: Nonce, then Order with the encrypted, signed message; the answer is verified and decrypted. */
export class SinopacClient {
  private readonly hashId: string;

  constructor(
    private readonly settings: SinopacSettings,
    /** node:http through keep-alive agents (providers/kit/http.ts); tests hand in fetchTransport(spy). */
    private readonly transport: HttpTransport = httpRequest,
  ) {
    this.hashId = hashId(settings);
  }

  private async post(service: string, path: 'Nonce' | 'Order', body: Json): Promise<Json> {
    let response: HttpAnswer;
    try {
      response = await this.transport({
        method: 'POST',
        url: `${this.settings.baseUrl}${path}`,
        headers: { 'content-type': 'application/json', 'X-KeyID': this.settings.KeyID },
        body: JSON.stringify(body),
        timeoutMs: this.settings.timeoutMs,
        // A Nonce and the queries (OrderPayQuery, OrderQuery) change nothing: they ride kept-alive
        // sockets and may be sent again; OrderCreate and OrderMaintain may move money and never are.
        idempotent: path === 'Nonce' || READ_ONLY_SERVICES.has(service),
        // §6: answers are a few KB (an OrderQuery of a busy day the largest); 1 MiB is no bank's.
        maxBytes: 1024 * 1024,
      });
    } catch (err) {
      const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.settings.timeoutMs} ms` : (err as Error).message;
      throw new SinopacFault('transport', service, `${path} failed: ${reason}`, err);
    }
    const text = response.text;
    if (response.status !== 200) {
      throw new SinopacFault(REFUSAL_STATUS.get(response.status) ?? 'transport', service, `${path} answered HTTP ${response.status}`);
    }
    try {
      return parseJsonObjectStrict(text);
    } catch (err) {
      // Not JSON, not an object, or a key named twice (which copy the bank signed is unknowable).
      throw new SinopacFault('protocol', service, `${path} did not answer a JSON object (${(err as Error).message})`);
    }
  }

  async nonce(service: string): Promise<string> {
    const answer = await this.post(service, 'Nonce', { ShopNo: this.settings.ShopNo });
    if (typeof answer.Nonce !== 'string' || answer.Nonce === '') {
      throw new SinopacFault('nonce_refused', service, `Nonce refused${typeof answer.Description === 'string' ? `: ${answer.Description}` : ''}`);
    }
    return answer.Nonce;
  }

  /**
   * Calls one service and returns the verified, decrypted answer, parsed by `schema` when given
   * (providers/sinopac/answers.ts). Throws SinopacFault for anything that is not a trustworthy
   * answer (a signed answer that does not fit the schema too), SinopacStatusError for a trustworthy
   * `Status: F`.
   */
  async call(service: string, message: Json): Promise<Json>;
  async call<S extends z.ZodType>(service: string, message: Json, schema: S): Promise<z.output<S>>;
  async call(service: string, message: Json, schema?: z.ZodType): Promise<unknown> {
    const nonce = await this.nonce(service);
    const envelope = {
      Version: '1.0.0',
      ShopNo: this.settings.ShopNo,
      APIService: service,
      Sign: sign(message, nonce, this.hashId),
      Nonce: nonce,
      Message: encryptMessage(JSON.stringify(message), this.hashId, nonce),
    };
    const answer = await this.post(service, 'Order', envelope);
    // §6.2: a gateway rejection (bad Sign, stale nonce) comes without Message/Nonce (shape UNVERIFIED).
    if (typeof answer.Message !== 'string' || typeof answer.Nonce !== 'string' || typeof answer.Sign !== 'string') {
      const why = typeof answer.Description === 'string' ? answer.Description : 'no Message/Nonce/Sign';
      throw new SinopacFault('rejected', service, `the gateway rejected the call: ${why}`);
    }
    let plain: Json;
    try {
      plain = parseJsonObjectStrict(decryptMessage(answer.Message, this.hashId, answer.Nonce));
    } catch (err) {
      // It decrypted, but names a key twice: malformed, and no proof about the keys.
      if (err instanceof ValidationError && err.code === REPEATED_FIELD) throw new SinopacFault('protocol', service, `the answer names a key twice (${err.message})`);
      // AES with another key fails its padding check (or yields no JSON): the bank holds other keys.
      throw new SinopacFault('protocol', service, 'the answer could not be decrypted', err, true);
    }
    if (!signMatches(sign(plain, answer.Nonce, this.hashId), answer.Sign)) {
      throw new SinopacFault('bad_sign', service, 'the answer failed its Sign check');
    }
    if (plain.Status !== 'S') throw new SinopacStatusError(service, String(plain.Description ?? ''), plain);
    if (!schema) return plain;
    return parseProviderResponse(schema, plain, { provider: 'SinoPac', operation: service, fault: (detail) => new SinopacFault('protocol', service, detail) });
  }
}
