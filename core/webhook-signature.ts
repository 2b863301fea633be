/**
 * Signing and verifying paygate's merchant webhooks (docs/architecture.md#webhook-signing). Self-contained (node:crypto only)
 * so a merchant can copy this one file into their own service.
 *
 * Every webhook carries
 *
 *   Paygate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * where `secret` is the merchant's webhook secret (`whsec_…`, the whole string is the key). During a
 * secret rotation the header carries two `v1=` values; one match is enough. A receiver should:
 *
 *   const result = verifyWebhook(rawBody, req.headers['paygate-signature'], process.env.PAYGATE_WEBHOOK_SECRET);
 *   if (!result.ok) return res.writeHead(400).end();
 *   // then dedupe on the Paygate-Event-Id header: delivery is at least once.
 *
 * Verify the raw bytes as received, before any JSON parsing: re-serialising changes the body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the HTTP header that carries the signature. */
export const SIGNATURE_HEADER = 'Paygate-Signature';

/**
 * How far a signature's timestamp may be from the receiver's clock, in either direction: a `t` more
 * than this far in the future is refused too (docs/webhooks.md, "Verifying a webhook").
 */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

export interface VerifyOptions {
  /** Largest accepted |now - t| in seconds; 300 unless given. */
  toleranceSeconds?: number;
  /** The receiver's clock; the current time unless given. */
  now?: Date;
}

function hmacHex(body: string, secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/**
 * The `Paygate-Signature` value for `body` sent at `timestamp` (unix seconds). With several secrets
 * (a rotation in its overlap window, core/webhook-secrets.ts) there is one `v1=` per secret, in
 * the order given: the current secret first.
 */
export function signWebhook(body: string, secret: string | readonly string[], timestamp: number): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError('timestamp must be a whole number of unix seconds');
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0 || secrets.some((s) => !s)) throw new TypeError('secret must not be empty');
  return `t=${timestamp}${secrets.map((s) => `,v1=${hmacHex(body, s, timestamp)}`).join('')}`;
}

/**
 * Checks a webhook: the header is well formed, one of its `v1` signatures matches `body` under
 * `secret` (compared in constant time), and its timestamp is within the tolerance of `now`, which
 * bounds how long a captured request can be replayed.
 */
export function verifyWebhook(body: string, header: string | undefined, secret: string, options: VerifyOptions = {}): VerifyResult {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!(tolerance >= 0)) throw new TypeError('toleranceSeconds must not be negative');
  if (!secret) throw new TypeError('secret must not be empty');
  if (typeof header !== 'string' || header.trim() === '') return { ok: false, reason: 'missing signature header' };
  if (header.length > 4096) return { ok: false, reason: 'malformed signature header' };

  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'malformed signature header' };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,15}$/.test(value)) return { ok: false, reason: 'malformed signature header' };
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return { ok: false, reason: 'malformed signature header' };
      signatures.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (a future v2) are ignored so senders can add them without breaking receivers.
  }
  if (timestamp === undefined) return { ok: false, reason: 'no timestamp in signature header' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1 signature in signature header' };

  const expected = Buffer.from(hmacHex(body, secret, timestamp), 'hex');
  let matched = false;
  for (const candidate of signatures) {
    // Every candidate is 32 bytes (checked above), as timingSafeEqual requires.
    if (timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) return { ok: false, reason: 'no signature matches the body' };

  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) return { ok: false, reason: 'timestamp outside the tolerance' };
  return { ok: true, timestamp };
}
