import { createPrivateKey, createPublicKey, createSign, createVerify } from 'node:crypto';
import { ConfigError } from '../../core/errors.ts';

/** PEM as given (trimmed: the SDK mangles a trailing newline, §1.3), or bare base64 wrapped in a label. */
function pem(key: string, label: string): string {
  const trimmed = key.trim();
  if (trimmed.startsWith('-----BEGIN')) return trimmed;
  const body = trimmed.replace(/\s+/g, '').replace(/(.{64})/g, '$1\n').trim();
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`;
}

/**
 * Checks both keys the way they will be used, at boot (§1.3: the SDK only fails at the first
 * signature). Never puts key material into the error.
 */
export function validateKeys(privateKey: string, keyType: 'PKCS1' | 'PKCS8', alipayPublicKey: string): void {
  const problems: { path: string; message: string }[] = [];
  try {
    const key = createPrivateKey(pem(privateKey, keyType === 'PKCS8' ? 'PRIVATE KEY' : 'RSA PRIVATE KEY'));
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not RSA');
    const label = privateKey.trim().match(/-----BEGIN ([A-Z ]+)-----/)?.[1];
    if (label && label !== (keyType === 'PKCS8' ? 'PRIVATE KEY' : 'RSA PRIVATE KEY')) {
      throw new Error(`the PEM says ${label}`);
    }
    createSign('RSA-SHA256').update('paygate key check').sign(key);
  } catch (err) {
    problems.push({ path: 'privateKey', message: `is not a usable ${keyType} RSA private key (${(err as Error).message.split('\n')[0]})` });
  }
  try {
    const key = createPublicKey(pem(alipayPublicKey, 'PUBLIC KEY'));
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not RSA');
    // alipay-sdk strips the PEM armour and reads the body as a PUBLIC KEY (SubjectPublicKeyInfo):
    // a PKCS#1 "RSA PUBLIC KEY" would parse here and then fail every verification.
    const label = alipayPublicKey.trim().match(/-----BEGIN ([A-Z ]+)-----/)?.[1];
    if (label && label !== 'PUBLIC KEY') throw new Error(`the PEM says ${label}; give the PUBLIC KEY (X.509 SubjectPublicKeyInfo) form`);
    createVerify('RSA-SHA256').update('x').verify(key, Buffer.alloc(256));
  } catch (err) {
    problems.push({ path: 'alipayPublicKey', message: `is not a usable RSA public key (${(err as Error).message.split('\n')[0]})` });
  }
  if (problems.length > 0) throw new ConfigError(`Alipay keys are not usable: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
}
