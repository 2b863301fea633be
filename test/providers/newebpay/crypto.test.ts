/**
 * NewebPay's crypto pinned byte for byte (docs/protocols/newebpay.md#test-vectors): NewebPay's own
 * MPG example (manual NDNF-1.1.9 §4.1, request and notify), the CheckCode of its QueryTradeInfo
 * example, SDK test values, and our vectors V1-V6 recomputed from the spec's inputs.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import test from 'ava';
import { buildQuery, checkCode, checkValue, decryptText, encryptParams, encryptText, phpEncode, tradeSha, tradeShaMatches } from '../../../providers/newebpay/crypto.ts';

// §3.5: the spec's own made-up test keys (not NewebPay's, not any shop's).
const OURS = { HashKey: 'PaygateTestHashKey0123456789ABCD', HashIV: 'PaygateTestIV012' };
// §3.6: the demo shop printed in NewebPay's public manual, used only to reproduce its examples.
const M1 = { HashKey: 'Fs5cX1TGqYM2PpdbE14a9H83YQSQF5jn', HashIV: 'C6AcmfqJILwgnhIP' };

const V1_PARAMS = {
  MerchantID: 'MS300000001', RespondType: 'JSON', TimeStamp: '1735689600', Version: '2.0', LangType: 'zh-tw',
  MerchantOrderNo: 'PG_20250101_0001', Amt: '1280', ItemDesc: '測試商品 A+B x1',
  ReturnURL: 'https://shop.example.com/pay/return', NotifyURL: 'https://shop.example.com/pay/notify', ClientBackURL: 'https://shop.example.com/cart',
  Email: 'buyer@example.com', EmailModify: '0', CREDIT: '1', VACC: '1', CVS: '1',
};
const V1_PLAIN =
  'MerchantID=MS300000001&RespondType=JSON&TimeStamp=1735689600&Version=2.0&LangType=zh-tw&MerchantOrderNo=PG_20250101_0001&Amt=1280&ItemDesc=%E6%B8%AC%E8%A9%A6%E5%95%86%E5%93%81+A%2BB+x1&ReturnURL=https%3A%2F%2Fshop.example.com%2Fpay%2Freturn&NotifyURL=https%3A%2F%2Fshop.example.com%2Fpay%2Fnotify&ClientBackURL=https%3A%2F%2Fshop.example.com%2Fcart&Email=buyer%40example.com&EmailModify=0&CREDIT=1&VACC=1&CVS=1';
const V1_TRADE_INFO =
  'f15b136e991dfada0384e10f2a62745bec951c38e11836c3dfe01030dcb587fecaafdc04f7e6ba0c0012a07110cd1040885f948c52b3fb5abdadbe5ad7873f6bcbdac4d1f4bd9bc53de341ad6227b7b7158584e32414bb46f1881af4ef70a9bcbd5abe724a58ff48dd55d3b53b489c8c7d63af3b6b167e854a9f0bbb07de7c74218c469868f34e71dd46ec9faa5cf3df835d2fd990844e63a3a2e3180582709abec4fd87065dfb4abc3d3663fb32193ef711c9dc04c1b277c8a06a88f627310f79fc1677ae45e0da50d1d37fe66c86fa93c451a30c6e3253d142a3cdaf066492b43ceb6d069fe35a8f3d56309368cbe2f540a3351beb72afaae8e41796adab817ffd604e3aeff8d6ae04b115e8face7694aaf0809ba54ed389ecb88e98f40ef6f8e6428549da76fb2971ddffb53e616808682ffa6285c272e69a06442209dd3d36c0cd718dcbd4a7984f0e3b921af012d3cbebf6ae9e1f77e13253d9b44039ce51b17902340dac7995e830b105f0b3bc17f0361b1d1880a71255f3b35907a2f66cf24b6aad5c0b5a0955be49b9ecc61b005f56714e9d9cc59be99b509d910f8e';

test('V1: the MPG parameter string as http_build_query writes it, its TradeInfo and TradeSha', (t) => {
  t.is(buildQuery(V1_PARAMS), V1_PLAIN);
  t.is(Buffer.byteLength(V1_PLAIN), 410);
  t.is(encryptParams(V1_PARAMS, OURS), V1_TRADE_INFO);
  t.is(tradeSha(V1_TRADE_INFO, OURS), '08F04A6D0AC62F62BA674C91EB91F02BB00185FE59F8E85DDE797BCB8E502368');
  // encodeURIComponent would write %20 for the spaces: another ciphertext (§3.5).
  t.not(encryptText(V1_PLAIN.replace(/\+A%2BB\+/, '%20A%2BB%20'), OURS), V1_TRADE_INFO);
});

test('http_build_query encoding: space is +, only A-Z a-z 0-9 - _ . stay, the rest upper-case %XX of UTF-8', (t) => {
  t.is(phpEncode("a b+c/d:e@f~g*h'i(j)k!l.m-n_o"), 'a+b%2Bc%2Fd%3Ae%40f%7Eg%2Ah%27i%28j%29k%21l.m-n_o');
  t.is(phpEncode('藍'), '%E8%97%8D');
});

const V2_JSON =
  '{"Status":"SUCCESS","Message":"授權成功","Result":{"MerchantID":"MS300000001","Amt":1280,"TradeNo":"25010112000012345","MerchantOrderNo":"PG_20250101_0001","RespondType":"JSON","IP":"203.0.113.10","EscrowBank":"HNCB","PaymentType":"CREDIT","PayTime":"2025-01-01 12:00:05","RespondCode":"00","Auth":"123456","Card6No":"400022","Card4No":"1111","Exp":"3012","AuthBank":"KGI","TokenUseStatus":0,"InstFirst":0,"InstEach":0,"Inst":0,"ECI":"","PaymentMethod":"CREDIT"}}';
const V2_BODY =
  'Status=SUCCESS&MerchantID=MS300000001&Version=2.0&TradeInfo=eb0f583503fc918984c426718642897a7e9e598498a99b8f0ff5674571b0e9b53fae028117fc3f09ca33e3bd7d3bad7c19afbeb906f72c88592a1747c0df086d53b0b30e00e41b7f140df185bfa93d0cf45e7410770e22b8648eb2bd41131a456dce9fb9b2cd454e97164e9c0136950e0a0677b867f1e7ebc8851a86648e2196b587cac712e01af5cebaabbb11022550b1f069cd0cff6c5066c2b79e9f8bafa2bdedc1709af69d66b071031ff4146c3e0977c27d9daaf514b905cc1eaeb796be5aaf9c22e40e486fddb7eb0fe68318098747cd684f369e89d0e771603cbc58786c90071a54b8e21e01e4f5e003f6b728dc0980b28bb005d3ac2e479908a66aa94b257e3cef9d04096a024a14b74b7c03196f84a361cdd69d6a188a454aff1f21ee2064516718436c42f5bb261dff4f52a849ef377a9fb7d04cc81735afeb7ba6cff96781ab77d82b44c669b87a4f752f4f4edd87fcab593aeb8fae60147337a971087dacfbdad3785245196cf0b4d1eda46473730ea69b46f6301847f5cd7a1bacb22b201d39db1678e1d4b1be1feb4bce4779a550ec0dcb076ca6afd38fb31b63f52a98c4e52452a09e87f2e2c60e50fdae6db738d3f17bef51e39500ac0fad780eaf9c09a3d54a299586838a4374a6e0c5af9923019552f1bdd10edd811997&TradeSha=5AD150092A4A2989BCE1BEB19B253B38BF6FD4BA6C5A623F9DE696FF5352A48B';

test('V2: the notify body, its TradeSha, and its TradeInfo decrypting to the exact JSON (13-byte pad)', (t) => {
  const form = new URLSearchParams(V2_BODY);
  const tradeInfo = form.get('TradeInfo')!;
  t.true(tradeShaMatches(tradeInfo, form.get('TradeSha'), OURS));
  t.true(tradeShaMatches(tradeInfo, form.get('TradeSha')!.toLowerCase(), OURS), 'hex case is ignored');
  t.false(tradeShaMatches(tradeInfo, form.get('TradeSha'), { ...OURS, HashIV: 'PaygateTestIV013' }));
  t.is(Buffer.byteLength(V2_JSON), 467);
  t.is(decryptText(tradeInfo, OURS), V2_JSON);
  t.is(encryptText(V2_JSON, OURS), tradeInfo);
});

test('V3: QueryTradeInfo CheckValue (IV= … Key=) and CheckCode (HashIV= … HashKey=)', (t) => {
  t.is(checkValue({ Amt: '1280', MerchantID: 'MS300000001', MerchantOrderNo: 'PG_20250101_0001' }, OURS), '3811AAC8AD0DF1E732960DAD381646E7546E39DA2AA553551064340C7A169A19');
  t.is(checkCode({ Amt: '1280', MerchantID: 'MS300000001', MerchantOrderNo: 'PG_20250101_0001', TradeNo: '25010112000012345' }, OURS), 'F905040A59753451A96C5C7B5299C0D672DF651BB5ED6A5727DE1BF928A718F6');
});

test('V4 and V5: Cancel and Close PostData_', (t) => {
  t.is(
    encryptText('RespondType=JSON&Version=1.0&Amt=1280&MerchantOrderNo=PG_20250101_0001&IndexType=1&TimeStamp=1735690000', OURS),
    '8c615a6a07939de99b90bb9a5052fbcecfcd9de099c6db53a1968a3720f9b79229dfb60224189877ba76af19bc9ed27910e832af1b8f28e831a6491e616a8ccde60e1a657ddfe97921497dbba2331557f112378d3516c03fdee165995075bdac64ef6b02fa77e7329a1b2682189d6c2c',
  );
  t.is(
    encryptParams({ RespondType: 'JSON', Version: '1.1', Amt: '500', MerchantOrderNo: 'PG_20250101_0001', TimeStamp: '1735776000', IndexType: '1', CloseType: '2' }, OURS),
    '8c615a6a07939de99b90bb9a5052fbce45b114b25a32e45caa9e6c8ad2c43c6e3bf3ab7f4144d07b090deb224dc7fcaae74809a947d8dc8ecd80ef7f015f4294a06dc13c6ce355ecb9ed3453ecaa4817ddbf77e220c0abf99a090dd61a04249831ab63a00121555f28c69d0105115a730c190e1c47e642c2ae045db54dafc16e',
  );
});

const V6_PKCS7 = 'bb79d440daf6973407112b01a728fdc193a4840c8a7aaebf78d17b8b9935fc7e9314f7d90dabad0e52a6e09b9d317922';
const V6_LEGACY = 'bb79d440daf6973407112b01a728fdc193a4840c8a7aaebf78d17b8b9935fc7e67f5b7d092366252b222474d02a3e5cf37771aab8c4eac5773e13dcc75501da2';

test('V6: the padding quirk: 16-byte PKCS#7 and the legacy 32-byte-block padding both decrypt; strict padding throws on the legacy one', (t) => {
  t.is(encryptText('Status=SUCCESS&MerchantOrderNo=PG_PAD_01', OURS), V6_PKCS7);
  t.is(decryptText(V6_PKCS7, OURS), 'Status=SUCCESS&MerchantOrderNo=PG_PAD_01');
  t.is(decryptText(V6_LEGACY, OURS), 'Status=SUCCESS&MerchantOrderNo=PG_PAD_01');
  const strict = createDecipheriv('aes-256-cbc', Buffer.from(OURS.HashKey), Buffer.from(OURS.HashIV));
  strict.update(Buffer.from(V6_LEGACY, 'hex'));
  t.throws(() => strict.final());
});

test('decryption refuses what is not whole blocks of hex, a bad pad, and invalid UTF-8', (t) => {
  t.is(decryptText(V6_PKCS7.slice(0, -2), OURS), null);
  t.is(decryptText(`${V6_PKCS7}zz`, OURS), null);
  t.is(decryptText('', OURS), null);
  // Another IV changes the first block only: never the plaintext that was sent.
  t.not(decryptText(V6_PKCS7, { ...OURS, HashIV: 'PaygateTestIV013' }), 'Status=SUCCESS&MerchantOrderNo=PG_PAD_01');
  // A pad byte of 33 (more than 32) and a run that is not all equal are refused.
  const block = (bytes: number[]) => {
    const c = createCipheriv('aes-256-cbc', Buffer.from(OURS.HashKey), Buffer.from(OURS.HashIV));
    c.setAutoPadding(false);
    return Buffer.concat([c.update(Buffer.from(bytes)), c.final()]).toString('hex');
  };
  t.is(decryptText(block([...Array(31).fill(65), 33]), OURS), null);
  t.is(decryptText(block([...Array(14).fill(65), 1, 2]), OURS), null);
  t.is(decryptText(block([...Array(14).fill(65), 2, 2]), OURS), 'A'.repeat(14));
  t.is(decryptText(block([...Array(14).fill(0xff), 2, 2]), OURS), null, 'invalid UTF-8');
  t.throws(() => encryptText('x', { HashKey: 'short', HashIV: OURS.HashIV }), { message: /HashKey must be 32 bytes/ });
});

test("NewebPay's own MPG example (M1 §4.1): TradeInfo and TradeSha of the request, byte for byte", (t) => {
  const plain =
    'MerchantID=MS127874575&RespondType=String&TimeStamp=1695795410&Version=2.0&MerchantOrderNo=Vanespl_ec_1695795410&Amt=30&ItemDesc=test&NotifyURL=https%3A%2F%2Fwebhook.site%2Fd4db5ad1-2278-466a-9d66-78585c0dbadb';
  t.is(
    buildQuery({ MerchantID: 'MS127874575', RespondType: 'String', TimeStamp: '1695795410', Version: '2.0', MerchantOrderNo: 'Vanespl_ec_1695795410', Amt: '30', ItemDesc: 'test', NotifyURL: 'https://webhook.site/d4db5ad1-2278-466a-9d66-78585c0dbadb' }),
    plain,
  );
  const tradeInfo = encryptText(plain, M1);
  t.is(tradeInfo.length, 448);
  t.true(tradeInfo.startsWith('f79eac33c4f3245d58f17b544c5d38b0'));
  t.true(tradeInfo.endsWith('2494c093426a10a1f73fe4'));
  // The printed TradeSha covers the whole hex: equal digests mean equal ciphertexts.
  t.is(tradeSha(tradeInfo, M1), '84E4D9F96537E029F8450BE1E759080F9AF6995921B7F6F9AAFDDD2C36E7B287');
});

test("NewebPay's own notify example (M1, String mode, 9-byte pad): the ciphertext its TradeSha signs", (t) => {
  const plain =
    'Status=SUCCESS&Message=%E6%8E%88%E6%AC%8A%E6%88%90%E5%8A%9F&MerchantID=MS127874575&Amt=30&TradeNo=23092714215835071&MerchantOrderNo=Vanespl_ec_1695795668&RespondType=String&IP=123.51.237.115&EscrowBank=HNCB&PaymentType=CREDIT&RespondCode=00&Auth=115468&Card6No=400022&Card4No=1111&Exp=2609&AuthBank=KGI&TokenUseStatus=0&InstFirst=0&InstEach=0&Inst=0&ECI=&PayTime=2023-09-27+14%3A21%3A59&PaymentMethod=CREDIT';
  t.is((Buffer.byteLength(plain) % 16), 16 - 9);
  const tradeInfo = encryptText(plain, M1);
  t.is(tradeInfo.length, 832);
  t.true(tradeInfo.startsWith('ee11d150'));
  t.true(tradeInfo.endsWith('9e5f775'));
  t.true(tradeShaMatches(tradeInfo, 'C80876AEBAC0036268C0E240E5BFF69C0470DE9606EEE083C5C8DD64FDB3347A', M1));
  t.is(decryptText(tradeInfo, M1), plain);
});

test('CheckCode and CheckValue: M1 QueryTradeInfo example, omnipay (R2) tests and captured Void, node-newebpay (R4)', (t) => {
  t.is(checkCode({ Amt: '30', MerchantID: 'MS127874575', MerchantOrderNo: 'Vanespl_ec_1695795668', TradeNo: '23092714215835071' }, M1), '79C5227AF869AE4F25FDF4E22B928D5B52E415D9905EC6912D7807E18C3FFACA');
  t.is(checkValue({ Amt: '30', MerchantID: 'MS127874575', MerchantOrderNo: 'Vanespl_ec_1695795668' }, M1), 'CD326F689018E7862727547F85CECD7DD7AE0FDB7782DE2C1E46B4417245B51F');
  t.is(checkCode({ Amt: '10', MerchantID: 'MS127874575', MerchantOrderNo: 'MyCompanyOrder_1695795410', TradeNo: '21120214151152468' }, M1), '3BBBD18B6C2446E35764D587168997BF719FA72E00C569D2A55E45D67149EC71');
  t.is(checkValue({ Amt: '10', MerchantID: 'MS127874575', MerchantOrderNo: 'MyCompanyOrder_1695795410' }, M1), '59D3DEBBE4973B3AC2B102603DB97F0F9BE55F46B0F29FE84EF56FBCA3EBBC16');
  t.is(checkCode({ Amt: '30', MerchantID: 'MS127874575', MerchantOrderNo: 'Vanespl_ec_1641348593', TradeNo: '23111221191660146' }, M1), 'A71CAB190914DD9432C49B49AA71A5A291EFFFBFFE149417818C0E04D3BEB40B');
  const r4 = { HashKey: 'abcdefg', HashIV: '1234567' };
  t.is(checkValue({ Amt: '100', MerchantID: '1422967', MerchantOrderNo: '840f022' }, r4), '379BF1DB8948EE79D8ED77A1EBCB2F57B0FD45D0376B6DA9CF85F539CEF1C127');
  t.is(checkCode({ Amt: '100', MerchantID: '1422967', MerchantOrderNo: '840f022', TradeNo: '14061313541640927' }, r4), '62C687AF6409E46E79769FAF54F54FE7E75AAE50BAF0767752A5C337670B8EDB');
  t.is(encryptText('abcdefghijklmnop', { HashKey: '12345678901234567890123456789012', HashIV: '1234567890123456' }), 'b91d3ece42c203729b38ae004e96efb9b64c41eeb074cad7ebafa3973181d233');
});
