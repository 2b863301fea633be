/**
 * The adapter's reading of NewebPay's messages, without a network: notifies verified and decrypted
 * (JSON and String mode, the legacy padding), CustomerURL instructions, refusals, the status-code
 * table, QueryTradeInfo results, and the MPG form create builds.
 */
import { createCipheriv } from 'node:crypto';
import test from 'ava';
import { silentLogger } from '../../../core/logger.ts';
import type { CallbackRequest, OrderSnapshot } from '../../../core/payment-provider.ts';
import { NewebpayProvider } from '../../../providers/newebpay/adapter.ts';
import { attemptOf, describeCode, expireDate, itemDesc, merchantOrderNo, orderNoOf, parseMessage, queryFacts, treatmentOf } from '../../../providers/newebpay/codec.ts';
import { newebpayConfig } from '../../../providers/newebpay/config.ts';
import { buildQuery, decryptText, encryptText, tradeSha } from '../../../providers/newebpay/crypto.ts';

const OURS = { HashKey: 'PaygateTestHashKey0123456789ABCD', HashIV: 'PaygateTestIV012' };
const M1 = { HashKey: 'Fs5cX1TGqYM2PpdbE14a9H83YQSQF5jn', HashIV: 'C6AcmfqJILwgnhIP' };
const URLS = { notifyUrl: 'https://pay.example/callbacks/newebpay/default/notify', returnUrl: 'https://pay.example/callbacks/newebpay/default/return' };

const provider = (merchantId: string, keys: typeof OURS, extra: Record<string, unknown> = {}) =>
  new NewebpayProvider('default', newebpayConfig.parse({ MerchantID: merchantId, ...keys, baseUrl: 'https://ccore.newebpay.com', ...extra }), URLS, silentLogger, {
    now: () => new Date('2025-01-01T04:00:00Z'),
  });

const notify = (body: string, kind: 'notify' | 'return' = 'notify', rawQuery = ''): CallbackRequest => ({
  kind,
  httpMethod: 'POST',
  contentType: 'application/x-www-form-urlencoded',
  rawBody: body,
  rawQuery,
  headers: {},
});

const outer = (merchantId: string, tradeInfo: string, keys: typeof OURS, status = 'SUCCESS') =>
  new URLSearchParams({ Status: status, MerchantID: merchantId, Version: '2.0', TradeInfo: tradeInfo, TradeSha: tradeSha(tradeInfo, keys) }).toString();

const V2_JSON =
  '{"Status":"SUCCESS","Message":"授權成功","Result":{"MerchantID":"MS300000001","Amt":1280,"TradeNo":"25010112000012345","MerchantOrderNo":"PG_20250101_0001","RespondType":"JSON","IP":"203.0.113.10","EscrowBank":"HNCB","PaymentType":"CREDIT","PayTime":"2025-01-01 12:00:05","RespondCode":"00","Auth":"123456","Card6No":"400022","Card4No":"1111","Exp":"3012","AuthBank":"KGI","TokenUseStatus":0,"InstFirst":0,"InstEach":0,"Inst":0,"ECI":"","PaymentMethod":"CREDIT"}}';

test('V2: a JSON card notify verifies, decrypts and says paid: NT$1,280 in minor units, PayTime in Taipei', async (t) => {
  const p = provider('MS300000001', OURS);
  const request = notify(outer('MS300000001', encryptText(V2_JSON, OURS), OURS));
  const envelope = p.inspectCallback(request);
  t.regex(envelope.dedupeKey ?? '', /^MS300000001:SUCCESS:[0-9a-f]{40}$/);
  const v = await p.verifyCallback(request);
  if (!v.verified) return t.fail(v.reason);
  t.deepEqual(v.facts, { orderNo: 'PG_20250101_0001', attempt: 1, amount: 128000, currency: 'TWD', providerTradeNo: '25010112000012345', outcome: 'paid', paidAt: new Date('2025-01-01T04:00:05Z') });
  t.falsy(v.fromBrowser, 'a payment is what NewebPay\'s server notifies');
  t.deepEqual(p.reply('ack', request), { status: 200, contentType: 'text/plain; charset=utf-8', body: 'SUCCESS' });
});

