import { z } from 'zod';

const hexKey = z
  .string()
  .refine((v) => /^[0-9A-Fa-f]{16}$/.test(v.replace(/-/g, '').slice(0, 16)), 'must hold 16 hex digits (dashes allowed)');

/**
 * One SinoPac shop (商店). Field names follow the bank's own: ShopNo, the four hash values A1/A2/B1/B2
 * and the X-KeyID header value (docs/protocols/sinopac.md#credentials).
 */
export const sinopacConfig = z.strictObject({
  ShopNo: z.string().regex(/^[A-Za-z0-9_]{1,20}$/, 'is at most 20 of [A-Za-z0-9_]'),
  A1: hexKey,
  A2: hexKey,
  B1: hexKey,
  B2: hexKey,
  KeyID: z.string().min(1).max(200),
  /**
   * The API base the client appends `Nonce` / `Order` to (§1):
   * sandbox https://apisbx.sinopac.com/funBIZ-Sbx/QPay.WebAPI/api/,
   * production https://api.sinopac.com/funBIZ/QPay.WebAPI/api/, or a simulator.
   */
  baseUrl: z
    .string()
    .url()
    .transform((v) => (v.endsWith('/') ? v : `${v}/`)),
  /** Overrides PAYGATE_PUBLIC_URL for this shop's ReturnURL / BackendURL (e.g. a separate callback host). */
  callbackBaseUrl: z.string().url().optional(),
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
  /**
   * CardParam.AutoBilling (§7.1): the bank captures automatically after authorisation. Only 'Y':
   * manual capture (OrderMaintain Command P, with ExpBillingDays) is not built, and an authorisation
   * nobody captures is money never collected.
   */
  autoBilling: z.literal('Y').default('Y'),
  /** CardParam.ExpMinutes: how long the card page link stays valid (§7.1; range 1-30 UNVERIFIED). */
  cardExpMinutes: z.int().min(1).max(30).default(10),
});

export type SinopacConfig = z.input<typeof sinopacConfig>;
export type SinopacSettings = z.output<typeof sinopacConfig>;
