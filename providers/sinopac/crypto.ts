import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

/**
 * SinoPac QPay message security (docs/protocols/sinopac.md#signing, docs/protocols/sinopac.md#encryption). Every value here is used the
 * way the bank uses it: HashID and IV are ASCII strings fed to AES as bytes, never hex-decoded.
 */

export interface HashKeys {
  A1: string;
  A2: string;
  B1: string;
  B2: string;
}

/** §3.1: strip '-', take the first 16 hex digits, parse as 8 bytes. */
function keyBytes(name: string, value: string): Buffer {
  const hex = value.replace(/-/g, '').slice(0, 16);
  if (!/^[0-9A-Fa-f]{16}$/.test(hex)) throw new Error(`${name} must hold 16 hex digits`);
  return Buffer.from(hex, 'hex');
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** §3.1: HashID = upperHex(A1⊕A2) + upperHex(B1⊕B2), 32 characters; also the AES-256 key (as ASCII). */
export function hashId(keys: HashKeys): string {
  const x = xor(keyBytes('A1', keys.A1), keyBytes('A2', keys.A2));
  const y = xor(keyBytes('B1', keys.B1), keyBytes('B2', keys.B2));
  return (x.toString('hex') + y.toString('hex')).toUpperCase();
}

/** §3.2: the last 16 characters of upperHex(SHA-256(nonce)), used as 16 ASCII bytes. */
export function ivFromNonce(nonce: string): string {
  return createHash('sha256').update(nonce, 'utf8').digest('hex').toUpperCase().slice(-16);
}

/** §4: the top-level scalars of the plain message, empties skipped, sorted by key ignoring ASCII case. */
export function signString(message: Record<string, unknown>): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(message)) {
    if (value === null || value === undefined || typeof value === 'object') continue;
    const text = String(value);
    if (text.trim() === '') continue;
    pairs.push([key, text]);
  }
  pairs.sort(([a], [b]) => {
    const x = a.toUpperCase();
    const y = b.toUpperCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** §4: upperHex(SHA-256(signString + nonce + hashId)). */
export function sign(message: Record<string, unknown>, nonce: string, hashIdValue: string): string {
  return createHash('sha256').update(signString(message) + nonce + hashIdValue, 'utf8').digest('hex').toUpperCase();
}

/** Constant-time comparison of two Signs, ignoring hex case (§4: the bank answers in upper case). */
export function signMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toUpperCase(), 'utf8');
  const b = Buffer.from(given.toUpperCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** §5: AES-256-CBC with PKCS#7 over the UTF-8 JSON, rendered as upper-case hex. */
export function encryptMessage(plaintext: string, hashIdValue: string, nonce: string): string {
  const cipher = createCipheriv('aes-256-cbc', Buffer.from(hashIdValue, 'ascii'), Buffer.from(ivFromNonce(nonce), 'ascii'));
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('hex').toUpperCase();
}

/** §5: the reverse; accepts either hex case. Throws on a bad length or padding. */
export function decryptMessage(hex: string, hashIdValue: string, nonce: string): string {
  if (!/^(?:[0-9A-Fa-f]{32})+$/.test(hex)) throw new Error('Message is not whole AES blocks of hex');
  const decipher = createDecipheriv('aes-256-cbc', Buffer.from(hashIdValue, 'ascii'), Buffer.from(ivFromNonce(nonce), 'ascii'));
  return Buffer.concat([decipher.update(Buffer.from(hex, 'hex')), decipher.final()]).toString('utf8');
}