test("M1's String-mode notify (9-byte pad) reads the same way: + for space in PayTime, Amt 30", async (t) => {
  const plain =
    'Status=SUCCESS&Message=%E6%8E%88%E6%AC%8A%E6%88%90%E5%8A%9F&MerchantID=MS127874575&Amt=30&TradeNo=23092714215835071&MerchantOrderNo=Vanespl_ec_1695795668&RespondType=String&IP=123.51.237.115&EscrowBank=HNCB&PaymentType=CREDIT&RespondCode=00&Auth=115468&Card6No=400022&Card4No=1111&Exp=2609&AuthBank=KGI&TokenUseStatus=0&InstFirst=0&InstEach=0&Inst=0&ECI=&PayTime=2023-09-27+14%3A21%3A59&PaymentMethod=CREDIT';
  const v = await provider('MS127874575', M1).verifyCallback(notify(outer('MS127874575', encryptText(plain, M1), M1)));
  if (!v.verified) return t.fail(v.reason);
  t.is(v.facts.outcome, 'paid');
  t.is(v.facts.amount, 3000);
  t.is(v.facts.orderNo, 'Vanespl_ec_1695795668');
  t.deepEqual(v.facts.paidAt, new Date('2023-09-27T06:21:59Z'));
  t.is(parseMessage(plain).Message, '授權成功');
});

/** PKCS#7 over 32-byte blocks (§3.3): what old samples send; Node's strict decipher refuses it. */
function legacyEncrypt(plain: string, keys: typeof OURS): string {
  const bytes = Buffer.from(plain, 'utf8');
  const pad = 32 - (bytes.length % 32);
  const c = createCipheriv('aes-256-cbc', Buffer.from(keys.HashKey), Buffer.from(keys.HashIV));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(Buffer.concat([bytes, Buffer.alloc(pad, pad)])), c.final()]).toString('hex');
}

test('the padding quirk: a notify padded to 32-byte blocks (a pad of 17-32 bytes) is read like any other', async (t) => {
  // 483 bytes: + 13 = 496 with 16-byte PKCS#7, + 29 = 512 with 32-byte blocks (a pad longer than one block).
  const json = V2_JSON.replace('"ECI":""', '"ECI":"0123456789abcdef"');
  t.is(Buffer.byteLength(json), 483);
  const hex = legacyEncrypt(json, OURS);
  t.is(hex.length, 512 * 2);
  t.is(encryptText(json, OURS).length, 496 * 2);
  const v = await provider('MS300000001', OURS).verifyCallback(notify(outer('MS300000001', hex, OURS)));
  t.true(v.verified && v.facts.outcome === 'paid' && v.facts.amount === 128000);
});

test('refused: TradeSha wrong, another shop (outer or inside), keys of another shop, a changed amount, an unreadable TradeInfo', async (t) => {
  const p = provider('MS300000001', OURS);
  const tradeInfo = encryptText(V2_JSON, OURS);
  const good = new URLSearchParams(outer('MS300000001', tradeInfo, OURS));
  const variant = (change: (f: URLSearchParams) => void) => {
    const f = new URLSearchParams(good);
    change(f);
    return notify(f.toString());
  };
  const reasons = async (request: CallbackRequest) => {
    const v = await p.verifyCallback(request);
    return v.verified ? 'verified' : v.reason;
  };
  t.is(await reasons(variant((f) => f.set('TradeSha', `${f.get('TradeSha')!.slice(0, -1)}0`))), 'TradeSha does not match');
  t.is(await reasons(variant((f) => f.delete('TradeSha'))), 'TradeInfo or TradeSha is missing');
  t.is(await reasons(variant((f) => f.set('MerchantID', 'MS300000002'))), "MerchantID is not this account's");
  // The message of another shop, signed with that shop's keys: its TradeSha fails under ours.
  const other = { HashKey: 'OtherShopHashKey0123456789ABCDEF', HashIV: 'OtherShopIV01234' };
  t.is(await reasons(notify(outer('MS300000001', encryptText(V2_JSON, other), other))), 'TradeSha does not match');
  // Our keys, but the inner MerchantID names another shop.
  const inner = V2_JSON.replace('"MerchantID":"MS300000001"', '"MerchantID":"MS399999999"');
  t.is(await reasons(notify(outer('MS300000001', encryptText(inner, OURS), OURS))), "Result.MerchantID is not this account's");
  // The amount changed inside and re-encrypted, the old TradeSha kept.
  t.is(await reasons(variant((f) => f.set('TradeInfo', encryptText(V2_JSON.replace('"Amt":1280', '"Amt":1', ), OURS)))), 'TradeSha does not match');
  // Signed but not NewebPay's JSON.
  t.regex(await reasons(notify(outer('MS300000001', encryptText('{"Status":"SUCCESS","Result":"x"}', OURS), OURS))), /MerchantOrderNo is missing/);
  t.regex(await reasons(notify(outer('MS300000001', encryptText('{"Status":', OURS), OURS))), /not a NewebPay message/);
  // The outer Status is not signed: only the encrypted one counts.
  const v = await p.verifyCallback(variant((f) => f.set('Status', 'MPG03009')));
  t.true(v.verified && v.facts.outcome === 'paid');
});

