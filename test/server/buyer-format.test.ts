/** The buyer pages' one formatter (server/views/format.ts): money from minor units, dates in a zone. */
import test from 'ava';
import { formatDateTime, formatMoney, zoneName } from '../../server/views/format.ts';
import { LOCALES, providerName, type Locale } from '../../server/views/i18n.ts';
import { providerModules } from '../../providers/index.ts';
import { fakePayModule } from '../../providers/_template/index.ts';

test('money: TWD in whole dollars unless it has cents, other currencies with theirs, per locale', (t) => {
  t.is(formatMoney(79900, 'TWD', 'zh-TW'), 'NT$799');
  t.is(formatMoney(79900, 'TWD', 'zh-CN'), 'NT$799');
  t.is(formatMoney(79900, 'TWD', 'en'), 'NT$799');
  t.is(formatMoney(79950, 'TWD', 'zh-TW'), 'NT$799.50');
  t.is(formatMoney(1, 'TWD', 'en'), 'NT$0.01');
  t.is(formatMoney(123456700, 'TWD', 'zh-TW'), 'NT$1,234,567');
  t.is(formatMoney(79900, 'CNY', 'zh-CN'), '¥799.00');
  t.is(formatMoney(8888, 'CNY', 'zh-TW'), 'CN¥88.88');
  t.is(formatMoney(8888, 'CNY', 'en'), 'CN¥88.88');
  t.is(formatMoney(500, 'JPY', 'en'), '¥500');
  t.is(formatMoney(0, 'USD', 'en'), '$0.00');
});

test('money: exact from the integer, however large (no float on the way)', (t) => {
  // 2^53 - 1 minor units: as a float divided by 100 this would print ...409.9 or round.
  t.is(formatMoney(9007199254740991, 'TWD', 'en'), 'NT$90,071,992,547,409.91');
  t.is(formatMoney(9007199254740991, 'CNY', 'zh-CN'), '¥90,071,992,547,409.91');
  t.is(formatMoney(9007199254740900, 'TWD', 'zh-TW'), 'NT$90,071,992,547,409');
  // 0.1 + 0.2 territory: 30 minor units is 0.30, not 0.30000000000000004.
  t.is(formatMoney(30, 'CNY', 'zh-CN'), '¥0.30');
  t.throws(() => formatMoney(1.5, 'TWD', 'en'));
  t.throws(() => formatMoney(100, 'XXX', 'en'));
});

test('dates: in the configured zone, with the zone named in the page language', (t) => {
  const at = new Date('2026-12-02T17:22:00Z');
  t.is(formatDateTime(at, 'zh-TW', 'Asia/Taipei'), '2026/12/03 01:22 台北時間');
  t.is(formatDateTime(at, 'zh-CN', 'Asia/Taipei'), '2026/12/03 01:22 台北时间');
  t.is(formatDateTime(at, 'en', 'Asia/Taipei'), 'Dec 3, 2026, 01:22 Taipei time');
  t.is(formatDateTime(at, 'zh-CN', 'Asia/Shanghai'), '2026/12/03 01:22 北京时间');
  t.is(formatDateTime(at, 'en', 'UTC'), 'Dec 2, 2026, 17:22 UTC');
  t.is(formatDateTime(at, 'zh-TW', 'UTC'), '2026/12/02 17:22 世界標準時間');
  // Any other IANA zone: Intl's own generic name, in the page's language.
  t.is(formatDateTime(at, 'en', 'America/New_York'), 'Dec 2, 2026, 12:22 Eastern Time');
  t.is(zoneName('America/New_York', 'zh-TW'), '東部時間');
  t.is(formatDateTime(new Date('2026-01-01T00:00:00Z'), 'en', 'Asia/Taipei'), 'Jan 1, 2026, 08:00 Taipei time', 'midnight UTC is 08:00, never 24:00 or 8:00 AM');
});

test('provider names in the buyer language come from each provider module; one without them shows its display name', (t) => {
  const byId = new Map(providerModules.map((m) => [m.id, m]));
  const name = (locale: Locale, id: string) => providerName(locale, byId.get(id)!);
  t.is(name('zh-TW', 'sinopac'), '永豐銀行 豐收款');
  t.is(name('zh-CN', 'sinopac'), '永丰银行 丰收款');
  t.is(name('zh-TW', 'ecpay'), '綠界科技 ECPay');
  t.is(name('zh-TW', 'alipay'), '支付寶');
  t.is(name('zh-CN', 'alipay'), '支付宝');
  t.is(name('en', 'alipay'), 'Alipay');
  // Every provider offered in production names itself in every page language.
  for (const m of byId.values()) for (const locale of LOCALES) t.truthy(m.buyerNames?.[locale], `${m.id}: a name for ${locale} buyers`);
  t.is(providerName('en', fakePayModule()), 'FakePay (template)');
});

test('every method a production provider offers has a name in every page language', async (t) => {
  const { methodName } = await import('../../server/views/i18n.ts');
  const { silentLogger } = await import('../../core/logger.ts');
  for (const module of providerModules) {
    const sim = await module.simulator!({ baseUrl: 'http://127.0.0.1:9/sim', logger: silentLogger, timeScale: 1 });
    try {
      const provider = module.createProvider('default', module.configSchema.parse(sim.accountConfig('default')), { logger: silentLogger, callbackUrls: { notifyUrl: 'http://127.0.0.1:9/n', returnUrl: 'http://127.0.0.1:9/r' } });
      for (const method of provider.methods) for (const locale of LOCALES) t.not(methodName(locale, method), method, `${module.id} ${method} in ${locale}`);
    } finally {
      await sim.close();
    }
  }
});
