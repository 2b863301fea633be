import { ConfigError, NotFoundError, ValidationError, type ErrorDetail } from './errors.ts';
import type { Logger } from './logger.ts';
import { timedProvider, type CoreMetrics } from './metrics.ts';
import { CredentialsHealth, watchCredentials, type AccountHealth } from './provider-health.ts';
import { tellSimulatorOfHandoffs } from './simulator-handoffs.ts';
import type { BuyerLocale, CallbackUrls, PaymentProvider, ProviderModule, SimulatorInstance } from './payment-provider.ts';

export interface AccountInfo {
  provider: string;
  account: string;
  displayName: string;
  /** The module's names for buyers per page language (ProviderModule.buyerNames), if it gives them. */
  buyerNames?: Readonly<Record<BuyerLocale, string>>;
  methods: readonly string[];
  currencies: readonly string[];
  isDefault: boolean;
  simulated: boolean;
}

interface AccountEntry {
  provider: PaymentProvider;
  info: AccountInfo;
  urls: CallbackUrls;
}

/** Resolves `(provider id, account id)` to a configured adapter. Core and server name no provider. */
export class ProviderRegistry {
  private readonly byProvider = new Map<string, Map<string, AccountEntry>>();
  /** Whether each account's credentials work: probes and calls report here (core/provider-health.ts). */
  readonly credentials: CredentialsHealth;

  /** With `metrics`, every account's provider calls are timed (core/metrics.ts timedProvider). */
  constructor(
    readonly modules: readonly ProviderModule<any>[],
    private readonly metrics?: CoreMetrics,
    logger?: Logger,
  ) {
    this.credentials = new CredentialsHealth(metrics, logger);
    const seen = new Set<string>();
    for (const m of modules) {
      if (!/^[a-z][a-z0-9-]{1,31}$/.test(m.id)) throw new ConfigError(`Provider id ${JSON.stringify(m.id)} is not [a-z0-9-]{2,32}`);
      if (seen.has(m.id)) throw new ConfigError(`Provider ${m.id} is registered twice`);
      seen.add(m.id);
    }
  }

  add(
    module: ProviderModule<any>,
    provider: PaymentProvider,
    options: { isDefault: boolean; simulated: boolean; urls: CallbackUrls },
  ): void {
    if (this.metrics) provider = timedProvider(provider, this.metrics);
    provider = watchCredentials(provider, this.credentials);
    const accounts = this.byProvider.get(module.id) ?? new Map<string, AccountEntry>();
    this.byProvider.set(module.id, accounts);
    accounts.set(provider.account, {
      provider,
      urls: options.urls,
      info: {
        provider: module.id,
        account: provider.account,
        displayName: module.displayName,
        buyerNames: module.buyerNames,
        methods: provider.methods,
        currencies: provider.currencies,
        isDefault: options.isDefault,
        simulated: options.simulated,
      },
    });
  }

  /** The account named, or the provider's default account; undefined when there is none. */
  find(providerId: string | null, account?: string | null): PaymentProvider | undefined {
    if (providerId === null || account === null) return undefined; // an order whose buyer has not chosen yet
    const accounts = this.byProvider.get(providerId);
    if (!accounts) return undefined;
    if (account !== undefined) return accounts.get(account)?.provider;
    for (const entry of accounts.values()) if (entry.info.isDefault) return entry.provider;
    return undefined;
  }

  /** Like find, but a missing provider or account is the caller's error (400 with the field). */
  resolveForCheckout(providerId: string, account?: string): PaymentProvider {
    if (!this.byProvider.has(providerId)) {
      const known = [...this.byProvider.keys()].join(', ') || 'none configured';
      throw ValidationError.field('provider', `unknown provider ${JSON.stringify(providerId)} (available: ${known})`, 'unknown_provider');
    }
    const provider = this.find(providerId, account);
    if (!provider) throw ValidationError.field('account', `provider ${providerId} has no account ${JSON.stringify(account ?? 'default')}`, 'unknown_account');
    return provider;
  }

  /** For the unified callback endpoints: an unknown provider or account is a 404. */
  resolveForCallback(providerId: string, account: string): PaymentProvider {
    const provider = this.find(providerId, account);
    if (!provider) throw new NotFoundError('Callback endpoint');
    return provider;
  }

  callbackUrlsFor(providerId: string, account: string): CallbackUrls {
    const entry = this.byProvider.get(providerId)?.get(account);
    if (!entry) throw new NotFoundError('Provider account');
    return entry.urls;
  }

  /** True when the accounts are provider simulators (never mixed with real ones: buildRegistry). */
  get simulated(): boolean {
    return this.list().some((a) => a.simulated);
  }

  /** The account's credentials verdict: `unknown` until probed (or when its provider cannot probe). */
  health(providerId: string, account: string): AccountHealth {
    return this.credentials.get(providerId, account);
  }

  list(): AccountInfo[] {
    return [...this.byProvider.values()].flatMap((accounts) => [...accounts.values()].map((e) => e.info));
  }
}

/** `{ "<provider id>": { "<account id>": { ...that provider's config... } } }` */
export type ProvidersConfig = Record<string, Record<string, unknown>>;

export interface MountedSimulator {
  providerId: string;
  /** Path prefix on the gateway, e.g. /sim/<id>. */
  basePath: string;
  instance: SimulatorInstance<unknown>;
}

export interface BuildRegistryOptions {
  modules: readonly ProviderModule<any>[];
  config: ProvidersConfig;
  publicUrl: string;
  logger: Logger;
  /** Start a simulator for every provider that has no configured account (the demo and tests). */
  simulateUnconfigured: boolean;
  simulatorTimeScale?: number;
  /** Times every provider call (server/metrics.ts). */
  metrics?: CoreMetrics;
  /** Each simulator's saved books by provider id (core/simulator-books.ts), to start from. */
  simulatorBooks?: ReadonlyMap<string, unknown>;
}