test('inspectCallback names the field it cannot read (a 4xx), and a repeated field', (t) => {
  const p = provider('MS300000001', OURS);
  const body = outer('MS300000001', encryptText(V2_JSON, OURS), OURS);
  const fails = (request: CallbackRequest) => t.throws(() => p.inspectCallback(request), { instanceOf: Error });
  t.regex(fails(notify(body.replace(/TradeInfo=[0-9a-f]+/, 'TradeInfo=abc')))!.message, /TradeInfo/);
  t.regex(fails(notify(body.replace(/^Status=SUCCESS&/, '')))!.message, /Status/);
  t.regex(fails(notify(`${body}&TradeSha=00`))!.message, /TradeSha/);
  t.regex(fails({ ...notify(body), contentType: 'application/json' })!.message, /content-type/);
  t.is(p.inspectCallback(notify(body, 'return')).dedupeKey, null);
});

const code = (result: Record<string, unknown>, status = 'SUCCESS', message = '取號成功') => JSON.stringify({ Status: status, Message: message, Result: result });

test('CustomerURL: an ATM code issued becomes the buyer instructions with its deadline (Taipei 23:59:59), the browser carried on', async (t) => {
  const p = provider('MS300000001', OURS);
  const json = code({ MerchantID: 'MS300000001', Amt: 1280, TradeNo: '25010112000012345', MerchantOrderNo: 'PG_20250101_0001', PaymentType: 'VACC', ExpireDate: '2025-01-08', ExpireTime: '23:59:59', BankCode: '004', CodeNo: '91234567890123' });
  const request = notify(outer('MS300000001', encryptText(json, OURS), OURS), 'notify', 'via=customer');
  t.true(p.inspectCallback(request).fromBrowser, 'the buyer\'s browser brought it: no trust for its address');
  t.falsy(p.inspectCallback({ ...request, rawQuery: '' }).fromBrowser, 'NewebPay\'s own NotifyURL post');
  const v = await p.verifyCallback(request);
  if (!v.verified) return t.fail(v.reason);
  t.true(v.fromBrowser, 'a code issued only ever comes through the browser (§5.1): said by the signed message');
  const unmarked = await p.verifyCallback({ ...request, rawQuery: '' });
  t.true(unmarked.verified && unmarked.fromBrowser, 'the URL mark dropped changes nothing');
  t.deepEqual(v.facts, {
    orderNo: 'PG_20250101_0001',
    attempt: 1,
    amount: 128000,
    currency: 'TWD',
    providerTradeNo: '25010112000012345',
    outcome: 'pending',
    action: { type: 'instructions', atm: { bankCode: '004', account: '91234567890123', amount: 128000, deadline: '2025-01-08T15:59:59.000Z' } },
    expiresAt: new Date('2025-01-08T15:59:59Z'),
  });
  // The acknowledgement is a page posting the same signed fields to our return endpoint.
  const ack = p.reply('ack', request);
  t.is(ack.status, 200);
  t.regex(ack.contentType, /text\/html/);
  t.true(ack.body.includes(`action="${URLS.returnUrl}"`));
  t.true(ack.body.includes(`name="TradeSha" value="${new URLSearchParams(request.rawBody).get('TradeSha')}"`));
  // ExpireTime as His, and absent (23:59:59).
  const his = await p.verifyCallback(notify(outer('MS300000001', encryptText(json.replace('"23:59:59"', '"120000"'), OURS), OURS)));
  t.true(his.verified && his.facts.expiresAt?.toISOString() === '2025-01-08T04:00:00.000Z');
  // A code that could not be issued is a failed payment with NewebPay's code.
  const failed = await p.verifyCallback(notify(outer('MS300000001', encryptText(code({ MerchantID: 'MS300000001', Amt: 1280, TradeNo: '', MerchantOrderNo: 'PG_20250101_0001', PaymentType: 'VACC', ExpireDate: '', BankCode: '', CodeNo: '' }, 'MPG03009', '取號失敗'), OURS), OURS, 'MPG03009')));
  t.true(failed.verified && failed.facts.outcome === 'failed' && failed.facts.code === 'MPG03009' && failed.facts.message === '取號失敗');
  t.true(failed.verified && failed.fromBrowser, 'a code that could not be issued also comes only through the browser');
  // A code message without a usable account is refused, not applied.
  const broken = await p.verifyCallback(notify(outer('MS300000001', encryptText(json.replace('"BankCode":"004"', '"BankCode":""'), OURS), OURS)));
  t.false(broken.verified);
});

