/**
 * The view layer's one converter from facts to words (zh-TW, zh-CN, en). Core never holds a display
 * string; pages ask here.
 */
export const LOCALES = ['zh-TW', 'zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

const MESSAGES = {
  'zh-TW': {
    title: '付款結果',
    orderNo: '訂單編號',
    amount: '金額',
    time: '時間',
    status_paid: '付款成功',
    status_failed: '付款失敗',
    status_pending: '尚未收到銀行通知',
    status_cancelled: '訂單已取消',
    status_expired: '訂單已逾期',
    status_refunded: '已退款',
    status_unknown: '無法確認這筆付款',
    pending_hint: '我們還沒有收到金流的付款通知。如果您已經付款，請稍候再重新整理此頁。',
    reported_paid_hint: '金流已確認付款成功，訂單狀態將在收到正式通知後更新。',
    unknown_hint: '這個回傳無法驗證，訂單狀態未改變。請回到商店查看訂單。',
    refresh: '重新整理',
    payAgain: '重新付款',
    backToShop: '回到商店',
  },
  'zh-CN': {
    title: '支付结果',
    orderNo: '订单号',
    amount: '金额',
    time: '时间',
    status_paid: '支付成功',
    status_failed: '支付失败',
    status_pending: '尚未收到支付通知',
    status_cancelled: '订单已取消',
    status_expired: '订单已过期',
    status_refunded: '已退款',
    status_unknown: '无法确认这笔支付',
    pending_hint: '我们还没有收到支付机构的通知。如果您已经付款，请稍后刷新此页。',
    reported_paid_hint: '支付机构已确认支付成功，订单状态将在收到异步通知后更新。',
    unknown_hint: '此次返回无法验证，订单状态未改变。请回到商店查看订单。',
    refresh: '刷新',
    payAgain: '重新支付',
    backToShop: '返回商店',
  },
  en: {
    title: 'Payment result',
    orderNo: 'Order number',
    amount: 'Amount',
    time: 'Time',
    status_paid: 'Payment received',
    status_failed: 'Payment failed',
    status_pending: 'We have not heard from the bank yet',
    status_cancelled: 'Order cancelled',
    status_expired: 'Order expired',
    status_refunded: 'Refunded',
    status_unknown: 'We could not confirm this payment',
    pending_hint: 'The payment provider has not confirmed this payment yet. If you have paid, refresh this page in a moment.',
    reported_paid_hint: 'The provider confirmed this payment; the order will show it as soon as the confirmation is recorded.',
    unknown_hint: 'This return could not be verified and changed nothing. Check your order at the shop.',
    refresh: 'Refresh',
    payAgain: 'Pay again',
    backToShop: 'Back to the shop',
  },
} as const satisfies Record<Locale, Record<string, string>>;

export type MessageKey = keyof (typeof MESSAGES)['en'];

export function t(locale: Locale, key: MessageKey): string {
  return MESSAGES[locale][key];
}

/** `?lang=` wins, then the first Accept-Language entry we know, then zh-TW. */
export function pickLocale(queryLang: string | undefined, acceptLanguage: string | undefined): Locale {
  const match = (tag: string): Locale | undefined => {
    const lower = tag.trim().toLowerCase();
    if (lower === 'zh-tw' || lower === 'zh-hant' || lower.startsWith('zh-hant') || lower === 'zh-hk') return 'zh-TW';
    if (lower === 'zh-cn' || lower === 'zh-hans' || lower.startsWith('zh-hans') || lower === 'zh-sg' || lower === 'zh') return 'zh-CN';
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
    return undefined;
  };
  if (queryLang) {
    const chosen = match(queryLang);
    if (chosen) return chosen;
  }
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)?.[1]).find(Boolean);
      return { tag: tag ?? '', q: q ? Number(q) : 1 };
    })
    .filter((x) => x.tag)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    const chosen = match(tag);
    if (chosen) return chosen;
  }
  return 'zh-TW';
}
