/** paygate/webhook: verifying paygate's webhooks (docs/webhooks.md). */

/** `Paygate-Signature`. */
export declare const SIGNATURE_HEADER: 'Paygate-Signature';

/** How far `t` may be from now, in the past or in the future: 300 seconds. */
export declare const DEFAULT_TOLERANCE_SECONDS: 300;

/** The raw body exactly as received: a string is taken as UTF-8. Never parsed-and-reserialised JSON. */
export type RawBody = string | Buffer | Uint8Array | ArrayBuffer;

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

export interface VerifyOptions {
  /** Largest accepted |now - t| in seconds; 300 unless given. */
  toleranceSeconds?: number;
  /** The receiver's clock (a Date or epoch milliseconds); the current time unless given. */
  now?: Date | number;
}

/**
 * Checks a Paygate-Signature header against the raw body with the webhook secret (or any of
 * several, while you rotate). One matching `v1` value is enough; compared in constant time.
 */
export declare function verifyWebhook(body: RawBody, header: string | string[] | undefined, secret: string | readonly string[], options?: VerifyOptions): VerifyResult;

/** A Paygate-Signature value for `payload`, for testing your own handler. */
export declare function generateTestHeader(input: { payload: RawBody; secret: string | readonly string[]; timestamp?: number }): string;

declare const helper: {
  SIGNATURE_HEADER: typeof SIGNATURE_HEADER;
  DEFAULT_TOLERANCE_SECONDS: typeof DEFAULT_TOLERANCE_SECONDS;
  verifyWebhook: typeof verifyWebhook;
  generateTestHeader: typeof generateTestHeader;
};
export default helper;