test('CustomerURL: a convenience-store code issued becomes store instructions (code, stores, deadline); QueryTradeInfo PayInfo gives the same', async (t) => {
  const p = provider('MS300000001', OURS);
  const json = code({ MerchantID: 'MS300000001', Amt: 1280, TradeNo: '25010112000012345', MerchantOrderNo: 'PG_20250101_0002', PaymentType: 'CVS', ExpireDate: '2025-01-08', ExpireTime: '23:59:59', CodeNo: 'LLL25010112345' }, 'SUCCESS', '代碼取號成功');
  const v = await p.verifyCallback(notify(outer('MS300000001', encryptText(json, OURS), OURS), 'notify', 'via=customer'));
  if (!v.verified) return t.fail(v.reason);
  const action = { type: 'instructions', cvs: { code: 'LLL25010112345', stores: ['7-ELEVEN', 'FamilyMart', 'Hi-Life', 'OK mart'], amount: 128000, deadline: '2025-01-08T15:59:59.000Z' } };
  t.like(v.facts, { outcome: 'pending', orderNo: 'PG_20250101_0002', amount: 128000, expiresAt: new Date('2025-01-08T15:59:59Z') });
  t.deepEqual(v.facts.action, action);
  const queried = queryFacts({ MerchantID: 'MS300000001', Amt: '1280', TradeNo: 'T2', MerchantOrderNo: 'PG_20250101_0002', TradeStatus: '0', PaymentType: 'CVS', PayInfo: 'LLL25010112345', ExpireDate: '2025-01-08 23:59:59' });
  t.deepEqual(queried.action, action);
  // A paid store code: the notify names the store, and says paid.
  const paid = await p.verifyCallback(notify(outer('MS300000001', encryptText(code({ MerchantID: 'MS300000001', Amt: 1280, TradeNo: 'T2', MerchantOrderNo: 'PG_20250101_0002', PaymentType: 'CVS', PayTime: '2025-01-02 10:00:00', CodeNo: 'LLL25010112345', StoreType: '1', StoreID: 'X' }, 'SUCCESS', '付款成功'), OURS), OURS)));
  t.true(paid.verified && paid.facts.outcome === 'paid');
  // A code message whose code is not a code is refused.
  t.false((await p.verifyCallback(notify(outer('MS300000001', encryptText(json.replace('LLL25010112345', 'L L'), OURS), OURS)))).verified);
});

