import type { ProviderModule } from '../../core/payment-provider.ts';
import { SinopacProvider } from './adapter.ts';
import { sinopacConfig, type SinopacConfig, type SinopacSettings } from './config.ts';
import type { SinopacSimulator, SinopacSimulatorSettings } from './simulator/index.ts';

export interface SinopacModuleOptions {
  simulator?: SinopacSimulatorSettings;
  /** Tests get hold of the simulator the gateway mounted. */
  onSimulator?: (simulator: SinopacSimulator) => void;
}

/** Bank SinoPac 豐收款 (QPay WebAPI): ATM virtual accounts and cards. */
export function sinopacModule(options: SinopacModuleOptions = {}): ProviderModule<SinopacSettings, SinopacConfig> {
  return {
    id: 'sinopac',
    displayName: 'Bank SinoPac 豐收款',
    buyerNames: { 'zh-TW': '永豐銀行 豐收款', 'zh-CN': '永丰银行 丰收款', en: 'Bank SinoPac (SinoPac Pay)' },
    configSchema: sinopacConfig,
    createProvider: (account, config, context) =>
      new SinopacProvider(account, config, context.callbackUrls, context.logger),
    async simulator(simOptions) {
      // Loaded only when a simulator is mounted: production never loads its code.
      const { createSinopacSimulator } = await import('./simulator/index.ts');
      const simulator = createSinopacSimulator(simOptions, options.simulator);
      options.onSimulator?.(simulator);
      return simulator;
    },
  };
}
