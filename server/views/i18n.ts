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
    method_wallet: '電子錢包',
    method_cvs: '超商代碼繳費',
    method_barcode: '超商條碼繳費',
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
    chosenAlreadyDetail: '先前選擇的付款方式：{method}（{provider}）。請繼續完成那筆付款，不會重複扣款。',
    goToPayment: '前往這筆付款',
    supportHeading: '需要協助？請聯絡商店',
    supportEmail: '電子郵件',
    supportUrl: '客服網頁',
    logoAlt: '{shop} 的標誌',
    simulatedNote: '模擬付款：這是付款模擬器上的測試交易，沒有任何款項移動。',
    home_title: 'paygate 金流閘道',
    home_intro: '一個串接多家金流的付款閘道。商店的後端透過 API 建立付款，買家在這裡完成付款。',
    home_docs: 'API 文件',
    home_admin: '管理後台',
    home_demoHeading: '建立一筆測試付款',
    home_demoHint: '這個示範使用付款模擬器：不會有任何款項移動。付款會建立在示範商店名下，並帶您前往結帳頁。',
    home_amount: '金額（新台幣元）',
    home_subject: '商品名稱',
    home_subjectDefault: '測試商品',
    home_create: '建立測試付款',
    home_notDemo: '只有在示範環境（付款模擬器）中才能建立測試付款。',
    home_formExpired: '這個表單已失效，請重新整理頁面後再試一次。',
    home_amountInvalid: '金額：請輸入 1 到 1,000,000 之間的整數（新台幣元）。',
    home_subjectInvalid: '商品名稱：請輸入 1 到 128 個字。',
    home_noMerchant: '尚未建立示範商店，請重新啟動 npm start。',
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
    method_wallet: '电子钱包',
    method_cvs: '便利店代码缴费',
    method_barcode: '便利店条码缴费',
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
    chosenAlreadyDetail: '之前选择的支付方式：{method}（{provider}）。请继续完成那笔支付，不会重复扣款。',
    goToPayment: '前往这笔支付',
    supportHeading: '需要帮助？请联系商家',
    supportEmail: '电子邮件',
    supportUrl: '客服网页',
    logoAlt: '{shop} 的标志',
    simulatedNote: '模拟支付：这是支付模拟器上的测试交易，没有任何款项移动。',
    home_title: 'paygate 支付网关',
    home_intro: '一个对接多家支付机构的支付网关。商户后端通过 API 创建支付，买家在这里完成支付。',
    home_docs: 'API 文档',
    home_admin: '管理后台',
    home_demoHeading: '创建一笔测试支付',
    home_demoHint: '这个演示使用支付模拟器：不会有任何款项移动。支付会创建在演示商户名下，并带您前往收银台。',
    home_amount: '金额（新台币元）',
    home_subject: '商品名称',
    home_subjectDefault: '测试商品',
    home_create: '创建测试支付',
    home_notDemo: '只有在演示环境（支付模拟器）中才能创建测试支付。',
    home_formExpired: '这个表单已失效，请刷新页面后再试一次。',
    home_amountInvalid: '金额：请输入 1 到 1,000,000 之间的整数（新台币元）。',
    home_subjectInvalid: '商品名称：请输入 1 到 128 个字。',
    home_noMerchant: '尚未创建演示商户，请重新启动 npm start。',
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
    method_wallet: 'E-wallet',
    method_cvs: 'Convenience-store payment code',
    method_barcode: 'Convenience-store barcode',
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
    chosenAlreadyDetail: 'The way to pay chosen earlier: {method} with {provider}. Carry on with that payment; you will not be charged twice.',
    goToPayment: 'Go to that payment',
    supportHeading: 'Need help? Contact the shop',
    supportEmail: 'Email',
    supportUrl: 'Support page',
    logoAlt: '{shop} logo',
    simulatedNote: 'Simulated payment: a test on a provider simulator. No money moved.',
    home_title: 'paygate payment gateway',
    home_intro: 'A payment gateway in front of several payment providers. A shop’s backend creates payments through the API; buyers pay here.',
    home_docs: 'API documentation',
    home_admin: 'Dashboard',
    home_demoHeading: 'Create a test payment',
    home_demoHint: 'This demo runs on provider simulators: no money moves. The payment is made for the demo shop and you are taken to its checkout.',
    home_amount: 'Amount (NT$)',
    home_subject: 'Item',
    home_subjectDefault: 'Test item',
    home_create: 'Create a test payment',
    home_notDemo: 'Test payments can only be made in the demo, on provider simulators.',
    home_formExpired: 'This form has expired. Reload the page and try again.',
    home_amountInvalid: 'Amount: a whole number of NT$ from 1 to 1,000,000.',
    home_subjectInvalid: 'Item: 1 to 128 characters.',
    home_noMerchant: 'There is no demo shop yet; restart npm start.',
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
 * A provider's name for buyers in `locale`: the name its module gives for that language
 * (ProviderModule.buyerNames), or else its display name. No provider is named here.
 */
export function providerName(locale: Locale, info: { displayName: string; buyerNames?: Readonly<Record<Locale, string>> }): string {
  return info.buyerNames?.[locale] ?? info.displayName;
}

/** A message with `{name}` slots filled; the result is text, escaped like any other by the page's html`...` (core/html.ts). */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * The zone's everyday name where CLDR's generic name is not what buyers say (it names Taiwan's zone
 * after the country, and UTC as "GMT+00:00"); any other zone gets Intl's own generic name.
 */
const ZONE_NAMES: Record<string, Record<Locale, string>> = {
  'Asia/Taipei': { 'zh-TW': '台北時間', 'zh-CN': '台北时间', en: 'Taipei time' },
  'Asia/Shanghai': { 'zh-TW': '北京時間', 'zh-CN': '北京时间', en: 'Beijing time' },
  'Asia/Hong_Kong': { 'zh-TW': '香港時間', 'zh-CN': '香港时间', en: 'Hong Kong time' },
  UTC: { 'zh-TW': '世界標準時間', 'zh-CN': '协调世界时', en: 'UTC' },
  'Etc/UTC': { 'zh-TW': '世界標準時間', 'zh-CN': '协调世界时', en: 'UTC' },
};

/** A zone's everyday name in `locale`, where the table above has one (server/views/format.ts asks). */
export function everydayZoneName(locale: Locale, timeZone: string): string | undefined {
  return Object.hasOwn(ZONE_NAMES, timeZone) ? ZONE_NAMES[timeZone]![locale] : undefined;
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
