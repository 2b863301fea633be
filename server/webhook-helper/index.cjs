'use strict';
/**
 * paygate/webhook: verify a paygate webhook in a merchant's own backend, from plain JavaScript
 * (CommonJS here; index.mjs re-exports it for ESM; index.d.ts has the types). node:crypto only.
 * What it checks is specified in docs/webhooks.md:
 *
 *   Paygate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>...]
 *
 * The HMAC key is the whole `whsec_...` secret as UTF-8 bytes, and the signed bytes are `t`, `.`,
 * then the raw body exactly as received. One matching `v1` is enough (during a secret rotation
 * paygate sends two). `t` may be at most `toleranceSeconds` (300) away from now, in the past or in
 * the future.
 */
const { createHmac, timingSafeEqual } = require('node:crypto');

const SIGNATURE_HEADER = 'Paygate-Signature';
const DEFAULT_TOLERANCE_SECONDS = 300;

/** The raw body as bytes: a string is taken as UTF-8. */
function bodyBytes(body) {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('body must be the raw body: a string, Buffer, Uint8Array or ArrayBuffer (not parsed JSON)');
}

function secretList(secret) {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) throw new TypeError('secret must be a non-empty string (or an array of them)');
  return list;
}

function hmac(secret, timestamp, bytes) {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`, 'utf8').update(bytes).digest();
}

/** A header value as node gives it (a repeated header comes as an array: that is refused). */
function headerText(header) {
  if (typeof header === 'string') return header;
  return undefined;
}

/**
 * Checks `header` (the Paygate-Signature value) against the raw `body` with `secret` (or any of an
 * array of secrets, for your side of a rotation). Returns `{ ok: true, timestamp }` or
 * `{ ok: false, reason }`; throws only on a programming error (no secret, a parsed body).
 */
function verifyWebhook(body, header, secret, options = {}) {
  const tolerance = options.toleranceSeconds === undefined ? DEFAULT_TOLERANCE_SECONDS : options.toleranceSeconds;
  if (!(typeof tolerance === 'number' && tolerance >= 0)) throw new TypeError('toleranceSeconds must be a number ≥ 0');
  const secrets = secretList(secret);
  const bytes = bodyBytes(body);
  const text = headerText(header);
  if (text === undefined || text.trim() === '') return { ok: false, reason: 'missing signature header' };
  if (text.length > 4096) return { ok: false, reason: 'malformed signature header' };

  let timestamp;
  const signatures = [];
  for (const part of text.split(',')) {
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
    // Other schemes are ignored, so a sender can add one without breaking receivers.
  }
  if (timestamp === undefined) return { ok: false, reason: 'no timestamp in signature header' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1 signature in signature header' };

  let matched = false;
  for (const s of secrets) {
    const expected = hmac(s, timestamp, bytes);
    // Both are 32 bytes, as timingSafeEqual needs; every pair is compared, so timing says nothing.
    for (const candidate of signatures) if (timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) return { ok: false, reason: 'no signature matches the body' };

  const now = options.now instanceof Date ? options.now.getTime() : typeof options.now === 'number' ? options.now : Date.now();
  if (Math.abs(Math.floor(now / 1000) - timestamp) > tolerance) return { ok: false, reason: 'timestamp outside the tolerance' };
  return { ok: true, timestamp };
}

/**
 * A Paygate-Signature value for `payload` as paygate would send it, for your own handler's tests
 * (one `v1` per secret, in the order given). `timestamp` is unix seconds, now unless given.
 */
function generateTestHeader({ payload, secret, timestamp }) {
  const t = timestamp === undefined ? Math.floor(Date.now() / 1000) : timestamp;
  if (!Number.isSafeInteger(t) || t < 0) throw new TypeError('timestamp must be a whole number of unix seconds');
  const bytes = bodyBytes(payload);
  return `t=${t}${secretList(secret).map((s) => `,v1=${hmac(s, t, bytes).toString('hex')}`).join('')}`;
}

module.exports = { SIGNATURE_HEADER, DEFAULT_TOLERANCE_SECONDS, verifyWebhook, generateTestHeader };
