import type { ProviderModule } from '../../core/payment-provider.ts';
import { EcpayProvider } from './adapter.ts';
import { ecpayConfig, type EcpayConfig, type EcpaySettings } from './config.ts';
import type { EcpaySimulator, EcpaySimulatorSettings } from './simulator/index.ts';

export interface EcpayModuleOptions {
  simulator?: EcpaySimulatorSettings;
  /** Tests get hold of the simulator the gateway mounted. */
  onSimulator?: (simulator: EcpaySimulator) => void;
}

/** ECPay 綠界 AIO (全方位金流): card and ATM virtual accounts. */
export function ecpayModule(options: EcpayModuleOptions = {}): ProviderModule<EcpaySettings, EcpayConfig> {
  return {
    id: 'ecpay',
    displayName: 'ECPay 綠界',
    buyerNames: { 'zh-TW': '綠界科技 ECPay', 'zh-CN': '绿界科技 ECPay', en: 'ECPay' },
    configSchema: ecpayConfig,
    createProvider: (account, config, context) => new EcpayProvider(account, config, context.callbackUrls, context.logger),
    async simulator(simOptions) {
      // Loaded only when a simulator is mounted: production never loads its code.
      const { createEcpaySimulator } = await import('./simulator/index.ts');
      const simulator = createEcpaySimulator(simOptions, options.simulator);
      options.onSimulator?.(simulator);
      return simulator;
    },
  };
}