test('CustomerURL: store barcodes issued become store instructions with the three barcodes in order; QueryTradeInfo PayInfo gives the same', async (t) => {
  const p = provider('MS300000001', OURS);
  const json = code({ MerchantID: 'MS300000001', Amt: 1280, TradeNo: 'T3', MerchantOrderNo: 'PG_20250101_0003', PaymentType: 'BARCODE', ExpireDate: '2025-01-08', ExpireTime: '23:59:59', Barcode_1: '250108TEST', Barcode_2: 'TEST212345678901', Barcode_3: '000001280TEST' }, 'SUCCESS', '條碼取號成功');
  const v = await p.verifyCallback(notify(outer('MS300000001', encryptText(json, OURS), OURS), 'notify', 'via=customer'));
  if (!v.verified) return t.fail(v.reason);
  const action = { type: 'instructions', cvs: { barcodes: ['250108TEST', 'TEST212345678901', '000001280TEST'], stores: ['7-ELEVEN', 'FamilyMart', 'Hi-Life', 'OK mart'], amount: 128000, deadline: '2025-01-08T15:59:59.000Z' } };
  t.deepEqual(v.facts.action, action);
  t.deepEqual(queryFacts({ MerchantID: 'MS300000001', Amt: '1280', TradeNo: 'T3', MerchantOrderNo: 'PG_20250101_0003', TradeStatus: '0', PaymentType: 'BARCODE', PayInfo: '250108TEST,TEST212345678901,000001280TEST', ExpireDate: '2025-01-08 23:59:59' }).action, action);
  // Two barcodes of three, or one with a character Code 39 cannot print, is no instruction.
  t.false((await p.verifyCallback(notify(outer('MS300000001', encryptText(json.replace('"Barcode_3":"000001280TEST"', '"Barcode_3":""'), OURS), OURS)))).verified);
  t.false((await p.verifyCallback(notify(outer('MS300000001', encryptText(json.replace('250108TEST', '250108test'), OURS), OURS)))).verified);
  t.is(p.maxAmount('TWD', 'barcode'), 4_000_000);
});

test('convenience-store codes take NT$30 to NT$20,000 (§4.2), refused before anything is sent', async (t) => {
  const p = provider('MS300000001', OURS);
  t.is(p.maxAmount('TWD', 'cvs'), 2_000_000);
  await t.throwsAsync(() => p.create({ order: order({ method: 'cvs', amount: 2900 }), urls: URLS }), { message: /NT\$30 to NT\$20000/ });
  await t.throwsAsync(() => p.create({ order: order({ method: 'cvs', amount: 2_000_100 }), urls: URLS }), { message: /NT\$30 to NT\$20000/ });
  const cvs = await p.create({ order: order({ method: 'cvs' }), urls: URLS });
  if (cvs.outcome !== 'pending' || cvs.action.type !== 'form') return t.fail();
  t.like(Object.fromEntries(new URLSearchParams(decryptText(cvs.action.fields.TradeInfo!, OURS)!)), { CVS: '1', ExpireDate: '20250103', CustomerURL: `${URLS.notifyUrl}?via=customer` });
});

test('the status / error-code table (§8): treatments and words', (t) => {
  const cases: [string, string][] = [
    ['MPG03009', 'declined'], ['MPG05005', 'declined'], ['MPG03008', 'config'], ['MPG02004', 'retry'], ['MPG02003', 'config'], ['MPG01015', 'config'], ['MPG01030', 'config'], ['MPG02010', 'config'],
    ['TRA10021', 'not_found'], ['TRA20002', 'not_found'], ['TRA10054', 'credentials'], ['TRA10008', 'credentials'], ['TRA10071', 'locked'], ['TRA10702', 'locked'],
    ['TRA20001', 'pending'], ['TRA10047', 'state'], ['TRA10035', 'state'], ['TRA10045', 'state'], ['TRA10036', 'business'], ['TRA10050', 'business'], ['TRA10675', 'business'],
    ['TRA10030', 'retry'], ['TRA40014', 'retry'], ['NOR1001', 'retry'], ['MEM40013', 'config'], ['XYZ99999', 'config'],
  ];
  t.deepEqual(cases.map(([c]) => [c, treatmentOf(c)]), cases);
  t.is(describeCode('TRA10071'), 'QueryTradeInfo is locked for 4 hours after too many unknown-order lookups');
  t.is(describeCode('ZZZ1'), 'NewebPay code ZZZ1');
});

