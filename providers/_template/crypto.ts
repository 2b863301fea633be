/**
 * The signature routines, written from the template (providers/_template, docs/providers.md#crypto).
 * A real provider puts here its signing and verification exactly as its spec describes them (field
 * order, encoding, hash), compares with `timingSafeEqual`, and pins each routine with the
 * published examples as golden vectors (test/providers/<id>/). Nothing here does I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Every FakePay message carries `sign`, an HMAC-SHA256 (hex) over the other non-empty fields sorted
 * by name as `k=v&k=v`.
 */
export function canonical(fields: Record<string, string>): string {
  return Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
}

export function sign(fields: Record<string, string>, secret: string): string {
  return createHmac('sha256', secret).update(canonical(fields)).digest('hex');
}

export function signed(fields: Record<string, string>, secret: string): Record<string, string> {
  return { ...fields, sign: sign(fields, secret) };
}

export function verify(fields: Record<string, string>, secret: string): boolean {
  const given = Buffer.from(fields.sign ?? '', 'hex');
  const expected = Buffer.from(sign(fields, secret), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
