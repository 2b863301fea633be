/**
 * Variants of a genuine provider callback, for the conformance suite's refusal cases
 * (test/contract/conformance.ts): each takes the raw request the gateway stored and returns one
 * that must be refused. Form bodies and JSON objects are edited in place, so every other byte is
 * the provider's own.
 */

/** The raw request as the inbox keeps it (core/inbox.ts). */
export interface RawCallback {
  httpMethod: string;
  contentType: string;
  rawBody: string;
  rawQuery: string;
}

/** What the conformance target names in its callbacks: the field that proves it, and the amount. */
export interface CallbackFields {
  /** The signature or MAC (`sign`, `CheckMacValue`), or the token the gateway exchanges (SinoPac's `PayToken`). */
  signature: string;
  /** The amount, when the callback carries one (SinoPac's notify does not: the bank's answer does). */
  amount?: string;
}

export type TamperKind = 'signature' | 'amount';

/** One character changed to another of the same alphabets (hex, base64, alphanumeric tokens). */
export function alter(value: string): string {
  if (value === '') return 'A';
  const i = Math.floor(value.length / 2);
  const c = value[i]!;
  const other = c.toUpperCase() === 'A' ? 'B' : 'A';
  return value.slice(0, i) + other + value.slice(i + 1);
}

/** Another amount in the same notation (`1200` → `1201`, `88.88` → `89.88`). */
export function otherAmount(value: string): string {
  const n = Number(value);
  if (!Number.isFinite(n)) return '1';
  const decimals = value.includes('.') ? value.split('.')[1]!.length : 0;
  return (n + 1).toFixed(decimals);
}

function isJson(raw: RawCallback): boolean {
  return /json/i.test(raw.contentType) || raw.rawBody.trimStart().startsWith('{');
}

/** The body (or, for a GET, the query) with `name`'s value replaced; null when it has no such field. */
export function replaceField(raw: RawCallback, name: string, change: (value: string) => string): RawCallback | null {
  const where = raw.httpMethod === 'GET' ? 'rawQuery' : 'rawBody';
  const text = raw[where];
  if (isJson(raw) && where === 'rawBody') {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (typeof parsed[name] !== 'string') return null;
    return { ...raw, rawBody: JSON.stringify({ ...parsed, [name]: change(parsed[name]) }) };
  }
  let found = false;
  const pairs = text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const key = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    if (key !== name || eq < 0) return pair;
    found = true;
    const value = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    return `${pair.slice(0, eq)}=${encodeURIComponent(change(value))}`;
  });
  return found ? { ...raw, [where]: pairs.join('&') } : null;
}

/** The default tampering: the named field changed after signing. */
export function tamperField(kind: TamperKind, raw: RawCallback, fields: CallbackFields): RawCallback | null {
  if (kind === 'signature') return replaceField(raw, fields.signature, alter);
  return fields.amount ? replaceField(raw, fields.amount, otherAmount) : null;
}

/**
 * Unreadable or ambiguous versions of a genuine callback: none may verify, none may cost a 5xx. A
 * GET callback (a notify the browser brings) carries everything in its query, so the query is what
 * is cut, garbled or given the proving field twice.
 */
export function malformed(raw: RawCallback, fields: CallbackFields, nonce: string): { label: string; request: RawCallback }[] {
  const where = raw.httpMethod === 'GET' ? 'rawQuery' : 'rawBody';
  const text = raw[where];
  const repeated = isJson(raw) && where === 'rawBody'
    ? // The proving field twice, the second altered: parsers disagree on which one counts.
      text.replace(/\}\s*$/, `,${JSON.stringify(fields.signature)}:${JSON.stringify('A'.repeat(16))}}`)
    : `${text}&${encodeURIComponent(fields.signature)}=${encodeURIComponent(alter(new URLSearchParams(text).get(fields.signature) ?? ''))}`;
  return [
    { label: 'truncated', request: { ...raw, [where]: text.slice(0, Math.floor(text.length / 2)) } },
    // In a query, only characters a URL carries as they are: what arrives is then exactly what was sent.
    { label: 'garbage body', request: { ...raw, [where]: where === 'rawQuery' ? `%%%{[garbage-${nonce}]&=&==` : `\u0000\u00ff%%%{[<garbage ${nonce}>&=&==` } },
    { label: 'repeated key', request: { ...raw, [where]: repeated } },
  ];
}
