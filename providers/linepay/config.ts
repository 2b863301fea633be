/**
 * One LINE Pay account's configuration (docs/providers.md#configuration, docs/protocols/linepay.md#credentials),
 * parsed once at boot. `channelSecret` keys the request HMAC and is never sent; server/logger.ts
 * redacts it by name. Read timeouts are LINE Pay's stated minimums per API
 * (docs/protocols/linepay.md#timeouts).
 */
import { z } from 'zod';

export const linepayConfig = z.strictObject({
  /** The Channel ID from the merchant center (digits). */
  channelId: z.string().regex(/^\d{6,20}$/, 'must be the digits of the Channel ID'),
  channelSecret: z.string().min(16),
  /** `https://sandbox-api-pay.line.me`, `https://api-pay.line.me`, or the simulator. */
  baseUrl: z.string().url(),
  /**
   * `false`: Confirm only authorises and paygate captures right after (LINE Pay Taiwan allows it
   * only by prior agreement); `true` (LINE Pay's default): Confirm takes the money.
   */
  capture: z.boolean().default(true),
  /** The only currency paygate sends LINE Pay: Taiwan dollars, in whole dollars. */
  currency: z.literal('TWD').default('TWD'),
  requestTimeoutMs: z.int().min(1_000).default(20_000),
  confirmTimeoutMs: z.int().min(1_000).default(40_000),
  captureTimeoutMs: z.int().min(1_000).default(60_000),
  /** Void, Refund and Check Payment Status. */
  shortTimeoutMs: z.int().min(1_000).default(20_000),
  detailsTimeoutMs: z.int().min(1_000).default(60_000),
  callbackBaseUrl: z.string().url().optional(),
});
export type LinepayConfig = z.input<typeof linepayConfig>;
export type LinepaySettings = z.output<typeof linepayConfig>;
