import type { Logger } from '../../../core/logger.ts';
import { parseJsonObjectStrict } from '../../kit/fields.ts';
import { decryptMessage, encryptMessage, sign, signMatches } from '../crypto.ts';
import type { Shop } from './bank.ts';
import { describe, type Message } from './fields.ts';
import type { CreateContext } from './order-create.ts';
import { runService } from './services.ts';
import { mintNonce, secretEquals } from './util.ts';

export interface Reply {
  status: number;
  contentType: string;
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** What the sandbox's WAF answers to a body that is not JSON (§2, P6). */
const WAF_PAGE =
  '<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with your administrator.</body></html>';
const wafReply = (): Reply => ({ status: 401, contentType: 'text/html; charset=utf-8', body: WAF_PAGE });

/** Gateway-level rejection reasons (before any business processing; codes are the simulator's own). */
const REJECT = {
  envelope: ['E0006', '欄位格式錯誤'],
  shop: ['E0001', '商店代號不存在'],
  key: ['E0002', 'X-KeyID 驗證失敗'],
  nonce: ['E0003', 'Nonce 無效或已逾時'],
  decrypt: ['E0005', '訊息解密失敗'],
  sign: ['E0004', '簽章驗證失敗'],
} as const;

/**
 * The two endpoints of §1: `Nonce` and `Order`. Authenticates the envelope exactly as §6.4 describes,
 * runs the service, and wraps the answer in a freshly signed and encrypted envelope.
 */
export class Api {
  constructor(
    private readonly ctx: CreateContext,
    /** §6.2/§13.2 UNVERIFIED: how a rejected call looks (see SinopacSimulatorSettings.rejection). */
    private readonly rejection: 'bare' | 'http',
    private readonly logger: Logger,
  ) {}

  nonce(keyIdHeader: string | undefined, rawBody: string): Reply {
    const body = parseObject(rawBody);
    if (!body) return wafReply();
    const shop = this.authenticate(body.ShopNo, keyIdHeader);
    if ('reject' in shop) return shop.reject;
    return json({ Nonce: this.ctx.bank.issueNonce(shop.shop.shopNo) });
  }

  order(keyIdHeader: string | undefined, rawBody: string): Reply {
    const env = parseObject(rawBody);
    if (!env) return wafReply();
    const { Version, ShopNo, APIService, Sign, Nonce, Message: cipher } = env;
    if (![Version, ShopNo, APIService, Sign, Nonce, cipher].every((v) => typeof v === 'string' && v !== '')) {
      return this.reject('envelope', { shopNo: typeof ShopNo === 'string' ? ShopNo.slice(0, 40) : typeof ShopNo });
    }
    const auth = this.authenticate(ShopNo, keyIdHeader);
    if ('reject' in auth) return auth.reject;
    const { shop } = auth;
    const nonce = Nonce as string;
    const check = this.ctx.bank.takeNonce(nonce, shop.shopNo);
    if (check !== 'ok') return this.reject('nonce', { shopNo: shop.shopNo, why: check });

    let msg: Message | null;
    try {
      msg = parseObject(decryptMessage(cipher as string, shop.hashId, nonce));
    } catch {
      msg = null;
    }
    if (!msg) return this.reject('decrypt', { shopNo: shop.shopNo });
    if (!signMatches(sign(msg, nonce, shop.hashId), Sign as string)) return this.reject('sign', { shopNo: shop.shopNo });

    const service = APIService as string;
    let result: Message;
    if (Version !== '1.0.0') {
      result = { ShopNo: shop.shopNo, Status: 'F', Description: describe('E0103', `不支援的版本 ${Version}`) };
    } else if (msg.ShopNo !== shop.shopNo) {
      result = { ShopNo: shop.shopNo, Status: 'F', Description: describe('E0101', '訊息內商店代號與表頭不符') };
    } else {
      result = runService(this.ctx, shop, service, msg);
    }
    this.logger.info(
      { shopNo: shop.shopNo, service, orderNo: msg.OrderNo, status: result.Status },
      'sinopac simulator: API call',
    );
    return json(envelope(shop, service, result));
  }

  private authenticate(shopNo: unknown, keyId: string | undefined): { shop: Shop } | { reject: Reply } {
    const shop = typeof shopNo === 'string' ? this.ctx.bank.shops.get(shopNo) : undefined;
    if (!shop) return { reject: this.reject('shop', { shopNo: typeof shopNo === 'string' ? shopNo.slice(0, 40) : typeof shopNo }) };
    if (!keyId || !secretEquals(keyId, shop.keyId)) return { reject: this.reject('key', { shopNo: shop.shopNo }) };
    return { shop };
  }

  private reject(reason: keyof typeof REJECT, log: Record<string, unknown>): Reply {
    const [code, text] = REJECT[reason];
    this.logger.warn({ ...log, reason, code }, 'sinopac simulator: call rejected');
    if (this.rejection === 'http') return wafReply();
    // S7 guards for exactly this: top-level Status/Description, no Message, no Nonce (§6.2).
    return json({ Status: 'F', Description: describe(code, text) });
  }
}

/** §6.4 step 3: a new nonce per response; Sign and IV both from it. */
export function envelope(shop: Shop, service: string, result: Message): Message {
  const n2 = mintNonce();
  return {
    Version: '1.0.0',
    ShopNo: shop.shopNo,
    APIService: service,
    Sign: sign(result, n2, shop.hashId),
    Nonce: n2,
    Message: encryptMessage(JSON.stringify(result), shop.hashId, n2),
  };
}

function json(value: unknown): Reply {
  return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(value) };
}

/** A JSON object, or null (not JSON, not an object, a key twice: providers/kit/fields.ts). */
function parseObject(text: string): Message | null {
  try {
    return parseJsonObjectStrict(text);
  } catch {
    return null;
  }
}
