/**
 * The README's provider table says what each provider declares in code: its methods, currencies,
 * when a notify is acknowledged, which methods can be refunded and whether it can cancel at the
 * provider. A provider that changes one of these fails here until the table follows.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import test from 'ava';
import { silentLogger } from '../../core/logger.ts';
import { providerModules } from '../../providers/index.ts';

const README = readFileSync(resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

function rowOf(id: string): string[] {
  const section = README.slice(README.indexOf('## Providers'));
  const line = section.split('\n').find((l) => l.startsWith(`| \`${id}\``));
  if (!line) throw new Error(`README's provider table has no row for ${id}`);
  return line.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim());
}

for (const module of providerModules) {
  test(`README's row for ${module.id} matches what the provider declares`, async (t) => {
    const sim = await module.simulator!({ baseUrl: 'http://127.0.0.1:9/sim', logger: silentLogger, timeScale: 1 });
    try {
      const provider = module.createProvider('default', module.configSchema.parse(sim.accountConfig('default')), {
        logger: silentLogger,
        callbackUrls: { notifyUrl: 'http://127.0.0.1:9/n', returnUrl: 'http://127.0.0.1:9/r' },
      });
      const [, methods, currencies, ack, refund, cancel] = rowOf(module.id);
      for (const m of provider.methods) t.true(methods!.includes(`\`${m}\``), `method ${m} in "${methods}"`);
      for (const c of provider.currencies) t.true(currencies!.includes(c), `currency ${c} in "${currencies}"`);
      t.true(ack!.startsWith(provider.ackAfter === 'stored' ? 'on store' : 'on apply'), `ackAfter ${provider.ackAfter}: "${ack}"`);
      if (!provider.refund) t.regex(refund!, /^(no|none)/);
      else if (provider.refundMethods) for (const m of provider.refundMethods) t.true(refund!.startsWith(m) || refund!.includes(`${m},`), `refunds ${m}: "${refund}"`);
      else t.notRegex(refund!, /^(no|none)/);
      t.is(/^local only/.test(cancel!), !provider.cancel, `cancel at the provider: "${cancel}"`);
    } finally {
      await sim.close?.();
    }
  });
}
