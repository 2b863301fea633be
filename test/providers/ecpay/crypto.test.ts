import test from 'ava';
import { createHash } from 'node:crypto';
import { parseRaw } from '../../../providers/ecpay/codec.ts';
import { checkMacEncoded, checkMacMatches, checkMacSource, checkMacValue, dotNetUrlEncode, withCheckMac } from '../../../providers/ecpay/crypto.ts';

// Vectors of docs/protocols/ecpay.md#test-vectors, pinned byte for byte. K3 and K2 are ECPay's
// public stage keys (§1.2), published for everyone's tests.
const K3 = { HashKey: 'pwFHCqoQZGmho4w6', HashIV: 'EkRm7iFT261dpevs' };
const K2 = { HashKey: '5294y06JbISpM5x9', HashIV: 'v77hoKGq4kWxNNIS' };

/** "Sorted params" as the spec prints them: split on & and at the first =, nothing decoded. */
const params = (sorted: string) => parseRaw(sorted)!;

const V1 = params(
  'ChoosePayment=ALL&EncryptType=1&ItemName=Apple iphone 15&MerchantID=3002607&MerchantTradeDate=2023/03/12 15:30:23&MerchantTradeNo=ecpay20230312153023&PaymentType=aio&ReturnURL=https://www.ecpay.com.tw/receive.php&TotalAmount=30000&TradeDesc=促銷方案',
);
const V1_STEP5 =
  'hashkey%3dpwfhcqoqzgmho4w6%26choosepayment%3dall%26encrypttype%3d1%26itemname%3dapple+iphone+15%26merchantid%3d3002607%26merchanttradedate%3d2023%2f03%2f12+15%3a30%3a23%26merchanttradeno%3decpay20230312153023%26paymenttype%3daio%26returnurl%3dhttps%3a%2f%2fwww.ecpay.com.tw%2freceive.php%26totalamount%3d30000%26tradedesc%3d%e4%bf%83%e9%8a%b7%e6%96%b9%e6%a1%88%26hashiv%3dekrm7ift261dpevs';

const V8 = {
  MerchantID: '3002607',
  MerchantTradeNo: 'Sim20250101T0001',
  MerchantTradeDate: '2025/01/01 08:00:00',
  PaymentType: 'aio',
  TotalAmount: '1200',
  TradeDesc: "Tom's shop (test)!",
  ItemName: 'Tea x2 *50%*#C++ ~mug~ & lid',
  ReturnURL: 'https://shop.example/ecpay/return?a=1&b=2',
  ChoosePayment: 'Credit',
  EncryptType: '1',
  CustomField1: 'ord-42_A.b',
};
const V8_STEP5 =
  'hashkey%3dpwfhcqoqzgmho4w6%26choosepayment%3dcredit%26customfield1%3dord-42_a.b%26encrypttype%3d1%26itemname%3dtea+x2+*50%25*%23c%2b%2b+%7emug%7e+%26+lid%26merchantid%3d3002607%26merchanttradedate%3d2025%2f01%2f01+08%3a00%3a00%26merchanttradeno%3dsim20250101t0001%26paymenttype%3daio%26returnurl%3dhttps%3a%2f%2fshop.example%2fecpay%2freturn%3fa%3d1%26b%3d2%26totalamount%3d1200%26tradedesc%3dtom%27s+shop+(test)!%26hashiv%3dekrm7ift261dpevs';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').toUpperCase();

test('V1: the official worked example, its step-5 string, SHA-256 and MD5', (t) => {
  t.is(checkMacEncoded(V1, K3), V1_STEP5);
  t.is(checkMacValue(V1, K3), '6C51C9E6888DE861FD62FB1DD17029FC742634498FD813DC43D4243B5685B840');
  t.is(checkMacValue(V1, K3, 'md5'), '59D592BDBEEFEB697713106D818DD292');
});

test('V1 negative vectors (§4.4): skipping the lower-casing or writing space as %20 gives the published wrong values', (t) => {
  const source = checkMacSource(V1, K3);
  // The two mistakes, made on purpose, reproduce the spec's wrong values: so the vectors are the right ones...
  t.is(sha256(dotNetUrlEncode(source)), '0414ADC2E65948D902990C060D113F931C6E968BFFD0E962F13C664B3711EB90');
  t.is(sha256(dotNetUrlEncode(source).replace(/\+/g, '%20').toLowerCase()), 'EA8B9EF2B6750A8B5A89FC1A92B15382100438C7DFB40006E610BBF373947753');
  // ...and ours is neither.
  t.not(checkMacValue(V1, K3), '0414ADC2E65948D902990C060D113F931C6E968BFFD0E962F13C664B3711EB90');
  t.not(checkMacValue(V1, K3), 'EA8B9EF2B6750A8B5A89FC1A92B15382100438C7DFB40006E610BBF373947753');
});