test('QueryTradeInfo results → facts: M1 example (strings, nulls), code issued, refunds, void, failure', (t) => {
  const m1 = parseMessage(
    '{"Status":"SUCCESS","Message":"\\u67e5\\u8a62\\u6210\\u529f","Result":{"MerchantID":"MS127874575","Amt":30,"TradeNo":"23092714215835071","MerchantOrderNo":"Vanespl_ec_1695795668","TradeStatus":"1","PaymentType":"CREDIT","CreateTime":"2023-09-27 14:21:59","PayTime":"2023-09-27 14:21:59","FundTime":"0000-00-00","CheckCode":"79C5227AF869AE4F25FDF4E22B928D5B52E415D9905EC6912D7807E18C3FFACA","RespondCode":"00","Auth":"115468","ECI":null,"CloseAmt":null,"CloseStatus":"0","BackBalance":"30","BackStatus":"0","RespondMsg":"\\u6388\\u6b0a\\u6210\\u529f","Inst":"0","InstFirst":"0","InstEach":"0","PaymentMethod":"CREDIT","Card6No":"400022","Card4No":"1111","AuthBank":"KGI"}}',
  );
  t.is(m1.Message, '查詢成功');
  t.is(m1.Result.ECI, '');
  t.deepEqual(queryFacts(m1.Result), { orderNo: 'Vanespl_ec_1695795668', attempt: 1, amount: 3000, currency: 'TWD', providerTradeNo: '23092714215835071', outcome: 'paid', paidAt: new Date('2023-09-27T06:21:59Z') });
  const card = { ...m1.Result };
  t.deepEqual(queryFacts({ ...card, BackBalance: '10' }).refundedAmount, 2000, 'partly refunded: Amt - BackBalance');
  t.like(queryFacts({ ...card, TradeStatus: '6', BackBalance: '0' }), { outcome: 'refunded', refundedAmount: 3000 });
  t.like(queryFacts({ ...card, TradeStatus: '3' }), { outcome: 'refunded', refundedAmount: 3000 });
  t.like(queryFacts({ ...card, TradeStatus: '2', RespondMsg: '授權失敗' }), { outcome: 'failed', code: 'TradeStatus_2', message: '授權失敗' });
  const atm = { MerchantID: 'MS1', Amt: '1280', TradeNo: 'T1', MerchantOrderNo: 'O1', TradeStatus: '0', PaymentType: 'VACC', PayInfo: '(031)1234567890', ExpireDate: '2025-01-08 23:59:59' };
  t.deepEqual(queryFacts(atm), {
    orderNo: 'O1', attempt: 1, amount: 128000, currency: 'TWD', providerTradeNo: 'T1', outcome: 'pending',
    action: { type: 'instructions', atm: { bankCode: '031', account: '1234567890', amount: 128000, deadline: '2025-01-08T15:59:59.000Z' } },
    expiresAt: new Date('2025-01-08T15:59:59Z'),
  });
  t.like(queryFacts({ ...atm, TradeStatus: '3' }), { outcome: 'closed' });
  t.throws(() => queryFacts({ ...atm, TradeStatus: '7' }), { message: /unknown TradeStatus/ });
});

const order = (over: Partial<OrderSnapshot> = {}): OrderSnapshot => ({
  status: 'pending',
  id: 'o1', orderNo: 'PG2501010000000001', subject: '凍頂烏龍茶 "特級" 300g\n禮盒', currency: 'TWD', amount: 128000, method: 'card',
  items: [{ sku: 'T', name: 'tea', unitAmount: 128000, quantity: 1, amount: 128000 }], providerTradeNo: null,
  createdAt: new Date('2025-01-01T04:00:00Z'), expiresAt: new Date('2025-01-03T04:00:00Z'), returnUrl: null, ...over,
}) as OrderSnapshot;

