import type { MerchantDisplay } from '../../core/merchants.ts';
import { html, safeHref, unsafeRaw, type SafeHtml } from '../../core/html.ts';
import { fill, t, type Locale } from './i18n.ts';

/**
 * The frame of every buyer page: one stylesheet, one column, system fonts with CJK fallbacks. A page
 * that needs a script gets a per-response nonce; nothing else may run (see pageHeaders).
 */
export const BUYER_CSS = `
  :root { color-scheme: light; }
  * { box-sizing: border-box; }
  body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans TC", "Noto Sans SC", "PingFang TC", sans-serif; background: #f3f4f6; color: #1f2328; margin: 0; line-height: 1.5; }
  main { max-width: 34rem; margin: 2.5rem auto; background: #fff; border-radius: 14px; padding: 2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 8px 24px rgba(0,0,0,.04); overflow-wrap: break-word; }
  @media (max-width: 480px) { main { margin: 0; border-radius: 0; padding: 1.25rem; box-shadow: none; } }
  header.shop { display: flex; align-items: center; gap: .75rem; margin: 0 0 1.25rem; min-width: 0; }
  header.shop .logo { flex: none; width: 48px; height: 48px; overflow: hidden; display: flex; align-items: center; justify-content: center; font-size: .6rem; line-height: 1.1; color: #59636e; }
  header.shop .logo img { display: block; max-width: 48px; max-height: 48px; object-fit: contain; }
  header.shop .shop-name { font-weight: 600; font-size: 1.05rem; min-width: 0; }
  footer.support { margin-top: 1.5rem; padding-top: 1rem; border-top: 1px solid #e5e7eb; color: #4b535c; font-size: .95rem; }
  footer.support ul { list-style: none; padding: 0; margin: .25rem 0 0; display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; }
  footer.support a { color: #0b57d0; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .75rem; }
  .merchant { color: #59636e; font-size: .95rem; margin: 0 0 .25rem; }
  table.items { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  table.items th, table.items td { padding: .45rem 0; border-bottom: 1px solid #e5e7eb; text-align: left; }
  table.items td.num, table.items th.num { text-align: right; white-space: nowrap; padding-left: .75rem; }
  /* A long unbroken item name gives way, never an amount. */
  table.items td:first-child { overflow-wrap: anywhere; }
  table.items tfoot td { font-weight: 700; border-bottom: none; font-size: 1.1rem; }
  fieldset { border: none; padding: 0; margin: 0; }
  legend { font-weight: 600; margin-bottom: .5rem; font-size: 1.05rem; }
  .choice { display: flex; align-items: center; gap: .75rem; padding: .8rem 1rem; border: 1px solid #d0d7de; border-radius: 10px; margin-bottom: .6rem; cursor: pointer; }
  .choice:hover { border-color: #0b57d0; }
  .choice input { width: 1.1rem; height: 1.1rem; accent-color: #0b57d0; }
  .choice input:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
  .choice .provider { color: #59636e; font-size: .9rem; margin-left: auto; }
  .button { display: inline-block; font: inherit; padding: .7rem 1.2rem; border-radius: 10px; border: 1px solid #8c959f; background: #fff; color: #1f2328; text-decoration: none; cursor: pointer; }
  .button.primary { background: #0b57d0; border-color: #0b57d0; color: #fff; font-weight: 600; }
  .button:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
  .button.wide { width: 100%; margin-top: 1rem; }
  .actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
  .notice { padding: .8rem 1rem; border-radius: 10px; background: #fff8e1; color: #5a4a00; }
  .notice.error { background: #fdecea; color: #8a1414; }
  .hint { color: #4b535c; font-size: .95rem; }
  dl.facts { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: .5rem 1rem; margin: 1rem 0; }
  dl.facts dt { color: #59636e; }
  dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; min-width: 0; overflow-wrap: anywhere; }
  .account { font-size: 1.35rem; font-weight: 700; letter-spacing: .06em; font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; }
  .copy { margin-left: .5rem; padding: .2rem .6rem; font-size: .85rem; }
  [hidden] { display: none !important; }
`;

