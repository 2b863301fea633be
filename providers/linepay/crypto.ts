/**
 * LINE Pay's request signature (docs/protocols/linepay.md#request-signature): every call, GET included,
 * carries `X-LINE-Authorization` = Base64(HMAC-SHA256(channel secret, secret + path + body-or-query + nonce)).
 * The body is the exact string sent (serialised once, signed, sent); for a GET it is the query string
 * as sent, without the `?`. Nothing here does I/O; the golden vectors are in test/providers/linepay/.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** The text LINE Pay signs: secret, then the URL path (no host, no query), then body or query, then the nonce. */
export function signedText(secret: string, path: string, bodyOrQuery: string, nonce: string): string {
  return `${secret}${path}${bodyOrQuery}${nonce}`;
}

export function signature(secret: string, path: string, bodyOrQuery: string, nonce: string): string {
  return createHmac('sha256', secret).update(signedText(secret, path, bodyOrQuery, nonce), 'utf8').digest('base64');
}

/** A fresh nonce per call (UUID v4): one the provider has seen must never be sent again. */
export function newNonce(): string {
  return randomUUID();
}

/** The three headers of a signed call. */
export function authHeaders(channelId: string, secret: string, path: string, bodyOrQuery: string, nonce = newNonce()): Record<string, string> {
  return {
    'x-line-channelid': channelId,
    'x-line-authorization-nonce': nonce,
    'x-line-authorization': signature(secret, path, bodyOrQuery, nonce),
  };
}

/** The simulator's check of a call it received, in constant time. */
export function signatureMatches(secret: string, path: string, bodyOrQuery: string, nonce: string, given: string): boolean {
  const expected = Buffer.from(signature(secret, path, bodyOrQuery, nonce), 'utf8');
  const actual = Buffer.from(given, 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
