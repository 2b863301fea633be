import Router from '@koa/router';
import type { CoreDeps } from '../../core/deps.ts';
import type { MerchantState } from '../middleware/auth.ts';

/** One provider account as the merchant API shows it: what a checkout can ask for. */
export interface ProviderAccountView {
  provider: string;
  account: string;
  displayName: string;
  methods: readonly string[];
  currencies: readonly string[];
  default: boolean;
  simulated: boolean;
  /** The methods whose payments this account can refund at the provider (none: refunds are refused). */
  refundMethods: readonly string[];
  /** Whether a pending payment is also cancelled at the provider (otherwise paygate cancels it alone). */
  cancelsAtProvider: boolean;
}

/**
 * `GET /v1/providers`: the provider accounts this gateway offers, so a merchant (and `paygate
 * trigger`) can choose `provider`, `account` and `method` without knowing the configuration.
 * Names no provider: everything comes from the registry and what each adapter declares.
 */
export function providerRoutes(deps: CoreDeps): Router<MerchantState> {
  const router = new Router<MerchantState>();
  router.get('/v1/providers', (ctx) => {
    const data: ProviderAccountView[] = deps.registry.list().map((info) => {
      const adapter = deps.registry.find(info.provider, info.account);
      const refundMethods = adapter?.refund ? (adapter.refundMethods ?? info.methods) : [];
      return {
        provider: info.provider,
        account: info.account,
        displayName: info.displayName,
        methods: info.methods,
        currencies: info.currencies,
        default: info.isDefault,
        simulated: info.simulated,
        refundMethods: info.methods.filter((m) => refundMethods.includes(m)),
        cancelsAtProvider: Boolean(adapter?.cancel),
      };
    });
    ctx.body = { data };
  });
  return router;
}
