import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/logger.ts';
import { buildRegistry } from '../../../core/registry.ts';
import { alipayModule } from '../../../providers/alipay/index.ts';

// Generated here, for this test only.
const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs8 = app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const pkcs1 = app.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const alipayPublic = alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const bare = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

const account = (overrides: Record<string, unknown> = {}) => ({
  appId: '9021000000000001',
  privateKey: pkcs8,
  keyType: 'PKCS8',
  alipayPublicKey: alipayPublic,
  gateway: 'http://127.0.0.1:9/gateway.do',
  ...overrides,
});

const build = async (config: Record<string, unknown>) =>
  await buildRegistry({ modules: [alipayModule()], config: { alipay: config }, publicUrl: 'https://pay.example', logger: silentLogger, simulateUnconfigured: false });

test('PEM and bare base64 keys in either declared format are accepted; several apps side by side', async (t) => {
  const { registry } = await build({
    default: account(),
    pkcs1: account({ privateKey: pkcs1, keyType: 'PKCS1' }),
    bare: account({ privateKey: bare(pkcs8), alipayPublicKey: bare(alipayPublic), sellerId: '208800000000000' + '1' }),
    trailing: account({ privateKey: `${pkcs8}\n\n` }),
  });
  t.deepEqual(
    registry.list().map((a) => a.account),
    ['default', 'pkcs1', 'bare', 'trailing'],
  );
  t.deepEqual(registry.find('alipay')!.currencies, ['CNY']);
});

test('a bad key fails at boot with a clear message naming the field, never the key', async (t) => {
  const err = await t.throwsAsync(
    () =>
      build({
        garbage: account({ privateKey: 'A'.repeat(200) }),
        mislabelled: account({ privateKey: pkcs1, keyType: 'PKCS8' }),
        swapped: account({ alipayPublicKey: pkcs8.replace(/PRIVATE/g, 'PUBLIC') }),
        wrongType: account({ keyType: 'PEM' }),
        // Parses, but the SDK would read its body as a PUBLIC KEY and never verify anything.
        pkcs1Public: account({ alipayPublicKey: alipay.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString() }),
      }),
    { instanceOf: ConfigError },
  );
  const paths = err.details.map((d) => d.path);
  t.true(paths.includes('providers.alipay.garbage.privateKey'), paths.join());
  t.true(paths.includes('providers.alipay.mislabelled.privateKey'), paths.join());
  t.true(paths.includes('providers.alipay.swapped.alipayPublicKey'), paths.join());
  t.true(paths.includes('providers.alipay.wrongType.keyType'), paths.join());
  t.true(paths.includes('providers.alipay.pkcs1Public.alipayPublicKey'), paths.join());
  t.regex(err.message, /the PEM says RSA PUBLIC KEY/);
  t.false(err.message.includes(bare(pkcs8).slice(20, 60)), 'no key material in the message');
});