export function callbackUrls(publicUrl: string, providerId: string, account: string): CallbackUrls {
  const base = `${publicUrl.replace(/\/+$/, '')}/callbacks/${encodeURIComponent(providerId)}/${encodeURIComponent(account)}`;
  return { notifyUrl: `${base}/notify`, returnUrl: `${base}/return` };
}

/** Why a gateway with real accounts refuses to start simulators, and what to do instead. */
export const SIMULATORS_BESIDE_REAL_ACCOUNTS = (configured: readonly string[]): string =>
  `Provider simulators cannot run beside real accounts (configured: ${configured.join(', ')}): anyone could pay an order ` +
  `through a simulator's control API and the goods would ship for money that never moved. Either remove ` +
  `PAYGATE_SIMULATORS=on (real accounts only; providers without an account are simply not offered), or run the ` +
  `demo without PAYGATE_CONFIG (every provider on its simulator, no real account).`;

const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses every account of every provider (all problems reported together), builds the adapters
 * and, for providers with no account, starts their simulators.
 */
export async function buildRegistry(options: BuildRegistryOptions): Promise<{ registry: ProviderRegistry; simulators: MountedSimulator[] }> {
  const registry = new ProviderRegistry(options.modules, options.metrics, options.logger);
  const problems: ErrorDetail[] = [];
  const simulators: MountedSimulator[] = [];
  const known = new Set(options.modules.map((m) => m.id));
  const configured = Object.entries(options.config).filter(([, accounts]) => Object.keys(accounts ?? {}).length > 0).map(([id]) => id);
  if (options.simulateUnconfigured && configured.length > 0) {
    // A simulator's control API marks orders paid for anyone who asks: beside a real account the
    // hosted checkout would offer it, and goods would ship for money that never moved.
    throw new ConfigError(SIMULATORS_BESIDE_REAL_ACCOUNTS(configured), [
      { path: 'PAYGATE_SIMULATORS', message: 'simulators cannot run beside configured provider accounts' },
    ]);
  }
  for (const id of Object.keys(options.config)) {
    if (!known.has(id)) problems.push({ path: `providers.${id}`, message: `no provider module named ${id}` });
  }

  for (const module of options.modules) {
    const accounts = options.config[module.id] ?? {};
    const ids = Object.keys(accounts);
    const defaultId = ids.includes('default') ? 'default' : ids[0];
    for (const account of ids) {
      if (!ACCOUNT_ID.test(account)) {
        problems.push({ path: `providers.${module.id}.${account}`, message: 'account ids are 1-64 of [A-Za-z0-9_-]' });
        continue;
      }
      const parsed = module.configSchema.safeParse(accounts[account]);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          problems.push({ path: ['providers', module.id, account, ...issue.path.map(String)].join('.'), message: issue.message });
        }
        continue;
      }
      // An account may carry its own public base for callbacks (a separate callback host).
      const ownBase = (parsed.data as { callbackBaseUrl?: unknown } | null)?.callbackBaseUrl;
      const urls = callbackUrls(typeof ownBase === 'string' ? ownBase : options.publicUrl, module.id, account);
      let provider: PaymentProvider;
      try {
        // Providers check what zod cannot (keys that must parse as RSA keys...) when built: at boot.
        provider = module.createProvider(account, parsed.data, {
          logger: options.logger.child({ provider: module.id, account }),
          callbackUrls: urls,
        });
      } catch (err) {
        if (err instanceof ConfigError && err.details.length > 0) {
          for (const d of err.details) problems.push({ path: ['providers', module.id, account, d.path].filter(Boolean).join('.'), message: d.message });
        } else {
          problems.push({ path: `providers.${module.id}.${account}`, message: err instanceof Error ? err.message : String(err) });
        }
        continue;
      }
      registry.add(module, provider, { isDefault: account === defaultId, simulated: false, urls });
    }
    if (ids.length === 0 && options.simulateUnconfigured && module.simulator) {
      const basePath = `/sim/${module.id}`;
      const simOptions = {
        baseUrl: `${options.publicUrl.replace(/\/+$/, '')}${basePath}`,
        logger: options.logger.child({ simulator: module.id }),
        timeScale: options.simulatorTimeScale,
      };
      const books = options.simulatorBooks?.get(module.id);
      let instance: SimulatorInstance<unknown>;
      try {
        instance = await module.simulator({ ...simOptions, books });
      } catch (err) {
        // Saved books the simulator cannot take (a half-written or older snapshot) must not stop
        // the demo: a fresh instance starts empty, and the log says what was dropped.
        if (books === undefined) throw err;
        options.logger.warn({ simulator: module.id, err: err instanceof Error ? err.message : String(err) }, 'simulator books could not be restored; starting empty');
        instance = await module.simulator(simOptions);
      }
      simulators.push({ providerId: module.id, basePath, instance });
      const urls = callbackUrls(options.publicUrl, module.id, 'default');
      const adapter = module.createProvider('default', module.configSchema.parse(instance.accountConfig('default')), {
        logger: options.logger.child({ provider: module.id, account: 'default' }),
        callbackUrls: urls,
      });
      // Its control API can then open a trade the buyer has not brought to the cashier yet.
      const provider = tellSimulatorOfHandoffs(adapter, instance);
      registry.add(module, provider, { isDefault: true, simulated: true, urls });
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`Provider configuration is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`, problems);
  }
  return { registry, simulators };
}