test('V2: a value with a leading space is kept, not trimmed (support page example, both numbers)', (t) => {
  const v2 = {
    MerchantID: '3002607',
    MerchantTradeNo: 'order20250304001',
    MerchantTradeDate: '2025/03/04 00:00:00',
    PaymentType: 'aio',
    TotalAmount: '100',
    TradeDesc: '訂單測試',
    ItemName: '範例商品',
    ReturnURL: ' https://5569-211-23-76-78.ngrok-free.app/returnurl.php',
    ChoosePayment: 'ALL',
    EncryptType: '1',
  };
  t.is(checkMacValue(v2, K3), 'B251AD005829A4072192E495BF484DCF3830D75382AB34DF46F8F3AA8F794940');
  t.is(checkMacValue({ ...v2, MerchantTradeNo: 'order202503040001' }, K3), '54B1661DE89951772A94FD0F5639FE5CEDA91311CA42021FD8D9DD4170A965D9');
  t.not(checkMacValue({ ...v2, ReturnURL: v2.ReturnURL.trim() }, K3), 'B251AD005829A4072192E495BF484DCF3830D75382AB34DF46F8F3AA8F794940');
});

test('V3: MD5 with an empty trailing value (RtnMsg=) included', (t) => {
  const keys = { HashKey: 'ejCk326UnaZWKisg', HashIV: 'q9jcZX8Ib9LM8wYk' };
  const v3 = params('IA_Allow_No=1909181313013546&IA_Date=2019-09-18 13:13:23&IA_Invoice_No=UV11100019&IIS_Remain_Allowance_Amt=0&RtnCode=1&RtnMsg=');
  t.is(v3.RtnMsg, '');
  t.is(checkMacValue(v3, keys, 'md5'), '50A276E71DAE26343013958B405EEEA0');
});

test('V4 and V5: real ReturnURL and ATM PaymentInfoURL notices verify; any change breaks them', (t) => {
  const v4 = params(
    'CustomField1=&CustomField2=&CustomField3=&CustomField4=&MerchantID=3002607&MerchantTradeNo=test1734430936645&PaymentDate=2024/12/17 18:22:54&PaymentType=Credit_CreditCard&PaymentTypeChargeFee=2&RtnCode=1&RtnMsg=交易成功&SimulatePaid=0&StoreID=&TradeAmt=100&TradeDate=2024/12/17 18:22:16&TradeNo=2412171822169397',
  );
  t.is(checkMacValue(v4, K3), '447090F34BFFD306CE78C3CF5C52725A8AEC851EB37629B2F2D10423E38BAD26');
  const v5 = params(
    'BankCode=118&CustomField1=&CustomField2=&CustomField3=&CustomField4=&ExpireDate=2022/02/12&MerchantID=2000132&MerchantTradeNo=546546124&PaymentType=ATM_PANHSIN&RtnCode=2&RtnMsg=Get VirtualAccount Succeeded&StoreID=&TradeAmt=1220&TradeDate=2022/02/09 09:55:26&TradeNo=2202090955190428&vAccount=9900140673104366',
  );
  t.is(checkMacValue(v5, K2), '095F358FDD3A9390E51A0C33860B21886B99E5F043468443DEDA0DBEAD4AFC08');

  const signed: Record<string, string> = { ...v4, CheckMacValue: '447090F34BFFD306CE78C3CF5C52725A8AEC851EB37629B2F2D10423E38BAD26' };
  t.true(checkMacMatches(signed, K3));
  t.true(checkMacMatches({ ...signed, CheckMacValue: signed.CheckMacValue!.toLowerCase() }, K3), 'hex case does not matter');
  t.false(checkMacMatches({ ...signed, TradeAmt: '1000' }, K3), 'amount changed after signing');
  t.false(checkMacMatches({ ...signed, SimulatePaid: '1' }, K3), 'a flag flipped after signing');
  const { StoreID: _dropped, ...withoutEmpty } = signed;
  t.false(checkMacMatches(withoutEmpty, K3), 'an empty field dropped on the way (§13.3)');
  t.false(checkMacMatches({ ...signed, Extra: '' }, K3), 'a field added');
  t.false(checkMacMatches(signed, K2), 'another merchant\'s keys');
  t.false(checkMacMatches({ ...signed, CheckMacValue: '' }, K3));
  const { CheckMacValue: _mac, ...unsigned } = signed;
  t.false(checkMacMatches(unsigned, K3), 'no CheckMacValue at all');
  t.false(checkMacMatches({ ...signed, CheckMacValue: checkMacValue(v4, K3, 'md5') }, K3), 'an MD5 MAC is not accepted for AIO V5');
});

