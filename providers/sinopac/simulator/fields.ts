/**
 * Reading request messages and writing Status/Description. The bank's error table is not public
 * (§9.1, UNVERIFIED): every E-code here is the simulator's own, shaped `E<4 digits> – <text>`.
 */

export type Message = Record<string, unknown>;

/** §9.1: U+2013 EN DASH with a space on each side. */
export const SUCCESS = 'S0000 – 處理成功';

export const describe = (code: string, text: string): string => `${code} – ${text}`;

/** A business failure: answered as Status F inside a normal signed envelope. */
export class Refusal extends Error {
  constructor(
    readonly code: string,
    readonly text: string,
  ) {
    super(`${code} – ${text}`);
  }
}

export const invalid = (field: string, why: string): Refusal => new Refusal('E0202', `欄位格式錯誤：${field} ${why}`);

/** §7 conventions: text fields must not contain ' " % (official sample comments). */
const FORBIDDEN = /['"%]/;

export interface TextRule {
  required?: boolean;
  /** Length limit in characters. */
  max?: number;
  /** Length limit in UTF-8 bytes (PrdtName, §7.1 UNVERIFIED unit: the stricter reading). */
  maxBytes?: number;
  /** Allowed values. */
  oneOf?: readonly string[];
}

/** A string field; an empty or absent one is `undefined` (empties are "not sent", §4). */
export function text(msg: Message, field: string, rule: TextRule = {}): string | undefined {
  const value = msg[field];
  if (value === undefined || value === null || value === '') {
    if (rule.required) throw invalid(field, '必填');
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(field, '必須是字串');
  if (value.trim() !== value) throw invalid(field, '前後不可有空白');
  if (FORBIDDEN.test(value)) throw invalid(field, `不可包含 ' " %`);
  if (rule.max !== undefined && [...value].length > rule.max) throw invalid(field, `長度不可超過 ${rule.max}`);
  if (rule.maxBytes !== undefined && Buffer.byteLength(value, 'utf8') > rule.maxBytes) {
    throw invalid(field, `長度不可超過 ${rule.maxBytes} bytes`);
  }
  if (rule.oneOf && !rule.oneOf.includes(value)) throw invalid(field, `必須是 ${rule.oneOf.join('/')}`);
  return value;
}

/** A positive integer given as a JSON number or a string of digits (both sign the same, §4). */
export function positiveInt(msg: Message, field: string, opts: { required?: boolean; maxDigits?: number; max?: number } = {}): number | undefined {
  const value = msg[field];
  if (value === undefined || value === null || value === '') {
    if (opts.required) throw invalid(field, '必填');
    return undefined;
  }
  const digits = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  if (!/^[1-9]\d*$/.test(digits)) throw invalid(field, '必須是正整數');
  if (digits.length > (opts.maxDigits ?? 9)) throw invalid(field, `不可超過 ${opts.maxDigits ?? 9} 位數`);
  const n = Number(digits);
  if (opts.max !== undefined && n > opts.max) throw invalid(field, `不可大於 ${opts.max}`);
  return n;
}

/** A nested parameter object (ATMParam, CardParam); absent → {}. */
export function nested(msg: Message, field: string, required: boolean): Message {
  const value = msg[field];
  if (value === undefined || value === null) {
    if (required) throw invalid(field, '必填');
    return {};
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(field, '必須是物件');
  return value as Message;
}

/** ReturnURL / BackendURL: ≤255 characters, an absolute http(s) URL. */
export function url(msg: Message, field: string, required: boolean): string | undefined {
  const value = text(msg, field, { required, max: 255 });
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw invalid(field, '不是有效的網址');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid(field, '必須是 http(s) 網址');
  return value;
}
