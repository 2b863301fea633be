import { randomBytes } from 'node:crypto';

const ALNUM_UPPER = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Uniformly random characters from `alphabet` (rejection sampling, so no modulo bias). */
export function randomString(length: number, alphabet: string = ALNUM): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function randomUpperAlnum(length: number): string {
  return randomString(length, ALNUM_UPPER);
}

/** Opaque public ids: a type prefix and 22 random base62 characters (~131 bits). */
export function newId(prefix: 'pay' | 'mch' | 'evt' | 'ref'): string {
  return `${prefix}_${randomString(22)}`;
}
