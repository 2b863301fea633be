import type { ProviderModule } from '../../core/payment-provider.ts';
import { AlipayProvider } from './adapter.ts';
import { alipayConfig, type AlipayConfig, type AlipaySettings } from './config.ts';
import type { AlipaySimulator, AlipaySimulatorSettings } from './simulator/index.ts';

export interface AlipayModuleOptions {
  simulator?: AlipaySimulatorSettings;
  /** Tests get hold of the simulator the gateway mounted. */
  onSimulator?: (simulator: AlipaySimulator) => void;
}

/** Alipay 支付宝 page (PC) and WAP pay through alipay-sdk. */
export function alipayModule(options: AlipayModuleOptions = {}): ProviderModule<AlipaySettings, AlipayConfig> {
  return {
    id: 'alipay',
    displayName: 'Alipay 支付宝',
    buyerNames: { 'zh-TW': '支付寶', 'zh-CN': '支付宝', en: 'Alipay' },
    configSchema: alipayConfig,
    createProvider: (account, config, context) => new AlipayProvider(account, config, context.callbackUrls, context.logger),
    async simulator(simOptions) {
      // Loaded only when a simulator is mounted: production never loads its code.
      const { createAlipaySimulator } = await import('./simulator/index.ts');
      const simulator = createAlipaySimulator(simOptions, options.simulator);
      options.onSimulator?.(simulator);
      return simulator;
    },
  };
}
