import type { Locale } from './i18n.ts';

/**
 * The words of the convenience-store instructions page, per language of the hosted pages. They sit
 * here rather than in i18n.ts's table until that table takes them (the page is the only reader).
 */
const CVS_TEXT = {
  'zh-TW': {
    cvsHeading: '請於期限前至超商繳費',
    cvsCode: '繳費代碼',
    cvsBarcodes: '繳費條碼',
    cvsStores: '可繳費超商',
    cvsHint: '在超商的多媒體機台（如 7-ELEVEN ibon、全家 FamiPort）輸入繳費代碼並列印繳費單，至櫃台付款；或出示條碼由店員刷條碼。超商通知我們需要一些時間；此頁會顯示最新狀態。',
  },
  'zh-CN': {
    cvsHeading: '请在期限前至便利店缴费',
    cvsCode: '缴费代码',
    cvsBarcodes: '缴费条码',
    cvsStores: '可缴费便利店',
    cvsHint: '在便利店的自助机（如 7-ELEVEN ibon、全家 FamiPort）输入缴费代码并打印缴费单，到柜台付款；或出示条码由店员扫码。便利店通知我们需要一些时间；此页会显示最新状态。',
  },
  en: {
    cvsHeading: 'Pay at a convenience store before the deadline',
    cvsCode: 'Payment code',
    cvsBarcodes: 'Barcodes',
    cvsStores: 'Stores',
    cvsHint: "Key the payment code in at the store's kiosk (7-ELEVEN ibon, FamilyMart FamiPort…), print the slip and pay at the counter, or show the barcodes to the cashier. The store's word takes a while to reach us; this page shows the latest status.",
  },
} as const satisfies Record<Locale, Record<string, string>>;

export type CvsTextKey = keyof (typeof CVS_TEXT)['en'];

export function cvsText(locale: Locale, key: CvsTextKey): string {
  return CVS_TEXT[locale][key];
}
