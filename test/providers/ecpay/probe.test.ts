/**
 * ECPay credentials probe (issue 13 item 6): a wrong HashKey / HashIV / MerchantID is told apart
 * from an unreachable ECPay. The simulator runs apart from the app.
 */
import { silentLogger } from '../../../core/logger.ts';
import { ecpayModule } from '../../../providers/ecpay/index.ts';
import { createEcpaySimulator } from '../../../providers/ecpay/simulator/index.ts';
import { probeScenarios } from '../../helpers/probe-scenarios.ts';

probeScenarios({
  id: 'ecpay',
  module: () => ecpayModule(),
  simulator: (baseUrl) => createEcpaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.0002 }),
  wrong: [
    { name: 'wrong HashKey', change: (c) => ({ ...c, HashKey: 'WRONGWRONGWRONG1' }) },
    { name: 'wrong HashIV', change: (c) => ({ ...c, HashIV: 'WRONGWRONGWRONG2' }) },
    { name: 'unknown MerchantID', change: (c) => ({ ...c, MerchantID: '9999999' }) },
  ],
  unreachable: (c) => ({ ...c, baseUrl: 'http://127.0.0.1:9', timeoutMs: 2_000 }),
  body: { provider: 'ecpay', method: 'card' },
  createCallsProvider: false,
  secrets: (c) => [String(c.HashKey), String(c.HashIV)],
});