/** An https logo URL as it may be loaded, or null (the stored value is checked again here). */
export function logoHref(merchant: MerchantDisplay | null | undefined): string | null {
  const href = safeHref(merchant?.logoUrl);
  return href && href.startsWith('https://') ? href : null;
}

const EMAIL = /^[^\s@"'<>()\\,;:]+@[^\s@"'<>()\\,;:]+$/;

/**
 * The shop the buyer is paying: its logo (fixed box, so a slow or broken image never moves the page)
 * and its name. Nothing when the page does not know the shop (a return for an unknown order).
 */
function shopHeader(locale: Locale, merchant: MerchantDisplay | null | undefined): SafeHtml | '' {
  if (!merchant) return '';
  const logo = logoHref(merchant);
  const image = logo
    ? html`<span class="logo"><img src="${logo}" alt="${fill(t(locale, 'logoAlt'), { shop: merchant.name })}" width="48" height="48" referrerpolicy="no-referrer" data-testid="shop-logo"></span>`
    : '';
  return html`<header class="shop">${image}<span class="shop-name" data-testid="shop-name">${merchant.name}</span></header>`;
}

/** How to reach the shop's support, when the merchant gave an email or a page. */
function supportFooter(locale: Locale, merchant: MerchantDisplay | null | undefined): SafeHtml | '' {
  if (!merchant) return '';
  const links: SafeHtml[] = [];
  if (merchant.supportEmail && EMAIL.test(merchant.supportEmail)) {
    links.push(html`<li>${t(locale, 'supportEmail')}: <a href="mailto:${merchant.supportEmail}" data-testid="support-email">${merchant.supportEmail}</a></li>`);
  }
  const page = safeHref(merchant.supportUrl);
  if (page) links.push(html`<li><a href="${page}" rel="noopener" data-testid="support-url">${t(locale, 'supportUrl')}</a></li>`);
  if (links.length === 0) return '';
  return html`<footer class="support" data-testid="support">${t(locale, 'supportHeading')}<ul>${links}</ul></footer>`;
}

export function pageShell(options: {
  locale: Locale;
  title: string;
  body: SafeHtml;
  /** The page's own constant CSS (unsafeRaw with its reason), after BUYER_CSS. */
  css?: SafeHtml;
  /** The page's own constant script (unsafeRaw with its reason), run under the nonce. */
  script?: { nonce: string; code: SafeHtml };
  /** The shop, shown above the page and its support below; omitted where unknown. */
  merchant?: MerchantDisplay | null;
}): SafeHtml {
  return html`<!doctype html>
<html lang="${options.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title}</title>
<style>${unsafeRaw(BUYER_CSS, 'constant CSS of every buyer page')}${options.css}</style>
</head>
<body>
<main>
${shopHeader(options.locale, options.merchant)}
${options.body}
${supportFooter(options.locale, options.merchant)}
</main>
${options.script ? html`<script nonce="${options.script.nonce}">${options.script.code}</script>` : ''}
</body>
</html>`;
}

/**
 * Headers for a buyer page: never cached (it shows live state), never framed, scripts only with the
 * page's nonce, forms only to ourselves or to the provider the page names.
 */
export function pageHeaders(options: { nonce?: string; formAction?: string | 'any'; merchant?: MerchantDisplay | null } = {}): Record<string, string> {
  const script = options.nonce ? `'nonce-${options.nonce}'` : "'none'";
  // A form we answer with a redirect to the provider needs that redirect allowed too ('any').
  const formAction = options.formAction === 'any' ? '' : ` form-action 'self'${options.formAction ? ` ${options.formAction}` : ''};`;
  // The shop's logo is the one image from elsewhere: its origin, and no other, may be loaded.
  const logo = logoHref(options.merchant);
  const images = logo ? ` ${new URL(logo).origin}` : '';
  return {
    'Cache-Control': 'no-store',
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:${images}; script-src ${script};${formAction} frame-ancestors 'none'; base-uri 'none'`,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}
