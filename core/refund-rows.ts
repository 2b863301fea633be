import { toNumber } from './db.ts';
import { randomUpperAlnum } from './ids.ts';

/** A row of `refunds` (migrations/20261122000010_create_refunds.ts, ..._refunds_source.ts). */
export type RefundStatus = 'pending' | 'succeeded' | 'failed';
export type RefundSource = 'merchant' | 'provider';

export interface RefundRow {
  id: string;
  refund_no: string;
  order_id: string;
  merchant_id: string;
  amount_minor: number | string;
  currency: string;
  status: RefundStatus;
  source?: RefundSource;
  provider_refund_no: string | null;
  reason: string | null;
  failure_code: string | null;
  failure_message: string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** A refund as the merchant API and events show it. */
export interface RefundView {
  id: string;
  refundNo: string;
  paymentId: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  /** `provider`: made in the provider's own back office, learned from its news. */
  source: RefundSource;
  reason: string | null;
  providerRefundNo: string | null;
  failure: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

export function toRefundView(row: RefundRow): RefundView {
  return {
    id: row.id,
    refundNo: row.refund_no,
    paymentId: row.order_id,
    amount: toNumber(row.amount_minor),
    currency: row.currency,
    status: row.status,
    source: row.source ?? 'merchant',
    reason: row.reason,
    providerRefundNo: row.provider_refund_no,
    failure: row.failure_code ? { code: row.failure_code, message: row.failure_message ?? '' } : null,
    createdAt: new Date(toNumber(row.created_at)).toISOString(),
    updatedAt: new Date(toNumber(row.updated_at)).toISOString(),
  };
}

/** yyMMddHHmmss (UTC) of `at`. */
export function refundStamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(2, 14);
}

/** R + yyMMddHHmmss + 8 random: 21 characters, within every provider's refund-number limits. */
export function newRefundNo(now: Date, prefix: 'R' | 'P' = 'R'): string {
  return `${prefix}${refundStamp(now)}${randomUpperAlnum(8)}`;
}
