import type { AppConfig } from '../../core/config.ts';
import { webhookUrlProblem } from '../../core/webhook-target.ts';
import { rotateWebhookSecret, setWebhookUrl, WEBHOOK_SECRET_MAX_OVERLAP_MS, WEBHOOK_SECRET_OVERLAP_MS } from '../../core/webhook-secrets.ts';
import { parseIntFlag, str, UsageError, type FlagValues, type Flags } from './args.ts';
import { openCliRuntime } from './runtime.ts';

export const merchantWebhookFlags: Flags = {
  id: { type: 'string' },
  url: { type: 'string' },
  'clear-url': { type: 'boolean' },
  'rotate-secret': { type: 'boolean' },
  'overlap-hours': { type: 'string' },
};

const DEFAULT_OVERLAP_HOURS = WEBHOOK_SECRET_OVERLAP_MS / 3_600_000;
const MAX_OVERLAP_HOURS = WEBHOOK_SECRET_MAX_OVERLAP_MS / 3_600_000;

export const MERCHANT_WEBHOOK_USAGE = `  merchant:webhook --id <id> [--url <url> | --clear-url] [--rotate-secret [--overlap-hours ${DEFAULT_OVERLAP_HOURS}]]
                                  set (or clear) the merchant's webhook URL and/or issue a new webhook
                                  secret, printed once; the old secret keeps signing beside it for
                                  --overlap-hours (0 to ${MAX_OVERLAP_HOURS}; 0 stops it at once)
`;

/** A webhook URL as merchant:create takes it: http(s), at most 2000 characters, not at this machine or a private network. */
export function checkWebhookUrlFlag(flag: string, url: string, allowPrivate: boolean): void {
  if (url.length > 2000) throw new UsageError(`--${flag} must be at most 2000 characters`);
  // Checked again on every delivery, after DNS (core/webhook-target.ts); here what needs no DNS.
  const problem = webhookUrlProblem(url, allowPrivate);
  if (problem) throw new UsageError(`--${flag} ${problem}`);
  const parsed = new URL(url);
  if (parsed.username || parsed.password) throw new UsageError(`--${flag} must not carry a user name or password`);
}

/** `npm run paygate -- merchant:webhook ...`; returns the exit code. */
export async function runMerchantWebhook(values: FlagValues, config: AppConfig): Promise<number> {
  const id = str(values, 'id');
  if (!id) throw new UsageError('--id is required');
  const url = str(values, 'url');
  const clear = values['clear-url'] === true;
  const rotate = values['rotate-secret'] === true;
  if (url !== undefined && clear) throw new UsageError('give --url or --clear-url, not both');
  if (url === undefined && !clear && !rotate) throw new UsageError('give --url <url>, --clear-url or --rotate-secret');
  if (!rotate && values['overlap-hours'] !== undefined) throw new UsageError('--overlap-hours goes with --rotate-secret');
  if (url !== undefined) checkWebhookUrlFlag('url', url, config.webhookAllowPrivate);
  const overlapHours = parseIntFlag('overlap-hours', str(values, 'overlap-hours'), DEFAULT_OVERLAP_HOURS, 0, MAX_OVERLAP_HOURS);

  const runtime = await openCliRuntime(config, { providers: false });
  try {
    const { db } = runtime.deps;
    const exists = await db('merchants').where({ id }).first('id');
    if (!exists) {
      console.error(`paygate: no merchant ${id}`);
      return 1;
    }
    if (url !== undefined || clear) {
      await setWebhookUrl(db, id, clear ? null : url!);
      console.log(clear ? 'webhook URL:     (none: events are recorded, not sent)' : `webhook URL:     ${url}`);
    }
    if (rotate) {
      const rotation = await rotateWebhookSecret(db, id, runtime.deps.now(), overlapHours * 3_600_000);
      if (!rotation) {
        console.error(`paygate: no merchant ${id}`);
        return 1;
      }
      console.log(`webhook secret:  ${rotation.secret}`);
      console.log(
        rotation.previousValidUntil
          ? `The previous secret also signs every webhook until ${rotation.previousValidUntil.toISOString()} (a second v1= value); switch your receiver to the new one before then.`
          : 'The previous secret stopped signing at once.',
      );
      console.log('Store the new secret now: it is not shown again.');
    }
  } finally {
    await runtime.close();
  }
  return 0;
}
