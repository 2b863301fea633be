/**
 * Alipay credentials probe (issue 13 item 6): a wrong app private key, Alipay public key or app id
 * is told apart from an unreachable gateway. The gateway simulator runs apart from the app.
 */
import { generateKeyPairSync } from 'node:crypto';
import { silentLogger } from '../../../core/logger.ts';
import { alipayModule } from '../../../providers/alipay/index.ts';
import { createAlipaySimulator } from '../../../providers/alipay/simulator/index.ts';
import { probeScenarios } from '../../helpers/probe-scenarios.ts';

const stranger = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

probeScenarios({
  id: 'alipay',
  module: () => alipayModule(),
  simulator: (baseUrl) => createAlipaySimulator({ baseUrl, logger: silentLogger, timeScale: 0.001 }),
  wrong: [
    // The gateway answers isv.invalid-signature, signed with the right Alipay key.
    { name: 'wrong app private key', change: (c) => ({ ...c, privateKey: stranger.privateKey, keyType: 'PKCS8' }) },
    // Every answer fails our check of its signature.
    { name: 'wrong Alipay public key', change: (c) => ({ ...c, alipayPublicKey: stranger.publicKey }) },
    // isv.invalid-app-id, signed by a key the app cannot know.
    { name: 'wrong app id', change: (c) => ({ ...c, appId: '9021000999999999' }) },
  ],
  unreachable: (c) => ({ ...c, gateway: 'http://127.0.0.1:9/gateway.do', timeoutMs: 2_000 }),
  body: { provider: 'alipay', method: 'page', currency: 'CNY' },
  createCallsProvider: false,
  secrets: (c) => [String(c.privateKey).split('\n')[2]!],
});
