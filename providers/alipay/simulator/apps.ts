import type { AlipayConfig } from '../config.ts';
import { generateKeyPair, privatePem, publicPem } from './sign.ts';
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
  const appKeys = generateKeyPair();
  const alipayKeys = generateKeyPair();
  const sellerId = `2088${randomDigits(12)}`;
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
