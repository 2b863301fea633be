import { escapeHtml } from './html.ts';
import type { Locale } from './i18n.ts';

/**
 * The frame of every buyer page: one stylesheet, one column, system fonts with CJK fallbacks. A page
 * that needs a script gets a per-response nonce; nothing else may run (see pageHeaders).
 */
export const BUYER_CSS = `
  :root { color-scheme: light; }
  * { box-sizing: border-box; }
  body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans TC", "Noto Sans SC", "PingFang TC", sans-serif; background: #f3f4f6; color: #1f2328; margin: 0; line-height: 1.5; }
  main { max-width: 34rem; margin: 2.5rem auto; background: #fff; border-radius: 14px; padding: 2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 8px 24px rgba(0,0,0,.04); }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .75rem; }
  .merchant { color: #59636e; font-size: .95rem; margin: 0 0 .25rem; }
  table.items { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  table.items th, table.items td { padding: .45rem 0; border-bottom: 1px solid #e5e7eb; text-align: left; }
  table.items td.num, table.items th.num { text-align: right; }
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
  dl.facts { display: grid; grid-template-columns: auto 1fr; gap: .5rem 1rem; margin: 1rem 0; }
  dl.facts dt { color: #59636e; }
  dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
  .account { font-size: 1.35rem; font-weight: 700; letter-spacing: .06em; font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; }
  .copy { margin-left: .5rem; padding: .2rem .6rem; font-size: .85rem; }
  [hidden] { display: none !important; }
`;

export function pageShell(options: { locale: Locale; title: string; body: string; css?: string; script?: { nonce: string; code: string } }): string {
  return `<!doctype html>
<html lang="${options.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)}</title>
<style>${BUYER_CSS}${options.css ?? ''}</style>
</head>
<body>
<main>
${options.body}
</main>
${options.script ? `<script nonce="${escapeHtml(options.script.nonce)}">${options.script.code}</script>` : ''}
</body>
</html>`;
}

/**
 * Headers for a buyer page: never cached (it shows live state), never framed, scripts only with the
 * page's nonce, forms only to ourselves or to the provider the page names.
 */
export function pageHeaders(options: { nonce?: string; formAction?: string | 'any' } = {}): Record<string, string> {
  const script = options.nonce ? `'nonce-${options.nonce}'` : "'none'";
  // A form we answer with a redirect to the provider needs that redirect allowed too ('any').
  const formAction = options.formAction === 'any' ? '' : ` form-action 'self'${options.formAction ? ` ${options.formAction}` : ''};`;
  return {
    'Cache-Control': 'no-store',
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src ${script};${formAction} frame-ancestors 'none'; base-uri 'none'`,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}
