import type { ProviderModule } from '../core/payment-provider.ts';
import { alipayModule } from './alipay/index.ts';
import { ecpayModule } from './ecpay/index.ts';
import { sinopacModule } from './sinopac/index.ts';
import { newebpayModule } from './newebpay/index.ts';
import { linepayModule } from './linepay/index.ts';

/**
 * The one list of payment providers. A provider is a folder under providers/ plus one line here;
 * nothing in core/ or server/ names it.
 */
export const providerModules: ProviderModule<any>[] = [sinopacModule(), alipayModule(), ecpayModule(), newebpayModule(), linepayModule()];
