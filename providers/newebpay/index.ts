import type { ProviderModule } from '../../core/payment-provider.ts';
import { NewebpayProvider } from './adapter.ts';
import { newebpayConfig, type NewebpayConfig, type NewebpaySettings } from './config.ts';
import type { NewebpaySimulator, NewebpaySimulatorSettings } from './simulator/index.ts';

export interface NewebpayModuleOptions {
  simulator?: NewebpaySimulatorSettings;
  /** Tests get hold of the simulator the gateway mounted. */
  onSimulator?: (simulator: NewebpaySimulator) => void;
}

/** NewebPay 藍新金流 MPG (多功能收款): card, ATM virtual accounts and convenience-store codes. */
export function newebpayModule(options: NewebpayModuleOptions = {}): ProviderModule<NewebpaySettings, NewebpayConfig> {
  return {
    id: 'newebpay',
    displayName: 'NewebPay 藍新',
    buyerNames: { 'zh-TW': '藍新金流 NewebPay', 'zh-CN': '蓝新金流 NewebPay', en: 'NewebPay' },
    configSchema: newebpayConfig,
    createProvider: (account, config, context) => new NewebpayProvider(account, config, context.callbackUrls, context.logger),
    async simulator(simOptions) {
      // Loaded only when a simulator is mounted: production never loads its code.
      const { createNewebpaySimulator } = await import('./simulator/index.ts');
      const simulator = createNewebpaySimulator(simOptions, options.simulator);
      options.onSimulator?.(simulator);
      return simulator;
    },
  };
}
