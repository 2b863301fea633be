/**
 * The signed hand-off of page and WAP pay, built as alipay-sdk 4's `pageExecute` builds it
 * (node_modules/alipay-sdk/dist/esm/alipay.js #pageExec, util.js sign, formatUrl), with the RSA
 * signature made off the event loop (providers/kit/sign-pool.ts). test/providers/alipay/page-pay.test.ts
 * checks that the URL and the form are the SDK's, byte for byte, for the same params and timestamp.
 *
 * The SDK's steps, for the params paygate sends (notify_url, return_url, biz_content of snake_case
 * keys with string values, no certificates, no AES, no ws_service_url):
 * - the common params in this order: method, app_id, charset, version, sign_type, timestamp (the
 *   process's local time as `YYYY-MM-DD HH:mm:ss`, utility's YYYYMMDDHHmmss), then alipay_sdk (the
 *   SDK's version string), notify_url, return_url, and biz_content (JSON.stringify of the object);
 * - the sign string: every key sorted, `key=value` joined by `&`, values as they are (not encoded);
 *   signed with RSA-SHA256 (RSA2) or RSA-SHA1 (RSA), base64, as `sign`, last;
 * - URL args (app_id, method, format, charset, sign_type, sign, timestamp, version, notify_url,
 *   return_url, …) go into the gateway URL with URLSearchParams.set, the rest (alipay_sdk,
 *   biz_content) after it: GET appends them encodeURIComponent'd, POST puts them in the form.
 */
import type { KeyObject } from 'node:crypto';
import type { SignPool } from '../kit/sign-pool.ts';

const ALGORITHMS: Record<string, string> = { RSA: 'RSA-SHA1', RSA2: 'RSA-SHA256' };

/** formatUrl's list: the params that go into the gateway URL. */
const URL_ARGS = new Set(['app_id', 'method', 'format', 'charset', 'sign_type', 'sign', 'timestamp', 'version', 'notify_url', 'return_url', 'auth_token', 'app_auth_token', 'app_cert_sn', 'alipay_root_cert_sn', 'ws_service_url']);

/** What of the SDK's config the hand-off uses (AlipaySdk#config after its constructor). */
export interface PagePayConfig {
  appId: string;
  charset: string;
  version: string;
  signType: string;
  gateway: string;
  privateKey: KeyObject;
}

export interface PagePayParams {
  notifyUrl: string;
  returnUrl: string;
  bizContent: Record<string, string>;
}

/** utility's YYYYMMDDHHmmss: local time, as the SDK sends it. */
export function sdkTimestamp(d: Date = new Date()): string {
  const p = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The params and the text to sign, in the SDK's order. */
export function pagePayUnsigned(config: PagePayConfig, sdkVersion: string, method: string, params: PagePayParams, timestamp: string): { fields: Record<string, string>; signString: string } {
  const fields: Record<string, string> = {
    method,
    app_id: config.appId,
    charset: config.charset,
    version: config.version,
    sign_type: config.signType,
    timestamp,
    alipay_sdk: sdkVersion,
    notify_url: params.notifyUrl,
    return_url: params.returnUrl,
    biz_content: JSON.stringify(params.bizContent),
  };
  const signString = Object.keys(fields)
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
  return { fields, signString };
}

export interface SignedHandoff {
  /** The gateway URL carrying the URL args (what the SDK's form posts to). */
  url: string;
  /** The rest (alipay_sdk, biz_content): the form's fields. */
  body: Record<string, string>;
}

/** Signs through `pool` and splits the params as formatUrl does. */
export async function signPagePay(pool: SignPool, config: PagePayConfig, sdkVersion: string, method: string, params: PagePayParams, timestamp = sdkTimestamp()): Promise<SignedHandoff> {
  const algorithm = ALGORITHMS[config.signType];
  if (!algorithm) throw new Error(`unsupported sign_type ${config.signType}`);
  const { fields, signString } = pagePayUnsigned(config, sdkVersion, method, params, timestamp);
  fields.sign = await pool.sign(algorithm, config.privateKey, signString);
  const url = new URL(config.gateway);
  const body: Record<string, string> = {};
  for (const key of Object.keys(fields)) {
    if (URL_ARGS.has(key)) url.searchParams.set(key, fields[key]!);
    else body[key] = fields[key]!;
  }
  return { url: url.toString(), body };
}

/** GET: the SDK's `${url}&${query}`. */
export function handoffUrl(handoff: SignedHandoff): string {
  const query = Object.keys(handoff.body).map((key) => `${key}=${encodeURIComponent(handoff.body[key]!)}`);
  return `${handoff.url}&${query.join('&')}`;
}
