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
    failure_reason: '原因',
    failure_declined: '發卡銀行或金流拒絕了這筆交易。',
    failed_no_retry_hint: '這筆付款無法在此重試。請回到商店重新下單，或改用其他付款方式；您的款項未被收取。',
    expired_unchosen_hint: '這個付款連結已逾期，尚未選擇付款方式，沒有任何款項被收取。請回到商店重新下單以取得新的付款連結。',
    reported_paid_hint: '金流已確認付款成功，訂單狀態將在收到正式通知後更新。',
    unknown_hint: '這個回傳無法驗證，訂單狀態未改變。請回到商店查看訂單。',
    refresh: '重新整理',
    payAgain: '重新付款',
    backToShop: '回到商店',
    continueShopping: '繼續購物',
    viewOrder: '查看我的訂單',
    checkoutTitle: '結帳',
    items: '購買明細',
    quantity: '數量',
    total: '總計',
    chooseHeading: '選擇付款方式',
    payButton: '前往付款',
    noChoices: '目前沒有可用的付款方式，請聯絡商店。',
    choiceFinalHint: '選擇後將前往付款服務完成付款。',
    method_card: '信用卡',
    method_atm: 'ATM 轉帳（虛擬帳號）',
    method_page: '網頁付款',
    method_wap: '手機付款',
    atmHeading: '請於期限前轉帳至以下帳號',
    bankCode: '銀行代碼',
    accountNo: '轉帳帳號',
    deadline: '付款期限',
    copy: '複製',
    copied: '已複製',
    webAtm: '使用網路 ATM 轉帳',
    atmHint: '轉帳完成後，銀行通知我們通常需要幾分鐘；此頁會顯示最新狀態。',
    redirecting: '正在前往付款頁面…',
    continueToPay: '繼續付款',
    linkInvalid: '此付款連結無效',
    linkInvalidHint: '連結可能不完整或已被修改。請回到商店重新開啟付款頁面。',
    linkExpired: '此付款連結已過期',
    providerUnavailable: '暫時無法連線到付款服務，沒有任何扣款。請稍後再試，或選擇其他付款方式。',
    invalidChoice: '請選擇一種付款方式。',
    chosenAlready: '這筆訂單已選擇付款方式。',
    simulatedNote: '模擬付款：這是付款模擬器上的測試交易，沒有任何款項移動。',
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
    failure_reason: '原因',
    failure_declined: '发卡银行或支付机构拒绝了这笔交易。',
    failed_no_retry_hint: '这笔付款无法在此重试。请返回商店重新下单，或改用其他付款方式；您的款项未被扣除。',
    expired_unchosen_hint: '这个付款链接已过期，尚未选择付款方式，没有收取任何款项。请返回商店重新下单以获取新的付款链接。',
    reported_paid_hint: '支付机构已确认支付成功，订单状态将在收到异步通知后更新。',
    unknown_hint: '此次返回无法验证，订单状态未改变。请回到商店查看订单。',
    refresh: '刷新',
    payAgain: '重新支付',
    backToShop: '返回商店',
    continueShopping: '继续购物',
    viewOrder: '查看我的订单',
    checkoutTitle: '收银台',
    items: '购买明细',
    quantity: '数量',
    total: '合计',
    chooseHeading: '选择支付方式',
    payButton: '去支付',
    noChoices: '目前没有可用的支付方式，请联系商家。',
    choiceFinalHint: '选择后将前往支付服务完成支付。',
    method_card: '信用卡',
    method_atm: 'ATM 转账（虚拟账号）',
    method_page: '网页支付',
    method_wap: '手机支付',
    atmHeading: '请在期限前转账至以下账号',
    bankCode: '银行代码',
    accountNo: '转账账号',
    deadline: '支付期限',
    copy: '复制',
    copied: '已复制',
    webAtm: '使用网络 ATM 转账',
    atmHint: '转账完成后，银行通知我们通常需要几分钟；此页会显示最新状态。',
    redirecting: '正在前往支付页面…',
    continueToPay: '继续支付',
    linkInvalid: '此支付链接无效',
    linkInvalidHint: '链接可能不完整或已被修改。请回到商店重新打开支付页面。',
    linkExpired: '此支付链接已过期',
    providerUnavailable: '暂时无法连接支付服务，没有任何扣款。请稍后再试，或选择其他支付方式。',
    invalidChoice: '请选择一种支付方式。',
    chosenAlready: '这笔订单已选择支付方式。',
    simulatedNote: '模拟支付：这是支付模拟器上的测试交易，没有任何款项移动。',
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
    failure_reason: 'Reason',
    failure_declined: 'The card issuer or the payment provider declined this payment.',
    failed_no_retry_hint: 'This payment cannot be tried again here. Go back to the shop and place the order again, or choose another way to pay; nothing was charged.',
    expired_unchosen_hint: 'This payment link expired before a way to pay was chosen; nothing was charged. Go back to the shop and place the order again for a new link.',
    reported_paid_hint: 'The provider confirmed this payment; the order will show it as soon as the confirmation is recorded.',
    unknown_hint: 'This return could not be verified and changed nothing. Check your order at the shop.',
    refresh: 'Refresh',
    payAgain: 'Pay again',
    backToShop: 'Back to the shop',
    continueShopping: 'Continue shopping',
    viewOrder: 'View my order',
    checkoutTitle: 'Checkout',
    items: 'Your order',
    quantity: 'Qty',
    total: 'Total',
    chooseHeading: 'Choose how to pay',
    payButton: 'Continue to payment',
    noChoices: 'No way to pay is available right now. Please contact the shop.',
    choiceFinalHint: 'You will finish the payment with the provider you choose.',
    method_card: 'Credit card',
    method_atm: 'ATM transfer (virtual account)',
    method_page: 'Pay on the web',
    method_wap: 'Pay on your phone',
    atmHeading: 'Transfer to this account before the deadline',
    bankCode: 'Bank code',
    accountNo: 'Account number',
    deadline: 'Deadline',
    copy: 'Copy',
    copied: 'Copied',
    webAtm: 'Transfer with WebATM',
    atmHint: 'After you transfer, the bank usually tells us within minutes; this page shows the latest state.',
    redirecting: 'Taking you to the payment page…',
    continueToPay: 'Continue to payment',
    linkInvalid: 'This payment link is not valid',
    linkInvalidHint: 'The link may be incomplete or changed. Open the payment page from the shop again.',
    linkExpired: 'This payment link has expired',
    providerUnavailable: 'The payment service could not be reached and nothing was charged. Try again in a moment, or choose another way to pay.',
    invalidChoice: 'Choose a way to pay.',
    chosenAlready: 'A way to pay was already chosen for this order.',
    simulatedNote: 'Simulated payment: a test on a provider simulator. No money moved.',
  },
} as const satisfies Record<Locale, Record<string, string>>;

