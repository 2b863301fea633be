import { z } from 'zod';

// HashKey and HashIV are secrets: their messages never quote the value, and nothing logs them.
const secret = (name: string) =>
  z
    .string()
    .min(1, `${name} is required`)
    .max(64, `${name} is at most 64 characters`)
    // §13.1: whitespace around a key is a classic cause of "CheckMacValue Error"; refuse it at boot.
    .refine((v) => v.trim() === v && !/\s/.test(v), `${name} must not contain spaces`);

/**
 * One ECPay AIO merchant (docs/protocols/ecpay.md#credentials, docs/protocols/ecpay.md#endpoints-and-environments). Field names follow ECPay's own. Several
 * merchants are configured side by side as separate accounts.
 */
export const ecpayConfig = z.strictObject({
  /** §3.2: String(10); 7 digits in practice. */
  MerchantID: z.string().regex(/^[0-9A-Za-z]{1,10}$/, 'is 1-10 letters or digits'),
  HashKey: secret('HashKey'),
  HashIV: secret('HashIV'),
  /**
   * The host the AIO paths are appended to: stage https://payment-stage.ecpay.com.tw, production
   * https://payment.ecpay.com.tw, or a simulator (which may add a path, e.g. …/sim/ecpay).
   */
  baseUrl: z
    .string()
    .url()
    .transform((v) => v.replace(/\/+$/, '')),
  /** Overrides PAYGATE_PUBLIC_URL for this merchant's ReturnURL / PaymentInfoURL / OrderResultURL. */
  callbackBaseUrl: z.string().url().optional(),
  /**
   * The card "check code" from ECPay's back office, needed to read a card's close/refund state
   * (§9 CreditCheckCode). Without it the account cannot refund: the capability is left out.
   */
  creditCheckCode: z
    .string()
    .regex(/^[0-9A-Za-z]{1,20}$/, 'is 1-20 letters or digits')
    .optional(),
  /** The methods enabled for this merchant at ECPay (§3.2: ChoosePayment must be enabled there). */
  methods: z
    .array(z.enum(['card', 'atm']))
    .min(1)
    .default(['card', 'atm'])
    .transform((list) => [...new Set(list)]),
  /**
   * §10.1: with daily auto-close on, ECPay closes authorised cards at 20:15 Taipei and DoAction must
   * not be called until 20:30; refunds in that window fail cleanly (the merchant tries later).
   */
  autoCloseGuard: z.boolean().default(true),
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

export type EcpayConfig = z.input<typeof ecpayConfig>;
export type EcpaySettings = z.output<typeof ecpayConfig>;
