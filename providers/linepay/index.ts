/**
 * LINE Pay Online API v3 (docs/protocols/linepay.md): the e-wallet most used in Taiwan. Method
 * `wallet`; the payment completes when paygate's server confirms it after the buyer's browser comes
 * back (docs/architecture.md#a-notify-the-browser-brings). The simulator is loaded with a dynamic
 * `import()` only when one is mounted, so a production process never loads it.
 */
import type { ProviderModule } from '../../core/payment-provider.ts';
import { LinepayProvider } from './adapter.ts';
import { linepayConfig, type LinepayConfig, type LinepaySettings } from './config.ts';
import type { LinepaySimulator, LinepaySimulatorOptions } from './simulator/index.ts';

export function linepayModule(options: { simulator?: LinepaySimulatorOptions; onSimulator?: (sim: LinepaySimulator) => void } = {}): ProviderModule<LinepaySettings, LinepayConfig> {
  return {
    id: 'linepay',
    displayName: 'LINE Pay',
    buyerNames: { 'zh-TW': 'LINE Pay', 'zh-CN': 'LINE Pay', en: 'LINE Pay' },
    configSchema: linepayConfig,
    createProvider: (account, config, context) => new LinepayProvider(account, config, context.callbackUrls),
    async simulator(simOptions) {
      const { createLinepaySimulator } = await import('./simulator/index.ts');
      const sim = createLinepaySimulator(simOptions, options.simulator);
      options.onSimulator?.(sim);
      return sim;
    },
  };
}