test('V6: QueryTradeInfo request MAC, and the raw response (literal spaces, Chinese) verifies over all its fields', (t) => {
  t.is(checkMacValue(params('MerchantID=2000132&MerchantTradeNo=ecpay20180504112423&TimeStamp=1525410372'), K2), '48ABB4DBF2365897B2A17C48EBCBA82274E7D7DE79F1F955115C4258482A045B');
  const body =
    'CustomField1=&CustomField2=&CustomField3=&CustomField4=&HandlingCharge=1&ItemName=Apple iphone 7 手機殼&MerchantID=2000132&MerchantTradeNo=ecpay20180504112423&PaymentDate=2018/05/04 11:27:39&PaymentType=Credit_CreditCard&PaymentTypeChargeFee=1&StoreID=&TradeAmt=1000&TradeDate=2018/05/04 11:24:57&TradeNo=1805041124578172&TradeStatus=1&CheckMacValue=7FED9171711B628633FDBA39EBEE159E2E9A1A6AEB9ACD87B105778EECE2FB06';
  const fields = parseRaw(body)!;
  t.is(fields.ItemName, 'Apple iphone 7 手機殼');
  t.true(checkMacMatches(fields, K2));
});

test('§8.2: a raw answer with a literal + keeps it; a URL decoder would turn it into a space and fail the MAC', (t) => {
  const signed = withCheckMac({ ItemName: 'C++ 教本', MerchantID: '2000132', TradeStatus: '1' }, K2);
  const body = Object.entries(signed)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  t.true(checkMacMatches(parseRaw(body)!, K2));
  t.is(parseRaw(body)!.ItemName, 'C++ 教本');
  const decoded = Object.fromEntries(new URLSearchParams(body));
  t.is(decoded.ItemName, 'C   教本');
  t.false(checkMacMatches(decoded, K2));
  t.is(parseRaw('a=1&a=2'), null, 'a name twice cannot be checked against one MAC');
  t.is(parseRaw('garbage'), null);
});

test('V8: special characters, and the two typical implementation mistakes give their published wrong values', (t) => {
  t.is(checkMacEncoded(V8, K3), V8_STEP5);
  t.is(checkMacValue(V8, K3), '9BD1C7EC679D064CAD5A4D2A56E26356B82F444551C77616765DA1BB8916D899');
  const source = checkMacSource(V8, K3);
  // encodeURIComponent with its space fixed but ' and ~ left alone.
  const rawEncodeUriComponent = encodeURIComponent(source).replace(/%20/g, '+').toLowerCase();
  t.is(sha256(rawEncodeUriComponent), '45822EF98D402614E68025D7CBB159B860E203CD68333438700A7309572C01B5');
  // PHP urlencode: ! * ( ) ' ~ escaped, space as +, and the un-escape step forgotten.
  const phpUrlencode = encodeURIComponent(source).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+').toLowerCase();
  t.is(sha256(phpUrlencode), '195DF0700A88B47459DC5FA315985C5B90B0648F5EA049A35B7C0EFC54E876C3');
});

test('the .NET encoding table of §4.2', (t) => {
  t.is(dotNetUrlEncode('AZaz09-_.!*()'), 'AZaz09-_.!*()');
  t.is(dotNetUrlEncode(' '), '+');
  t.is(dotNetUrlEncode("~'\"&=+/:?#%@$^;,|\\<>[]{}`"), '%7E%27%22%26%3D%2B%2F%3A%3F%23%25%40%24%5E%3B%2C%7C%5C%3C%3E%5B%5D%7B%7D%60');
  t.is(dotNetUrlEncode('促'), '%E4%BF%83');
});

test('names sort ignoring case: NeedExtraPaidInfo\'s lower-case names fall among the capitals', (t) => {
  const source = checkMacSource({ TradeNo: '1', amount: '2', ATMAccBank: '3', auth_code: '4', gwsr: '5', Frequency: '6', CheckMacValue: 'x' }, { HashKey: 'k', HashIV: 'i' });
  t.is(source, 'HashKey=k&amount=2&ATMAccBank=3&auth_code=4&Frequency=6&gwsr=5&TradeNo=1&HashIV=i');
});

test('withCheckMac adds the MAC last and replaces a stale one', (t) => {
  const signed = withCheckMac({ ...V1, CheckMacValue: 'stale' }, K3);
  t.is(Object.keys(signed).at(-1), 'CheckMacValue');
  t.is(signed.CheckMacValue, '6C51C9E6888DE861FD62FB1DD17029FC742634498FD813DC43D4243B5685B840');
  t.true(checkMacMatches(signed, K3));
});
