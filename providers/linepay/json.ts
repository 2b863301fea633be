/**
 * LINE Pay's JSON, read and written without rounding (docs/protocols/linepay.md#transaction-ids).
 *
 * Its transaction ids are 19-digit integers written as bare JSON numbers, above 2^53: `JSON.parse`
 * would round `2021121600698709710` to `2021121600698709800` and the next call would name another
 * transaction. So the id fields are turned into strings in the text before parsing, and any other
 * integer beyond the safe range makes the answer unreadable rather than silently wrong.
 */

/** The fields that carry transaction ids. */
export const ID_FIELDS = ['transactionId', 'refundTransactionId', 'originalTransactionId'] as const;

const BARE_ID = new RegExp(`"(${ID_FIELDS.join('|')})"(\\s*):(\\s*)(-?\\d+)(?=\\s*[,}\\]])`, 'g');

export class UnsafeNumberError extends Error {
  constructor(readonly path: string) {
    super(`${path} is a number beyond 2^53 that would lose digits`);
  }
}

function assertSafe(value: unknown, path: string): void {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) throw new UnsafeNumberError(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertSafe(v, `${path}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertSafe(v, path ? `${path}.${k}` : k);
  }
}

/**
 * Parses a LINE Pay answer: every id field as a string of its digits, exactly as sent (quoted ids
 * are kept as they are). Throws a SyntaxError for text that is not JSON and an UnsafeNumberError for
 * any other integer that cannot be held exactly.
 */
export function parseLinePayJson(text: string): unknown {
  // Only after a key inside an object can `"transactionId":` appear outside a string value: a string
  // containing that text would need its quotes escaped (\"), which the pattern does not match.
  const parsed: unknown = JSON.parse(text.replace(BARE_ID, '"$1"$2:$3"$4"'));
  assertSafe(parsed, '');
  return parsed;
}

/** Writes JSON as LINE Pay does: id fields given as digit strings come out as bare numbers. */
export function stringifyLinePayJson(value: unknown): string {
  return JSON.stringify(value).replace(new RegExp(`"(${ID_FIELDS.join('|')})":"(\\d+)"`, 'g'), '"$1":$2');
}
