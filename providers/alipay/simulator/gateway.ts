import type { KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { parseJsonObjectStrict } from '../../kit/fields.ts';
import { send, sendHtml } from '../../simulator-kit/http.ts';
import { API_METHODS, isApiMethod, type ApiEffects, type Inner } from './api.ts';
import { errorPage } from './pages.ts';
import { rsa2Verify, signContent, signedResponse } from './sign.ts';
import type { BizError, HandoffRequest, PageMethod, SimApp, SimTrade } from './trades.ts';
import { parseBeijing, randomHex, redirect } from './util.ts';

/** The v2 gateway, `GET|POST /gateway.do` (§9 "Endpoint"): common checks, signature, dispatch. */

export interface GatewayContext extends ApiEffects {
  app(appId: string): SimApp | undefined;
  /** Signs replies to an app the simulator does not know: the caller cannot verify them, as with the real gateway. */
  strangerKey(): KeyObject;
  timestampToleranceMs: number | null;
  /** Records the hand-off (creating the trade when settings say so) and returns the trade or the error to show. */
  handoff(app: SimApp, request: HandoffRequest): SimTrade | BizError;
  cashierUrl(trade: SimTrade): string;
}

const PAGE_METHODS: readonly string[] = ['alipay.trade.page.pay', 'alipay.trade.wap.pay'];

/** Query string first, then the form body (§1.5: the SDK splits parameters between the two). */
export function mergeParams(query: URLSearchParams, body: URLSearchParams): Record<string, string> {
  const params: Record<string, string> = {};
  for (const source of [query, body]) {
    for (const [k, v] of source) if (!Object.hasOwn(params, k)) params[k] = v;
  }
  return params;
}

interface Failure {
  code: '40001' | '40002';
  subCode: string;
  subMsg: string;
}

const MSG = { '40001': 'Missing Required Arguments', '40002': 'Invalid Arguments' } as const;
const missing = (subCode: string, subMsg: string): Failure => ({ code: '40001', subCode, subMsg });
const invalid = (subCode: string, subMsg: string): Failure => ({ code: '40002', subCode, subMsg });

/** Checks the common parameters and the request signature with the real gateway's rule (§2.1, §9 steps 2–3). */
function checkCommon(ctx: GatewayContext, p: Record<string, string>, app: SimApp | undefined): Failure | null {
  if (!p.app_id) return missing('isv.missing-app-id', '缺少AppID参数');
  if (!app) return invalid('isv.invalid-app-id', '无效的AppID参数');
  if (!p.sign) return missing('isv.missing-signature', '缺少签名参数');
  if (!p.sign_type) return missing('isv.missing-signature-type', '缺少签名类型参数');
  if (p.sign_type !== 'RSA2') return invalid('isv.invalid-signature-type', '无效的签名类型参数 (RSA2 only)');
  if (!p.charset) return missing('isv.missing-charset', '缺少字符集参数');
  if (p.charset.toLowerCase() !== 'utf-8') return invalid('isv.invalid-charset', '字符集错误 (utf-8 only)');
  if (!p.version) return missing('isv.missing-version', '缺少版本参数');
  if (p.version !== '1.0') return invalid('isv.invalid-version', '无效的版本参数 (1.0)');
  if (!p.timestamp) return missing('isv.missing-timestamp', '缺少时间戳参数');
  const at = parseBeijing(p.timestamp);
  if (!at) return invalid('isv.invalid-timestamp', '非法的时间戳参数 (yyyy-MM-dd HH:mm:ss)');
  if (ctx.timestampToleranceMs !== null && Math.abs(at.getTime() - Date.now()) > ctx.timestampToleranceMs) {
    return invalid('isv.invalid-timestamp', '非法的时间戳参数 (too far from Beijing time now)');
  }
  // The gateway drops empty values and keeps sign_type (§2.1) — so an SDK request with a `key=` param fails (§8.4).
  const content = signContent(p, false);
  if (!rsa2Verify(content, p.sign, app.appKeys.publicKey)) {
    return invalid('isv.invalid-signature', `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${content.replace(/&/g, '&amp;')}`);
  }
  return null;
}

function parseBiz(raw: string | undefined): Record<string, unknown> | null {
  if (raw === undefined || raw === '') return {};
  try {
    return parseJsonObjectStrict(raw);
  } catch {
    // Not JSON, not an object, or a key twice (providers/kit/fields.ts).
    return null;
  }
}

/** §1.7: HTTP 200, the JSON content type, a trace_id header, the signed `<method>_response` envelope. */
function reply(res: ServerResponse, key: string, inner: Inner, signer: KeyObject): void {
  send(res, 200, 'application/json;charset=utf-8', signedResponse(key, inner, signer), { trace_id: `0b${randomHex(14)}` });
}

const failureInner = (f: Failure): Inner => ({ code: f.code, msg: MSG[f.code], sub_code: f.subCode, sub_msg: f.subMsg });

function pageHandoff(ctx: GatewayContext, app: SimApp, p: Record<string, string>, biz: Record<string, unknown> | null): SimTrade | BizError {
  if (!biz) return { subCode: 'isv.invalid-parameter', subMsg: 'biz_content 不是合法的 JSON 对象' };
  return ctx.handoff(app, { method: p.method as PageMethod, biz, notifyUrl: p.notify_url || null, returnUrl: p.return_url || null });
}

/**
 * A page-pay hand-off as gateway.do takes it from the buyer's browser (every check, the signature
 * included), for the control API when it opens a trade itself. Returns the trade or what the buyer
 * would have been shown.
 */
export function openPageHandoff(ctx: GatewayContext, p: Record<string, string>): SimTrade | BizError {
  const app = p.app_id ? ctx.app(p.app_id) : undefined;
  if (!p.method || !PAGE_METHODS.includes(p.method)) return { subCode: 'isv.invalid-method', subMsg: `not a page method: ${p.method ?? '(none)'}` };
  const failure = checkCommon(ctx, p, app);
  if (failure) return failure;
  return pageHandoff(ctx, app!, p, parseBiz(p.biz_content));
}

export function handleGateway(ctx: GatewayContext, p: Record<string, string>, res: ServerResponse): void {
  const app = p.app_id ? ctx.app(p.app_id) : undefined;
  const signer = app?.alipayKeys.privateKey ?? ctx.strangerKey();
  const method = p.method;
  if (!method) return reply(res, 'error_response', failureInner(missing('isv.missing-method', '缺少方法名参数')), signer);
  const isPage = PAGE_METHODS.includes(method);
  const responseKey = `${method.replace(/\./g, '_')}_response`;
  const failure = checkCommon(ctx, p, app);
  if (failure) {
    if (isPage) return sendHtml(res, 200, errorPage(failure.subCode, failure.subMsg));
    return reply(res, responseKey, failureInner(failure), signer);
  }
  const biz = parseBiz(p.biz_content);
  if (isPage) {
    const result = pageHandoff(ctx, app!, p, biz);
    if ('subCode' in result) return sendHtml(res, 200, errorPage(result.subCode, result.subMsg));
    return redirect(res, ctx.cashierUrl(result));
  }
  if (!isApiMethod(method)) {
    return reply(res, 'error_response', failureInner(invalid('isv.invalid-method', `不存在的方法名 ${method}`)), signer);
  }
  if (!biz) return reply(res, responseKey, failureInner(invalid('isv.invalid-parameter', 'biz_content 不是合法的 JSON 对象')), signer);
  reply(res, responseKey, API_METHODS[method](ctx, app!, biz), signer);
}