test('create: the MPG form with TradeInfo our keys decrypt to the card parameters; ATM gets VACC, ExpireDate and the CustomerURL', async (t) => {
  const p = provider('MS300000001', OURS);
  const card = await p.create({ order: order(), urls: URLS });
  if (card.outcome !== 'pending' || card.action.type !== 'form') return t.fail();
  t.is(card.action.url, 'https://ccore.newebpay.com/MPG/mpg_gateway');
  t.deepEqual(Object.keys(card.action.fields), ['MerchantID', 'TradeInfo', 'TradeSha', 'Version']);
  t.is(card.action.fields.TradeSha, tradeSha(card.action.fields.TradeInfo!, OURS));
  const params = Object.fromEntries(new URLSearchParams(decryptText(card.action.fields.TradeInfo!, OURS)!));
  t.deepEqual(params, {
    MerchantID: 'MS300000001', RespondType: 'JSON', TimeStamp: '1735704000', Version: '2.0', MerchantOrderNo: 'PG2501010000000001', Amt: '1280',
    ItemDesc: '凍頂烏龍茶 特級 300g 禮盒', ReturnURL: URLS.returnUrl, NotifyURL: URLS.notifyUrl, CREDIT: '1',
  });
  t.false('expiresAt' in card);
  const atm = await p.create({ order: order({ method: 'atm' }), urls: URLS });
  if (atm.outcome !== 'pending' || atm.action.type !== 'form') return t.fail();
  const a = Object.fromEntries(new URLSearchParams(decryptText(atm.action.fields.TradeInfo!, OURS)!));
  t.like(a, { VACC: '1', ExpireDate: '20250103', CustomerURL: `${URLS.notifyUrl}?via=customer` });
  t.false('CREDIT' in a);
  t.deepEqual(atm.expiresAt, new Date('2025-01-03T15:59:59Z'));
  // What NewebPay cannot take is refused before anything is sent, naming the field.
  await t.throwsAsync(() => p.create({ order: order({ amount: 128050 }), urls: URLS }), { message: /amount/ });
  await t.throwsAsync(() => p.create({ order: order({ method: 'atm', amount: 5_000_000 }), urls: URLS }), { message: /NT\$1 to NT\$49999/ });
  await t.throwsAsync(() => p.create({ order: order({ currency: 'CNY' }), urls: URLS }), { message: /TWD/ });
  t.is(p.maxAmount('TWD', 'atm'), 4_999_900);
  t.is(p.maxAmount('TWD', 'card'), undefined);
});

test('ExpireDate: the Taipei day of the deadline, never before today nor past 180 days; ItemDesc at most 50 characters', (t) => {
  const now = new Date('2025-01-01T17:00:00Z'); // 01:00 on 2 January in Taipei
  t.is(expireDate(now, new Date('2025-01-01T16:30:00Z')).ExpireDate, '20250102');
  t.is(expireDate(now, new Date('2024-12-30T00:00:00Z')).ExpireDate, '20250102');
  t.is(expireDate(now, new Date('2026-01-01T00:00:00Z')).ExpireDate, '20250701');
  t.deepEqual(expireDate(now, new Date('2025-01-05T00:00:00Z')).deadline, new Date('2025-01-05T15:59:59Z'));
  const long = itemDesc({ subject: '茶'.repeat(60), items: [], orderNo: 'X' });
  t.is([...long].length, 50);
  t.is(itemDesc({ subject: "  '<>' ", items: [], orderNo: 'PG1' }), 'PG1');
});

test('config: HashKey and HashIV must be exactly 32 and 16 characters (§2), and their values are never quoted', (t) => {
  const result = newebpayConfig.safeParse({ MerchantID: 'MS1', HashKey: 'short-secret-key', HashIV: 'iv', baseUrl: 'https://ccore.newebpay.com' });
  t.false(result.success);
  const text = JSON.stringify(result.error?.issues);
  t.regex(text, /HashKey must be exactly 32/);
  t.regex(text, /HashIV must be exactly 16/);
  t.false(text.includes('short-secret-key'));
  t.is(buildQuery({ a: 'b' }), 'a=b');
});

test('each attempt is a MerchantOrderNo of its own (§9, MPG03008): the order number first, then `_<attempt>`, read back to the order number', (t) => {
  const orderNo = '261203200822SZFEAWT6';
  t.is(merchantOrderNo({ orderNo, attempt: 1 }), orderNo);
  t.is(merchantOrderNo({ orderNo, attempt: 2 }), `${orderNo}_2`);
  t.is(merchantOrderNo({ orderNo, attempt: 123 }), `${orderNo}_123`);
  for (const attempt of [1, 2, 9, 10, 99, 123_456_789]) t.is(orderNoOf(merchantOrderNo({ orderNo, attempt })), orderNo, String(attempt));
  // Other shops' numbers (the spec's vectors) are left as they are.
  t.is(orderNoOf('PG_20250101_0001'), 'PG_20250101_0001');
  for (const attempt of [1, 2, 10, 123]) t.is(attemptOf(merchantOrderNo({ orderNo, attempt })), attempt);
  t.is(attemptOf('PG_20250101_0001'), 1);
  t.is(orderNoOf('Shop_ec_12'), 'Shop_ec', 'a trailing _<digits> is read as an attempt: paygate\'s order numbers never end so');
  t.true(merchantOrderNo({ orderNo, attempt: 999_999_999 }).length <= 30, 'room for any attempt within String(30)');
});
