import test from 'ava';
import { ConfigError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/logger.ts';
import { buildRegistry } from '../../../core/registry.ts';
import { ecpayModule } from '../../../providers/ecpay/index.ts';

// Generated-looking values for this test only; not ECPay's.
const account = (overrides: Record<string, unknown> = {}) => ({
  MerchantID: '9100001',
  HashKey: 'kT3uW8xZq1LmN4pR',
  HashIV: 'vB7cD2eF9gH5jK6s',
  baseUrl: 'https://payment-stage.ecpay.com.tw/',
  ...overrides,
});

const build = async (config: Record<string, unknown>) =>
  await buildRegistry({ modules: [ecpayModule()], config: { ecpay: config }, publicUrl: 'https://pay.example', logger: silentLogger, simulateUnconfigured: false });

test('several merchants side by side; each account its own callback URLs; refunds only with a check code', async (t) => {
  const { registry } = await build({
    default: account(),
    shop2: account({ MerchantID: '9100002', creditCheckCode: '12345678', callbackBaseUrl: 'https://hooks.example' }),
    atmOnly: account({ MerchantID: '9100003', methods: ['atm'] }),
  });
  t.deepEqual(
    registry.list().map((a) => `${a.account}:${a.methods.join('+')}:${a.isDefault}`),
    ['default:card+atm:true', 'shop2:card+atm:false', 'atmOnly:atm:false'],
  );
  t.deepEqual(registry.callbackUrlsFor('ecpay', 'shop2'), { notifyUrl: 'https://hooks.example/callbacks/ecpay/shop2/notify', returnUrl: 'https://hooks.example/callbacks/ecpay/shop2/return' });
  t.deepEqual([...registry.find('ecpay', 'default')!.capabilities], []);
  t.deepEqual([...registry.find('ecpay', 'shop2')!.capabilities], ['refund']);
  t.deepEqual(registry.find('ecpay')!.currencies, ['TWD']);
  t.is(registry.find('ecpay')!.ackAfter, 'applied');
});

test('bad values are all reported at boot, by field, never quoting a key', async (t) => {
  const secret = 'Sup3rS3cretKey99';
  const err = await t.throwsAsync(
    () =>
      build({
        a: account({ MerchantID: '91-0001', HashKey: ` ${secret}` }),
        b: account({ HashIV: '', baseUrl: 'not a url' }),
        c: account({ methods: ['cvs'], HashKeyTypo: 'x' }),
      }),
    { instanceOf: ConfigError },
  );
  const paths = err.details.map((d) => d.path);
  for (const path of ['providers.ecpay.a.MerchantID', 'providers.ecpay.a.HashKey', 'providers.ecpay.b.HashIV', 'providers.ecpay.b.baseUrl', 'providers.ecpay.c.methods.0']) {
    t.true(paths.includes(path), `${path} in ${paths.join()}`);
  }
  t.true(paths.some((p) => p.startsWith('providers.ecpay.c')), 'unknown keys are refused');
  t.false(err.message.includes(secret));
  t.false(JSON.stringify(err.details).includes(secret));
});
