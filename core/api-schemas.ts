import { z } from 'zod';
import { ORDER_STATUSES } from './state-machine.ts';

/**
 * The merchant API's request shapes (docs/architecture.md#merchant-api). The server validates with these and nothing else,
 * so the OpenAPI document can be generated from the same source.
 */
const minor = z.int().min(0, 'must not be negative');
const printable = /^[\x21-\x7e]+$/;

export const orderItemInput = z.strictObject({
  sku: z.string().min(1).max(64),
  name: z.string().trim().min(1).max(256),
  unitAmount: minor,
  quantity: z.int().min(1).max(100_000),
});

const httpUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

/** One way to pay the buyer may pick on a hosted checkout. */
export const checkoutChoice = z.strictObject({
  provider: z.string().min(1).max(32),
  account: z.string().min(1).max(64).optional(),
  method: z.string().min(1).max(32),
});
export type CheckoutChoice = z.infer<typeof checkoutChoice>;

/**
 * With `provider` and `method` the payment starts at that provider at once. Without them the order
 * waits for the buyer on paygate's hosted checkout (`checkoutUrl` in the answer), offering
 * `choices` (default: every configured account and method that takes the currency).
 */
/** Stripe-like notes: at most 50 keys of at most 40 characters, values of at most 500. */
export const METADATA_MAX_KEYS = 50;
export const metadataInput = z
  .record(z.string().min(1, 'keys must not be empty').max(40, 'keys are at most 40 characters'), z.string().max(500, 'values are at most 500 characters'))
  .refine((m) => Object.keys(m).length <= METADATA_MAX_KEYS, `at most ${METADATA_MAX_KEYS} keys`);

export const createPaymentInput = z
  .strictObject({
    merchantOrderId: z.string().min(1).max(64).regex(printable, 'must be printable ASCII without spaces'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as TWD'),
    amount: z.int().min(1, 'must be at least 1 minor unit'),
    items: z.array(orderItemInput).min(1).max(200),
    provider: z.string().min(1).max(32).optional(),
    method: z.string().min(1).max(32).optional(),
    account: z.string().min(1).max(64).optional(),
    choices: z.array(checkoutChoice).min(1).max(20).optional(),
    subject: z.string().trim().min(1).max(128).optional(),
    returnUrl: httpUrl.optional(),
    expiresInMinutes: z.int().min(1).max(43_200).optional(),
    metadata: metadataInput.optional(),
    /** The buyer's language: a direct payment's provider brings the buyer back to paygate's page in it. */
    locale: z.enum(['zh-TW', 'zh-CN', 'en']).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.provider !== undefined && input.method === undefined) ctx.addIssue({ code: 'custom', path: ['method'], message: 'is required with provider' });
    if (input.method !== undefined && input.provider === undefined) ctx.addIssue({ code: 'custom', path: ['provider'], message: 'is required with method' });
    if (input.account !== undefined && input.provider === undefined) ctx.addIssue({ code: 'custom', path: ['account'], message: 'needs provider; on a hosted checkout name accounts in choices' });
    if (input.choices !== undefined && input.provider !== undefined) ctx.addIssue({ code: 'custom', path: ['choices'], message: 'is for a hosted checkout: leave out provider and method' });
  });
export type CreatePaymentInput = z.infer<typeof createPaymentInput>;

const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

export const listPaymentsQuery = z.strictObject({
  status: z.enum(ORDER_STATUSES).optional(),
  provider: z.string().min(1).max(32).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().max(200).optional(),
});
export type ListPaymentsQuery = z.infer<typeof listPaymentsQuery>;

export const cancelPaymentInput = z.strictObject({ reason: z.string().max(500).optional() }).optional();

export const createMerchantInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  webhookUrl: httpUrl.optional(),
});

export const createRefundInput = z.strictObject({
  amount: z.int().min(1, 'must be at least 1 minor unit'),
  reason: z.string().trim().min(1).max(500).optional(),
});
export type CreateRefundInput = z.infer<typeof createRefundInput>;