export type MessageKey = keyof (typeof MESSAGES)['en'];

export function t(locale: Locale, key: MessageKey): string {
  return MESSAGES[locale][key];
}

/**
 * Why a payment failed, in the buyer's language: codes paygate itself gives (`declined`) have their
 * own words; any other code is the provider's own, shown with its text as the provider wrote it
 * (most Taiwanese and Chinese providers write in the buyer's script already), never hidden.
 */
export function failureReason(locale: Locale, failure: { code: string; message: string }): string {
  const key = `failure_${failure.code}`;
  if (key in MESSAGES[locale]) return MESSAGES[locale][key as MessageKey];
  const text = failure.message.trim();
  return text ? `${text} (${failure.code})` : failure.code;
}

/** A payment method's name for buyers; a method this table does not know shows as its id. */
export function methodName(locale: Locale, method: string): string {
  const key = `method_${method}`;
  return key in MESSAGES[locale] ? MESSAGES[locale][key as MessageKey] : method;
}

/**
 * Times are shown where the money is: Taipei for TWD, Beijing for CNY, otherwise UTC; the zone is
 * always named, so a buyer abroad is never misled about an ATM deadline.
 */
export function formatTime(date: Date, locale: Locale, currency: string): string {
  const timeZone = currency === 'TWD' ? 'Asia/Taipei' : currency === 'CNY' ? 'Asia/Shanghai' : 'UTC';
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(date);
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
