import type { ProviderModule } from '../../../core/payment-provider.ts';
import { FakePayProvider } from './adapter.ts';
import { fakePayConfig, type FakePayConfig, type FakePaySettings } from './config.ts';
import type { FakePaySimulator } from './simulator.ts';

/**
 * A provider module defined only in test/ (never shipped in providers/): it proves the spine's
 * contract, registry, endpoints and simulator mounting without any real provider.
 */
export function fakePayModule(options: { ackAfter?: 'stored' | 'applied'; onSimulator?: (sim: FakePaySimulator) => void } = {}): ProviderModule<FakePaySettings, FakePayConfig> {
  return {
    id: 'fakepay',
    displayName: 'FakePay (test only)',
    configSchema: fakePayConfig,
    createProvider: (account, config) => new FakePayProvider(account, config),
    async simulator(simOptions) {
      const { createFakePaySimulator } = await import('./simulator.ts');
      const sim = createFakePaySimulator(simOptions, options.ackAfter ?? 'applied');
      options.onSimulator?.(sim);
      return sim;
    },
  };
}
