import { z } from 'zod';
import { ValidationError } from '../../core/errors.ts';
import { ORDER_STATUSES } from '../../core/state-machine.ts';
import { parseWith } from '../../core/validation.ts';
import type { AdminOrderFilter, OrderCursor } from './queries/orders.ts';
import { addDays, startOfDay } from './time-zone.ts';
import type { OrderFilterValues } from './views/orders.ts';

export const PAGE_SIZES = [25, 50, 100] as const;

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');
const cursor = z.string().regex(/^\d{1,15}\.[A-Za-z0-9_]{1,40}$/, 'is not a page link this dashboard made');

/** The orders list's query string. Empty values mean "no filter", as a GET form sends them. */
const listQuery = z.object({
  find: z
    .string()
    .trim()
    .max(128, 'is at most 128 characters')
    .regex(/^[\x21-\x7e]*$/, 'is an order number, payment id or merchant order id (no spaces)')
    .optional(),
  status: z.enum(ORDER_STATUSES, { message: `must be one of ${ORDER_STATUSES.join(', ')}` }).optional(),
  provider: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'is not a provider id').optional(),
  merchant: z.string().regex(/^[A-Za-z0-9_]{1,40}$/, 'is not a merchant id').optional(),
  from: date.optional(),
  to: date.optional(),
  attention: z.enum(['1', 'on', 'true'], { message: 'must be 1 when set' }).optional(),
  size: z.coerce
    .number({ message: 'must be a number' })
    .refine((n) => (PAGE_SIZES as readonly number[]).includes(n), `must be one of ${PAGE_SIZES.join(', ')}`)
    .optional(),
  after: cursor.optional(),
  before: cursor.optional(),
});

function checkDate(value: string, path: string): void {
  const ms = Date.parse(`${value}T00:00:00Z`);
  // Date.parse rolls 2026-02-30 over to March; a real date prints back the same.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) throw ValidationError.field(path, `${value} is not a calendar date`);
}

function decodeCursor(value: string): OrderCursor {
  const dot = value.indexOf('.');
  return { createdAt: Number(value.slice(0, dot)), id: value.slice(dot + 1) };
}

export function encodeCursor(c: OrderCursor): string {
  return `${c.createdAt}.${c.id}`;
}

export interface ParsedListQuery {
  values: OrderFilterValues;
  filter: AdminOrderFilter;
  page: { limit: number; after?: OrderCursor; before?: OrderCursor };
}

/** What the form shows back, even when the query cannot be used. */
export function rawValues(query: Record<string, unknown>): OrderFilterValues {
  const s = (k: string) => (typeof query[k] === 'string' ? (query[k] as string).slice(0, 100) : '');
  const size = Number(s('size'));
  return {
    find: s('find'),
    status: s('status'),
    provider: s('provider'),
    merchant: s('merchant'),
    from: s('from'),
    to: s('to'),
    attention: s('attention') !== '',
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : PAGE_SIZES[0],
  };
}

/**
 * Parses the list's query string; a ValidationError names each field at fault. The dates are days
 * of `zone` (the dashboard's): "from" starts at its first instant there, "to" includes its whole day.
 */
export function parseListQuery(query: Record<string, unknown>, zone: string): ParsedListQuery {
  const present = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined));
  const q = parseWith(listQuery, present);
  if (q.from) checkDate(q.from, 'from');
  if (q.to) checkDate(q.to, 'to');
  const from = q.from ? startOfDay(q.from, zone) : undefined;
  const to = q.to ? startOfDay(addDays(q.to, 1), zone) : undefined; // the "to" day is included
  if (from !== undefined && to !== undefined && to <= from) throw ValidationError.field('to', 'is before "from"');
  return {
    values: rawValues(query),
    filter: {
      ...(q.find ? { find: q.find } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.provider ? { provider: q.provider } : {}),
      ...(q.merchant ? { merchantId: q.merchant } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(q.attention ? { attentionOnly: true } : {}),
    },
    page: {
      limit: q.size ?? PAGE_SIZES[0],
      ...(q.after ? { after: decodeCursor(q.after) } : {}),
      ...(q.before && !q.after ? { before: decodeCursor(q.before) } : {}),
    },
  };
}

/** The list's own URL with some parameters changed (paging keeps the filters). */
export function listUrl(values: OrderFilterValues, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const key of ['find', 'status', 'provider', 'merchant', 'from', 'to'] as const) if (values[key]) params.set(key, values[key]);
  if (values.attention) params.set('attention', '1');
  if (values.size !== PAGE_SIZES[0]) params.set('size', String(values.size));
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const s = params.toString();
  return `/admin/orders${s ? `?${s}` : ''}`;
}
