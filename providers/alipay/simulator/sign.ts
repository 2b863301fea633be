import { createSign, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** RSA2 (SHA256withRSA) as the v2 gateway uses it (docs/protocols/alipay.md#signing). */

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A fresh RSA-2048 pair; a few tens of ms, so it is done once per account (§9 Keys). */
export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export const privatePem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString().trim();
export const publicPem = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString().trim();

/**
 * The signed text: every parameter but `sign` (and `sign_type` when `dropSignType`), empty values skipped, keys
 * sorted by code unit, raw `key=value` joined by `&`. Requests keep sign_type (§2.1); notifies and returns drop it (§2.2).
 */
export function signContent(params: Readonly<Record<string, string>>, dropSignType: boolean): string {
  return Object.keys(params)
    .filter((k) => k !== '' && k !== 'sign' && !(dropSignType && k === 'sign_type') && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function rsa2Sign(text: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(text, 'utf8').sign(privateKey, 'base64');
}

export function rsa2Verify(text: string, signature: string, publicKey: KeyObject): boolean {
  // A sign whose `+` became spaces in a careless encoder is simply wrong; base64 decoding is lenient, so check the alphabet.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(text, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/** §2.2: adds sign_type RSA2 and a sign over everything but sign / sign_type. Empty values are dropped first. */
export function signNotify(params: Readonly<Record<string, string>>, alipayPrivateKey: KeyObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== '' && k !== 'sign') out[k] = v;
  out.sign_type = 'RSA2';
  out.sign = rsa2Sign(signContent(out, true), alipayPrivateKey);
  return out;
}

/** JSON as Alipay writes it: `/` escaped as `\/` (harmless for JSON, and it exercises the SDK's substring check, §1.7). */
export function alipayJson(value: unknown): string {
  return JSON.stringify(value).replace(/\//g, '\\/');
}

/**
 * §1.7 / §2.5: `{"<method>_response":<inner>,"sign":"<RSA2 of the exact inner bytes>"}` with `sign` after the response
 * member, which is where the SDK looks for it. `key` is the member name, e.g. alipay_trade_query_response.
 */
export function signedResponse(key: string, inner: Record<string, unknown>, alipayPrivateKey: KeyObject): string {
  const text = alipayJson(inner);
  return `{"${key}":${text},"sign":"${rsa2Sign(text, alipayPrivateKey)}"}`;
}
