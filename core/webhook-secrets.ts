import type { Db } from './db.ts';
import { retryingTransaction, toNumber } from './db.ts';
import { randomString } from './ids.ts';

/**
 * A merchant's webhook secrets (docs/webhooks.md, "Rotating the secret"). A rotation makes a new
 * secret current at once and keeps the one it replaces valid for an overlap window: deliveries in
 * that window carry two `v1=` signatures (the new secret's first), so a receiver can switch to the
 * new secret at any moment of the window without rejecting a single webhook. After the window only
 * the new secret signs. A second rotation inside the window replaces the older secret: at most two
 * secrets sign at any time.
 */

/** How long the replaced secret keeps signing after a rotation, unless the caller says otherwise. */
export const WEBHOOK_SECRET_OVERLAP_MS = 24 * 3_600_000;

/** The longest overlap a rotation may ask for: a week. */
export const WEBHOOK_SECRET_MAX_OVERLAP_MS = 7 * 24 * 3_600_000;

export function newWebhookSecret(): string {
  return `whsec_${randomString(40)}`;
}

/** The columns of `merchants` this module reads. */
export interface WebhookSecretColumns {
  webhook_secret: string;
  webhook_secret_previous?: string | null;
  webhook_secret_previous_until?: number | string | null;
}

/** The secrets that sign a delivery made at `now`: the current one, then the replaced one while its overlap lasts. */
export function signingSecrets(row: WebhookSecretColumns, now: Date): string[] {
  const secrets = [row.webhook_secret];
  const previous = row.webhook_secret_previous;
  const until = row.webhook_secret_previous_until;
  if (previous && until != null && now.getTime() < toNumber(until) && previous !== row.webhook_secret) secrets.push(previous);
  return secrets;
}

export interface WebhookSecretRotation {
  secret: string;
  /** When the replaced secret stops signing; null when the overlap is zero (it stopped at once). */
  previousValidUntil: Date | null;
}

/**
 * Makes a new secret current; the current one keeps signing for `overlapMs` after `now`. Returns
 * undefined when there is no such merchant.
 */
export async function rotateWebhookSecret(db: Db, merchantId: string, now: Date, overlapMs: number = WEBHOOK_SECRET_OVERLAP_MS): Promise<WebhookSecretRotation | undefined> {
  if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > WEBHOOK_SECRET_MAX_OVERLAP_MS) {
    throw new RangeError(`overlapMs must be a whole number from 0 to ${WEBHOOK_SECRET_MAX_OVERLAP_MS}`);
  }
  const secret = newWebhookSecret();
  return retryingTransaction(db, async (trx) => {
    const row = (await trx('merchants').where({ id: merchantId }).first('webhook_secret')) as { webhook_secret: string } | undefined;
    if (!row) return undefined;
    const until = overlapMs > 0 ? now.getTime() + overlapMs : null;
    // Compare-and-set on the secret read: two rotations at once cannot both keep "the previous" one.
    const updated = await trx('merchants')
      .where({ id: merchantId, webhook_secret: row.webhook_secret })
      .update({ webhook_secret: secret, webhook_secret_previous: until === null ? null : row.webhook_secret, webhook_secret_previous_until: until });
    if (updated !== 1) throw new Error('the webhook secret changed during the rotation; try again');
    return { secret, previousValidUntil: until === null ? null : new Date(until) };
  }, { operation: 'rotate_webhook_secret' });
}

/** Sets (or, with null, removes) the merchant's webhook URL; false when there is no such merchant. */
export async function setWebhookUrl(db: Db, merchantId: string, url: string | null): Promise<boolean> {
  return (await db('merchants').where({ id: merchantId }).update({ webhook_url: url })) === 1;
}
