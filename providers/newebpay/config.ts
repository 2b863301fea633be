import { z } from 'zod';
import { HASH_IV_LENGTH, HASH_KEY_LENGTH } from './crypto.ts';

// HashKey and HashIV are secrets (server/logger.ts redacts both names): messages never quote them.
const secret = (name: string, length: number) =>
  z
    .string()
    // §2: the key is the AES key itself; PHP zero-pads a short one, Node refuses it. Checked at boot.
    .refine((v) => Buffer.byteLength(v, 'utf8') === length && /^[\x21-\x7e]+$/.test(v), `${name} must be exactly ${length} printable ASCII characters`);

/** The paygate methods this provider knows, each one MPG payment flag (§4.2). */
export const NEWEBPAY_METHODS = ['card', 'atm', 'cvs', 'barcode'] as const;
export type NewebpayMethod = (typeof NEWEBPAY_METHODS)[number];

/**
 * One NewebPay shop (商店) (docs/protocols/newebpay.md#credentials). Field names follow NewebPay's
 * own. Several shops are configured side by side as separate accounts.
 */
export const newebpayConfig = z.strictObject({
  /** §2: the shop id, e.g. MS127874575; String(15) in requests. */
  MerchantID: z.string().regex(/^[A-Za-z0-9]{1,15}$/, 'is 1-15 letters or digits'),
  HashKey: secret('HashKey', HASH_KEY_LENGTH),
  HashIV: secret('HashIV', HASH_IV_LENGTH),
  /**
   * The host the MPG and API paths are appended to: sandbox https://ccore.newebpay.com, production
   * https://core.newebpay.com, or a simulator (which may add a path, e.g. …/sim/newebpay).
   */
  baseUrl: z
    .string()
    .url()
    .transform((v) => v.replace(/\/+$/, '')),
  /** Overrides PAYGATE_PUBLIC_URL for this shop's NotifyURL / ReturnURL / CustomerURL. */
  callbackBaseUrl: z.string().url().optional(),
  /** The methods enabled for this shop at NewebPay (§8 MPG02003: a flag for a method not enabled is refused). */
  methods: z
    .array(z.enum(NEWEBPAY_METHODS))
    .min(1)
    .default([...NEWEBPAY_METHODS])
    .transform((list) => [...new Set(list)]),
  /**
   * §6, §8 TRA10071: every status query for an order NewebPay does not know counts toward a 4-hour
   * lock of QueryTradeInfo, and a probe is such a query. Off by default: the account stays `unknown`.
   */
  probe: z.boolean().default(false),
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

export type NewebpayConfig = z.input<typeof newebpayConfig>;
export type NewebpaySettings = z.output<typeof newebpayConfig>;
