import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * ECPay AIO's CheckMacValue (docs/protocols/ecpay.md#signing): every field but CheckMacValue, sorted by
 * name ignoring case, wrapped in HashKey/HashIV, URL-encoded the way .NET's HttpUtility.UrlEncode
 * does, lower-cased as a whole, hashed, upper hex.
 */

export interface MacKeys {
  HashKey: string;
  HashIV: string;
}

export type MacAlgorithm = 'sha256' | 'md5';

// §4.1 step 4: .NET leaves these bytes alone. encodeURIComponent also keeps ' and ~, and PHP's
// urlencode escapes ! * ( ): both are the classic mismatches of §13.1, so the table is written out.
const UNRESERVED = new Set([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*()'].map((c) => c.charCodeAt(0)));
const SPACE = 0x20;

/** HttpUtility.UrlEncode over the UTF-8 bytes: space → '+', the unreserved set kept, every other byte → %XX. */
export function dotNetUrlEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (UNRESERVED.has(byte)) out += String.fromCharCode(byte);
    else if (byte === SPACE) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** §4.1 steps 1-3: the string before encoding. Empty values stay in; CheckMacValue never does. */
export function checkMacSource(params: Readonly<Record<string, string>>, keys: MacKeys): string {
  const names = Object.keys(params).filter((name) => name !== 'CheckMacValue');
  // Ordinal comparison of the lower-cased names (§4.1 step 2): NeedExtraPaidInfo brings lower-case
  // names such as `amount` and `gwsr` that a case-sensitive sort would put after every capital.
  names.sort((a, b) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const body = names.map((name) => `${name}=${params[name]}`).join('&');
  return `HashKey=${keys.HashKey}&${body}&HashIV=${keys.HashIV}`;
}

/** §4.1 steps 4-5: what is hashed. */
export function checkMacEncoded(params: Readonly<Record<string, string>>, keys: MacKeys): string {
  return dotNetUrlEncode(checkMacSource(params, keys)).toLowerCase();
}

/** §4.1: SHA-256 (EncryptType=1, AIO V5) unless MD5 is asked for (legacy siblings, vector V3). */
export function checkMacValue(params: Readonly<Record<string, string>>, keys: MacKeys, algorithm: MacAlgorithm = 'sha256'): string {
  return createHash(algorithm).update(checkMacEncoded(params, keys), 'ascii').digest('hex').toUpperCase();
}

/** `params` plus its CheckMacValue, added last (the order ECPay itself uses on the wire). */
export function withCheckMac(params: Readonly<Record<string, string>>, keys: MacKeys): Record<string, string> {
  const { CheckMacValue: _ignored, ...rest } = params;
  return { ...rest, CheckMacValue: checkMacValue(rest, keys) };
}

/**
 * Whether `params` carries the right SHA-256 CheckMacValue, compared in constant time. Hex case is
 * ignored (§4.3). MD5 MACs are refused: AIO V5 always answers SHA-256 to EncryptType=1, and a
 * weaker hash accepted "just in case" is a weaker door.
 */
export function checkMacMatches(params: Readonly<Record<string, string>>, keys: MacKeys): boolean {
  const given = params.CheckMacValue;
  if (typeof given !== 'string' || !/^[0-9A-Fa-f]{64}$/.test(given)) return false;
  const expected = Buffer.from(checkMacValue(params, keys), 'ascii');
  return timingSafeEqual(expected, Buffer.from(given.toUpperCase(), 'ascii'));
}
