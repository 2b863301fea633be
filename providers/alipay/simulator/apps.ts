import type { AlipayConfig } from '../config.ts';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { generateKeyPair, privatePem, publicPem, type KeyPair } from './sign.ts';
import type { SimApp } from './trades.ts';
import { randomDigits } from './util.ts';

/**
 * A new sandbox-like app (§7, §9 Keys): a fresh app key pair and a fresh "Alipay" key pair — never a key printed in
 * the spec — an app id like the new sandbox ones (9021000…), a 2088… seller.
 */
export function createApp(account: string, baseUrl: string, taken: (appId: string) => boolean): SimApp {
  let appId: string;
  do appId = `9021000${randomDigits(9)}`;
  while (taken(appId));
  return appWith({ account, appId, sellerId: `2088${randomDigits(12)}`, appKeys: generateKeyPair(), alipayKeys: generateKeyPair() }, baseUrl);
}

/** The app as saved in the simulator's books: ids and the two private keys (PKCS#8 PEM). */
export interface SavedApp {
  account: string;
  appId: string;
  sellerId: string;
  appPrivateKey: string;
  alipayPrivateKey: string;
}

export const saveApp = (app: SimApp): SavedApp => ({
  account: app.account,
  appId: app.appId,
  sellerId: app.sellerId,
  appPrivateKey: privatePem(app.appKeys.privateKey),
  alipayPrivateKey: privatePem(app.alipayKeys.privateKey),
});

/** The same app again, keys and all, so the gateway's adapter keeps working after a restart. */
export function loadApp(saved: SavedApp, baseUrl: string): SimApp {
  const pair = (pem: string) => {
    const privateKey = createPrivateKey(pem);
    return { privateKey, publicKey: createPublicKey(privateKey) };
  };
  return appWith({ account: saved.account, appId: saved.appId, sellerId: saved.sellerId, appKeys: pair(saved.appPrivateKey), alipayKeys: pair(saved.alipayPrivateKey) }, baseUrl);
}

function appWith(parts: { account: string; appId: string; sellerId: string; appKeys: KeyPair; alipayKeys: KeyPair }, baseUrl: string): SimApp {
  const { account, appId, sellerId, appKeys, alipayKeys } = parts;
  const config: AlipayConfig = {
    appId,
    privateKey: privatePem(appKeys.privateKey),
    keyType: 'PKCS8',
    alipayPublicKey: publicPem(alipayKeys.publicKey),
    signType: 'RSA2',
    gateway: `${baseUrl}/gateway.do`,
    sellerId,
  };
  const slug = account.replace(/[^A-Za-z0-9]/g, '').toLowerCase().slice(0, 20) || 'app';
  return { account, appId, sellerId, sellerEmail: `${slug}.seller@sandbox.example.com`, appKeys, alipayKeys, config };
}
