import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

/**
 * NewebPay's crypto (docs/protocols/newebpay.md#crypto), no I/O: the MPG TradeInfo (AES-256-CBC of a
 * form-encoded string, lower-case hex), its TradeSha, the lenient unpadding of answers, and the
 * QueryTradeInfo CheckValue / CheckCode. HashKey is the AES key and HashIV the IV, byte for byte.
 */

export interface NewebpayKeys {
  HashKey: string;
  HashIV: string;
}

/** §2: the key and IV are used as they are, so they must be exactly this long (PHP would zero-pad a short one). */
export const HASH_KEY_LENGTH = 32;
export const HASH_IV_LENGTH = 16;

// §3.1 step 2: PHP's http_build_query (RFC 1738) keeps only these bytes; space is '+'.
const UNRESERVED = new Set([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'].map((c) => c.charCodeAt(0)));

/** One value encoded as http_build_query does: every other UTF-8 byte as %XX (upper hex). */
export function phpEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (UNRESERVED.has(byte)) out += String.fromCharCode(byte);
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** §3.1 step 1: `k=v&k=v` in the order given, each value encoded once. */
export function buildQuery(params: Readonly<Record<string, string>>): string {
  return Object.entries(params)
    .map(([k, v]) => `${phpEncode(k)}=${phpEncode(v)}`)
    .join('&');
}

function keyBytes(keys: NewebpayKeys): { key: Buffer; iv: Buffer } {
  const key = Buffer.from(keys.HashKey, 'utf8');
  const iv = Buffer.from(keys.HashIV, 'utf8');
  if (key.length !== HASH_KEY_LENGTH) throw new Error(`HashKey must be ${HASH_KEY_LENGTH} bytes`);
  if (iv.length !== HASH_IV_LENGTH) throw new Error(`HashIV must be ${HASH_IV_LENGTH} bytes`);
  return { key, iv };
}

/** §3.1 step 3: AES-256-CBC with PKCS#7 over 16-byte blocks, lower-case hex. */
export function encryptText(plain: string, keys: NewebpayKeys): string {
  const { key, iv } = keyBytes(keys);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]).toString('hex');
}

/** The TradeInfo of `params` (also PostData_ of Cancel and Close, §7.1). */
export function encryptParams(params: Readonly<Record<string, string>>, keys: NewebpayKeys): string {
  return encryptText(buildQuery(params), keys);
}

/**
 * §3.3: hex → plaintext with automatic padding off, then a trailing run of n bytes all equal to n,
 * 1 ≤ n ≤ 32, is removed (standard PKCS#7, or the legacy 32-byte-block padding old samples use).
 * Null for what is not whole AES blocks of hex, or whose padding is not such a run.
 */
export function decryptText(hex: string, keys: NewebpayKeys): string | null {
  if (!/^(?:[0-9a-fA-F]{32})+$/.test(hex)) return null;
  const { key, iv } = keyBytes(keys);
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(hex, 'hex')), decipher.final()]);
  const n = plain[plain.length - 1]!;
  if (n < 1 || n > 32 || n > plain.length) return null;
  for (let i = plain.length - n; i < plain.length; i++) if (plain[i] !== n) return null;
  const text = plain.subarray(0, plain.length - n);
  // Invalid UTF-8 is not NewebPay's: fatal decoding refuses it rather than turning it into U+FFFD.
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(text);
  } catch {
    return null;
  }
}

const sha256Upper = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').toUpperCase();

/** §3.2: SHA-256 over the hex ciphertext wrapped in HashKey / HashIV, upper-case hex. */
export function tradeSha(tradeInfoHex: string, keys: NewebpayKeys): string {
  return sha256Upper(`HashKey=${keys.HashKey}&${tradeInfoHex}&HashIV=${keys.HashIV}`);
}

/** Constant-time comparison of two hex digests, case ignored (§3.2). */
export function hexEquals(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || !/^[0-9A-Fa-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given.toUpperCase(), 'ascii'), Buffer.from(expected, 'ascii'));
}

export function tradeShaMatches(tradeInfoHex: string, given: unknown, keys: NewebpayKeys): boolean {
  return hexEquals(given, tradeSha(tradeInfoHex, keys));
}

/** §3.4: the QueryTradeInfo request's CheckValue: `IV=` first, `Key=` last, fields sorted by name. */
export function checkValue(fields: { Amt: string; MerchantID: string; MerchantOrderNo: string }, keys: NewebpayKeys): string {
  const body = buildQuery({ Amt: fields.Amt, MerchantID: fields.MerchantID, MerchantOrderNo: fields.MerchantOrderNo });
  return sha256Upper(`IV=${keys.HashIV}&${body}&Key=${keys.HashKey}`);
}

/** §3.4: the CheckCode of QueryTradeInfo and Cancel answers: `HashIV=` first, `HashKey=` last, values as returned. */
export function checkCode(fields: { Amt: string; MerchantID: string; MerchantOrderNo: string; TradeNo: string }, keys: NewebpayKeys): string {
  const body = buildQuery({ Amt: fields.Amt, MerchantID: fields.MerchantID, MerchantOrderNo: fields.MerchantOrderNo, TradeNo: fields.TradeNo });
  return sha256Upper(`HashIV=${keys.HashIV}&${body}&HashKey=${keys.HashKey}`);
}
