/**
 * The provider module (docs/providers.md#the-module), written from the template (providers/_template):
 * id, display name, config schema, the factory of one account's adapter, and the simulator, loaded
 * with a dynamic `import()` only when one is mounted (so a production process never loads it).
 * A provider is registered by one line in providers/index.ts; the template itself is not (production
 * never offers it): tests pass it to the registry explicitly.
 */
import type { ProviderModule } from '../../core/payment-provider.ts';
import { FakePayProvider } from './adapter.ts';
import { fakePayConfig, type FakePayConfig, type FakePaySettings } from './config.ts';
import type { FakePaySimulator } from './simulator.ts';

/**
 * FakePay: a small but real protocol (form fields signed with HMAC-SHA256: crypto.ts), made up for
 * the template. The options are for tests: the acknowledgement style, and a hook that is handed the
 * simulator once it starts.
 */
export function fakePayModule(options: { ackAfter?: 'stored' | 'applied'; onSimulator?: (sim: FakePaySimulator) => void } = {}): ProviderModule<FakePaySettings, FakePayConfig> {
  return {
    id: 'fakepay',
    displayName: 'FakePay (template)',
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
