import { z } from 'zod';

/**
 * One Alipay app (docs/protocols/alipay.md#credentials, docs/protocols/alipay.md#endpoints-and-environments). Keys are PEM or bare base64; the private key's
 * format is said explicitly (keyType), since the SDK only finds out at the first signature (§1.3).
 */
export const alipayConfig = z.strictObject({
  appId: z.string().regex(/^\d{6,32}$/, 'is the numeric app id'),
  privateKey: z.string().trim().min(100, 'is an RSA private key (PEM or base64)'),
  keyType: z.enum(['PKCS1', 'PKCS8']),
  alipayPublicKey: z.string().trim().min(100, "is Alipay's RSA public key (PEM or base64), not the app's own"),
  signType: z.literal('RSA2').default('RSA2'),
  /**
   * The v2 gateway: production https://openapi.alipay.com/gateway.do, sandbox
   * https://openapi-sandbox.dl.alipaydev.com/gateway.do, or a simulator.
   */
  gateway: z.string().url(),
  /** When set, notifies must name this seller (§3.5). */
  sellerId: z
    .string()
    .regex(/^2088\d{12}$/, 'is 2088 followed by 12 digits')
    .optional(),
  /** Overrides PAYGATE_PUBLIC_URL for this app's notify_url / return_url. */
  callbackBaseUrl: z.string().url().optional(),
  /**
   * Currencies this app may charge. Only CNY for now: other currencies need trans_currency
   * (cross-border products), which this adapter does not send, so Alipay would read the figure as yuan.
   */
  currencies: z.array(z.literal('CNY')).min(1).default(['CNY']),
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

export type AlipayConfig = z.input<typeof alipayConfig>;
export type AlipaySettings = z.output<typeof alipayConfig>;
