import type { AppConfig } from '../../core/config.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { updateMerchantDisplay, type MerchantDisplayInput } from '../../core/merchants.ts';
import { bootstrap } from '../bootstrap.ts';
import { str, UsageError, type FlagValues, type Flags } from './args.ts';

export const MERCHANT_UPDATE_USAGE = `  merchant:update --id <id> [--display-name <name>] [--logo-url <https url>]
                  [--support-email <email>] [--support-url <url>]
                                  what the buyer's pages show about the shop; '' clears a field
`;

export const merchantUpdateFlags: Flags = {
  id: { type: 'string' },
  'display-name': { type: 'string' },
  'logo-url': { type: 'string' },
  'support-email': { type: 'string' },
  'support-url': { type: 'string' },
};

const FLAG_OF: Record<keyof MerchantDisplayInput, string> = {
  displayName: 'display-name',
  logoUrl: 'logo-url',
  supportEmail: 'support-email',
  supportUrl: 'support-url',
};

/**
 * `merchant:update`: sets the shop's display name, logo and support contact. A value the schema
 * refuses is a usage error naming the flag at fault (exit 2); an unknown merchant exits 1.
 */
export async function runMerchantUpdate(values: FlagValues, config: AppConfig): Promise<number> {
  const id = str(values, 'id');
  if (!id) throw new UsageError('--id is required');
  const input: Record<string, string> = {};
  for (const [field, flag] of Object.entries(FLAG_OF)) {
    const value = str(values, flag);
    if (value !== undefined) input[field] = value;
  }
  if (Object.keys(input).length === 0) throw new UsageError('give at least one of --display-name, --logo-url, --support-email, --support-url');
  const runtime = await bootstrap({ ...config, simulateUnconfigured: false, logLevel: 'warn' });
  try {
    const shown = await updateMerchantDisplay(runtime.db, id, input);
    console.log(`merchant:       ${id}`);
    console.log(`display name:   ${shown.name}`);
    console.log(`logo URL:       ${shown.logoUrl ?? '-'}`);
    console.log(`support email:  ${shown.supportEmail ?? '-'}`);
    console.log(`support URL:    ${shown.supportUrl ?? '-'}`);
    return 0;
  } catch (err) {
    if (err instanceof ValidationError) {
      const problems = err.details.map((d) => {
        const flag = FLAG_OF[d.path as keyof MerchantDisplayInput];
        return flag ? `--${flag} ${d.message}` : d.message;
      });
      throw new UsageError(problems.join('; '));
    }
    if (err instanceof NotFoundError) {
      console.error(`no merchant ${id}`);
      return 1;
    }
    throw err;
  } finally {
    await runtime.close();
  }
}
