import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config.ts';
import { ConfigError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { buildRegistry } from '../../core/registry.ts';
import { fakePayModule } from '../../providers/_template/index.ts';

const account = (merchantId: string) => ({ merchantId, secret: 'fake-secret-0123456789abcdef', baseUrl: 'http://127.0.0.1:9/sim' });

test('several accounts of one provider side by side; the default is "default" or else the first', async (t) => {
  const { registry, simulators } = await buildRegistry({
    modules: [fakePayModule()],
    config: { fakepay: { shop2: account('M2'), default: account('M1'), edge: { ...account('M3'), callbackBaseUrl: 'https://hooks.example/pg/' } } },
    publicUrl: 'https://pay.example/',
    logger: silentLogger,
    simulateUnconfigured: false,
  });
  t.is(simulators.length, 0, 'configured providers never run on their simulator');
  t.is(registry.resolveForCheckout('fakepay').account, 'default');
  t.is(registry.resolveForCheckout('fakepay', 'shop2').account, 'shop2');
  t.deepEqual(registry.callbackUrlsFor('fakepay', 'shop2'), {
    notifyUrl: 'https://pay.example/callbacks/fakepay/shop2/notify',
    returnUrl: 'https://pay.example/callbacks/fakepay/shop2/return',
  });
  t.is(registry.callbackUrlsFor('fakepay', 'edge').notifyUrl, 'https://hooks.example/pg/callbacks/fakepay/edge/notify', 'an account may use its own callback host');
  t.deepEqual(
    registry.list().map((a) => [a.account, a.isDefault, a.simulated]),
    [
      ['shop2', false, false],
      ['default', true, false],
      ['edge', false, false],
    ],
  );
  const unknown = t.throws(() => registry.resolveForCheckout('nopay'), { instanceOf: ValidationError });
  t.is(unknown.details[0]!.path, 'provider');
  const noAccount = t.throws(() => registry.resolveForCheckout('fakepay', 'shop9'), { instanceOf: ValidationError });
  t.is(noAccount.details[0]!.path, 'account');
  t.throws(() => registry.resolveForCallback('fakepay', 'shop9'), { instanceOf: NotFoundError });

  const first = await buildRegistry({
    modules: [fakePayModule()],
    config: { fakepay: { b: account('MB'), a: account('MA') } },
    publicUrl: 'https://pay.example',
    logger: silentLogger,
    simulateUnconfigured: false,
  });
  t.is(first.registry.resolveForCheckout('fakepay').account, 'b');
});

test('every configuration problem is reported at once', async (t) => {
  const err = await t.throwsAsync(
    async () =>
      await buildRegistry({
        modules: [fakePayModule()],
        config: { fakepay: { default: { merchantId: '', secret: 'short', baseUrl: 'nope' }, 'bad id!': account('X') }, ghostpay: {} },
        publicUrl: 'https://pay.example',
        logger: silentLogger,
        simulateUnconfigured: false,
      }),
    { instanceOf: ConfigError },
  );
  const paths = err.details.map((d) => d.path);
  t.true(paths.includes('providers.ghostpay'));
  t.true(paths.includes('providers.fakepay.bad id!'));
  t.true(paths.includes('providers.fakepay.default.merchantId'));
  t.true(paths.includes('providers.fakepay.default.secret'));
  t.true(paths.includes('providers.fakepay.default.baseUrl'));
  t.false(err.message.includes('short'), 'a rejected secret value is not echoed');
});

test('a provider without an account runs on its simulator under /sim/<id>', async (t) => {
  const { registry, simulators } = await buildRegistry({
    modules: [fakePayModule()],
    config: {},
    publicUrl: 'http://localhost:3000',
    logger: silentLogger,
    simulateUnconfigured: true,
  });
  t.is(simulators.length, 1);
  t.is(simulators[0]!.basePath, '/sim/fakepay');
  t.true(registry.list()[0]!.simulated);
  const none = await buildRegistry({ modules: [fakePayModule()], config: {}, publicUrl: 'http://x', logger: silentLogger, simulateUnconfigured: false });
  t.is(none.registry.list().length, 0);
});

test('environment is parsed once with every problem listed; PAYGATE_CONFIG is read and checked', async (t) => {
  const defaults = loadConfig({});
  t.is(defaults.port, 3000);
  t.is(defaults.databaseUrl, 'sqlite:./data/paygate.sqlite');
  t.is(defaults.publicUrl, 'http://localhost:3000');
  t.true(defaults.simulateUnconfigured);

  const err = t.throws(() => loadConfig({ PORT: 'eighty', PAYGATE_SIMULATORS: 'sometimes', LOG_LEVEL: 'loud' }), { instanceOf: ConfigError });
  t.deepEqual(err.details.map((d) => d.path).sort(), ['LOG_LEVEL', 'PAYGATE_SIMULATORS', 'PORT']);

  const dir = await mkdtemp(join(tmpdir(), 'paygate-config-'));
  try {
    const file = join(dir, 'paygate.json');
    await writeFile(file, JSON.stringify({ providers: { fakepay: { default: account('M1') } } }));
    const configured = loadConfig({ PAYGATE_CONFIG: file });
    t.deepEqual(configured.providers, { fakepay: { default: account('M1') } });
    t.false(configured.simulateUnconfigured, 'no simulator beside real accounts unless asked');
    // Simulators beside a real account: refused at boot, saying why and what to do.
    const mixed = t.throws(() => loadConfig({ PAYGATE_CONFIG: file, PAYGATE_SIMULATORS: 'on' }), { instanceOf: ConfigError });
    t.regex(mixed.message, /cannot run beside real accounts \(configured: fakepay\)/);
    t.regex(mixed.message, /without PAYGATE_CONFIG/);
    t.deepEqual(mixed.details.map((d) => d.path), ['PAYGATE_SIMULATORS']);
    await writeFile(file, '{ not json');
    t.throws(() => loadConfig({ PAYGATE_CONFIG: file }), { instanceOf: ConfigError, message: /cannot be read as JSON/ });
    await writeFile(file, JSON.stringify({ providers: [], extra: 1 }));
    t.throws(() => loadConfig({ PAYGATE_CONFIG: file }), { instanceOf: ConfigError });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
